"""Autoencoder effect speed: offline real-time factor and streaming compute per hop.

- Offline: ``process`` of 10 s of audio on all cores, median of 5, per preset.
- Streaming: batch 1, one torch thread, one hop per ``process_block`` call (as a live callback
  would), compute time / hop duration: median and p99 over 2000 hops, per preset.
- The same for the exported TorchScript module (``workbench export``), one hop per ``forward``.
Speed does not depend on the weights, so each preset's model is freshly initialised.
Usage: python benchmarks/bench_autoencoder.py [--presets low-latency,low-delay] [--hops 2000]
(the low-delay preset plays with its own window pair: latency 2 * hop - 1 instead of n_fft - 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np
import torch

from effects.autoencoder import AutoencoderEffect
from models.checkpoint import save_run
from models.train import build_model, model_kwargs
from workbench.config import make_config


def _run_dir(preset: str, tmp: str) -> str:
    cfg = make_config(preset=preset)
    torch.manual_seed(0)
    model = build_model(cfg)
    out = os.path.join(tmp, preset)
    save_run(out, model, config=cfg, model_kwargs=model_kwargs(cfg), meta={"benchmark": True})
    return out


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="nsynth,quality,low-latency,low-delay")
    ap.add_argument("--hops", type=int, default=2000, help="timed hops per stream (after 200 warm-up hops)")
    args = ap.parse_args()
    n_hops = args.hops + 200
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            run = _run_dir(preset, tmp)
            fx = AutoencoderEffect(model=run)
            sr, hop = fx.model_sr, fx.hop_length
            rng = np.random.default_rng(0)
            x = (0.1 * rng.standard_normal((1, 10 * sr))).astype(np.float32)
            torch.set_num_threads(os.cpu_count() or 1)
            fx.process(x[:, : sr], sr)  # warm-up
            times = []
            for _ in range(5):
                t = time.perf_counter()
                fx.process(x, sr)
                times.append(time.perf_counter() - t)
            rtf = 10.0 / float(np.median(times))
            torch.set_num_threads(1)
            fx.prepare(sr, 1, hop)
            per_hop = []
            for i in range(n_hops):
                block = x[:, (i * hop) % (x.shape[1] - hop):][:, :hop]
                t = time.perf_counter()
                fx.process_block(block)
                per_hop.append(time.perf_counter() - t)
            load = np.asarray(per_hop[200:]) / (hop / sr)
            from effects.export import export_autoencoder, load_exported

            ts = load_exported(export_autoencoder(run, os.path.join(tmp, f"{preset}.ts")))
            xt = torch.from_numpy(x)
            per_hop_ts = []
            with torch.inference_mode():
                for i in range(n_hops):
                    block = xt[:, (i * hop) % (x.shape[1] - hop):][:, :hop]
                    t = time.perf_counter()
                    ts(block)
                    per_hop_ts.append(time.perf_counter() - t)
            load_ts = np.asarray(per_hop_ts[200:]) / (hop / sr)
            params = sum(p.numel() for p in fx.model.parameters())
            results[preset] = {
                "sr": sr, "n_fft": fx.n_fft, "hop": hop, "window": fx.window, "parameters": params,
                "latency_ms": round(fx.latency_samples / sr * 1000, 2),
                "offline_real_time_factor": round(rtf, 1),
                "stream_load_median": round(float(np.median(load)), 4),
                "stream_load_p99": round(float(np.percentile(load, 99)), 4),
                "exported_load_median": round(float(np.median(load_ts)), 4),
                "exported_load_p99": round(float(np.percentile(load_ts, 99)), 4),
            }
    out = {"benchmark": "autoencoder effect speed", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
           "torch": torch.__version__, "results": results}
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
