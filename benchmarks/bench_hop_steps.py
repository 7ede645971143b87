"""Per-hop compute of the live autoencoder, step by step (issue 16: <= 0.25 of a hop at the median).

One torch thread, batch 1, one hop per ``process_block`` call, a freshly initialised model of
the preset's size (speed does not depend on the weights), ``--hops`` hops of noise after 200
warm-up hops. The steps are timed in place, inside the real hop (each function wrapped with a
timer; timed alone, cache-warm, they look up to a third faster):

- ``analysis``: :class:`workbench.spectral.StreamingAnalyzer` (history, window, rfft);
- ``prepare``: normalisation, whitening, frame pitch, harmonic levelling, compression;
- ``encode``: encoder MLP, the fused LSTM step, latent;
- ``decode``: decoder MLP, harmonic levels, envelope;
- ``shape``: decompression, A-weighted level match, the input's phase;
- ``synthesis``: :class:`workbench.spectral.StreamingSynthesizer`;
- ``rest``: everything else in ``process_block`` (conversions, context, gate, FIFO, dry line,
  limiter, Python calls);
- ``whole hop``: ``process_block``;
- ``exported``: the TorchScript module of ``workbench export``, one hop per ``forward``;
- ``exported, frozen``: the same after ``torch.jit.freeze`` + ``optimize_for_inference``;
- ``effect, torchscript``: ``process_block`` of ``AutoencoderEffect(torchscript=True)``, what
  ``workbench live --torchscript`` runs (the traced wet step, with mix, dry line, gain and
  limiter in Python).

Medians in microseconds and as a fraction of the hop, p99 as a fraction of the hop.
Usage: python benchmarks/bench_hop_steps.py [--preset low-delay] [--window hann] [--hops 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import effects.autoencoder as ae  # noqa: E402
from effects.export import export_autoencoder, load_exported  # noqa: E402
from models.checkpoint import save_run  # noqa: E402
from models.train import build_model, model_kwargs  # noqa: E402
from workbench.config import make_config  # noqa: E402


def _timed(fn, step: str, acc: dict):
    def wrapper(*a, **k):
        t = time.perf_counter()
        out = fn(*a, **k)
        acc[step] += time.perf_counter() - t
        return out
    return wrapper


def _stats(v, hop_us):
    v = np.asarray(v) * 1e6
    return {"median_us": round(float(np.median(v)), 1), "median_of_hop": round(float(np.median(v)) / hop_us, 4),
            "p99_of_hop": round(float(np.percentile(v, 99)) / hop_us, 4)}


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="low-delay")
    ap.add_argument("--window", choices=("hann", "low-delay"), help="override the preset's window")
    ap.add_argument("--hops", type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    n, warm = args.hops + 200, 200
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_config(preset=args.preset)
        torch.manual_seed(0)
        save_run(f"{tmp}/run", build_model(cfg), config=cfg, model_kwargs=model_kwargs(cfg), meta={"benchmark": True})
        fx = ae.AutoencoderEffect(model=f"{tmp}/run", window=args.window)
        sr, hop = fx.model_sr, fx.hop_length
        hop_us = hop / sr * 1e6
        x = (0.1 * np.random.default_rng(0).standard_normal((1, (n + 8) * hop))).astype(np.float32)
        fx.prepare(sr, 1, hop)
        acc: dict = defaultdict(float)
        s = fx._stream
        s.analyzer.process = _timed(s.analyzer.process, "analysis", acc)
        s.synthesizer.process = _timed(s.synthesizer.process, "synthesis", acc)
        fx.model.encode = _timed(fx.model.encode, "encode", acc)
        fx.model.decode = _timed(fx.model.decode, "decode", acc)
        saved = {name: getattr(ae, name) for name in ("prepare_input", "decompress", "match_energy", "unit_phase")}
        ae.prepare_input = _timed(saved["prepare_input"], "prepare", acc)
        for name in ("decompress", "match_energy", "unit_phase"):
            setattr(ae, name, _timed(saved[name], "shape", acc))
        steps = defaultdict(list)
        try:
            for i in range(n):
                acc.clear()
                t = time.perf_counter()
                fx.process_block(x[:, i * hop:(i + 1) * hop])
                whole = time.perf_counter() - t
                if i >= warm:
                    for k in ("analysis", "prepare", "encode", "decode", "shape", "synthesis"):
                        steps[k].append(acc[k])
                    steps["rest"].append(whole - sum(acc.values()))
                    steps["whole hop"].append(whole)
        finally:
            for name, fn in saved.items():
                setattr(ae, name, fn)
        xt = torch.from_numpy(x)
        path = export_autoencoder(f"{tmp}/run", f"{tmp}/m.ts", window=args.window)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # freeze / optimize_for_inference are marked deprecated
            modules = {"exported": load_exported(path),
                       "exported, frozen": torch.jit.optimize_for_inference(torch.jit.freeze(load_exported(path).eval()))}
        ts = ae.AutoencoderEffect(model=f"{tmp}/run", window=args.window, torchscript=True).prepare(sr, 1, hop)
        for i in range(n):
            t = time.perf_counter()
            ts.process_block(x[:, i * hop:(i + 1) * hop])
            if i >= warm:
                steps["effect, torchscript"].append(time.perf_counter() - t)
        for name, m in modules.items():
            with torch.inference_mode():
                for i in range(n):
                    t = time.perf_counter()
                    m(xt[:, i * hop:(i + 1) * hop])
                    if i >= warm:
                        steps[name].append(time.perf_counter() - t)
        res = {k: _stats(v, hop_us) for k, v in steps.items()}
    out = {"benchmark": "autoencoder per-hop compute by step", "preset": args.preset, "window": fx.window,
           "sr": sr, "n_fft": fx.n_fft, "hop": hop, "hop_us": round(hop_us, 1), "latency_samples": fx.latency_samples,
           "machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__, "steps": res}
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
