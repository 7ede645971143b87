"""The ``workbench live`` verb: a microphone through a method in real time."""

from __future__ import annotations

import argparse
import json
import sys

from cli.options import add_method_args, add_stream_args, effect_from_args, integer
from cli.stream import check_stream_args, control_stats, exit_device_lost, open_control, run_stream
from workbench.errors import ParameterError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the live verb to the ``workbench`` command."""
    lv = sub.add_parser("live", help="play a microphone through a method in real time",
                        description="Run a method on live input (PortAudio: ALSA, JACK...) and play the result. "
                                    "Keys in a terminal: b or space bypass, +/- mix, ]/[ alpha (effects with an "
                                    "alpha), q quit. The status line shows the latency (effect + buffer + the "
                                    "stream's reported input and output latency), callback and effect load, "
                                    "xruns, late blocks and whether processing fell behind (then the output "
                                    "crossfades to the dry input until it keeps up again).")
    add_method_args(lv, n_fft=512, hop=128)
    add_stream_args(lv, input_help="device index or part of its name (default: the default input)",
                     rate_help="stream rate in Hz (default: the model's, else the device's)",
                     prefill_help="output blocks buffered ahead of the worker (default: 5 ms past one block, "
                                  "3 blocks of 128 at 44.1 kHz; at least 2)",
                     record_help="write a float WAV: input channel(s), then output channel(s)")
    lv.add_argument("--channels", type=integer, default=1, help="input channels processed (default 1)")
    lv.add_argument("--midi-out", metavar="PORT", help="--method ddsp: create a MIDI output port of this name and send "
                                                      "the detected pitch on it as notes (channel 1)")
    lv.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Stream the input through a method until a key, --seconds or Ctrl-C; returns the exit status."""
    if args.auto_register:
        raise ParameterError("--auto-register measures a file before playing it; live, give --octave-shift N")
    if args.midi_out is not None and args.method != "ddsp":
        raise ParameterError(f"--midi-out {args.midi_out!r} sends the pitch the ddsp method detects; "
                             f"--method {args.method} detects none")
    latency = check_stream_args(args, channels=args.channels)
    from live.engine import LiveEngine

    fx = effect_from_args(args)
    if args.midi or args.osc is not None or args.learn:
        from live.controlled_effect import ControlledEffect

        fx = ControlledEffect(fx, smooth_ms=args.smooth_ms)
    engine = LiveEngine(fx, samplerate=args.samplerate, blocksize=args.blocksize, input_device=args.input_device,
                        output_device=args.output_device, channels=args.channels, latency=latency,
                        prefill=args.prefill, record=args.record)
    ctl, inputs = open_control(args, engine, fx, synth=False)
    if args.midi_out is not None:
        from live.midi_out import MidiNoteOut

        try:
            notes = MidiNoteOut(args.midi_out, api=args.midi_api)
        except ParameterError:
            for i in inputs:
                i.close()
            raise
        getattr(fx, "effect", fx).on_frames = notes.push  # the DDSP effect, inside a controlled wrapper or not
        inputs.append(notes)  # closed with the control inputs, its last note-off sent

    def header(engine) -> str:
        din, dout = engine.devices
        return (f"live: {args.method} at {engine.sr} Hz, blocksize {engine.blocksize}; input "
                f"{din['index']} {din['name']} ({din['hostapi']}), output {dout['index']} {dout['name']}; "
                f"latency {engine.latency.describe()}; effect load at warm-up {100 * engine.warmup_load:.0f}% of a "
                f"block")

    s = run_stream(engine, inputs, seconds=args.seconds, header=header)
    if ctl is not None:
        s["control"] = control_stats(ctl, fx)
        print("live: " + ctl.status(), flush=True)
    if args.midi_out is not None:
        s["midi_out"] = {"port": args.midi_out, "messages": notes.sent}
        print(f"live: sent {notes.sent} MIDI note messages on {args.midi_out}", flush=True)
    from cli.console import summary_line

    print("live: " + summary_line(s) + (f"; recorded {args.record} (input, then output channels)" if args.record else ""))
    if args.stats:
        from pathlib import Path

        Path(args.stats).write_text(json.dumps(s, indent=1))
    if engine.device_error:  # the recording (if any) is closed and holds everything up to the loss
        exit_device_lost(engine)
    if engine.worker_error:
        print(f"workbench: error: the effect failed while streaming: {engine.worker_error}", file=sys.stderr)
        return 1
    return 0
