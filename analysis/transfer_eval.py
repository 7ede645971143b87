"""Measures of a timbre transfer: pitch kept, timbre moved, reconstruction quality, speed."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from models.checkpoint import LoadedRun
from models.lstm_ae import decompress
from workbench.audio import load
from workbench.metrics import log_spectral_distance, spectral_convergence
from workbench.pitch import melody_scores, track_f0
from workbench.spectral import mfcc

if TYPE_CHECKING:
    from effects.base import Effect

__all__ = ["raw_pitch_accuracy", "mfcc_frames", "mfcc_profile", "timbre_distance", "reconstruction", "real_time_factor"]


def raw_pitch_accuracy(reference: np.ndarray, estimate: np.ndarray, *, sr: int, cents: float = 50.0) -> dict:
    """mir_eval scores of ``estimate``'s pYIN f0 against ``reference``'s (:func:`workbench.pitch.melody_scores`).

    Parameters
    ----------
    reference, estimate : np.ndarray [shape=(n,) or (1, n)]
        Mono input and output, at one rate.
    sr : int, Hz, keyword-only
        Their sample rate.
    cents : float, cents, keyword-only
        Pitch tolerance of the raw pitch accuracy.

    Returns
    -------
    dict
        The scores of :func:`workbench.pitch.melody_scores`, plus the two tracks on the shorter
        one's frames: ``times`` (seconds), ``f0_reference`` and ``f0_estimate`` (Hz, 0 where unvoiced).
    """
    t, f_ref = track_f0(reference, sr=sr)
    _, f_est = track_f0(estimate, sr=sr)
    n = min(len(f_ref), len(f_est))
    scores = melody_scores((t, f_ref), (t, f_est), tolerance=cents)
    return {**scores, "times": t[:n], "f0_reference": f_ref[:n], "f0_estimate": f_est[:n]}


def mfcc_frames(signals: Iterable[np.ndarray], *, sr: int, n_mfcc: int = 20, floor_db: float = -50.0) -> np.ndarray:
    """MFCC 1..n-1 (c0, the level, left out) of the non-silent frames of ``signals``.

    Parameters
    ----------
    signals : iterable of np.ndarray [shape=(n,) or (1, n)]
        Mono signals (frames of 1024 samples, hop 256).
    sr : int, Hz, keyword-only
        Their sample rate.
    n_mfcc : int, keyword-only
        Coefficients computed, c0 included.
    floor_db : float, dB, keyword-only
        A frame is kept when its mean mel level is above the signal's loudest plus this.

    Returns
    -------
    np.ndarray [shape=(frames, n_mfcc - 1)]
        The kept frames of every signal, in order.
    """
    rows = []
    for y in signals:
        y = np.asarray(y, np.float32).reshape(-1)
        m = mfcc(y, sr=sr, n_mfcc=n_mfcc, n_fft=1024, hop_length=256, top_db=None).numpy()
        level = m[0] / np.sqrt(128)  # orthonormal DCT: c0 = sqrt(n_mels) x the frame's mean mel dB
        keep = level > level.max() + floor_db
        rows.append(m[1:, keep].T)
    return np.concatenate(rows)


def mfcc_profile(signals: Iterable[np.ndarray], *, sr: int, n_mfcc: int = 20, floor_db: float = -50.0) -> np.ndarray:
    """Mean MFCC 1..n-1 over the non-silent frames of ``signals``.

    Parameters
    ----------
    signals, sr, n_mfcc, floor_db
        As :func:`mfcc_frames`.

    Returns
    -------
    np.ndarray [shape=(n_mfcc - 1,)]
        The mean of :func:`mfcc_frames`.
    """
    return mfcc_frames(signals, sr=sr, n_mfcc=n_mfcc, floor_db=floor_db).mean(axis=0)


def timbre_distance(y: np.ndarray, target_profile: np.ndarray, *, sr: int) -> float:
    """Euclidean distance between ``y``'s MFCC profile and the target material's.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (1, n)]
        The output to measure, mono.
    target_profile : np.ndarray [shape=(19,)]
        :func:`mfcc_profile` of the target material (default ``n_mfcc``).
    sr : int, Hz, keyword-only
        Sample rate of ``y``.

    Returns
    -------
    float
        The distance in MFCC units (lower: closer to the target's timbre).
    """
    return float(np.linalg.norm(mfcc_profile([y], sr=sr) - target_profile))


def reconstruction(run: LoadedRun, paths: Iterable[str | Path]) -> dict:
    """Held-out reconstruction of clean instrument audio through the network.

    Frames are rebuilt as the effect does (the network's shape, given each input frame's
    energy) and compared with the originals: spectral convergence and log-spectral distance,
    against a mean-spectrum baseline (the average frame shape of each clip, at each frame's
    energy: the best a model with no frame-wise knowledge could do).

    Parameters
    ----------
    run : LoadedRun
        An autoencoder run (:func:`models.checkpoint.load_run`).
    paths : iterable of str or Path
        Audio files, loaded mono at the run's rate.

    Returns
    -------
    dict
        ``spectral_convergence``, ``log_spectral_distance_db`` (dB) and their ``baseline_``
        counterparts, over all frames of all clips, and ``frames``.
    """
    c, m = run.config, run.config.model
    refs, ests, means = [], [], []
    for p in paths:
        y, _ = load(p, sr=c.audio.sr, mono=True)
        enc = run.encode(y[0])
        mag = enc.mag
        with torch.inference_mode():
            out = run.model.decode(enc.z, enc.inputs[..., -1, :], chroma=enc.chroma, f0=enc.f0)
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


def real_time_factor(effect: Effect, audio: np.ndarray, sr: int, *, repeats: int = 3) -> float:
    """Speed of an effect's offline processing.

    Parameters
    ----------
    effect : Effect
        The method, run with ``effect.process(audio, sr)``.
    audio : np.ndarray [shape=(channels, n)]
        The input.
    sr : int, Hz
        Its sample rate.
    repeats : int, keyword-only
        Runs timed; the median counts.

    Returns
    -------
    float
        Seconds of audio processed per second of wall time (above 1: faster than real time).
    """
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        effect.process(audio, sr)
        times.append(time.perf_counter() - t)
    return float(np.asarray(audio).shape[-1] / sr / np.median(times))
