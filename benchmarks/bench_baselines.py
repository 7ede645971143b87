"""Classical baselines: real-time factors, mosaic speed against dictionary size, and our
cepstral hybridizer beside a plain librosa/numpy implementation of the same math.

Target material: random trumpet melodies rendered with FluidSynth into a temporary folder
(1, 5 and 10 minutes). Input: 60 s of sung phrases (Festival, looped). Offline `process` on
2 threads, median of 3 after one warm-up (which loads the target / fits the index).
Usage: python benchmarks/bench_baselines.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np

from effects.cepstral import CepstralEffect
from effects.mosaic import MosaicEffect
from workbench.corpus.melodies import render_melodies
from workbench.corpus.voice import render_voice

SR = 16000


def _time(fn, repeats=3):
    fn()  # warm-up: loads the target, fits the index
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def librosa_cepstral(x: np.ndarray, target: np.ndarray, *, n_fft=1024, hop=256, order=30) -> np.ndarray:
    """The same hybridization written plainly with librosa + numpy (centred frames, mean envelope)."""
    def envelope(mag):
        c = np.fft.irfft(np.log(np.maximum(mag, 1e-10)), n=n_fft, axis=0)
        c[order + 1: n_fft - order] = 0
        return np.exp(np.fft.rfft(c, axis=0).real)

    X = librosa.stft(x, n_fft=n_fft, hop_length=hop)
    T = np.abs(librosa.stft(target, n_fft=n_fft, hop_length=hop))
    e = np.linalg.norm(T, axis=0)
    env_t = np.exp(np.log(envelope(T[:, e > e.max() * 1e-3])).mean(axis=1, keepdims=True))
    mag = np.abs(X)
    out = mag / envelope(mag) * env_t
    out *= np.linalg.norm(mag, axis=0) / np.maximum(np.linalg.norm(out, axis=0), 1e-8)
    return librosa.istft(out * np.exp(1j * np.angle(X)), hop_length=hop, length=len(x))


def main() -> dict:
    results = {"mosaic_vs_dictionary": {}, "real_time_factor": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        render_voice(tmp / "voice", count=4, spoken=0, seed=0, progress=False)
        sung = np.concatenate([librosa.load(p, sr=SR)[0] for p in sorted((tmp / "voice").glob("sung_*.wav"))])
        x = np.resize(sung, 60 * SR).astype(np.float32)
        for minutes in (1, 5, 10):
            folder = tmp / f"trumpet{minutes}"
            render_melodies(folder, program=56, count=minutes * 6, seconds=10.0, seed=minutes, progress=False)
            row = {}
            for search in ("kdtree", "brute"):
                fx = MosaicEffect(target=folder, search=search)
                sec = _time(lambda fx=fx: fx.process(x, SR))
                row["grains"] = len(fx.index)
                row[f"real_time_factor_{search}"] = round(60 / sec, 1)
            results["mosaic_vs_dictionary"][f"{minutes} min"] = row
            print("mosaic", minutes, results["mosaic_vs_dictionary"][f"{minutes} min"], flush=True)
        target = tmp / "trumpet1"
        for name, fx in (("cepstral mean", CepstralEffect(target=target, envelope="mean")),
                         ("cepstral timevarying", CepstralEffect(target=target, envelope="timevarying"))):
            results["real_time_factor"][name] = round(60 / _time(lambda fx=fx: fx.process(x, SR)), 1)
        results["real_time_factor"]["mosaic (1 min target)"] = results["mosaic_vs_dictionary"]["1 min"]["real_time_factor_kdtree"]
        t_audio = np.concatenate([librosa.load(p, sr=SR)[0] for p in sorted(target.glob("*.wav"))])
        ours = CepstralEffect(target=target, envelope="mean")
        t_ours = _time(lambda: ours.process(x, SR))
        t_lib = _time(lambda: librosa_cepstral(x, t_audio))
        a, b = ours.process(x, SR), librosa_cepstral(x, t_audio)
        # ours is causal (delay compensated) and gated; compare spectra, not samples
        A = np.abs(librosa.stft(a, n_fft=1024, hop_length=256))
        B = np.abs(librosa.stft(b, n_fft=1024, hop_length=256))
        lsd = float(np.mean(np.sqrt(np.mean((20 * np.log10((A + 1e-6) / (B + 1e-6))) ** 2, axis=0))))
        results["cepstral_vs_librosa"] = {"ours_seconds": round(t_ours, 3), "librosa_seconds": round(t_lib, 3),
                                          "speed_ratio": round(t_lib / t_ours, 2),
                                          "log_spectral_distance_db": round(lsd, 2)}
    out = {"benchmark": "classical baselines", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
           "input_seconds": 60, "results": results}
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
