"""The device paths on a CUDA machine, with their figures (issue 27); `scripts/gpu_check.sh` runs it.

Each section runs on its own and prints one line of figures or the error it met, so one run on a
lent GPU tells everything at once:

- autoencoder epoch time, default model, on the GPU and on all the machine's CPU cores;
- the demo's trumpet model trained to its plateau on the GPU (the demo's settings), saved from
  CUDA, loaded and played on the CPU;
- the DDSP-style model to its plateau on the GPU;
- kymatio scattering notes per second on the GPU;
- ``workbench train --device cuda`` and ``torchrun --nproc_per_node=1`` through the real command.

Usage: ``python benchmarks/bench_gpu.py [--data data/trumpet] [--out /tmp/gpu_check]``. Without
CUDA it says so and exits 0 (``make bench`` runs it everywhere).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS: dict = {}


def section(name):
    def wrap(fn):
        def run(*a, **k):
            t0 = time.perf_counter()
            try:
                RESULTS[name] = fn(*a, **k)
                print(f"[{name}] {json.dumps(RESULTS[name])} ({time.perf_counter() - t0:.1f} s)", flush=True)
            except Exception as err:  # a failing section must not hide the others' figures
                RESULTS[name] = {"error": f"{type(err).__name__}: {err}"}
                print(f"[{name}] FAILED {type(err).__name__}: {err}", flush=True)
                traceback.print_exc(limit=6)
        return run
    return wrap


def _epochs(paths, device, n, threads=0, overrides=()):
    from models.train import Trainer
    from workbench.config import make_config

    cfg = make_config(preset="nsynth", overrides=[f"train.threads={threads}", *overrides], seed=0)
    tr = Trainer(cfg, f"/tmp/gpu_check_epochs_{device.replace(':', '')}", device=device, progress=False)
    tr.prepare_data(paths).build()
    times = []
    for e in range(n):
        t0 = time.perf_counter()
        tr.train_epoch(e)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times, tr.cfg.train.batch_size


@section("epoch: GPU vs all CPU cores")
def epoch_speed(paths):
    gpu, gb = _epochs(paths, "cuda", 4)
    gpu_same, _ = _epochs(paths, "cuda", 4, overrides=["train.gpu_batch_scale=1"])
    cpu, cb = _epochs(paths, "cpu", 2, threads=os.cpu_count())
    g, g1, c = float(np.median(gpu[1:])), float(np.median(gpu_same[1:])), float(np.median(cpu[1:]))
    return {"gpu_epoch_s": round(g, 3), "gpu_batch": gb, "gpu_epoch_s_batch32": round(g1, 3), "cpu_epoch_s": round(c, 3),
            "cpu_threads": os.cpu_count(), "speedup": round(c / g, 1), "speedup_same_batch": round(c / g1, 1),
            "first_gpu_epoch_s": round(gpu[0], 2)}


@section("demo trumpet to plateau on GPU, played on CPU")
def demo_plateau(paths, out):
    from analysis.demo import DEMO_TRAIN
    from effects.autoencoder import AutoencoderEffect
    from models.checkpoint import load_run
    from models.train import train
    from workbench.audio import load
    from workbench.config import make_config

    cfg = make_config(preset="nsynth", overrides=list(DEMO_TRAIN), seed=0)
    run = Path(out) / "trumpet-cuda"
    t0 = time.perf_counter()
    meta = train(paths, cfg, run, device="cuda", progress=False)
    wall = time.perf_counter() - t0
    loaded = load_run(run)  # weights come back on the CPU
    assert next(loaded.model.parameters()).device.type == "cpu"
    y, sr = load(paths[0], sr=16000, mono=True)
    wet = AutoencoderEffect(model=str(run)).process(y, sr)
    return {"train_seconds": meta["train_seconds"], "wall_seconds": round(wall, 1), "epochs": meta["epochs_run"],
            "stopped_by": meta["stopped_by"], "best_valid_loss": round(meta["best_valid_loss"], 5),
            "best_epoch": meta["best_epoch"], "played_on_cpu": bool(np.isfinite(wet).all() and np.abs(wet).max() > 0)}


@section("ddsp to plateau on GPU")
def ddsp_plateau(paths, out):
    from models.ddsp_train import train_ddsp
    from workbench.config import make_config

    cfg = make_config(method="ddsp", overrides=["train.max_seconds=120"], seed=0)
    meta = train_ddsp(paths, cfg, Path(out) / "ddsp-cuda", progress=False, device="cuda")
    return {k: meta[k] for k in ("train_seconds", "control_seconds", "epochs_run", "best_epoch", "best_valid_loss",
                                 "stopped_by")}


@section("scattering notes/s on GPU")
def scattering_speed():
    from analysis.features import ScatteringStats

    rng = np.random.default_rng(0)
    notes = rng.standard_normal((2048, 2 ** 14)).astype(np.float32) * 0.1
    out = {}
    for device, batch, n in (("cuda", 256, 2048), ("cpu", 32, 64)):
        sc = ScatteringStats(device=device, batch_size=batch).fit(None)
        sc.transform(notes[:batch])  # warm-up (kernels, filters)
        t0 = time.perf_counter()
        feats = sc.transform(notes[:n])
        out[f"{device}_notes_per_s"] = round(n / (time.perf_counter() - t0), 1)
    gpu = ScatteringStats(device="cuda").fit(None).transform(notes[:32])
    cpu = ScatteringStats(device="cpu").fit(None).transform(notes[:32])
    out["max_abs_diff_cpu_gpu"] = float(np.abs(gpu - cpu).max())
    out["coefficients"] = int(feats.shape[1])
    return out


@section("workbench train --device cuda, torchrun")
def cli(data, out):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"}
    res = {}
    for name, cmd in (
        ("cli", [sys.executable, "-m", "workbench", "--quiet", "train", "--target", data, "--device", "cuda",
                 "--set", "train.epochs=2", "--out", f"{out}/cli"]),
        ("cli_ddsp", [sys.executable, "-m", "workbench", "--quiet", "train", "--method", "ddsp", "--target", data,
                      "--device", "cuda", "--set", "train.epochs=2", "--out", f"{out}/cli-ddsp"]),
        ("torchrun", [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=1", "-m", "workbench", "--quiet",
                      "train", "--target", data, "--device", "cuda", "--set", "train.epochs=2", "--out", f"{out}/trun"]),
        ("cuda_7", [sys.executable, "-m", "workbench", "train", "--target", data, "--device", "cuda:7",
                    "--out", f"{out}/bad"]),
    ):
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        tail = (p.stdout + p.stderr).strip().splitlines()[-1:] or [""]
        res[name] = {"rc": p.returncode, "last_line": tail[0][:200]}
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "trumpet"))
    ap.add_argument("--out", default="/tmp/gpu_check")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: epoch,demo,ddsp,scattering,cli")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device here; the GPU check runs on a CUDA machine (scripts/gpu_check.sh)")
        return 0
    from workbench.corpus.select import resolve_target

    skip = set(filter(None, args.skip.split(",")))
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}, {os.cpu_count()} CPU cores", flush=True)
    paths = resolve_target(args.data)
    torch.set_flush_denormal(True)
    if "epoch" not in skip:
        epoch_speed(paths)
    if "demo" not in skip:
        demo_plateau(paths, args.out)
    if "ddsp" not in skip:
        ddsp_plateau(paths, args.out)
    if "scattering" not in skip:
        scattering_speed()
    if "cli" not in skip:
        cli(args.data, args.out)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "gpu_check.json").write_text(json.dumps(RESULTS, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
