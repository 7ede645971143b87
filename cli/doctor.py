"""The ``workbench doctor`` verb: check training material before training on it."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.options import integer, number


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the doctor verb to the ``workbench`` command."""
    d = sub.add_parser("doctor", help="check training material: duration, levels, noise, reverb, pitch coverage",
                       description="Read a folder of audio (or one file) as an engineer would before training: "
                                   "durations (all, per file, usable), formats, clipping, DC offset, silence, noise "
                                   "floor, reverberation (RT60 from note decays), pitch and loudness coverage, files "
                                   "too short, duplicates; each finding with what to do, a verdict and the training "
                                   "time of both methods. Writes doctor.json and doctor.md.")
    d.add_argument("path", metavar="DIR_OR_FILE")
    d.add_argument("--out", help="report folder (default reports/doctor/<name>)")
    d.add_argument("--pitch-seconds", type=number, default=60.0,
                   help="how much of the material is pitch-tracked, spread over the files (default 60)")
    d.add_argument("--budget-seconds", type=number, default=7200.0,
                   help="audio read by the level pass in all; longer material is read as excerpts (default 7200)")
    d.add_argument("--program", type=integer, help="GM program of the instrument: its playable range is checked "
                                                "for coverage, and its family is what --judge expects")
    d.add_argument("--judge", metavar="CORPUS", help="fit the instrument judge on this NSynth-format corpus and "
                                                     "say what the material sounds like (a minute or more)")
    d.add_argument("--measure-training", action="store_true",
                   help="time one epoch of each method now instead of using the stated constants (a minute or more)")
    d.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Examine the material, print the findings and verdict, write the report; returns the exit status."""
    from analysis.doctor import examine, measure_throughput, write_report
    from workbench.errors import ParameterError

    for name in ("pitch_seconds", "budget_seconds"):
        if not getattr(args, name) > 0:
            raise ParameterError(f"--{name.replace('_', '-')} {getattr(args, name)} must be a positive number of seconds")
    rng, family = None, None
    if args.program is not None:
        from workbench.corpus.families import playable_range, program_family

        if not 0 <= args.program <= 127:
            raise ParameterError(f"--program {args.program} must be a GM program 0-127")
        rng, family = playable_range(args.program), program_family(args.program)
    judge = None
    if args.judge:
        from analysis.instrument_judge import fitted_judge

        judge = fitted_judge(args.judge, work=Path("reports") / "doctor" / ".judge", progress=not args.quiet)
    throughput = measure_throughput() if args.measure_training else None
    r = examine(args.path, pitch_seconds=args.pitch_seconds, budget_seconds=args.budget_seconds,
                instrument_range=rng, family=family, judge=judge, throughput=throughput, progress=not args.quiet)
    out = Path(args.out) if args.out else Path("reports") / "doctor" / (Path(args.path).resolve().stem or "material")
    write_report(r, out)
    mark = {"ok": " ", "info": "i", "warn": "!", "bad": "X"}
    for f in r["findings"]:
        print(f"[{mark[f['level']]}] {f['check']}: {f['message']}" + (f"\n      -> {f['action']}" if f["action"] else ""))
    tr = r["training"]
    print(f"training here: autoencoder about {tr['autoencoder']['epoch_s']} s/epoch, up to "
          f"{tr['autoencoder']['max_s'] / 60:.1f} min for {tr['autoencoder']['max_epochs']} epochs; DDSP-style "
          f"{tr['ddsp']['low_s'] / 60:.0f}-{tr['ddsp']['high_s'] / 60:.0f} min ({tr['source']})")
    print(f"verdict: {r['verdict']['verdict']} ({r['verdict']['reason']})")
    print(f"report: {out / 'doctor.md'}, {out / 'doctor.json'}")
    return 0
