"""The ``workbench play`` verb: a run as a real-time instrument (the latent synthesizer, or a
DDSP-style run played from notes with several voices)."""

from __future__ import annotations

import argparse
import json
import sys

from cli.options import add_stream_args, number
from cli.stream import check_stream_args, control_stats, exit_device_lost, open_control, run_stream


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the play verb to the ``workbench`` command."""
    pl = sub.add_parser("play", help="a run as a real-time instrument (latent synthesizer or DDSP voices)",
                        description="A DDSP-style run (train --method ddsp) plays notes: MIDI note and pitch bend "
                                    "(--bend-range) give the pitch, velocity with CC 11 (expression) and CC 7 (volume) "
                                    "the loudness, CC 5 the portamento (or --glide-ms), --tuning a microtonal scale; "
                                    "--voices N play chords, the voice sounding longest is stolen when all sound. "
                                    "Otherwise: stream audio decoded from a latent point of a run trained with --set "
                                    "model.output=spectrum; every bottleneck unit is a live control (MIDI faders, "
                                    "OSC /workbench/latent/N), and for a chroma model MIDI notes choose the pitch "
                                    "class (mono, last-note priority; velocity sets the gain, note-off releases). "
                                    "Phase by real-time phase-gradient heap integration (pghi) or random (noise). "
                                    "The status line shows latency, load, xruns and control counts.")
    pl.add_argument("--model", required=True, help="run folder: a ddsp run, or model.output=spectrum "
                                                    "(model.chroma=true for notes)")
    pl.add_argument("--voices", type=int, default=None, help="DDSP runs: voices (1-16, default 4)")
    pl.add_argument("--bend-range", type=number, default=2.0, help="DDSP runs: semitones at full pitch bend "
                                                                  "(0 < r <= 48, default 2)")
    pl.add_argument("--tuning", help="DDSP runs: cents per pitch class C..B, 12 comma-separated numbers (-100..100)")
    pl.add_argument("--latent", help="starting point, comma list, one number per unit (default 0.5 each)")
    pl.add_argument("--chroma", default="C", help="starting pitch class C ... B (chroma models; default C)")
    pl.add_argument("--phase", choices=("pghi", "noise"), default="pghi", help="phase reconstruction (default pghi)")
    pl.add_argument("--glide-ms", type=number, default=0.0, help="glide between notes: chroma, or a DDSP voice's "
                                                                 "pitch (default 0)")
    pl.add_argument("--release-ms", type=number, default=150.0, help="release after note-off (default 150)")
    add_stream_args(pl, input_help="device whose stream clocks the synth (its input is ignored)",
                     rate_help="stream rate in Hz (must be the model's; default the model's)",
                     prefill_help="output blocks buffered ahead of the synth thread",
                     record_help="write a float WAV: the (ignored) input channel, then what was played")
    pl.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Stream the latent synthesizer until a key, --seconds or Ctrl-C; returns the exit status."""
    synth = _synth(args)  # the run and the synth's options first: a bad one is named before any device
    latency = check_stream_args(args, channels=1)
    from live.controlled_effect import ControlledEffect
    from live.engine import LiveEngine

    ddsp = hasattr(synth, "voices")
    fx = ControlledEffect(synth, smooth_ms=args.smooth_ms)
    engine = LiveEngine(fx, samplerate=args.samplerate, blocksize=args.blocksize, input_device=args.input_device,
                        output_device=args.output_device, channels=1, latency=latency, prefill=args.prefill,
                        record=args.record)
    ctl, inputs = open_control(args, engine, fx, synth=True, keyboard=ddsp)

    def header(engine) -> str:
        dout = engine.devices[1]
        what = (f"ddsp, {synth.voices} voice{'s' if synth.voices > 1 else ''}, bend range {synth.bend_range:g} st"
                if ddsp else f"{synth.latent_dim} units{', chroma' if synth.has_chroma else ''}, phase {args.phase}")
        return (f"play: {args.model} ({what}) at {engine.sr} Hz, blocksize {engine.blocksize}; output {dout['index']} "
                f"{dout['name']} ({dout['hostapi']}); latency {engine.latency.describe()}; synth load at warm-up "
                f"{100 * engine.warmup_load:.0f}% of a block" + ("; waiting for a MIDI note" if args.midi else ""))

    s = run_stream(engine, inputs, seconds=args.seconds, header=header)
    s["synth"] = ({"frames": synth.frames, "voices": synth.voices, "transposed": synth.transposed} if ddsp
                  else {"frames": synth.frames, "decodes": synth.decodes})
    if ddsp and synth.notice():
        print("play: " + synth.notice(), flush=True)
    if ctl is not None:
        s["control"] = control_stats(ctl, fx)
        print("play: " + ctl.status(), flush=True)
    from cli.console import summary_line

    print("play: " + summary_line(s) + (f"; recorded {args.record} (input, then output)" if args.record else ""))
    if args.stats:
        from pathlib import Path

        Path(args.stats).write_text(json.dumps(s, indent=1, default=str))
    if engine.device_error:  # the recording (if any) is closed and holds everything up to the loss
        exit_device_lost(engine)
    if engine.worker_error:
        print(f"workbench: error: the synth failed while streaming: {engine.worker_error}", file=sys.stderr)
        return 1
    return 0


def _synth(args: argparse.Namespace):
    """The instrument for ``args``: a :class:`DDSPSynth` for a ddsp run, else the latent synthesizer."""
    from models.checkpoint import run_method
    from workbench.errors import ParameterError

    if run_method(args.model) == "ddsp":
        from live.ddsp_synth import DDSPSynth

        tuning = None
        if args.tuning is not None:
            try:
                tuning = [float(v) for v in args.tuning.split(",")]
            except ValueError:
                raise ParameterError(f"--tuning {args.tuning!r} is not valid; expected 12 comma-separated cents "
                                     "(C to B)") from None
            if len(tuning) != 12:
                raise ParameterError(f"--tuning {args.tuning!r} has {len(tuning)} values; expected 12 (C to B)")
        synth = DDSPSynth(model=args.model, voices=4 if args.voices is None else args.voices,
                          bend_range=args.bend_range, glide_ms=args.glide_ms, release_ms=args.release_ms,
                          tuning=tuning)
        if not args.midi:  # nothing will play notes: voice 1 holds the instrument's middle note
            on = [0.0] * synth.voices
            on[0] = 1.0
            synth.set_params(note=[round(synth.trained_median)] + [60.0] * (synth.voices - 1),
                             velocity=[0.8] + [0.0] * (synth.voices - 1), gate=on)
        return synth
    if args.voices is not None or args.tuning is not None:
        raise ParameterError(f"--voices and --tuning play a ddsp run; {args.model!r} is the latent synthesizer "
                             "(one voice, chroma notes)")
    from analysis.latent_space import parse_chroma, parse_latent
    from live.latent_synth import LatentSynth

    synth = LatentSynth(model=args.model, chroma=parse_chroma(args.chroma), phase=args.phase,
                        glide_ms=args.glide_ms, release_ms=args.release_ms, gate=not args.midi)
    if args.latent:
        synth.set_params(latent=parse_latent(args.latent, dim=synth.latent_dim))
    return synth
