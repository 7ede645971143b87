"""The ``workbench`` command, a face: it parses arguments and calls the library, nothing more.

Each verb (or small group of related verbs) has its module here, with ``add_parser(sub)`` that
builds its subparser and a ``run(args)`` that calls the library: ``corpus``, ``train``,
``transfer``, ``mix``, ``synth`` (synth, mesh), ``doctor``, ``devices``, ``live``, ``play``, ``probe``
(probe, pitchcnn), ``embed``, ``evaluate``, ``info``, ``demo``, ``dashboard``, ``export``;
``console`` drives the live and play streams in a terminal. This module holds :func:`main`
(error handling and exit codes), the wiring and the helpers several verbs share: argument
types, the method options of transfer and live, the stream and control options of live and
play. Verbs import their library modules lazily so ``--help`` stays fast.

``add_parser(sub)`` gets the ``workbench`` parser's subparsers and sets its verb's ``handler``
(what :func:`main` calls); ``run(args)`` gets the parsed command line and returns the exit
status: 0 done, 1 a failure the output names. User mistakes (``ParameterError``) print one line
and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from workbench.errors import DeviceError, ParameterError

__all__ = ["main", "build_parser"]

_VERBS = """verbs:
  corpus render     render an NSynth-format corpus of GM SoundFont notes
  corpus melodies   render random melodies of one GM instrument with MIDI + ground truth
  corpus voice      sung (Festival) and spoken (espeak-ng) phrases with ground truth
  corpus info       summarise an NSynth-format corpus (a real NSynth download too)
  doctor            check training material (levels, noise, reverb, pitch coverage) and say if it is enough
  train             train an instrument autoencoder on a file, a folder or a corpus selection
  transfer          play an audio file through a method (autoencoder, cepstral, mosaic)
  mix               latent mixing between instruments (blend, shift, linear map, morph, faders)
  synth             audio from a latent point and a pitch class (chroma model), no input
  mesh              MANNe's chroma mesh: which pitch class each latent point decodes to
  probe             classifier probes of MFCC / scattering / latent features, instrument-disjoint
  pitchcnn          raw-audio pitch CNN (seed 001) trained and tested on unseen instruments
  evaluate pitch    seed 003's pitch-tracking protocol: % of notes each method loses
  evaluate scoreboard  every method on the same inputs: pitch, timbre, loudness, distance, speed
  evaluate timbre   timbre at matched pitch of files against target material
  embed             PCA / t-SNE / UMAP maps of note features (CSV, PNG, interactive HTML)
  devices           list audio input and output devices (host API, channels, default rates)
  live              play a microphone through a method in real time (keys, MIDI/OSC, status line, --record)
  play              the latent space as a real-time synthesizer (MIDI notes and faders, OSC)
  info              check an audio file and print its shape, rate, length and level
  demo              the main job on the embedded corpus (what `make demo` runs)
  dashboard         the Streamlit dashboard: compare methods, pitch evaluation, embeddings, runs
"""


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def build_parser() -> argparse.ArgumentParser:
    """The ``workbench`` parser: each verb module adds its subparser and the ``handler`` that runs it.

    Verb modules import only argparse and this package at module level (their library loads in
    ``run``), so ``--help`` stays fast.

    Returns
    -------
    argparse.ArgumentParser
    """
    from cli import (
        corpus,
        dashboard,
        demo,
        devices,
        doctor,
        embed,
        evaluate,
        export,
        info,
        live,
        mix,
        play,
        probe,
        synth,
        train,
        transfer,
    )

    p = argparse.ArgumentParser(
        prog="workbench",
        description="Timbre workbench: train instrument autoencoders, transfer timbre, compare methods.",
        epilog=_VERBS, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    # the order of the verbs in --help
    for verbs in (corpus, doctor, train, transfer, mix, synth, devices, live, play, probe, embed, evaluate, info, demo,
                  dashboard, export):
        verbs.add_parser(sub)
    return p


def _add_compute_args(p, *, ray: bool = True) -> None:
    """``--device`` (and ``--workers``, ``--ray-address`` where tasks can go to Ray)."""
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    if ray:
        p.add_argument("--workers", type=_int, default=0,
                       help="0: in this process (default); N: a local Ray with N worker processes")
        p.add_argument("--ray-address", default=None, help="run the tasks on this Ray cluster (e.g. ray://head:10001)")


def _compute(args):
    """The :class:`analysis.parallel.Compute` the command line asks for (device checked here)."""
    from analysis.parallel import Compute
    from models.distributed import resolve_device

    return Compute(device=resolve_device(args.device), workers=getattr(args, "workers", 0),
                   ray_address=getattr(args, "ray_address", None))


def _choices(text: str, name: str, allowed) -> list[str]:
    """A comma list of names, each checked against ``allowed`` (one-line error naming the bad one)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    for item in items:
        if item not in allowed:
            raise ParameterError(f"{name}={item!r} is not valid; expected one of {', '.join(allowed)}")
    if not items:
        raise ParameterError(f"{name} list {text!r} is empty; expected one or more of {', '.join(allowed)}")
    return items


def _floats(text: str | None, name: str):
    if text is None:
        return None
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ParameterError(f"--{name} {text!r} is not a comma list of numbers") from None


def _add_method_args(x, *, n_fft: int, hop: int) -> None:
    """The options that choose and configure a method (shared by transfer and live)."""
    x.add_argument("--method", default="autoencoder",
                   choices=("autoencoder", "ddsp", "cepstral", "mosaic", "latent-mix"),
                   help="autoencoder, ddsp or latent-mix (need --model), cepstral or mosaic (need --target)")
    x.add_argument("--model", help="run folder from `workbench train` (autoencoder, ddsp, latent-mix)")
    x.add_argument("--octave-shift", type=_int, default=0, help="ddsp: octaves added to the input's pitch (-4..4)")
    x.add_argument("--auto-register", action="store_true",
                   help="ddsp: shift the input by whole octaves so its median pitch lands nearest the "
                        "instrument's trained median (files: measured first; live: not available)")
    x.add_argument("--from", dest="mix_from", help="latent-mix: instrument A (default: the run's first)")
    x.add_argument("--to", dest="mix_to", help="latent-mix: instrument B (default: the run's last)")
    x.add_argument("--alpha", type=_float, default=0.0, help="latent-mix: 0 = A, 1 = B (default 0)")
    x.add_argument("--latent-mode", choices=("blend", "shift", "linear"), default="blend",
                   help="latent-mix: blend the instrument code, shift by class means, or a linear map")
    x.add_argument("--target", help="timbre source for cepstral/mosaic: audio file, folder, CORPUS:key=value, "
                                    "or a saved mosaic index folder")
    x.add_argument("--n-fft", type=_int, default=n_fft, help=f"cepstral/mosaic frame (default {n_fft})")
    x.add_argument("--hop", type=_int, default=hop, help=f"cepstral/mosaic hop (default {hop})")
    x.add_argument("--lifter", type=_int, help="cepstral lifter order, input and target (default 30 at n_fft 1024)")
    x.add_argument("--envelope", choices=("timevarying", "mean"), default="timevarying", help="cepstral target envelope")
    x.add_argument("--length-policy", choices=("loop", "stretch", "truncate"), default="loop",
                   help="cepstral: when the input outlasts the target (default loop; stretch is offline only)")
    x.add_argument("--k", type=_int, default=5, help="mosaic kNN candidates (default 5)")
    x.add_argument("--continuity", type=_float, default=0.5, help="mosaic bonus for the next grain (default 0.5)")
    x.add_argument("--repeat-window", type=_int, default=8, help="mosaic: no grain twice within N frames (default 8)")
    x.add_argument("--window", choices=("hann", "low-delay"),
                   help="autoencoder/cepstral/latent-mix STFT windows: hann (latency n_fft - 1) or low-delay (long "
                        "analysis, short synthesis window: latency 2 * hop - 1); default: the run's, or hann")
    x.add_argument("--synthesis-length", type=_int,
                   help="low-delay synthesis window in samples, hop < L <= 2 * hop (default 2 * hop)")
    x.add_argument("--torchscript", action="store_true",
                   help="autoencoder: run each hop as a traced TorchScript step (same output, about 30%% less "
                        "compute per hop; single-instrument runs without chroma)")
    x.add_argument("--mix", type=_float, default=1.0, help="0 = dry, 1 = fully transferred (default 1)")
    x.add_argument("--gate-db", type=_float, default=-60.0, help="input level below which output is silent")


def _make_effect(args, sr: int):
    """The effect ``args`` ask for (built by :func:`effects.registry.make_effect`)."""
    from effects.registry import MODEL_METHODS, make_effect

    if args.method != "ddsp" and (args.octave_shift or args.auto_register):
        raise ParameterError(f"--octave-shift and --auto-register are for --method ddsp, not {args.method}")
    if args.method in MODEL_METHODS and not args.model:
        kind = {"ddsp": "`workbench train --method ddsp`", "latent-mix": "a multi-instrument run"}
        raise ParameterError(f"--method {args.method} needs --model RUN_DIR "
                             f"({kind.get(args.method, 'from `workbench train`')})")
    if args.method not in MODEL_METHODS and not args.target:
        raise ParameterError(f"--method {args.method} needs --target (audio file, folder or CORPUS:key=value)")
    device = getattr(args, "device", None)  # transfer's --device; live runs on the CPU
    if device is not None:
        from models.distributed import resolve_device

        device = resolve_device(device)
        cpu_only = args.method not in MODEL_METHODS or getattr(args, "torchscript", False)
        if device != "cpu" and cpu_only and args.device == "auto":
            device = "cpu"  # auto: the CPU is where this method (or the traced step) runs
        elif device != "cpu" and args.method not in MODEL_METHODS:
            raise ParameterError(f"--device {args.device} is for the model methods ({', '.join(MODEL_METHODS)}); "
                                 f"{args.method} runs on the CPU")
        if args.method not in MODEL_METHODS:
            device = None  # the classical methods take no device
    window = getattr(args, "window", None)
    synthesis_length = getattr(args, "synthesis_length", None)
    if getattr(args, "torchscript", False) and args.method != "autoencoder":
        raise ParameterError(f"--torchscript is for --method autoencoder, not {args.method}")
    if args.method in ("ddsp", "mosaic") and (window or synthesis_length):
        raise ParameterError(f"--window and --synthesis-length are for autoencoder, cepstral and latent-mix, "
                             f"not {args.method}")
    common = dict(mix=args.mix, gate_db=args.gate_db)
    windows = dict(window=window, synthesis_length=synthesis_length)
    if args.method == "autoencoder":
        return make_effect("autoencoder", model=args.model, torchscript=getattr(args, "torchscript", False) or None,
                           device=device, **windows, **common)
    if args.method == "ddsp":
        return make_effect("ddsp", model=args.model, octave_shift=args.octave_shift,
                           auto_register=getattr(args, "auto_register", False), device=device, **common)
    if args.method == "latent-mix":
        return make_effect("latent-mix", model=args.model, mode=args.latent_mode, source=args.mix_from,
                           target=args.mix_to, alpha=args.alpha, device=device, **windows, **common)
    common.update(target=args.target, n_fft=args.n_fft, hop_length=args.hop)
    if args.method == "cepstral":
        return make_effect("cepstral", lifter_input=args.lifter, lifter_target=args.lifter, envelope=args.envelope,
                           length_policy=args.length_policy, **windows, **common)
    return make_effect("mosaic", k=args.k, continuity=args.continuity, repeat_window=args.repeat_window, **common)


def _latency_arg(text: str):
    """``low``, ``high`` or seconds; anything else is passed on for LiveEngine to reject."""
    try:
        return float(text)
    except ValueError:
        return text


def _check_stream_args(args, *, channels: int):
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


def _run_stream(engine, inputs, *, seconds, header) -> dict:
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


def _exit_device_lost(engine) -> None:
    """One line, then exit 1 at once: PortAudio's exit handler would abort the process (SIGABRT)
    trying to terminate a stream whose JACK server is gone (see LiveEngine.stop)."""
    print(f"workbench: error: the audio device was lost while streaming: {engine.device_error}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def _add_stream_args(p, *, input_help: str, rate_help: str, prefill_help: str, record_help: str) -> None:
    """The stream options `live` and `play` share: devices, rate, block, buffering, recording, MIDI/OSC."""
    p.add_argument("--input-device", help=input_help)
    p.add_argument("--output-device", help="device index or part of its name (default: the default output)")
    p.add_argument("--samplerate", type=_int, help=rate_help)
    p.add_argument("--blocksize", type=_int, default=128, help="frames per callback (default 128)")
    p.add_argument("--latency", default="low", help="PortAudio device latency: low, high or seconds (default low)")
    p.add_argument("--prefill", type=_int, help=prefill_help)
    p.add_argument("--record", help=record_help)
    p.add_argument("--seconds", type=_float, help="stop after this long (required when stdin is not a terminal)")
    p.add_argument("--stats", help="write the run's statistics (JSON) to this file")
    _add_control_args(p)


def _add_control_args(x) -> None:
    x.add_argument("--midi", metavar="PORT", help="MIDI source port (or part of its name) for faders, knobs, notes")
    x.add_argument("--midi-api", choices=("alsa", "jack"), help="MIDI system (default: ALSA sequencer if present, "
                                                                "else JACK MIDI)")
    x.add_argument("--osc", metavar="PORT", type=_int, help="UDP port for OSC control on --osc-host")
    x.add_argument("--osc-host", default="127.0.0.1", help="address to listen on for OSC (default 127.0.0.1)")
    x.add_argument("--map", dest="mapping", metavar="FILE",
                   help="control mapping TOML (default: an 8-fader layout; with --learn the file is written)")
    x.add_argument("--learn", metavar="PARAM", help="bind the next control that moves to PARAM (mix, bypass, gain, "
                                                    "alpha, mode, fader.N.scale, fader.N.offset, latent.N, octave)")
    x.add_argument("--smooth-ms", type=_float, default=5.0, help="ramp time of controlled parameters (default 5)")


def _open_control(args, engine, fx, *, synth: bool, keyboard: bool = False):
    """The controller and its MIDI/OSC inputs for ``args`` (nothing when none was asked for)."""
    from effects.control import Controller, MidiInput, OscInput
    from effects.mapping import default_mapping, load_mapping

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


def _control_stats(ctl, fx) -> dict:
    import numpy as np

    lg = fx.control_log()
    d = lg["delay_s"][np.isfinite(lg["delay_s"])] * 1e3
    return {**ctl.counts(), "changes_applied": len(lg["block"]),
            "arrival_to_applied_ms": None if not d.size else {"median": round(float(np.median(d)), 3),
                                                               "max": round(float(d.max()), 3)}}


def _notices() -> None:
    """The packages' logged notices on stderr as "workbench: ..." lines; other libraries stay at warnings."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("workbench: %(message)s"))
    for name in ("workbench", "effects", "models", "analysis"):
        lg = logging.getLogger(name)
        if not lg.handlers:
            lg.addHandler(handler)
            lg.setLevel(logging.INFO)
            lg.propagate = False


def main(argv: list[str] | None = None) -> int:
    """The ``workbench`` command: parse, run the verb's handler, turn user mistakes into one line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 done, 1 a failure the output names, 2 a user mistake (one line on
        stderr, no traceback) or no verb, 130 interrupted.
    """
    _notices()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)  # set by each verb module's add_parser
    except ParameterError as err:
        print(f"workbench: error: {err}", file=sys.stderr)
        if isinstance(err, DeviceError):  # show what there is to choose from
            from workbench.devices import format_devices

            print(format_devices(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

