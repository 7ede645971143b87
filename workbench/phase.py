"""Phase for magnitude-only frames, frame by frame: random (noise) phase and real-time
phase-gradient heap integration (RTPGHI).

A synthesizer that decodes magnitudes (seed 002's latent synthesis) has to invent a phase.
MANNe uses random phase per bin and frame ("noise phase"): cheap, but each frame's sinusoids
start anew, so a steady tone comes out rough. PGHI (Průša, Balazs and Søndergaard 2017; the
real-time, causal form of Průša and Holighaus 2017) derives the phase's gradient from the
log-magnitude, as it is exact for a Gaussian window, and integrates it along the loudest
ridges first:

- time direction (instantaneous frequency, radians per hop, for bin ``m``)
  ``phi_t(m) = a M / gamma * d/dm log|X|(m) + 2 pi a m / M``
- frequency direction (local group delay, radians per bin)
  ``phi_w(m) = -gamma / (a M) * d/dn log|X|(m)``

with hop ``a``, FFT size ``M`` and the window's ``gamma`` (``0.25645 L**2`` for a Hann window
of length ``L``). Both are in the *frequency-invariant* convention (FFT origin at the window's
centre); :class:`RTPGHI` returns the phase for :func:`workbench.spectral.causal_frames`'s
convention (origin at the frame start), which differs by ``pi m``. No look-ahead: the time
derivative of the log-magnitude is the backward difference to the previous frame.

Both classes hold their state explicitly, take one frame of magnitudes ``(bins,)`` at a time
and return its phase ``(bins,)``; :func:`reconstruct` runs either over a spectrogram through the
same weighted overlap-add as the streaming effects (:class:`workbench.spectral.StreamingSynthesizer`).
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import torch

from workbench.errors import ParameterError
from workbench.validate import check_int, is_number

__all__ = ["HANN_GAMMA", "PHASE_METHODS", "NoisePhase", "RTPGHI", "make_phase", "reconstruct"]

HANN_GAMMA = 0.25645  # gamma / L**2 of a Hann window of length L (Průša et al. 2017, table 1)
PHASE_METHODS = ("pghi", "noise")


def _check_fft(n_fft, hop_length) -> tuple[int, int]:
    n_fft, hop_length = check_int(n_fft, "n_fft"), check_int(hop_length, "hop_length")
    if hop_length > n_fft:
        raise ParameterError(f"hop_length={hop_length} must not exceed n_fft={n_fft}")
    return int(n_fft), int(hop_length)


class NoisePhase:
    """Uniform random phase per bin and frame (MANNe's inversion), seeded.

    Parameters
    ----------
    n_fft : int, samples, keyword-only
        FFT size; a frame has ``n_fft // 2 + 1`` bins.
    seed : int, keyword-only
        Seed of the phases (:meth:`reset` starts the same sequence again).
    """

    def __init__(self, *, n_fft: int, seed: int = 0):
        self.n_fft, _ = _check_fft(n_fft, 1)
        self.seed = int(seed)
        self._out = np.zeros(self.n_fft // 2 + 1, np.float64)
        self.reset()

    def reset(self) -> None:
        """Start the seeded sequence of phases again."""
        self._rng = np.random.default_rng(self.seed)

    def __call__(self, mag: np.ndarray) -> np.ndarray:
        """Phase (radians) ``(bins,)`` for one frame of magnitudes ``(bins,)``."""
        self._out[:] = self._rng.random(self._out.shape[0])
        self._out *= 2 * np.pi
        return self._out


class RTPGHI:
    """Real-time phase-gradient heap integration, no look-ahead.

    Parameters
    ----------
    n_fft : int, samples, keyword-only
        FFT size ``M`` (the Hann window's length ``L``).
    hop_length : int, samples, keyword-only
        Hop ``a``.
    tol_db : float, dB, keyword-only
        Bins more than ``tol_db`` below the loudest of the current and previous frame are not
        integrated; they get a random phase (their level is too low to matter, and the log-
        magnitude's gradient there is noise).
    gamma : float, samples**2, optional, keyword-only
        The window's time-frequency ratio; default ``HANN_GAMMA * n_fft**2``.
    seed : int, keyword-only
        Seed of the random phase of the quiet bins.

    Examples
    --------
    >>> ph = RTPGHI(n_fft=512, hop_length=128)
    >>> phase = ph(np.abs(frame))        # doctest: +SKIP
    """

    def __init__(self, *, n_fft: int, hop_length: int, tol_db: float = 60.0, gamma: float | None = None,
                 seed: int = 0):
        self.n_fft, self.hop_length = _check_fft(n_fft, hop_length)
        if not (is_number(tol_db) and 0 < tol_db <= 200):
            raise ParameterError(f"tol_db={tol_db!r} must be a number of dB in (0, 200]")
        self.tol_db = float(tol_db)
        self.gamma = HANN_GAMMA * self.n_fft ** 2 if gamma is None else float(gamma)
        if not self.gamma > 0:
            raise ParameterError(f"gamma={gamma!r} must be a positive number (samples squared)")
        self.seed = int(seed)
        bins = self.n_fft // 2 + 1
        a, M = self.hop_length, self.n_fft
        self._ct = a * M / self.gamma / 2.0  # times the central difference over bins (2 bins apart)
        self._cw = -self.gamma / (a * M)
        self._ramp = 2 * np.pi * a * np.arange(bins) / M
        self._flip = np.pi * np.arange(bins)  # frequency-invariant -> frame-start origin
        self._out = np.zeros(bins, np.float64)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (the next is integrated from scratch) and reseed."""
        bins = self.n_fft // 2 + 1
        self._rng = np.random.default_rng(self.seed)
        self._s_prev = np.full(bins, -np.inf)
        self._phi_prev = np.zeros(bins)
        self._dt_prev = np.zeros(bins)

    def _gradients(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dt = np.empty_like(s)
        dt[1:-1] = s[2:] - s[:-2]
        dt[0], dt[-1] = 2 * (s[1] - s[0]), 2 * (s[-1] - s[-2])
        dt *= self._ct
        dt += self._ramp
        prev = np.where(np.isfinite(self._s_prev), self._s_prev, s)
        dw = self._cw * (s - prev)
        return dt, dw

    def __call__(self, mag: np.ndarray) -> np.ndarray:
        """Phase (radians, frame-start convention) ``(bins,)`` for one frame of magnitudes ``(bins,)``."""
        mag = np.asarray(mag, np.float64)
        bins = self._out.shape[0]
        if mag.shape != (bins,):
            raise ParameterError(f"frame of shape {mag.shape} does not fit; expected ({bins},) for n_fft={self.n_fft}")
        peak = float(mag.max()) if mag.size else 0.0
        if not peak > 0 or not math.isfinite(peak):  # silence: nothing to integrate; start afresh
            self._s_prev[:] = -np.inf
            self._out[:] = 0.0
            return self._out
        s = np.log(np.maximum(mag, peak * 1e-12))
        dt, dw = self._gradients(s)
        floor = float(s.max()) - self.tol_db * math.log(10) / 20
        phi = self._rng.random(bins) * (2 * np.pi)  # the quiet bins keep these
        todo = s > floor
        done = np.zeros(bins, bool)
        # lists: scalar access to Python floats is several times faster than to numpy elements
        s_l, dt_l, dw_l, dtp_l, phip_l = s.tolist(), dt.tolist(), dw.tolist(), self._dt_prev.tolist(), self._phi_prev.tolist()
        todo_l, done_l = todo.tolist(), done.tolist()
        phi_l = phi.tolist()
        sp = self._s_prev
        heap = [(-sp[m], -1 - m) for m in np.flatnonzero(todo & (sp > floor)).tolist()]  # previous frame: -1 - m
        heapq.heapify(heap)
        left = int(todo.sum())
        while left:
            if not heap:  # a new ridge with no past: start it at its loudest bin with phase 0
                m0 = max((m for m in range(bins) if todo_l[m] and not done_l[m]), key=s_l.__getitem__)
                phi_l[m0] = 0.0
                done_l[m0] = True
                left -= 1
                heap.append((-s_l[m0], m0))
            _, k = heapq.heappop(heap)
            if k < 0:  # from the previous frame: integrate in time into the same bin
                m = -1 - k
                if not done_l[m]:
                    phi_l[m] = phip_l[m] + 0.5 * (dtp_l[m] + dt_l[m])
                    done_l[m] = True
                    left -= 1
                    heapq.heappush(heap, (-s_l[m], m))
            else:  # from this frame: integrate in frequency to both neighbours
                m = k
                for j, sign in ((m + 1, 0.5), (m - 1, -0.5)):
                    if 0 <= j < bins and todo_l[j] and not done_l[j]:
                        phi_l[j] = phi_l[m] + sign * (dw_l[m] + dw_l[j])
                        done_l[j] = True
                        left -= 1
                        heapq.heappush(heap, (-s_l[j], j))
        phi = np.asarray(phi_l)
        np.remainder(phi, 2 * np.pi, out=phi)  # keep the running phase bounded
        self._phi_prev, self._dt_prev, self._s_prev = phi, dt, s
        np.subtract(phi, self._flip, out=self._out)
        return self._out


def make_phase(method: str, *, n_fft: int, hop_length: int, seed: int = 0) -> RTPGHI | NoisePhase:
    """A frame-by-frame phase maker by name.

    Parameters
    ----------
    method : {"pghi", "noise"}
        :class:`RTPGHI` or :class:`NoisePhase`.
    n_fft, hop_length : int, samples, keyword-only
        Frame and hop (the noise phase uses ``n_fft`` only).
    seed : int, keyword-only
        Seed of its random phases.

    Returns
    -------
    RTPGHI or NoisePhase
        Call it with one frame of magnitudes ``(n_fft // 2 + 1,)`` for its phases (radians).
    """
    if method == "pghi":
        return RTPGHI(n_fft=n_fft, hop_length=hop_length, seed=seed)
    if method == "noise":
        return NoisePhase(n_fft=n_fft, seed=seed)
    raise ParameterError(f"phase={method!r} is not valid; expected one of {', '.join(PHASE_METHODS)}")


def reconstruct(mag: np.ndarray, *, n_fft: int, hop_length: int, phase: str = "pghi", seed: int = 0) -> np.ndarray:
    """A signal whose causal STFT magnitude approximates ``mag``, frame by frame as a stream would.

    Parameters
    ----------
    mag : np.ndarray [shape=(n_fft // 2 + 1, frames)]
        Magnitudes in :func:`workbench.spectral.causal_frames`'s framing.
    n_fft, hop_length : int, samples, keyword-only
        Frame and hop.
    phase : {"pghi", "noise"}, keyword-only
        The phase maker (:func:`make_phase`).
    seed : int, keyword-only
        Seed of its random phases.

    Returns
    -------
    np.ndarray [shape=(frames * hop_length,), dtype=float32]
        Frame ``k``'s window ends at sample ``(k + 1) * hop_length``, as in ``causal_frames``.
    """
    from workbench.spectral import StreamingSynthesizer

    mag = np.asarray(mag, np.float64)
    if mag.ndim != 2 or mag.shape[0] != n_fft // 2 + 1:
        raise ParameterError(f"mag of shape {mag.shape} does not fit; expected ({n_fft // 2 + 1}, frames)")
    ph = make_phase(phase, n_fft=n_fft, hop_length=hop_length, seed=seed)
    X = np.stack([mag[:, k] * np.exp(1j * ph(mag[:, k])) for k in range(mag.shape[1])], axis=-1)
    syn = StreamingSynthesizer(n_fft=n_fft, hop_length=hop_length)
    return syn.process(torch.from_numpy(X.astype(np.complex64))[None])[0].numpy()
