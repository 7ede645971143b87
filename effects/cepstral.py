"""Cepstral-envelope hybridization (cross-synthesis), the classical baseline of seed 003.

Each frame's spectral envelope is the liftered real cepstrum turned back into a spectrum,
``E = exp(DFT(w_LP(IDFT(log|X|))))``. The input frame is divided by its own envelope
(whitened: its harmonics, hence its pitch, remain) and multiplied by the target's envelope;
then it gets the input frame's energy and phase.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from effects.frame_effect import FrameEffect, match_energy
from effects.targets import load_target
from workbench.errors import ParameterError
from workbench.spectral import causal_frames, cepstral_envelope, unit_phase
from workbench.validate import check_int

if TYPE_CHECKING:
    import numpy as np


__all__ = ["CepstralEffect", "default_lifter"]

ENVELOPES = ("timevarying", "mean")
LENGTH_POLICIES = ("loop", "stretch", "truncate")
SILENT_DB = -60.0  # target frames this far below the loudest carry no envelope worth imposing


def default_lifter(n_fft: int) -> int:
    """Lifter order scaled with the frame: 30 at ``n_fft`` 1024 (about 1.9 ms of quefrency at 16 kHz).

    Parameters
    ----------
    n_fft : int, samples
        Frame length.

    Returns
    -------
    int, samples
        ``round(30 * n_fft / 1024)``, at least 4.
    """
    return max(4, round(30 * n_fft / 1024))


class CepstralEffect(FrameEffect):
    """Impose the target's spectral envelope on the input.

    Parameters
    ----------
    target : str, Path, list of paths or np.ndarray, keyword-only
        The timbre source (file, folder, corpus selection; or audio with ``target_sr``).
    target_sr : int, Hz, optional, keyword-only
        Rate of an array ``target``.
    lifter_input, lifter_target : int, samples, optional, keyword-only
        Cepstral lifter orders (default :func:`default_lifter`).
    envelope : {"timevarying", "mean"}, keyword-only
        Frame-by-frame target envelopes (the seed's version; the target's own note sequence
        leaks into the output) or the target's average envelope (a static timbre).
    length_policy : {"loop", "stretch", "truncate"}, keyword-only
        When the input outlasts the target: loop the target; stretch its frames over the input's
        length (needs the length in advance: offline, or ``prepare(..., input_length=n)``); or stop (silence)
        when the target ends.
    n_fft, hop_length, window, synthesis_length, mix, gate_db, gain_db
        See :class:`FrameEffect`; the target's envelopes use the same analysis window as the input's.
    """

    _param_names = ("mix", "gate_db", "gain_db", "envelope", "lifter_input")

    def __init__(self, *, target: str | Path | list[str | Path] | np.ndarray, target_sr: int | None = None,
                 lifter_input: int | None = None, lifter_target: int | None = None, envelope: str = "timevarying",
                 length_policy: str = "loop", n_fft: int = 1024, hop_length: int = 256, window: str = "hann",
                 synthesis_length: int | None = None, mix: float = 1.0, gate_db: float = -60.0, gain_db: float = 0.0):
        self.target, self.target_sr = target, target_sr
        self.lifter_target = default_lifter(n_fft) if lifter_target is None else lifter_target
        if length_policy not in LENGTH_POLICIES:
            raise ParameterError(f"length_policy={length_policy!r} is not valid; expected one of "
                                 f"{', '.join(LENGTH_POLICIES)}")
        self.length_policy = length_policy
        self.envelope = envelope
        self.lifter_input = default_lifter(n_fft) if lifter_input is None else lifter_input
        super().__init__(n_fft=n_fft, hop_length=hop_length, window=window, synthesis_length=synthesis_length,
                         mix=mix, gate_db=gate_db, gain_db=gain_db)
        for name in ("lifter_input", "lifter_target"):
            self._check_param(name, getattr(self, name))
        self._check_param("envelope", envelope)
        self._loaded_sr: int | None = None

    def _check_param(self, name, value):
        super()._check_param(name, value)
        if name == "envelope" and value not in ENVELOPES:
            raise ParameterError(f"envelope={value!r} is not valid; expected one of {', '.join(ENVELOPES)}")
        if name in ("lifter_input", "lifter_target"):
            check_int(value, name, lo=1, hi=self.n_fft // 2 - 1)

    def _prepare_frames(self, sample_rate, channels):
        if self._loaded_sr != sample_rate:  # envelopes are precomputed once per rate
            clips = load_target(self.target, sr=sample_rate, target_sr=self.target_sr, min_samples=self.n_fft)
            mags = [causal_frames(torch.from_numpy(c), n_fft=self.n_fft, hop_length=self.hop_length,
                                  window=self.window, synthesis_length=self.synthesis_length).abs() for c in clips]
            mag = torch.cat(mags, dim=-1)  # (bins, T)
            energy = torch.linalg.vector_norm(mag, dim=0)
            keep = energy > energy.max() * 10 ** (SILENT_DB / 20)
            if energy.max() <= 0 or not keep.any():
                raise ParameterError("target is silent (no frame with energy); expected audible target material")
            env = cepstral_envelope(mag[:, keep], order=self.lifter_target)  # (bins, T')
            self._target_env = env
            self._mean_env = torch.exp(torch.log(env).mean(dim=-1, keepdim=True))
            self._loaded_sr = sample_rate
        if self.length_policy == "stretch" and not self.input_length:
            raise ParameterError("length_policy='stretch' needs the input length in advance (offline processing, "
                                 "or prepare with input_length); use 'loop' or 'truncate' for live input")
        self._in_frames = max(1, (self.input_length or 0) // self.hop_length)

    def _reset_frames(self):
        self._frame = 0

    @property
    def target_frames(self) -> int:
        """Number of target frames with energy (after ``prepare``)."""
        return self._target_env.shape[-1]

    def _target_envelopes(self, k: int) -> torch.Tensor:
        """Target envelopes ``(bins, k)`` for the next ``k`` frames, zeros past a truncated target."""
        T = self._target_env.shape[-1]
        idx = torch.arange(self._frame, self._frame + k)
        self._frame += k
        if self.envelope == "mean":
            env = self._mean_env.expand(-1, k)
            if self.length_policy == "truncate":
                env = env * (idx < T).to(env.dtype)
            return env
        if self.length_policy == "loop":
            return self._target_env[:, idx % T]
        if self.length_policy == "stretch":
            return self._target_env[:, (idx * T // self._in_frames).clamp(max=T - 1)]
        past = idx >= T
        return self._target_env[:, idx.clamp(max=T - 1)] * (~past).to(self._target_env.dtype)

    def output_length(self, n_in: int) -> int:
        """With ``length_policy="truncate"`` the output past the target's last envelope is silence:
        a file render stops one frame after it. Otherwise the input's length."""
        if self.length_policy != "truncate":
            return n_in
        return min(n_in, self.target_frames * self.hop_length + self.n_fft)

    def _transform(self, X, absX):
        env_in = cepstral_envelope(absX, order=self.lifter_input)
        flat = absX / env_in
        out = flat * self._target_envelopes(X.shape[-1])
        return match_energy(out, absX, dim=-2) * unit_phase(X, absX)
