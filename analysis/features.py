"""Note-level features as scikit-learn transformers: MFCC statistics, log-scattering, and the
autoencoder's latents. Each maps a batch of equal-length mono notes ``(n, samples)`` (or a list
of 1-D arrays, padded or cut to the first one's length) to a matrix ``(n, d)``.

:mod:`analysis.feature_cache` runs them over a corpus in cached, resumable shards.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from workbench.errors import ParameterError
from workbench.spectral import mfcc

__all__ = ["MFCCStats", "ScatteringStats", "LatentStats", "as_batch", "make_features"]


def as_batch(X: np.ndarray | Sequence[np.ndarray], *, length: int | None = None) -> np.ndarray:
    """Notes as one float32 array.

    Parameters
    ----------
    X : np.ndarray [shape=(n, samples)] or sequence of np.ndarray
        A batch (taken as it is), or notes (flattened to 1-D) padded with zeros or cut to ``length``.
    length : int, samples, optional, keyword-only
        Length of a list's notes (default: the first note's length).

    Returns
    -------
    np.ndarray [shape=(n, samples), dtype=float32]

    Raises
    ------
    ParameterError
        No notes, or NaN or Inf samples.
    """
    if isinstance(X, np.ndarray) and X.ndim == 2:
        out = X.astype(np.float32, copy=False)
    else:
        notes = [np.asarray(x, np.float32).reshape(-1) for x in X]
        if not notes:
            raise ParameterError("no notes given; expected at least one signal")
        n = length or len(notes[0])
        out = np.zeros((len(notes), n), np.float32)
        for i, x in enumerate(notes):
            out[i, : min(n, len(x))] = x[:n]
    if not np.isfinite(out).all():
        raise ParameterError("notes contain NaN or Inf samples; expected finite audio")
    return out


class MFCCStats(TransformerMixin, BaseEstimator):
    """Mean and standard deviation over time of MFCCs (and their deltas).

    Output ``(n, 2 * n_mfcc * (1 + deltas))``. Batched torch MFCCs that match librosa's.

    Parameters
    ----------
    sr : int, Hz, keyword-only
        Rate of the notes.
    n_mfcc : int, keyword-only
        Coefficients, c0 included.
    n_fft, hop_length : int, samples, keyword-only
        STFT frame and hop.
    deltas : bool, keyword-only
        Also the deltas' statistics (librosa's, width up to 9 frames).
    batch_size : int, keyword-only
        Notes per torch batch.
    """

    def __init__(self, *, sr: int = 16000, n_mfcc: int = 20, n_fft: int = 1024, hop_length: int = 256,
                 deltas: bool = True, batch_size: int = 64):
        self.sr, self.n_mfcc, self.n_fft, self.hop_length = sr, n_mfcc, n_fft, hop_length
        self.deltas, self.batch_size = deltas, batch_size

    def fit(self, X: object, y: object = None) -> MFCCStats:
        """Nothing to learn: MFCC statistics depend on the parameters only.

        Parameters
        ----------
        X, y
            Not used; there for scikit-learn's pipelines.

        Returns
        -------
        MFCCStats
            ``self``, unchanged.
        """
        return self

    def transform(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Mean and standard deviation over frames of each coefficient (and delta).

        Parameters
        ----------
        X : np.ndarray [shape=(n, samples)] or sequence of np.ndarray [shape=(samples,)]
            Mono notes at ``sr``, a list padded or cut to its first note's length (:func:`as_batch`).

        Returns
        -------
        np.ndarray [shape=(n, 2 * n_mfcc * (1 + deltas)), dtype=float32]
        """
        import librosa

        X = as_batch(X)
        rows = []
        for i in range(0, len(X), self.batch_size):
            m = mfcc(X[i: i + self.batch_size], sr=self.sr, n_mfcc=self.n_mfcc, n_fft=self.n_fft,
                     hop_length=self.hop_length).numpy()  # (b, n_mfcc, frames)
            parts = [m]
            if self.deltas:
                width = min(9, m.shape[-1] - (1 - m.shape[-1] % 2))
                parts.append(librosa.feature.delta(m, width=max(width, 3), axis=-1) if m.shape[-1] >= 3
                             else np.zeros_like(m))
            f = np.concatenate(parts, axis=1)
            rows.append(np.concatenate([f.mean(-1), f.std(-1)], axis=1))
        return np.concatenate(rows).astype(np.float32)


class ScatteringStats(TransformerMixin, BaseEstimator):
    """Time-averaged log scattering coefficients (kymatio Scattering1D, torch frontend).

    Each note is cut or zero-padded to ``2 ** log2_length`` samples; output ``(n, coefficients)``
    where the coefficient count is ``len(meta()["order"])`` of kymatio's transform.

    Parameters
    ----------
    J : int, keyword-only
        Scales (octaves) of the wavelets.
    Q : int, keyword-only
        Wavelets per octave of the first order.
    T : int, samples, optional, keyword-only
        Averaging scale (kymatio's default ``2 ** J`` when None).
    log2_length : int, keyword-only
        Notes are ``2 ** log2_length`` samples long.
    batch_size : int, keyword-only
        Notes per torch batch.
    eps : float, keyword-only
        Added before the log.
    device : str, keyword-only
        Where the transform runs (``cpu``, ``cuda``, ``cuda:N``); features come back as NumPy.
    """

    def __init__(self, *, J: int = 6, Q: int = 8, T: int | None = None, log2_length: int = 14,
                 batch_size: int = 32, eps: float = 1e-6, device: str = "cpu"):
        self.J, self.Q, self.T, self.log2_length, self.batch_size, self.eps = J, Q, T, log2_length, batch_size, eps
        self.device = device

    def _transform_obj(self):
        # kymatio's package __init__ imports 3-D code that needs a SciPy function removed in 1.17;
        # the 1-D torch frontend imports cleanly on its own (ENVIRONMENT.md).
        from kymatio.scattering1d.frontend.torch_frontend import ScatteringTorch1D

        return ScatteringTorch1D(J=self.J, shape=2**self.log2_length, Q=self.Q, T=self.T)

    def fit(self, X: object, y: object = None) -> ScatteringStats:
        """Build the scattering transform (nothing is learned from ``X``).

        Parameters
        ----------
        X, y
            Not looked at: the transform depends on ``J``, ``Q``, ``T`` and the length only.

        Returns
        -------
        ScatteringStats
            ``self``, with ``scattering_`` and ``n_coefficients_``.
        """
        self.scattering_ = self._transform_obj().to(self.device)
        self.n_coefficients_ = len(self.scattering_.meta()["order"])
        return self

    def transform(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Time-averaged log scattering of each note (cut or padded to ``2 ** log2_length``).

        Parameters
        ----------
        X : np.ndarray [shape=(n, samples)] or sequence of np.ndarray [shape=(samples,)]
            Mono notes, each cut or zero-padded to ``2 ** log2_length`` samples.

        Returns
        -------
        np.ndarray [shape=(n, n_coefficients_), dtype=float32]
        """
        if not hasattr(self, "scattering_"):
            self.fit(X)
        X = as_batch(X, length=2**self.log2_length)
        X = X[:, : 2**self.log2_length]
        if X.shape[1] < 2**self.log2_length:
            X = np.pad(X, ((0, 0), (0, 2**self.log2_length - X.shape[1])))
        X = np.ascontiguousarray(X)  # kymatio refuses strided tensors
        rows = []
        with torch.inference_mode():
            for i in range(0, len(X), self.batch_size):
                S = self.scattering_(torch.from_numpy(X[i: i + self.batch_size]).to(self.device))  # (b, coeffs, time)
                # order 0 is a low-pass of the signal itself (signed); orders 1-2 are moduli
                rows.append(torch.log(S.abs() + self.eps).mean(-1).cpu().numpy())
        return np.concatenate(rows).astype(np.float32)


class LatentStats(TransformerMixin, BaseEstimator):
    """Mean and standard deviation of a trained autoencoder's bottleneck over a note's frames.

    Output ``(n, 2 * latent)``.

    Parameters
    ----------
    run : str, keyword-only
        A run folder from ``workbench train``; notes must be at the model's rate.
    batch_size : int, keyword-only
        Notes per batch.
    device : str, keyword-only
        Where the run encodes (``cpu``, ``cuda``, ``cuda:N``).
    """

    def __init__(self, *, run: str = "", batch_size: int = 32, device: str = "cpu"):
        self.run, self.batch_size, self.device = run, batch_size, device

    def fit(self, X: object, y: object = None) -> LatentStats:
        """Load the run (nothing is learned from ``X``).

        Parameters
        ----------
        X, y
            Not looked at: the network was trained before.

        Returns
        -------
        LatentStats
            ``self``, with the loaded run in ``run_``.

        Raises
        ------
        ParameterError
            No run given, or one that does not load.
        """
        from models.checkpoint import load_run

        if not self.run:
            raise ParameterError("LatentStats needs run=RUN_DIR (a model from `workbench train`)")
        self.run_ = load_run(self.run)
        self.run_.model.to(self.device)
        return self

    def cache_token(self) -> str:
        """A token that changes when the run's weights change, so cached latents of a retrained run are not reused.

        Returns
        -------
        str
            The weights file's size and modification time (ns).
        """
        from models.checkpoint import RunFolder

        return RunFolder(self.run).weights_token()

    def transform(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Mean and standard deviation over frames of each latent unit (:meth:`LoadedRun.encode`).

        Parameters
        ----------
        X : np.ndarray [shape=(n, samples)] or sequence of np.ndarray [shape=(samples,)]
            Mono notes at the run's rate, encoded ``batch_size`` at a time.

        Returns
        -------
        np.ndarray [shape=(n, 2 * latent), dtype=float32]
        """
        if not hasattr(self, "run_"):
            self.fit(X)
        X = as_batch(X)
        rows = []
        for i in range(0, len(X), self.batch_size):
            z = self.run_.encode(X[i: i + self.batch_size]).z
            rows.append(torch.cat([z.mean(1), z.std(1)], dim=1).cpu().numpy())
        return np.concatenate(rows).astype(np.float32)


def make_features(spec: str, *, sr: int = 16000, device: str = "cpu") -> MFCCStats | ScatteringStats | LatentStats:
    """A transformer from a short spec.

    Parameters
    ----------
    spec : str
        ``mfcc``, ``scattering`` or ``latent:RUN_DIR``.
    sr : int, Hz, keyword-only
        Rate of the notes (used by ``mfcc``).
    device : str, keyword-only
        Where ``scattering`` and ``latent`` run (MFCC runs on the CPU, in NumPy/librosa).

    Returns
    -------
    MFCCStats, ScatteringStats or LatentStats
        Unfitted, with its defaults.
    """
    name, _, arg = spec.partition(":")
    if name == "mfcc":
        return MFCCStats(sr=sr)
    if name == "scattering":
        return ScatteringStats(device=device)
    if name == "latent":
        return LatentStats(run=arg, device=device)
    raise ParameterError(f"features={spec!r} is not valid; expected mfcc, scattering or latent:RUN_DIR")
