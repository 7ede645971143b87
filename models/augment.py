"""Training augmentations on magnitude frames ``(T, bins)``.

- :func:`shift_pitch`: formant-preserving pitch shift. The frame is split into its cepstral
  envelope and fine structure; only the fine structure (the harmonics) is stretched along
  frequency, so the instrument keeps its own envelope at the new pitch. Widens the pitch range
  the network has seen (seed 003 reports it losing the input pitch above its training range).
- :func:`whiten` + :func:`random_envelope`: the target frame's own envelope is replaced by a
  smooth random one (tilt and formants); the network gets the instrument's harmonics under a
  foreign envelope and must return the clean frame, which is the mapping timbre transfer needs.
"""

from __future__ import annotations

import math

import torch

from workbench.spectral import cepstral_envelope

__all__ = ["shift_pitch", "random_envelope", "whiten", "add_noise"]


def shift_pitch(mag: torch.Tensor, semitones: float, *, order: int = 30) -> torch.Tensor:
    """Shift the harmonics of magnitude frames by ``semitones``, keeping the envelope.

    Parameters
    ----------
    mag : torch.Tensor [shape=(T, bins)]
        Magnitude frames.
    semitones : float
        The shift (0 returns ``mag`` itself).
    order : int, keyword-only
        Cepstral order of the envelope kept; 0 keeps no envelope: the whole frame is resampled
        along frequency.

    Returns
    -------
    torch.Tensor [shape=(T, bins)]
        Non-negative; bins whose source lies above the top bin are 0 before the envelope.
    """
    if semitones == 0:
        return mag
    ratio = 2 ** (semitones / 12)
    T, F = mag.shape
    env = cepstral_envelope(mag.T.clamp_min(1e-9), order=min(order, F - 2)).T  # (T, F)
    fine = mag / env
    # fine'(k) = fine(k / ratio), linear interpolation in bins; beyond the top bin it is zero.
    pos = torch.arange(F, dtype=mag.dtype, device=mag.device) / ratio
    lo = pos.floor().long().clamp(max=F - 1)
    hi = (lo + 1).clamp(max=F - 1)
    w = (pos - lo.to(mag.dtype)).clamp(0, 1)
    shifted = fine[:, lo] * (1 - w) + fine[:, hi] * w
    shifted = torch.where(pos <= F - 1, shifted, torch.zeros_like(shifted))
    return (shifted * env).clamp_min(0)


def random_envelope(bins: int, *, order: int, std_db: float, generator: torch.Generator,
                    tilt_db: tuple[float, float] = (-40.0, 10.0)) -> torch.Tensor:
    """A smooth random gain curve, mean 0 dB.

    A cosine series up to ``order`` with coefficients falling as ``1/q`` (std about ``std_db``)
    gives a few broad resonances, like formants; on top, a tilt drawn from ``tilt_db`` (dB
    from the lowest to the highest bin, along log frequency) makes dark or bright envelopes,
    like a voice's or another instrument's.

    Parameters
    ----------
    bins : int
        Length of the curve.
    order : int, keyword-only
        Cosine terms.
    std_db : float, dB, keyword-only
        Standard deviation of the resonances.
    generator : torch.Generator, keyword-only
        Where the draws come from.
    tilt_db : (float, float), dB, keyword-only
        Range the tilt is drawn from, uniformly.

    Returns
    -------
    torch.Tensor [shape=(bins,)]
        Linear gains.
    """
    # drawn where the generator lives (a CPU generator gives the same draws on every machine)
    dev = generator.device
    q = torch.arange(1, order + 1, dtype=torch.float32, device=dev)
    coef = torch.randn(order, generator=generator, device=dev) / q
    k = torch.arange(bins, dtype=torch.float32, device=dev) / max(bins - 1, 1)
    curve = (coef[:, None] * torch.cos(math.pi * q[:, None] * k[None])).sum(0)
    curve = curve / curve.std().clamp_min(1e-6) * std_db
    tilt = tilt_db[0] + (tilt_db[1] - tilt_db[0]) * float(torch.rand((), generator=generator))
    logk = torch.log2(1 + 63 * k) / 6  # 0..1 along roughly six octaves
    curve = curve + tilt * logk
    return 10 ** ((curve - curve.mean()) / 20)


def whiten(mag: torch.Tensor, *, order: int = 30) -> torch.Tensor:
    """Divide magnitude frames by their own cepstral envelope (fine structure only).

    Silent frames stay zero. Used by the envelope augmentation and by ``model.whiten``.

    Parameters
    ----------
    mag : torch.Tensor [shape=(..., bins)]
        Magnitude frames.
    order : int, keyword-only
        Cepstral order of the envelope (at most ``bins - 2``).

    Returns
    -------
    torch.Tensor [shape=(..., bins)]
    """
    env = cepstral_envelope(mag.clamp_min(1e-9)[..., None], order=min(int(order), mag.shape[-1] - 2))[..., 0]
    return mag / env


def add_noise(mag: torch.Tensor, *, level_db: float, generator: torch.Generator) -> torch.Tensor:
    """Add a noise floor below each frame's peak.

    Parameters
    ----------
    mag : torch.Tensor [shape=(T, bins)]
        Magnitude frames.
    level_db : float, dB, keyword-only
        The floor's level relative to each frame's peak (absolute values of Gaussian draws).
    generator : torch.Generator, keyword-only
        Where the draws come from.

    Returns
    -------
    torch.Tensor [shape=(T, bins)]
    """
    peak = mag.amax(dim=-1, keepdim=True)
    noise = torch.randn(mag.shape, generator=generator, device=generator.device).abs().to(mag.device)
    return mag + noise * peak * 10 ** (level_db / 20)
