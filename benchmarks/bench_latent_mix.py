"""Latent mixing and the chroma mesh (issue 7), measured on the demo corpus.

- The alpha curve: sung phrases, and notes of instruments the model never saw (valid and test
  splits), played through the two-instrument model (runs/multi, brass + flute) with alpha
  0 -> 1 in each mode, brass -> flute and flute -> brass; the share of the outputs' 2 s windows a
  brass-vs-flute instrument judge labels B (see the comments in ``main`` for which notes it is
  fitted on). Before the judge replaced the note-level probe this printed the probe's mean
  probability of B over 1 s segments (the tables in BENCHMARKS.md up to 2026-12-01).
- The chroma mesh of runs/chroma (MANNe's Table V) and the pitch class of synthesized notes.

    python benchmarks/bench_latent_mix.py [--corpus data/gm] [--multi runs/multi] [--chroma runs/chroma]

Train the models first:
    workbench train --target "data/gm:family=brass+flute,split=train" --set model.condition=onehot \\
        --set model.whiten=30 --set model.output=envelope --out runs/multi
    workbench corpus render --out data/gm-probe --max-notes 20 --velocities 50,75,100,127 --seed 1
    workbench train --target "data/gm-probe:family=brass,split=train" --set model.chroma=true \\
        --set model.latent=2 --set model.output=spectrum --out runs/chroma

The chroma model needs notes on every pitch class: the demo corpus draws pitches every 3
semitones (fundamentals on C, D#, F#, A only), and a model trained on it never decodes D, F, G#
or B (mesh shares 0.00 for those four).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def main() -> int:
    from analysis.instrument_judge import InstrumentJudge
    from analysis.latent_space import alpha_curve, mesh
    from effects.latent_mix import LatentMixEffect
    from workbench.audio import load
    from workbench.corpus.nsynth import NSynth

    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/gm")
    ap.add_argument("--multi", default="runs/multi")
    ap.add_argument("--chroma", default="runs/chroma")
    ap.add_argument("--skip-mesh", action="store_true")
    ap.add_argument("--out", default="reports/latent")
    ap.add_argument("--notes", type=int, default=24)
    ap.add_argument("--voice", default="data/voice")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = {}
    if (Path(args.multi) / "model.safetensors").is_file():
        t = time.perf_counter()
        # Two materials, both directions (A -> B and B -> A), so neither a judge's bias towards
        # one family nor a single instrument can fake a rise:
        # - "voice": the sung phrases (the workbench's use case), unseen by model and judge; the
        #   judge is fitted on every brass and flute note of the corpus and tells which of the
        #   two families an output resembles;
        # - "notes": A's valid and test notes (instruments the model never saw), judged by a
        #   judge fitted on the train split only, so they are unseen by the judge as well.
        judges = {kind: InstrumentJudge(families=("brass", "flute"), splits=splits).fit(args.corpus)
                  for kind, splits in (("voice", ("train", "valid", "test")), ("notes", ("train",)))}
        voice = [load(p, sr=16000, mono=True)[0][0] for p in sorted(Path(args.voice).glob("sung_*.wav"))[: args.notes]]
        res["curve"], res["curve_inputs"] = {}, {}
        for src, dst in (("brass", "flute"), ("flute", "brass")):
            paths = NSynth(args.corpus, family=src, split=["valid", "test"]).paths()
            paths = [paths[i] for i in np.linspace(0, len(paths) - 1, min(args.notes, len(paths))).astype(int)]
            materials = {"voice": voice,
                         "notes": [load(p, sr=16000, mono=True)[0][0][:48000] for p in paths]}
            for kind, inputs in materials.items():
                if not inputs:
                    continue
                res["curve_inputs"][f"{kind} {src}"] = len(inputs)
                for mode in ("blend", "shift", "linear"):
                    fx = LatentMixEffect(model=args.multi, mode=mode, source=src, target=dst)
                    res["curve"][f"{kind}: {src}->{dst} {mode}"] = alpha_curve(fx, inputs, sr=16000,
                                                                             judge=judges[kind], target=dst)
        res["curve_seconds"] = round(time.perf_counter() - t, 1)
        print(f"alpha curve, share of 2 s windows judged B, of {res['curve_inputs']}:")
        first = next(iter(res["curve"].values()))
        print("| A->B mode | " + " | ".join(f"alpha {r['alpha']:.2f}" for r in first) + " |")
        print("|---" * (len(first) + 1) + "|")
        for key, rows in res["curve"].items():
            print(f"| {key} | " + " | ".join(f"{r['share_labelled_target']:.2f}" for r in rows) + " |")
    else:
        print(f"skipped the alpha curve: {args.multi} is missing")
    if args.skip_mesh:
        pass
    elif (Path(args.chroma) / "model.safetensors").is_file():
        t = time.perf_counter()
        r = mesh(args.chroma, points=50, synth_check=4, out=out / "mesh", progress=False)
        res["mesh"] = {k: r[k] for k in ("classes", "mean", "points", "latent_dim", "synth")}
        res["mesh_seconds"] = round(time.perf_counter() - t, 1)
        print((out / "mesh" / "mesh.md").read_text())
    else:
        print(f"skipped the mesh: {args.chroma} is missing")
    (out / "bench.json").write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
