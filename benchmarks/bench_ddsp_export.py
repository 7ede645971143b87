"""Per-hop cost of the exported DDSP module against the Python effect (issue 28 part 4).

A freshly initialised DDSP model of the default size (60 harmonics, 65 noise bands, GRU 192;
speed does not depend on the weights) saved as a run; ``workbench export``'s module
(:func:`effects.export_ddsp.export_ddsp`) and :class:`effects.ddsp.DDSPEffect` both process the
same voiced input (a harmonic glide with vibrato and a little breath noise, so no frame is
skipped as silent) in blocks of ``hop`` and of ``16 * hop`` samples, ``--hops`` hops after 64
warm-up hops, at ``--threads`` torch threads. Per call, the time divided by the hops in the
block: median in microseconds and as a fraction of the hop, p99 as a fraction of the hop. Also
``exported, frozen`` (``torch.jit.freeze`` + ``optimize_for_inference`` of the loaded module)
and the largest difference between the module's and the effect's samples.

Usage: python benchmarks/bench_ddsp_export.py [--hops 600] [--threads 1]
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
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from effects.ddsp import DDSPEffect  # noqa: E402
from effects.export import load_exported  # noqa: E402
from effects.export_ddsp import export_ddsp  # noqa: E402
from models.checkpoint import save_run  # noqa: E402
from models.ddsp import DDSPDecoder  # noqa: E402
from models.ddsp_train import model_kwargs  # noqa: E402
from workbench.config import make_config  # noqa: E402


def _voiced(n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    f0 = 220 * 2 ** (0.5 * np.sin(2 * np.pi * t / 7)) * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    ph = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * ph) / k for k in range(1, 10)) * 0.15
    y += 0.005 * np.random.default_rng(0).standard_normal(n)
    return y[None].astype(np.float32)


def _stats(v, hop_us):
    v = np.asarray(v) * 1e6
    return {"median_us": round(float(np.median(v)), 1), "median_of_hop": round(float(np.median(v)) / hop_us, 4),
            "p99_of_hop": round(float(np.percentile(v, 99)) / hop_us, 4)}


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hops", type=int, default=600)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warm = 64
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_config(method="ddsp")
        torch.manual_seed(0)
        save_run(f"{tmp}/run", DDSPDecoder(**model_kwargs(cfg)), config=cfg, model_kwargs=model_kwargs(cfg),
                 meta={"benchmark": True})
        t = time.perf_counter()
        path = export_ddsp(f"{tmp}/run", f"{tmp}/d.ts")
        export_s = time.perf_counter() - t
        fx = DDSPEffect(model=f"{tmp}/run")
        sr, hop = fx.model_sr, fx.hop
        hop_us = hop / sr * 1e6
        x = _voiced((args.hops + warm + 32) * hop, sr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # freeze / optimize_for_inference are marked deprecated
            frozen = torch.jit.optimize_for_inference(torch.jit.freeze(load_exported(path).eval(),
                                                                         preserved_attrs=["reset"]))
        modules = {"exported": load_exported(path), "exported, frozen": frozen}
        res, worst = {}, {}
        for hops in (1, 16):
            n = hops * hop
            calls = (args.hops + warm) // hops
            fx.prepare(sr, 1, n)
            times, want = [], []
            for i in range(calls):
                t = time.perf_counter()
                want.append(fx.process_block(x[:, i * n:(i + 1) * n]))
                times.append((time.perf_counter() - t) / hops)
            res[f"python effect, block {hops} hop(s)"] = _stats(times[warm // hops:], hop_us)
            for name, m in modules.items():
                m.reset()
                times, got = [], []
                with torch.inference_mode():
                    for i in range(calls):
                        xt = torch.from_numpy(x[:, i * n:(i + 1) * n])
                        t = time.perf_counter()
                        got.append(m(xt))
                        times.append((time.perf_counter() - t) / hops)
                res[f"{name}, block {hops} hop(s)"] = _stats(times[warm // hops:], hop_us)
                worst[f"{name}, block {hops} hop(s)"] = float(np.abs(torch.cat(got, 1).numpy()
                                                                     - np.concatenate(want, 1)).max())
        out = {"benchmark": "DDSP per-hop cost, exported module vs Python effect", "sr": sr, "hop": hop,
               "hop_us": round(hop_us, 1), "latency_samples": fx.latency_samples, "threads": args.threads,
               "hops": args.hops, "export_seconds": round(export_s, 2), "file_mb": round(path.stat().st_size / 1e6, 2),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
               "per_hop": res, "max_abs_difference": worst}
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
