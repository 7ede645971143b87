"""What live and play share once their options are parsed: the stream checks made before
anything loads, the run under the console, the MIDI/OSC control and its statistics, and the exit
when the audio device is lost."""

from __future__ import annotations

import os
import sys

from workbench.errors import ParameterError

__all__ = ["check_stream_args", "run_stream", "exit_device_lost", "open_control", "control_stats"]


def _latency_arg(text: str):
    """``low``, ``high`` or seconds; anything else is passed on for LiveEngine to reject."""
    try:
        return float(text)
    except ValueError:
        return text


def check_stream_args(args, *, channels: int):
    """The checks live and play make before anything loads: ``--seconds``, the stream settings and
    the devices (a missing device is reported before torch and the model load); returns the
    latency setting."""
    if args.seconds is not None and not args.seconds > 0:
        raise ParameterError(f"--seconds {args.seconds} must be a positive number of seconds")
    if args.seconds is None and not sys.stdin.isatty():
        raise ParameterError("stdin is not a terminal, so no key can stop the stream; give --seconds N")
    from workbench.devices import check_stream_settings, list_devices, resolve_device

    latency = _latency_arg(args.latency)
    check_stream_settings(blocksize=args.blocksize, samplerate=args.samplerate, channels=channels, latency=latency)
    devices = list_devices()
    resolve_device(args.input_device, kind="input", channels=channels, devices=devices)
    resolve_device(args.output_device, kind="output", channels=channels, devices=devices)
    return latency


def run_stream(engine, inputs, *, seconds, header) -> dict:
    """Start ``engine``, print ``header(engine)`` (and the keys in a terminal) and run the console
    until a stop; the MIDI/OSC ``inputs`` close whatever happens. Returns the run's statistics."""
    from cli.console import key_help, run_console

    try:
        engine.start()
    except BaseException:
        for i in inputs:
            i.close()
        raise
    print(header(engine), flush=True)
    if sys.stdin.isatty():
        print(key_help(engine), flush=True)
    try:
        return run_console(engine, seconds=seconds)
    finally:
        for i in inputs:
            i.close()


def exit_device_lost(engine) -> None:
    """One line, then exit 1 at once: PortAudio's exit handler would abort the process (SIGABRT)
    trying to terminate a stream whose JACK server is gone (see LiveEngine.stop)."""
    print(f"workbench: error: the audio device was lost while streaming: {engine.device_error}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def open_control(args, engine, fx, *, synth: bool, keyboard: bool = False):
    """The controller and its MIDI/OSC inputs for ``args`` (nothing when none was asked for)."""
    from live.control_input import Controller, MidiInput, OscInput
    from live.mapping import default_mapping, load_mapping

    if not (args.midi or args.osc is not None or args.learn):
        return None, []
    from pathlib import Path

    user = args.mapping and Path(args.mapping).is_file()
    mapping = load_mapping(args.mapping) if user else default_mapping(synth=synth, keyboard=keyboard)
    if args.learn and not (args.midi or args.osc is not None):
        raise ParameterError(f"--learn {args.learn} needs a control to listen to: give --midi PORT or --osc PORT")

    def learned(b):
        print(f"\nlearned: {b.source} -> {b.target}\n{b.to_toml()}", flush=True)
        if args.mapping:
            ctl.mapping.save(args.mapping)
            print(f"wrote {args.mapping}", flush=True)

    ctl = Controller(fx, mapping, engine=engine, learn=args.learn, on_learn=learned, strict=bool(user))
    inputs = []
    try:
        if args.midi:
            inputs.append(MidiInput(ctl, args.midi, api=args.midi_api, priority=engine.worker_priority))
        if args.osc is not None:
            inputs.append(OscInput(ctl, args.osc, host=args.osc_host, priority=engine.worker_priority))
    except ParameterError:
        for i in inputs:
            i.close()
        raise
    engine.status_extra = ctl.status
    where = ", ".join(f"MIDI {i.port_name} ({i.api})" if hasattr(i, "port_name") else f"OSC udp {i.host}:{i.port}"
                      for i in inputs)
    print(f"control: {where}; {len(ctl.mapping)} bindings" + (f"; learning {args.learn}: move a control" if args.learn
                                                               else ""), flush=True)
    return ctl, inputs


def control_stats(ctl, fx) -> dict:
    import numpy as np

    lg = fx.control_log()
    d = lg["delay_s"][np.isfinite(lg["delay_s"])] * 1e3
    return {**ctl.counts(), "changes_applied": len(lg["block"]),
            "arrival_to_applied_ms": None if not d.size else {"median": round(float(np.median(d)), 3),
                                                               "max": round(float(d.max()), 3)}}
