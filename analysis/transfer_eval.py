"""Measures of a timbre transfer: pitch kept, timbre moved, reconstruction quality, speed."""

from __future__ import annotations

import time

import numpy as np
import torch

from models.checkpoint import LoadedRun
from models.lstm_ae import decompress, input_options, prepare_input, stack_context
from workbench.audio import load
from workbench.corpus.truth import pyin_f0
from workbench.metrics import log_spectral_distance, spectral_convergence
from workbench.spectral import causal_frames, mfcc

__all__ = ["f0_track", "raw_pitch_accuracy", "mfcc_frames", "mfcc_profile", "timbre_distance", "reconstruction", "real_time_factor"]


def f0_track(y: np.ndarray, *, sr: int, fmin: float = 60.0, fmax: float = 1000.0):
    """pYIN f0 ``(times, f0)`` with 0 where unvoiced."""
    times, f0, voiced = pyin_f0(np.asarray(y).reshape(-1), sr=sr, fmin=fmin, fmax=fmax)
    return times, np.where(voiced & np.isfinite(f0), f0, 0.0)


def raw_pitch_accuracy(reference: np.ndarray, estimate: np.ndarray, *, sr: int, cents: float = 50.0) -> dict:
    """mir_eval raw pitch accuracy and voicing of ``estimate``'s f0 against ``reference``'s (both pYIN)."""
    import mir_eval

    t, f_ref = f0_track(reference, sr=sr)
    _, f_est = f0_track(estimate, sr=sr)
    n = min(len(f_ref), len(f_est))
    rv, rc, ev, ec = mir_eval.melody.to_cent_voicing(t[:n], f_ref[:n], t[:n], f_est[:n])
    return {
        "raw_pitch_accuracy": float(mir_eval.melody.raw_pitch_accuracy(rv, rc, ev, ec, cent_tolerance=cents)),
        "voicing_recall": float(mir_eval.melody.voicing_recall(rv, ev)),
        "voicing_false_alarm": float(mir_eval.melody.voicing_false_alarm(rv, ev)),
        "times": t[:n], "f0_reference": f_ref[:n], "f0_estimate": f_est[:n],
    }


def mfcc_frames(signals, *, sr: int, n_mfcc: int = 20, floor_db: float = -50.0) -> np.ndarray:
    """MFCC 1..n-1 (c0, the level, left out) of the non-silent frames of ``signals``.

    A frame is kept when its mean mel level is within ``floor_db`` of the signal's loudest.
    Returns ``(frames, n_mfcc - 1)``.
    """
    rows = []
    for y in signals:
        y = np.asarray(y, np.float32).reshape(-1)
        m = mfcc(y, sr=sr, n_mfcc=n_mfcc, n_fft=1024, hop_length=256, top_db=None).numpy()
        level = m[0] / np.sqrt(128)  # orthonormal DCT: c0 = sqrt(n_mels) x the frame's mean mel dB
        keep = level > level.max() + floor_db
        rows.append(m[1:, keep].T)
    return np.concatenate(rows)


def mfcc_profile(signals, *, sr: int, n_mfcc: int = 20, floor_db: float = -50.0) -> np.ndarray:
    """Mean MFCC 1..n-1 over the non-silent frames of ``signals`` (see :func:`mfcc_frames`)."""
    return mfcc_frames(signals, sr=sr, n_mfcc=n_mfcc, floor_db=floor_db).mean(axis=0)


def timbre_distance(y: np.ndarray, target_profile: np.ndarray, *, sr: int) -> float:
    """Euclidean distance between ``y``'s MFCC profile and the target material's."""
    return float(np.linalg.norm(mfcc_profile([y], sr=sr) - target_profile))


def reconstruction(run: LoadedRun, paths) -> dict:
    """Held-out reconstruction of clean instrument audio through the network.

    Frames are rebuilt as the effect does (the network's shape, given each input frame's
    energy) and compared with the originals: spectral convergence and log-spectral distance,
    against a mean-spectrum baseline (the average frame shape of the same clips, at each
    frame's energy: the best a model with no frame-wise knowledge could do).
    """
    c, m = run.config, run.config.model
    io = input_options(m)
    refs, ests, means = [], [], []
    for p in paths:
        y, _ = load(p, sr=c.audio.sr, mono=True)
        mag = causal_frames(torch.from_numpy(y[0]), n_fft=c.audio.n_fft, hop_length=c.audio.hop_length,
                            window=c.audio.window).abs().T[None]
        x, _, f0 = prepare_input(mag, **io)
        with torch.inference_mode():
            out, _, _ = run.model(stack_context(x, m.context), f0=f0)
        shape = decompress(out, mode=m.compression, power=m.power, log_range_db=m.log_range_db)
        energy = torch.linalg.vector_norm(mag, dim=-1, keepdim=True)
        est = shape * energy / torch.linalg.vector_norm(shape, dim=-1, keepdim=True).clamp_min(1e-8)
        mean_shape = (mag / energy.clamp_min(1e-8)).mean(dim=1, keepdim=True)
        base = mean_shape * energy / torch.linalg.vector_norm(mean_shape, dim=-1, keepdim=True).clamp_min(1e-8)
        refs.append(mag[0].T)
        ests.append(est[0].T)
        means.append(base[0].T)
    ref, est, base = (torch.cat(v, dim=-1) for v in (refs, ests, means))
    return {
        "spectral_convergence": spectral_convergence(ref, est),
        "log_spectral_distance_db": log_spectral_distance(ref, est),
        "baseline_spectral_convergence": spectral_convergence(ref, base),
        "baseline_log_spectral_distance_db": log_spectral_distance(ref, base),
        "frames": int(ref.shape[-1]),
    }


def real_time_factor(effect, audio: np.ndarray, sr: int, *, repeats: int = 3) -> float:
    """Seconds of audio processed per second of wall time, median over ``repeats`` offline runs."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        effect.process(audio, sr)
        times.append(time.perf_counter() - t)
    return float(np.asarray(audio).shape[-1] / sr / np.median(times))
