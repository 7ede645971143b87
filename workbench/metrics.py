"""Spectral distances shared by training reports and evaluation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import numpy as np

__all__ = ["spectral_convergence", "log_spectral_distance"]


def spectral_convergence(ref: np.ndarray | torch.Tensor, est: np.ndarray | torch.Tensor) -> float:
    """``||ref - est||_F / ||ref||_F`` over magnitude spectrograms of equal shape.

    Parameters
    ----------
    ref, est : np.ndarray or torch.Tensor [shape=(..., bins, frames)]
        Reference and estimated magnitudes, of the same shape.

    Returns
    -------
    float
        The relative Frobenius error (0: equal); the reference norm is floored at 1e-12.
    """
    ref, est = torch.as_tensor(ref, dtype=torch.float64), torch.as_tensor(est, dtype=torch.float64)
    return float(torch.linalg.vector_norm(ref - est) / torch.linalg.vector_norm(ref).clamp_min(1e-12))


def log_spectral_distance(ref: np.ndarray | torch.Tensor, est: np.ndarray | torch.Tensor, *,
                          floor_db: float = -80.0) -> float:
    """Mean over frames of the RMS (over bins) dB difference.

    Parameters
    ----------
    ref, est : np.ndarray or torch.Tensor [shape=(..., bins, frames)]
        Reference and estimated magnitudes, of the same shape.
    floor_db : float, dB, keyword-only
        Both are floored this far below the reference peak, so silent bins do not dominate.

    Returns
    -------
    float, dB
        The distance (0: equal).
    """
    ref, est = torch.as_tensor(ref, dtype=torch.float64), torch.as_tensor(est, dtype=torch.float64)
    floor = ref.abs().max().clamp_min(1e-12) * 10 ** (floor_db / 20)
    d = 20 * torch.log10(ref.clamp_min(floor)) - 20 * torch.log10(est.clamp_min(floor))
    return float(torch.sqrt((d**2).mean(dim=-2)).mean())

