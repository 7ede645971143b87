"""Spectral distances shared by training reports and evaluation."""

from __future__ import annotations

import torch

__all__ = ["spectral_convergence", "log_spectral_distance"]


def spectral_convergence(ref, est) -> float:
    """``||ref - est||_F / ||ref||_F`` over magnitude spectrograms of equal shape."""
    ref, est = torch.as_tensor(ref, dtype=torch.float64), torch.as_tensor(est, dtype=torch.float64)
    return float(torch.linalg.vector_norm(ref - est) / torch.linalg.vector_norm(ref).clamp_min(1e-12))


def log_spectral_distance(ref, est, *, floor_db: float = -80.0) -> float:
    """Mean over frames of the RMS (over bins) dB difference, in dB.

    Magnitudes ``(..., bins, frames)``; both are floored ``floor_db`` below the reference peak so
    silent bins do not dominate.
    """
    ref, est = torch.as_tensor(ref, dtype=torch.float64), torch.as_tensor(est, dtype=torch.float64)
    floor = ref.abs().max().clamp_min(1e-12) * 10 ** (floor_db / 20)
    d = 20 * torch.log10(ref.clamp_min(floor)) - 20 * torch.log10(est.clamp_min(floor))
    return float(torch.sqrt((d**2).mean(dim=-2)).mean())

