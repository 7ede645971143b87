"""The ``workbench evaluate`` verbs: the pitch protocol, the scoreboard, timbre at matched pitch."""

from __future__ import annotations

import argparse
import sys

from cli.options import add_compute_args, comma_choices, compute_from_args, integer, number
from workbench.errors import ParameterError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the evaluate verb to the ``workbench`` command."""
    ev = sub.add_parser("evaluate", help="pitch protocol and scoreboard",
                        description="Evaluate methods on the same rendered inputs.")
    esub = ev.add_subparsers(dest="action", metavar="ACTION")
    for action, text in (("pitch", "Seed 003's protocol: M melodies x N random notes, sung by Festival (or a GM "
                                   "instrument), through every method with every target class; a note is lost when "
                                   "its output median f0 is more than --tolerance cents off. Writes pitch.json/md, "
                                   "notes.csv, f0_<method>.png."),
                         ("scoreboard", "The pitch protocol plus timbre at matched pitch (harmonic levels against "
                                        "the target family's notes at the same pitch, gap closed), target-timbre "
                                        "accuracy (the instrument judge labels 2 s windows of the outputs), "
                                        "loudness correlation/L1, Fréchet distance to the target material "
                                        "and real-time factor, per method; with the dry input and the target "
                                        "material as reference rows. Writes results.json, scoreboard.md, CSVs, bar charts.")):
        e = esub.add_parser(action, help=text.split(":")[0].split(";")[0], description=text)
        e.add_argument("--corpus", default="data/gm", help="corpus with the target families' notes (default data/gm)")
        e.add_argument("--melodies", type=integer, default=5, help="M input melodies (default 5)")
        e.add_argument("--notes", type=integer, default=20, help="N random notes per melody (default 20)")
        e.add_argument("--classes", default="10",
                       help="target families: a count (first N of bass, brass, flute, guitar, keyboard, mallet, organ, "
                            "reed, string, synth_lead) or a comma list (default 10)")
        e.add_argument("--methods", default="autoencoder,cepstral,mosaic" + (",dry" if action == "scoreboard" else ""),
                       help="comma list of autoencoder, ddsp, cepstral, mosaic, dry (the unprocessed input)")
        e.add_argument("--source", default="voice", help="input source: voice (Festival singing) or gm:PROGRAM")
        e.add_argument("--low", type=integer, default=45, help="lowest input MIDI note (default 45)")
        e.add_argument("--high", type=integer, default=60, help="highest input MIDI note (default 60)")
        e.add_argument("--tolerance", type=number, default=50.0, help="cents for a note to count as kept (default 50)")
        e.add_argument("--tracker", default="pyin", help="pyin, pesto, crepe-tiny or crepe-full (default pyin)")
        e.add_argument("--model", action="append", default=[], metavar="FAMILY=RUN",
                       help="use this run (autoencoder or ddsp) for a class instead of training runs/eval-FAMILY "
                            "or runs/eval-ddsp-FAMILY (repeatable)")
        e.add_argument("--runs", default="runs", help="where class models are trained and reused (default runs)")
        e.add_argument("--train-seconds", type=number, default=60.0, help="training budget per class model (default 60)")
        e.add_argument("--ddsp-seconds", type=number, default=300.0,
                       help="training budget per ddsp class model (default 300)")
        e.add_argument("--out", required=True)
        e.add_argument("--seed", type=integer, default=0)
        if action == "scoreboard":
            e.add_argument("--judge-voices", type=integer, default=8,
                           help="sung and spoken phrases rendered for the instrument judge's voice class (default 8)")
        add_compute_args(e)

    t = esub.add_parser("timbre", help="timbre at the input's pitch of files against target notes",
                        description="Each of the input's pitched frames: the output's harmonic levels (dB), read "
                                    "at the input's pitch, against the target material's own notes at that pitch. "
                                    "Prints the distance of the input, of each output (with the input's on the "
                                    "same frames and held-out target material's), the share of the "
                                    "input-to-target gap each output closes (0 unchanged, 1 the instrument itself, "
                                    "never more), the share of frames judged and of pitch errors (output more than "
                                    "50 cents off the input). Outputs must be time-aligned with the input.")
    t.add_argument("--target", required=True, help="target material: audio file, folder or CORPUS:key=value")
    t.add_argument("--input", required=True, help="the unprocessed input")
    t.add_argument("outputs", nargs="*", help="processed versions of the input")
    t.add_argument("--sr", type=integer, default=16000, help="analysis rate in Hz (default 16000)")
    t.add_argument("--min-judged", type=number, default=0.5,
                   help="share of the input's pitched frames the output must sound in to be scored (default 0.5)")
    t.add_argument("--seed", type=integer, default=0)
    ev.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the pitch protocol or the scoreboard (or timbre); returns the exit status."""
    from analysis.pitch_eval import method_factories, run_pitch_protocol, train_class_runs
    from analysis.pitch_protocol import DEFAULT_CLASSES, METHODS, Protocol
    from workbench.corpus.families import FAMILIES

    if args.action == "timbre":
        return _evaluate_timbre(args)
    if args.action not in ("pitch", "scoreboard"):
        print("usage: workbench evaluate {pitch,scoreboard,timbre} ... (see --help)", file=sys.stderr)
        return 2
    if args.action == "scoreboard" and args.judge_voices <= 0:
        raise ParameterError(f"--judge-voices={args.judge_voices} must be a positive number of phrases")
    if args.classes.strip().isdigit():
        n = int(args.classes)
        if not 1 <= n <= len(DEFAULT_CLASSES):
            raise ParameterError(f"classes={n} is not valid; expected 1-{len(DEFAULT_CLASSES)} or a comma list of families")
        classes = DEFAULT_CLASSES[:n]
    else:
        classes = tuple(comma_choices(args.classes, "class", FAMILIES))
    methods = comma_choices(args.methods, "method", METHODS)
    models = {}
    for item in args.model:
        fam, sep, run = item.partition("=")
        if not sep or fam not in FAMILIES or not run:
            raise ParameterError(f"--model {item!r} is not valid; expected FAMILY=RUN_DIR with FAMILY one of "
                                 f"{', '.join(FAMILIES)}")
        models.setdefault(fam, []).append(run)
    protocol = Protocol(melodies=args.melodies, notes=args.notes, classes=classes, source=args.source, low=args.low,
                        high=args.high, tolerance=args.tolerance, tracker=args.tracker, seed=args.seed).validate()
    missing = [c for c in classes if c not in models]  # given runs are not trained again
    train_class_runs(missing, methods, corpus=args.corpus, runs=args.runs, train_seconds=args.train_seconds,
                     ddsp_seconds=args.ddsp_seconds, seed=args.seed, compute=compute_from_args(args), progress=not args.quiet)
    factories = method_factories(methods, corpus=args.corpus, models=models, runs=args.runs,
                                 train_seconds=args.train_seconds, ddsp_seconds=args.ddsp_seconds, seed=args.seed,
                                 progress=not args.quiet)
    if args.action == "pitch":
        r = run_pitch_protocol(protocol, factories, out=args.out, progress=not args.quiet)
        print("notes lost: " + ", ".join(f"{m} {s['lost_percent']:.1f} %" for m, s in r["by_method"].items())
              + f" ({r['note_evaluations_per_method']} note evaluations per method, {r['seconds']} s); "
              f"report in {args.out}/pitch.md")
    else:
        from analysis.scoreboard import run_scoreboard

        r = run_scoreboard(protocol, factories, corpus=args.corpus, out=args.out, judge_voices=args.judge_voices,
                           progress=not args.quiet)
        print("scoreboard: " + "; ".join(f"{row['method']} kept {row['kept_percent']:.0f} %, timbre "
                                         f"{row['timbre_accuracy']:.2f}" for row in r["scoreboard"])
              + f" ({r['seconds']} s); report in {args.out}/scoreboard.md")
    return 0


def _evaluate_timbre(args: argparse.Namespace) -> int:
    """``workbench evaluate timbre``: print the timbre distances.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status: 0 done, 1 a failure the output names.
    """
    from analysis.harmonic_timbre import score_methods, target_reference
    from workbench.audio import load

    ref, held = target_reference(args.target, sr=args.sr, seed=args.seed, min_judged=args.min_judged)
    x = load(args.input, sr=args.sr, mono=True)[0][0]
    outs = {str(p): {"input": load(p, sr=args.sr, mono=True)[0][0]} for p in args.outputs}
    print(f"reference: {args.target}, {ref.seconds_:.0f} pitched s, MIDI {ref.pitches_[0]:.0f}-{ref.pitches_[-1]:.0f}; "
          f"held-out target material {held:.2f} dB")
    for r in score_methods(ref, inputs={"input": x}, outputs=outs, target_db=held, sr=args.sr):
        name = args.input if r["method"] == "input" else r["method"]
        if r["distance_db"] is None:
            print(f"{name}: {r['status']}")
        elif r["method"] == "input":
            print(f"{name}: {r['distance_db']:.2f} dB over {r['frames']} frames")
        else:
            gap = "-" if r["gap_closed"] is None else f"{r['gap_closed']:.2f}"
            print(f"{name}: output {r['distance_db']:.2f} dB (input {r['input_db']:.2f}, target {held:.2f}) over "
                  f"{r['frames']} frames ({r['judged_share']:.0%} judged), gap closed {gap}, "
                  f"pitch errors {r['pitch_error_share']:.0%}")
    return 0
