"""A spectrogram to look at: magnitude in dB relative to its peak, floored, and pooled over time
to a width a browser draws quickly (the analysis itself is :func:`workbench.spectral.stft`)."""

from __future__ import annotations

import numpy as np

__all__ = ["spectrogram_db"]


def spectrogram_db(y: np.ndarray, *, sr: int, n_fft: int = 1024, hop_length: int = 256, floor_db: float = -80.0,
                   max_frames: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Magnitude spectrogram in dB relative to its peak, for display.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (1, n)]
        The signal shown, mono.
    sr : int, Hz, keyword-only
        Its sample rate.
    n_fft, hop_length : int, samples, keyword-only
        STFT frame and hop (centred, :func:`workbench.spectral.stft`).
    floor_db : float, dB, keyword-only
        Lowest value shown.
    max_frames : int, keyword-only
        Frames are max-pooled down to at most this many, so a long input stays light in the browser.

    Returns
    -------
    times : np.ndarray [shape=(T,)], seconds
    freqs : np.ndarray [shape=(n_fft // 2 + 1,)], Hz
    db : np.ndarray [shape=(n_fft // 2 + 1, T), dtype=float32], dB
        In ``[floor_db, 0]``.
    """
    from workbench.spectral import stft

    y = np.asarray(y, np.float32).reshape(-1)
    S = stft(y, n_fft=n_fft, hop_length=hop_length).abs().numpy().reshape(n_fft // 2 + 1, -1)
    db = 20 * np.log10(S / max(float(S.max()), 1e-9) + 1e-9)
    step = max(1, int(np.ceil(db.shape[1] / max_frames)))
    if step > 1:
        pad = (-db.shape[1]) % step
        db = np.pad(db, ((0, 0), (0, pad)), constant_values=floor_db).reshape(db.shape[0], -1, step).max(axis=2)
    times = np.arange(db.shape[1]) * step * hop_length / sr
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    return times, freqs, np.maximum(db, floor_db).astype(np.float32)
