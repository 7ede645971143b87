"""The phrase-level instrument judge (analysis.instrument_judge) against its targets.

For each target instrument (trumpet/brass, flute, violin/string, clarinet/reed): the share of
windows labelled as the target family for (a) held-out melodies 36-39 of that instrument,
(b) the corpus's test-split notes of that family (instruments the corpus fit never saw), and
(c) the evaluation voices sung_000, sung_001, spoken_000, spoken_001 (must stay <= 0.1).
Targets: (a) and (b) >= 0.9, (c) <= 0.1 for every voice and target.

Fitted on (nothing else): the corpus's train+valid notes (whole notes); the voice class from
data/voice sung_004..007 and spoken_002 plus, unless --no-render, 8 sung phrases (Festival,
seed 1) and 8 sentences (espeak-ng, texts not among the evaluation sentences) rendered into
OUT/voice by analysis.instrument_judge.render_voice_material; and, unless --no-extra, melodies
0-35 of each instrument as extra material of its family. sung_002 and sung_003 are fitted on by no one and reported as two more
unseen voices.

    python benchmarks/bench_judge.py [--corpus data/gm] [--data data] [--no-extra] [--classifier svm]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

TARGETS = (("trumpet", "brass"), ("flute", "flute"), ("violin", "string"), ("clarinet", "reed"))
EVAL_VOICES = ("sung_000", "sung_001", "spoken_000", "spoken_001")
UNSEEN_VOICES = ("sung_002", "sung_003")
FIT_VOICES = ("sung_004", "sung_005", "sung_006", "sung_007", "spoken_002")
HELD_OUT = range(36, 40)
TRAIN_MELODIES = range(0, 36)


def _counts(labels) -> dict:
    return dict(Counter(str(v) for v in labels).most_common())


def main() -> int:
    from analysis.instrument_judge import InstrumentJudge, render_voice_material
    from workbench.audio import load
    from workbench.corpus.nsynth import NSynth

    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/gm")
    ap.add_argument("--data", default="data")
    ap.add_argument("--no-extra", action="store_true", help="fit on the corpus and voices only")
    ap.add_argument("--classifier", default="svm", choices=("svm", "logreg"))
    ap.add_argument("--C", type=float, default=10.0)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--hop", type=float, default=1.0)
    ap.add_argument("--train-hop", type=float, default=0.5)
    ap.add_argument("--no-render", action="store_true",
                    help="voice class from data/voice only (no rendered voice material)")
    ap.add_argument("--out", default="reports/judge", help="rendered voice material and the feature cache")
    args = ap.parse_args()
    data, sr = Path(args.data), 16000
    voice_dir = data / "voice"
    extra = None if args.no_extra else {
        fam: [data / inst / f"melody_{i:03d}.wav" for i in TRAIN_MELODIES] for inst, fam in TARGETS}
    fit_voice = [voice_dir / f"{v}.wav" for v in FIT_VOICES]
    if not args.no_render:
        fit_voice += render_voice_material(Path(args.out) / "voice", progress=True)
    judge = InstrumentJudge(window=args.window, hop=args.hop, train_hop=args.train_hop, classifier=args.classifier,
                            C=args.C)
    t = time.perf_counter()
    judge.fit(args.corpus, voice=fit_voice, extra=extra, cache_dir=Path(args.out) / "cache")
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    judge.fit(args.corpus, voice=fit_voice, extra=extra, cache_dir=Path(args.out) / "cache")
    refit_s = time.perf_counter() - t

    voices = {v: load(voice_dir / f"{v}.wav", sr=sr, mono=True)[0][0] for v in EVAL_VOICES + UNSEEN_VOICES}
    voice_labels = {v: judge.predict(y, sr=sr) for v, y in voices.items()}
    print(f"fitted on {judge.fitted_on_['windows']} windows; extra={judge.fitted_on_['extra']}; "
          f"fit {fit_s:.1f} s, refit from the feature cache {refit_s:.1f} s ({args.classifier}, C={args.C}, "
          f"window {args.window} s, hop {args.hop} s)\n")
    head = ["instrument", "family", "melodies 36-39", "corpus test", *EVAL_VOICES, *UNSEEN_VOICES]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    ok, notes_ok = True, {}
    for inst, fam in TARGETS:
        mel = [load(data / inst / f"melody_{i:03d}.wav", sr=sr, mono=True)[0][0] for i in HELD_OUT]
        notes = [load(p, sr=sr, mono=True)[0][0] for p in NSynth(args.corpus, split="test", family=fam).paths()]
        a, b = judge.share(mel, fam, sr=sr), judge.share(notes, fam, sr=sr)
        c = {v: float(np.mean(lab == fam)) if lab.size else float("nan") for v, lab in voice_labels.items()}
        ok &= a >= 0.9 and all(c[v] <= 0.1 for v in EVAL_VOICES)
        notes_ok[fam] = b >= 0.9
        print(f"| {inst} | {fam} | {a:.2f} | {b:.2f} | " + " | ".join(f"{c[v]:.2f}" for v in voices) + " |")
        if a < 0.9:
            print(f"|   melodies labelled {_counts(judge.predict(mel, sr=sr))} |")
        if b < 0.9:
            print(f"|   test notes labelled {_counts(judge.predict(notes, sr=sr))} |")
    print("\nvoice windows labelled as: " + "; ".join(f"{v}: {_counts(lab)}" for v, lab in voice_labels.items()))
    print(f"\nheld-out melodies >= 0.9 and every evaluation voice <= 0.1, for all four targets: {ok}")
    print("corpus test notes (unseen instruments) >= 0.9: " + ", ".join(f"{k} {v}" for k, v in notes_ok.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
