"""Latent mixing and the chroma mesh (issue 7), measured on the demo corpus.

- The alpha curve: brass test notes played through the two-instrument model (runs/multi,
  brass + flute) with alpha 0 -> 1 in each mode; the mean probability of flute from a family
  probe fitted on the corpus's brass and flute notes.
- The chroma mesh of runs/chroma (MANNe's Table V) and the pitch class of synthesized notes.

    python benchmarks/bench_latent_mix.py [--corpus data/gm] [--multi runs/multi] [--chroma runs/chroma]

Train the models first:
    workbench train --target "data/gm:family=brass+flute,split=train" --set model.condition=onehot --out runs/multi
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
    from analysis.latent_space import alpha_curve, mesh
    from analysis.scoreboard import TimbreProbe
    from effects.latent_mix import LatentMixEffect
    from workbench.audio import load
    from workbench.corpus.nsynth import NSynth

    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/gm")
    ap.add_argument("--multi", default="runs/multi")
    ap.add_argument("--chroma", default="runs/chroma")
    ap.add_argument("--skip-mesh", action="store_true")
    ap.add_argument("--out", default="reports/latent")
    ap.add_argument("--notes", type=int, default=12)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = {}
    if (Path(args.multi) / "model.safetensors").is_file():
        t = time.perf_counter()
        probe = TimbreProbe(families=("brass", "flute")).fit(args.corpus)
        paths = NSynth(args.corpus, family="brass", split="test").paths()
        paths = [paths[i] for i in np.linspace(0, len(paths) - 1, min(args.notes, len(paths))).astype(int)]
        notes = [load(p, sr=16000, mono=True)[0][0][:48000] for p in paths]
        res["curve"] = {}
        for mode in ("blend", "shift", "linear"):
            fx = LatentMixEffect(model=args.multi, mode=mode, source="brass", target="flute")
            res["curve"][mode] = alpha_curve(fx, notes, sr=16000, probe=probe, target="flute")
        res["curve_notes"] = len(notes)
        res["curve_seconds"] = round(time.perf_counter() - t, 1)
        print(f"alpha curve, mean P(flute) over {len(notes)} brass test notes (3 s each, 1 s segments):")
        print("| mode | " + " | ".join(f"alpha {r['alpha']:.2f}" for r in res["curve"]["blend"]) + " |")
        print("|---" * 6 + "|")
        for mode, rows in res["curve"].items():
            print(f"| {mode} | " + " | ".join(f"{r['p_target']:.3f} ({r['share_labelled_target']:.2f})" for r in rows)
                  + " |")
        print("(in brackets: share of segments the probe labels flute)")
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
