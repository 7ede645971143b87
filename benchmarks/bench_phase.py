"""Phase for the latent synthesizer (issue 15): RTPGHI against noise phase (MANNe).

For each phase method, the synth (``live.latent_synth.LatentSynth``) plays a 4 s schedule from a
chroma model (a held note, a sweep of two latent units, a gliding change of pitch class) block
by block as the live engine would (blocks of 128, one torch thread), and we measure:

- spectral convergence ``||M - |STFT(y)| || / ||M||`` of the output ``y`` against the decoded
  magnitudes ``M`` it was asked to play (the synth's own frames, in the same causal framing);
- compute per block (median, p99; ms and share of the 2.9 ms block) and per phase call.

Known signals (a steady sine, a chirp, seven partials) rebuilt from their own magnitudes give
the reference points of the method itself.

    python benchmarks/bench_phase.py [--model RUN]   # default: trains a small chroma model (~40 s)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402


def _train(out: Path, target: str) -> Path:
    from models.train import train
    from workbench.config import make_config
    from workbench.corpus.select import resolve_target

    cfg = make_config(preset="low-latency", overrides=["model.chroma=true", "model.output=spectrum", "model.latent=8",
                                                      "train.max_seconds=30"], seed=0)
    train(resolve_target(target), cfg, out, progress=False)
    return out


def _schedule(dim: int):
    ev = [(0.0, {"chroma": 9, "latent": [0.5] * dim})]
    for i in range(100):  # 1.0 - 2.0 s: units 1 and 2 sweep across the sigmoid's range
        z = [0.5] * dim
        z[0], z[1] = 0.05 + 0.9 * i / 99, 0.95 - 0.9 * i / 99
        ev.append((1.0 + i / 100, {"latent": z}))
    ev.append((2.5, {"chroma": 0}))  # glide A -> C
    return ev


def _play(run, phase: str, *, seconds=4.0, blocksize=128):
    from live.latent_synth import LatentSynth

    s = LatentSynth(model=run, phase=phase, glide_ms=50.0)
    sr = s.model_sr
    s.prepare(sr, 1, blocksize)
    mags, t_phase = [], []
    inner = s._phase_fn

    def timed(mag):
        mags.append(mag.copy())
        t = time.perf_counter()
        out = inner(mag)
        t_phase.append(time.perf_counter() - t)
        return out

    s._phase_fn = timed
    events = _schedule(s.latent_dim)
    n = int(seconds * sr) // blocksize
    x = np.zeros((1, blocksize), np.float32)
    out, t_block, k = [], [], 0
    with torch.inference_mode():
        for b in range(n):
            while k < len(events) and events[k][0] * sr <= b * blocksize:
                s.set_params(**events[k][1])
                k += 1
            t = time.perf_counter()
            out.append(s.process_block(x))
            t_block.append(time.perf_counter() - t)
    y = np.concatenate(out, 1)[0]
    return y, np.stack(mags, -1), np.array(t_block), np.array(t_phase), sr


def _sc(M, y, n_fft, hop):
    from workbench.metrics import spectral_convergence
    from workbench.spectral import causal_frames

    Y = causal_frames(torch.from_numpy(y), n_fft=n_fft, hop_length=hop).abs().numpy()
    k = min(M.shape[1], Y.shape[1])
    inner = slice(8, k - 8)
    return spectral_convergence(M[:, inner], Y[:, inner])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="a run with model.output=spectrum and model.chroma=true")
    ap.add_argument("--target", default="data/trumpet", help="material to train on when --model is not given")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from models.checkpoint import load_run
    from workbench.phase import reconstruct
    from workbench.spectral import causal_frames

    tmp = None
    if args.model is None:
        tmp = tempfile.TemporaryDirectory()
        t = time.perf_counter()
        args.model = str(_train(Path(tmp.name) / "chroma", args.target))
        print(f"trained a chroma model on {args.target} in {time.perf_counter() - t:.0f} s")
    run = load_run(args.model)
    a = run.config.audio
    res = {"machine": f"{platform.machine()}, {platform.python_version()}, torch {torch.__version__}",
           "model": args.model, "sr": a.sr, "n_fft": a.n_fft, "hop": a.hop_length, "synth": {}, "known": {}}
    print(f"model {args.model}: {a.sr} Hz, n_fft {a.n_fft}, hop {a.hop_length}; blocks of 128")
    print("| phase | SC vs decoded | block median ms | block p99 ms | median load | phase call median ms |")
    print("|---|---|---|---|---|---|")
    for phase in ("pghi", "noise"):
        _play(run, phase, seconds=0.5)  # warm-up
        y, M, tb, tp, sr = _play(run, phase)
        sc = _sc(M, y, a.n_fft, a.hop_length)
        block_ms = 1e3 * 128 / sr
        r = {"sc": round(sc, 4), "block_ms_median": round(1e3 * float(np.median(tb)), 3),
             "block_ms_p99": round(1e3 * float(np.percentile(tb, 99)), 3),
             "load_median": round(1e3 * float(np.median(tb)) / block_ms, 3),
             "phase_ms_median": round(1e3 * float(np.median(tp)), 3)}
        res["synth"][phase] = r
        print(f"| {phase} | {r['sc']:.3f} | {r['block_ms_median']:.3f} | {r['block_ms_p99']:.3f} | "
              f"{100 * r['load_median']:.0f}% | {r['phase_ms_median']:.3f} |")
    sr, n_fft, hop = 44100, 512, 128
    t = np.arange(sr) / sr
    known = {"sine 440.3 Hz": 0.5 * np.sin(2 * np.pi * 440.3 * t),
             "chirp 200-1800 Hz": 0.5 * np.sin(2 * np.pi * (200 * t + 800 * t ** 2)),
             "7 partials of 220 Hz": sum(0.3 / k * np.sin(2 * np.pi * 220 * k * t + k) for k in range(1, 8))}
    print("\n| known signal (44.1 kHz, n_fft 512, hop 128) | SC pghi | SC noise |\n|---|---|---|")
    for name, y in known.items():
        M = causal_frames(torch.from_numpy(y.astype(np.float32)), n_fft=n_fft, hop_length=hop).abs().numpy()
        row = {ph: round(_sc(M, reconstruct(M, n_fft=n_fft, hop_length=hop, phase=ph), n_fft, hop), 4)
               for ph in ("pghi", "noise")}
        res["known"][name] = row
        print(f"| {name} | {row['pghi']:.3f} | {row['noise']:.3f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
