"""The full pitch-tracking protocol of seed 003 with three methods (issue 6).

5 sung melodies x 20 random notes x 10 target classes = 1000 note evaluations per method
(autoencoder, cepstral, mosaic), plus the dry input as the reference row. Class models are
trained first (timed separately, reused from runs/ when present), then the scoreboard runs.

    python benchmarks/bench_protocol.py [--corpus data/gm] [--train-seconds 60] [--out reports/eval]
        [--runs runs] [--set model.whiten=30 --set model.output=envelope] [--methods autoencoder,dry]
        [--window low-delay [--synthesis-length 320]]

``--set`` trains the class models with those settings (give them their own ``--runs`` folder:
a class model already there is reused whatever its settings).

Needs the demo corpus (`make demo`). Prints the training time, the protocol's wall time and the table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.pitch_eval import class_run, method_factories  # noqa: E402
from analysis.pitch_protocol import DEFAULT_CLASSES, Protocol  # noqa: E402
from analysis.scoreboard import run_scoreboard  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/gm")
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--train-seconds", type=float, default=60.0)
    ap.add_argument("--out", default="reports/eval")
    ap.add_argument("--melodies", type=int, default=5)
    ap.add_argument("--notes", type=int, default=20)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="training setting for the class models (repeatable)")
    ap.add_argument("--methods", default="autoencoder,cepstral,mosaic,dry",
                    help="comma list of autoencoder, ddsp, cepstral, mosaic, dry")
    ap.add_argument("--classes", default=",".join(DEFAULT_CLASSES), help="comma list of target families")
    ap.add_argument("--ddsp-seconds", type=float, default=300.0, help="training cap of each ddsp class model")
    ap.add_argument("--window", choices=("hann", "low-delay"),
                    help="STFT windows of the autoencoder and cepstral methods (default: the run's / Hann)")
    ap.add_argument("--synthesis-length", type=int, help="low-delay synthesis window in samples (default 2 * hop)")
    args = ap.parse_args()
    classes = tuple(args.classes.split(","))
    methods = args.methods.split(",")
    if not Path(args.corpus).is_dir():
        print(f"skipped: {args.corpus} is missing (run `make demo` first)")
        return 0
    t = time.perf_counter()
    trained = []
    for fam in classes:
        for method in [m for m in ("autoencoder", "ddsp") if m in methods]:
            name = f"eval-{fam}" if method == "autoencoder" else f"eval-{method}-{fam}"
            had = (Path(args.runs) / name / "model.safetensors").is_file()
            t1 = time.perf_counter()
            class_run(fam, corpus=args.corpus, runs=args.runs, method=method, progress=False,
                      train_seconds=args.train_seconds if method == "autoencoder" else args.ddsp_seconds,
                      overrides=args.set if method == "autoencoder" else ())
            if not had:
                trained.append(f"{name} {time.perf_counter() - t1:.0f} s")
    train_s = time.perf_counter() - t
    protocol = Protocol(melodies=args.melodies, notes=args.notes, classes=classes)
    factories = method_factories(methods, corpus=args.corpus, runs=args.runs, train_seconds=args.train_seconds,
                                 ddsp_seconds=args.ddsp_seconds, train_overrides=args.set, window=args.window,
                                 synthesis_length=args.synthesis_length,
                                 progress=False)
    t = time.perf_counter()
    res = run_scoreboard(protocol, factories, corpus=args.corpus, out=args.out, progress=False)
    wall = time.perf_counter() - t
    print(f"class models: {len(trained)} trained now ({', '.join(trained) or 'all reused'}) in {train_s:.0f} s")
    print(f"protocol + scoreboard: {wall:.0f} s wall ({res['pitch']['note_evaluations_per_method']} note "
          f"evaluations per method; pitch protocol {res['pitch_seconds']} s)")
    print(Path(args.out, "scoreboard.md").read_text())
    print(Path(args.out, "pitch.md").read_text())
    Path(args.out, "bench.json").write_text(json.dumps({"train_seconds": train_s, "trained": trained,
                                                         "wall_seconds": wall}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
