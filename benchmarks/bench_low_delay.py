"""What the low-delay STFT windows buy and cost before any model (issue 16, section 2).

- Latency at 44.1 kHz, n_fft 512 / hop 128 (the low-latency presets): algorithmic
  (``SpectralStream.latency_samples``) plus the live engine's pre-fill, for blocks of 64, 128 and
  256 frames, with :func:`live.engine.default_prefill` and with 2 blocks; and the largest block
  that keeps the total within 10 ms with 2 blocks of pre-fill.
- Analysis: how far the low-delay analysis window's magnitudes are from the periodic Hann ones
  the models were trained on, on sung and spoken phrases: the median absolute dB difference
  over the bins within 40 dB of each frame's peak, and the spectral convergence
  ``||ld - hann|| / ||hann||``; at 16 kHz 1024/256 (the protocol's models) and 44.1 kHz 512/128.

Usage: python benchmarks/bench_low_delay.py [--voices data/voice] [--files 6]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from live.engine import default_prefill  # noqa: E402
from workbench import spectral as S  # noqa: E402
from workbench.audio import load  # noqa: E402

SR = 44100


def latency_table(n_fft=512, hop=128) -> list[dict]:
    rows = []
    for window, L in (("hann", None), ("low-delay", None), ("low-delay", 192), ("low-delay", 160)):
        alg = S.SpectralStream(n_fft=n_fft, hop_length=hop, window=window, synthesis_length=L).latency_samples
        row = {"window": window, "synthesis_length": L or (n_fft if window == "hann" else 2 * hop),
               "algorithmic_samples": alg, "algorithmic_ms": round(1e3 * alg / SR, 2),
               "max_block_for_10ms_with_2_blocks": (SR // 100 - alg) // 2}
        for b in (64, 128, 256):
            p = default_prefill(b, SR)
            row[f"block {b}: default prefill {p}, ms"] = round(1e3 * (alg + p * b) / SR, 1)
            row[f"block {b}: prefill 2, ms"] = round(1e3 * (alg + 2 * b) / SR, 1)
        rows.append(row)
    return rows


def magnitude_distance(files, *, sr, n_fft, hop, synthesis_length) -> dict:
    meds, scs = [], []
    for f in files:
        y, _ = load(f, sr=sr, mono=True)
        t = torch.from_numpy(y[0])
        h = S.causal_frames(t, n_fft=n_fft, hop_length=hop).abs()
        ld = S.causal_frames(t, n_fft=n_fft, hop_length=hop, window="low-delay",
                             synthesis_length=synthesis_length).abs()
        peak = h.amax(0, keepdim=True)
        loud = (h > peak * 1e-2) & (peak > 1e-3)
        db = 20 * torch.log10((ld + 1e-9) / (h + 1e-9))
        meds.append(float(db[loud].abs().median()))
        scs.append(float(torch.linalg.norm(ld - h) / torch.linalg.norm(h)))
    return {"sr": sr, "n_fft": n_fft, "hop": hop, "synthesis_length": synthesis_length,
            "median_abs_db_within_40db": round(float(np.mean(meds)), 2),
            "spectral_convergence": round(float(np.mean(scs)), 3)}


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--voices", default="data/voice")
    ap.add_argument("--files", type=int, default=6)
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = {"benchmark": "low-delay STFT windows", "latency_44k1_512_128": latency_table()}
    files = sorted(Path(args.voices).glob("*.wav"))
    files = files[: args.files // 2] + [f for f in files if f.name.startswith("sung")][: args.files - args.files // 2]
    if files:
        out["voices"] = [f.name for f in files]
        out["analysis_distance"] = [magnitude_distance(files, sr=sr, n_fft=n, hop=h, synthesis_length=L)
                                    for sr, n, h, L in ((16000, 1024, 256, 512), (16000, 1024, 256, 320),
                                                        (44100, 512, 128, 256), (44100, 512, 128, 160))]
    else:
        print(f"analysis distance skipped: no .wav in {args.voices} (run `make demo` first)")
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
