"""Per-hop compute of the live autoencoder, step by step (issue 16: <= 0.25 of a hop at the median).

One torch thread, batch 1, one hop per call, a freshly initialised model of the preset's size
(speed does not depend on the weights). Each step is timed on its own over ``--hops`` hops of
noise (after 200 warm-up hops), as median microseconds and as a fraction of the hop:

- ``analysis``: :class:`workbench.spectral.StreamingAnalyzer` (history, window, rfft);
- ``prepare``: magnitudes, normalisation, whitening, frame pitch, harmonic levelling, compression;
- ``encode``: context stack, encoder MLP, the fused LSTM step, latent;
- ``decode``: decoder MLP, harmonic levels, envelope;
- ``shape``: decompression, A-weighted level match, the input's phase, gate;
- ``synthesis``: :class:`workbench.spectral.StreamingSynthesizer` and the block FIFO;
- ``whole hop``: ``process_block`` (the Python effect, with the dry line and limiter);
- ``exported``: the TorchScript module of ``workbench export``, one hop per ``forward``;
- ``exported, frozen``: the same after ``torch.jit.freeze`` + ``optimize_for_inference``.

Usage: python benchmarks/bench_hop_steps.py [--preset low-delay] [--hops 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from effects.autoencoder import AutoencoderEffect  # noqa: E402
from effects.export import export_autoencoder, load_exported  # noqa: E402
from models.checkpoint import save_run  # noqa: E402
from models.lstm_ae import decompress, prepare_input, stack_context  # noqa: E402
from models.train import build_model, model_kwargs  # noqa: E402
from workbench.config import make_config  # noqa: E402


def _time(fn, args_list, warm=200):
    out = []
    for i, a in enumerate(args_list):
        t = time.perf_counter()
        fn(*a)
        if i >= warm:
            out.append(time.perf_counter() - t)
    return np.asarray(out)


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="low-delay")
    ap.add_argument("--window", choices=("hann", "low-delay"), help="override the preset's window")
    ap.add_argument("--hops", type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    n = args.hops + 200
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_config(preset=args.preset)
        torch.manual_seed(0)
        save_run(f"{tmp}/run", build_model(cfg), config=cfg, model_kwargs=model_kwargs(cfg), meta={"benchmark": True})
        fx = AutoencoderEffect(model=f"{tmp}/run", window=args.window)
        sr, hop = fx.model_sr, fx.hop_length
        x = (0.1 * np.random.default_rng(0).standard_normal((1, (n + 8) * hop))).astype(np.float32)
        xt = torch.from_numpy(x)
        blocks = [(x[:, i * hop:(i + 1) * hop],) for i in range(n)]
        tblocks = [(xt[:, i * hop:(i + 1) * hop],) for i in range(n)]
        fx.prepare(sr, 1, hop)
        times = {}
        with torch.inference_mode():
            an, syn = fx._stream.analyzer, fx._stream.synthesizer
            frames = [an.process(b) for (b,) in tblocks]
            an.reset()
            times["analysis"] = _time(an.process, tblocks)
            X = frames[-1]
            absX = X.abs()
            mag = absX.transpose(1, 2)
            times["prepare"] = _time(lambda m: prepare_input(m, **fx._io), [(mag,)] * n)
            xin, _, f0 = prepare_input(mag, **fx._io)
            hist = fx._history

            def encode(state):
                return fx.model.encode(stack_context(xin, fx.context, hist), state)

            z, st = encode(None)
            times["encode"] = _time(encode, [(st,)] * n)
            times["decode"] = _time(lambda: fx.model.decode(z, xin, f0=f0), [()] * n)
            y = fx.model.decode(z, xin, f0=f0)

            def shape():
                s = decompress(y, **fx._decomp)
                from effects.frame_effect import match_energy, unit_phase

                out = match_energy(s, mag, dim=-1, weights=fx._loudness_weights).transpose(1, 2) * unit_phase(X, absX)
                energy = torch.linalg.vector_norm(absX, dim=1, keepdim=True)
                gate = ((20 * torch.log10(energy * fx._level_scale + 1e-12) - fx.gate_db) / 12.0).clamp(0, 1)
                return out * gate

            times["shape"] = _time(shape, [()] * n)
            times["synthesis"] = _time(syn.process, [(f,) for f in frames])
        fx.reset()
        times["whole hop"] = _time(fx.process_block, blocks)
        ts = load_exported(export_autoencoder(f"{tmp}/run", f"{tmp}/m.ts", window=args.window))
        with torch.inference_mode():
            times["exported"] = _time(ts, tblocks)
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(load_exported(f"{tmp}/m.ts").eval()))
        with torch.inference_mode():
            times["exported, frozen"] = _time(frozen, tblocks)
        hop_us = hop / sr * 1e6
        res = {k: {"median_us": round(float(np.median(v)) * 1e6, 1), "median_of_hop": round(float(np.median(v)) * 1e6 / hop_us, 4),
                   "p99_of_hop": round(float(np.percentile(v, 99)) * 1e6 / hop_us, 4)} for k, v in times.items()}
    out = {"benchmark": "autoencoder per-hop compute by step", "preset": args.preset, "window": fx.window,
           "sr": sr, "n_fft": fx.n_fft, "hop": hop, "hop_us": round(hop_us, 1), "latency_samples": fx.latency_samples,
           "machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__, "steps": res}
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
