"""Augmentation comparison: train the demo's trumpet model with and without each augmentation.

Four runs with the same seed and time budget (none, pitch shift only, envelope corruption only,
both), each measured on the first three sung phrases of the demo voice material: raw pitch
accuracy of output vs input f0 (pYIN, 50 cents) and MFCC distance to the trumpet material
(smaller = closer), means over the phrases. Uses the demo's material in data/ (rendered if missing).
Usage: python benchmarks/bench_augment.py [--seconds 150] [--data data]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from analysis.demo import render_material
from analysis.transfer_eval import mfcc_profile, raw_pitch_accuracy, timbre_distance
from effects.autoencoder import AutoencoderEffect
from models.train import train
from workbench.audio import load
from workbench.config import make_config
from workbench.corpus.select import resolve_target

VARIANTS = {
    "none": ["train.pitch_shift=0,0", "train.corrupt_prob=0"],
    "pitch shift": ["train.corrupt_prob=0"],
    "envelope corruption": ["train.pitch_shift=0,0"],
    "both (default)": [],
}


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=150)
    ap.add_argument("--data", default="data")
    args = ap.parse_args()
    data = Path(args.data)
    render_material(data, progress=False)  # the demo's material; rendered here if `make demo` has not run
    sr = 16000
    paths = resolve_target(data / "trumpet")
    profile = mfcc_profile([load(p, sr=sr, mono=True)[0] for p in paths], sr=sr)
    voices = [load(data / "voice" / f"sung_{i:03d}.wav", sr=sr, mono=True)[0] for i in range(3)]
    base_dist = float(np.mean([timbre_distance(v, profile, sr=sr) for v in voices]))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in VARIANTS.items():
            cfg = make_config(preset="nsynth", overrides=[f"train.max_seconds={args.seconds}", "train.epochs=200",
                                                          *overrides], seed=0)
            out = Path(tmp) / name.replace(" ", "_")
            meta = train(paths, cfg, out, progress=False)
            fx = AutoencoderEffect(model=out)
            rpa, dist = [], []
            for v in voices:
                y = fx.process(v, sr)
                rpa.append(raw_pitch_accuracy(v[0], y[0], sr=sr)["raw_pitch_accuracy"])
                dist.append(timbre_distance(y, profile, sr=sr))
            results[name] = {"raw_pitch_accuracy": round(float(np.mean(rpa)), 3),
                             "mfcc_distance_to_trumpet": round(float(np.mean(dist)), 1),
                             "epochs": meta["epochs_run"], "best_valid_loss": round(meta["best_valid_loss"], 5)}
            print(name, results[name], flush=True)
    out = {"benchmark": "augmentation comparison", "input_mfcc_distance_to_trumpet": round(base_dist, 1),
           "seconds_per_run": args.seconds, "results": results}
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
