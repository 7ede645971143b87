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

__all__ = ["shift_pitch", "shift_pitch_batch", "random_envelope", "whiten", "add_noise", "augment_batch"]


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


def shift_pitch_batch(mag: torch.Tensor, semitones: torch.Tensor, *, order: int = 30) -> torch.Tensor:
    """:func:`shift_pitch` of a batch of sequences, each by its own amount, in one pass.

    Parameters
    ----------
    mag : torch.Tensor [shape=(B, T, bins)]
        Magnitude frames.
    semitones : torch.Tensor [shape=(B,)]
        Each sequence's shift (0 leaves that sequence as it is).
    order : int, keyword-only
        As for :func:`shift_pitch`.

    Returns
    -------
    torch.Tensor [shape=(B, T, bins)]
    """
    B, T, F = mag.shape
    semitones = semitones.to(device=mag.device, dtype=mag.dtype)
    env = cepstral_envelope(mag.transpose(-1, -2).clamp_min(1e-9), order=min(order, F - 2)).transpose(-1, -2)
    fine = mag / env
    pos = torch.arange(F, dtype=mag.dtype, device=mag.device)[None] / (2 ** (semitones / 12))[:, None]  # (B, F)
    lo = pos.floor().long().clamp(max=F - 1)
    hi = (lo + 1).clamp(max=F - 1)
    w = (pos - lo.to(mag.dtype)).clamp(0, 1)[:, None]
    a = fine.gather(-1, lo[:, None].expand(B, T, F))
    b = fine.gather(-1, hi[:, None].expand(B, T, F))
    shifted = torch.where(pos[:, None] <= F - 1, a * (1 - w) + b * w, torch.zeros_like(fine))
    return torch.where((semitones != 0)[:, None, None], (shifted * env).clamp_min(0), mag)


def augment_batch(win: torch.Tensor, *, semitones: torch.Tensor, envelope: torch.Tensor, corrupt: torch.Tensor,
                  noise_db: torch.Tensor, shift_order: int, generator: torch.Generator | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The training perturbations of a batch, applied where the batch lives (drawn beforehand).

    Each sequence is pitch-shifted (the clean target), then its input gets a foreign envelope
    (whitened, times ``envelope``) where ``corrupt``, then a noise floor ``noise_db`` below each
    frame's peak. The per-sequence draws are made on the CPU from seeded generators
    (:class:`models.train.FrameSequences`), so they do not depend on the device or batch.

    Parameters
    ----------
    win : torch.Tensor [shape=(B, T, bins)]
        Clean magnitude frames.
    semitones : torch.Tensor [shape=(B,)], keyword-only
        Pitch shifts (0: none).
    envelope : torch.Tensor [shape=(B, bins)], keyword-only
        Foreign envelopes (linear gains; :func:`random_envelope`).
    corrupt : torch.Tensor [shape=(B,), dtype=bool], keyword-only
        Which sequences get their envelope.
    noise_db : torch.Tensor [shape=(B,)], dB, keyword-only
        Noise floor relative to each frame's peak (``-inf``: none).
    shift_order : int, keyword-only
        Cepstral order kept by the shift (0: the whole frame moves).
    generator : torch.Generator, optional, keyword-only
        Draws the noise (on the batch's device).

    Returns
    -------
    clean, noisy : torch.Tensor [shape=(B, T, bins)]
        The target and the network's input.
    """
    dev, dt = win.device, win.dtype
    clean = shift_pitch_batch(win, semitones, order=shift_order)
    corrupt = corrupt.to(dev)
    noisy = torch.where(corrupt[:, None, None], whiten(clean) * envelope.to(device=dev, dtype=dt)[:, None], clean)
    peak = noisy.amax(dim=-1, keepdim=True)
    noise = torch.randn(noisy.shape, generator=generator, device=dev, dtype=dt).abs()
    return clean, noisy + noise * peak * (10 ** (noise_db.to(device=dev, dtype=dt) / 20))[:, None, None]
