"""Spectral core: batched STFT/iSTFT, streaming analysis/synthesis, cepstrum, MFCC.

Conventions
-----------
- Signals are torch tensors ``(..., time)``; numpy arrays are accepted and converted.
- Spectra are complex ``(..., n_fft // 2 + 1, frames)`` like ``torch.stft`` and librosa.
- Offline :func:`stft` centres frames (frame ``t`` covers ``[t*hop - n_fft/2, t*hop + n_fft/2)``,
  zero padded, as librosa >= 0.10). The streaming pair is causal: frame ``k`` covers the
  ``n_fft`` samples that end at ``(k + 1) * hop`` of the input, zero history before the start.
  :func:`causal_frames` and :func:`overlap_add` are the offline references the streaming
  classes are tested against.
- Causal frames use one of two window pairs (:func:`frame_windows`): ``"hann"``, a periodic Hann
  window for analysis and synthesis (delay ``n_fft - 1`` through :class:`SpectralStream`), or
  ``"low-delay"``, a long asymmetric analysis window with a short synthesis window at the end
  of the frame (:func:`low_delay_windows`; delay ``synthesis_length - 1``, independent of
  ``n_fft``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch
import torchaudio

from workbench.errors import ParameterError
from workbench.validate import check_int

__all__ = [
    "check_stft_params",
    "hann_window",
    "WINDOWS",
    "low_delay_windows",
    "frame_windows",
    "stft",
    "istft",
    "magphase",
    "unit_phase",
    "causal_frames",
    "overlap_add",
    "StreamingAnalyzer",
    "StreamingSynthesizer",
    "SpectralStream",
    "real_cepstrum",
    "lifter",
    "cepstral_envelope",
    "mel_filterbank",
    "mfcc",
    "chroma_filterbank",
    "chroma_onehot",
    "a_weighting",
]

_EPS = 1e-10


def _as_tensor(y) -> torch.Tensor:
    if isinstance(y, torch.Tensor):
        return y if y.is_floating_point() or y.is_complex() else y.float()
    a = np.asarray(y)
    if a.dtype == np.float64:
        return torch.from_numpy(a.astype(np.float32))
    return torch.as_tensor(a, dtype=torch.float32 if not np.iscomplexobj(a) else None)


def check_stft_params(n_fft: int, hop_length: int, *, synthesis: bool = False) -> tuple[int, int]:
    """Validate STFT sizes.

    Parameters
    ----------
    n_fft : int, samples
        Frame length, at least 2.
    hop_length : int, samples
        Hop, at most ``n_fft``.
    synthesis : bool, keyword-only
        Also require Hann overlap-add to be invertible (``hop_length <= n_fft // 2``).

    Returns
    -------
    n_fft, hop_length : int
        As plain Python ints.

    Raises
    ------
    ParameterError
        A non-integer, non-positive or inconsistent size.
    """
    n_fft = check_int(n_fft, "n_fft")
    hop_length = check_int(hop_length, "hop_length")
    if n_fft < 2:
        raise ParameterError(f"n_fft={n_fft} must be at least 2")
    if hop_length > n_fft:
        raise ParameterError(f"hop_length={hop_length} must not exceed n_fft={n_fft}")
    if synthesis and hop_length > n_fft // 2:
        raise ParameterError(
            f"hop_length={hop_length} must be at most n_fft/2={n_fft // 2} for Hann overlap-add resynthesis"
        )
    return n_fft, hop_length


def hann_window(n_fft: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> torch.Tensor:
    """Periodic Hann window (as ``scipy.signal.get_window('hann')``).

    Parameters
    ----------
    n_fft : int, samples
        Its length.
    dtype : torch.dtype, keyword-only
        Its dtype.
    device : torch.device or str, optional, keyword-only
        Where it is made (the signal's device; default the CPU).

    Returns
    -------
    torch.Tensor [shape=(n_fft,)]
    """
    return torch.hann_window(n_fft, periodic=True, dtype=dtype, device=device)


WINDOWS = ("hann", "low-delay")


def low_delay_windows(n_fft: int, *, hop_length: int, synthesis_length: int | None = None,
                      dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Asymmetric analysis/synthesis windows for low-delay overlap-add (Mauler & Martin 2011).

    The synthesis window is nonzero only on the last ``L = synthesis_length`` samples of the
    frame, so a frame's output is finished ``L - hop_length`` samples after the frame ends,
    whatever ``n_fft``; the analysis window still spans all ``n_fft`` samples (the frequency
    resolution of the symmetric Hann window).

    With ``R = hop_length`` and ``T = L - R``:

    - product window ``p`` (length ``L``): ``sin^2`` rise over ``T``, flat ``R - T``, ``cos^2``
      fall over ``T``; its copies every ``R`` samples sum to exactly 1 (for ``L = 2R`` it is the
      periodic Hann window of length ``2R``, as in Wang et al. 2023);
    - analysis ``w_a[n] = sin^2(pi n / (2 (N - T)))`` for ``n < N - T`` (a Hann-shaped rise, as
      the symmetric window), then ``cos(pi (n - N + T) / (2 T))`` (a sqrt-Hann fall);
    - synthesis ``w_s = p / w_a`` on ``[N - L, N - T)``, the same ``cos`` fall on the last ``T``
      samples, 0 before ``N - L``; so ``w_a * w_s = p`` on the last ``L`` samples.

    ``w_a`` is scaled to the coherent gain (sum) of the periodic Hann window of length ``n_fft``,
    so a steady sinusoid has the same peak magnitude as with :func:`hann_window`; ``w_s`` carries
    the inverse scale, so the product, and hence reconstruction, is unchanged.

    Parameters
    ----------
    n_fft : int, samples
        Frame length ``N``.
    hop_length : int, samples, keyword-only
        Hop ``R``.
    synthesis_length : int, samples, optional, keyword-only
        ``L``, ``R < L <= min(2 R, N)`` (default ``2 R``).
    dtype : torch.dtype, keyword-only
        Dtype of the windows (computed in float64).

    Returns
    -------
    analysis, synthesis : torch.Tensor [shape=(n_fft,)]
        The window pair.

    Examples
    --------
    >>> wa, ws = low_delay_windows(512, hop_length=128)
    >>> int((ws != 0).sum())  # the synthesis window's support: 2 hops
    255
    """
    n_fft, hop_length = check_stft_params(n_fft, hop_length)
    L = 2 * hop_length if synthesis_length is None else synthesis_length
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or not hop_length < L <= min(2 * hop_length, n_fft):
        raise ParameterError(f"synthesis_length={L!r} must be an integer in ({hop_length}, "
                             f"{min(2 * hop_length, n_fft)}] for n_fft={n_fft}, hop_length={hop_length}")
    N, R, L = n_fft, hop_length, int(L)
    T = L - R
    n = np.arange(L, dtype=np.float64)
    p = np.ones(L)
    p[:T] = np.sin(np.pi * n[:T] / (2 * T)) ** 2
    p[R:] = np.cos(np.pi * (n[R:] - R) / (2 * T)) ** 2
    m = np.arange(N, dtype=np.float64)
    fall = np.cos(np.pi * (m[N - T:] - (N - T)) / (2 * T))
    wa = np.concatenate([np.sin(np.pi * m[: N - T] / (2 * (N - T))) ** 2, fall])
    ws = np.zeros(N)
    seg = wa[N - L: N - T]
    ws[N - L: N - T] = np.divide(p[: L - T], seg, out=np.zeros_like(seg), where=seg > 0)
    ws[N - T:] = fall
    scale = float(hann_window(N, dtype=torch.float64).sum()) / wa.sum()
    return torch.from_numpy(wa * scale).to(dtype), torch.from_numpy(ws / scale).to(dtype)


@functools.lru_cache(maxsize=32)
def _windows64(n_fft: int, hop_length: int, window: str, synthesis_length: int | None):
    if window not in WINDOWS:
        raise ParameterError(f"window={window!r} is not valid; expected one of {', '.join(WINDOWS)}")
    if window == "hann":
        if synthesis_length is not None and synthesis_length != n_fft:
            raise ParameterError(f"synthesis_length={synthesis_length!r} applies to window='low-delay'; "
                                 f"expected None (or n_fft={n_fft}) with window='hann'")
        w = hann_window(n_fft, dtype=torch.float64)
        return w, w, n_fft
    wa, ws = low_delay_windows(n_fft, hop_length=hop_length, synthesis_length=synthesis_length, dtype=torch.float64)
    return wa, ws, 2 * hop_length if synthesis_length is None else int(synthesis_length)


def frame_windows(n_fft: int, hop_length: int, *, window: str = "hann",
                  synthesis_length: int | None = None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The analysis and synthesis windows of the causal frames, and the synthesis support.

    Parameters
    ----------
    n_fft, hop_length : int, samples
        Frame and hop.
    window : {"hann", "low-delay"}, keyword-only
        ``"hann"``: periodic Hann for both (support ``n_fft``). ``"low-delay"``:
        :func:`low_delay_windows` (support ``synthesis_length``, default ``2 * hop_length``).
    synthesis_length : int, samples, optional, keyword-only
        Only with ``"low-delay"``.

    Returns
    -------
    analysis, synthesis : torch.Tensor [shape=(n_fft,), dtype=float32]
    support : int, samples
        Samples at the end of the frame where the synthesis window is nonzero; a
        :class:`SpectralStream` with these windows has latency ``support - 1`` samples.
    """
    n_fft, hop_length = check_stft_params(n_fft, hop_length)
    wa, ws, L = _windows64(n_fft, hop_length, window, synthesis_length)
    return wa.float(), ws.float(), L


def stft(y: torch.Tensor | np.ndarray, *, n_fft: int = 2048, hop_length: int = 512, center: bool = True) -> torch.Tensor:
    """Short-time Fourier transform with a periodic Hann window.

    Parameters
    ----------
    y : torch.Tensor or np.ndarray [shape=(..., n)]
        Signals; float64 arrays are taken as float32.
    n_fft, hop_length : int, samples, keyword-only
        Frame length and hop.
    center : bool, keyword-only
        Zero-pad ``n_fft // 2`` on both sides so frame ``t`` is centred on sample ``t*hop``.

    Returns
    -------
    torch.Tensor [shape=(..., n_fft // 2 + 1, frames), dtype=complex]
        ``frames = 1 + n // hop_length`` when centred (even ``n_fft``), ``1 + (n - n_fft) // hop_length``
        when not.

    Raises
    ------
    ParameterError
        Bad sizes, or a signal (padded) shorter than ``n_fft``.

    Examples
    --------
    >>> S = stft(torch.randn(2, 16000), n_fft=1024, hop_length=256)
    >>> S.shape
    torch.Size([2, 513, 63])
    """
    n_fft, hop_length = check_stft_params(n_fft, hop_length)
    y = _as_tensor(y)
    shape = y.shape
    flat = y.reshape(-1, shape[-1])
    if center:
        flat = torch.nn.functional.pad(flat, (n_fft // 2, n_fft // 2))
    if flat.shape[-1] < n_fft:
        raise ParameterError(f"signal of {shape[-1]} samples is shorter than n_fft={n_fft}")
    S = torch.stft(
        flat, n_fft, hop_length=hop_length, window=hann_window(n_fft, dtype=flat.dtype, device=flat.device),
        center=False, return_complex=True,
    )
    return S.reshape(*shape[:-1], *S.shape[-2:])


def istft(S: torch.Tensor | np.ndarray, *, n_fft: int = 2048, hop_length: int = 512, length: int | None = None) -> torch.Tensor:
    """Inverse of :func:`stft` (centred): weighted overlap-add, perfect reconstruction.

    Parameters
    ----------
    S : torch.Tensor or np.ndarray [shape=(..., n_fft // 2 + 1, frames), dtype=complex]
        A centred STFT (:func:`stft`).
    n_fft, hop_length : int, samples, keyword-only
        As given to :func:`stft`; ``hop_length <= n_fft // 2``.
    length : int, samples, optional, keyword-only
        Output length (defaults to ``(frames - 1) * hop_length``).

    Returns
    -------
    torch.Tensor [shape=(..., length)]
        The signal, real.
    """
    n_fft, hop_length = check_stft_params(n_fft, hop_length, synthesis=True)
    S = _as_tensor(S)
    if S.shape[-2] != n_fft // 2 + 1:
        raise ParameterError(f"S has {S.shape[-2]} frequency bins; expected n_fft//2+1={n_fft // 2 + 1}")
    shape = S.shape
    flat = S.reshape(-1, *shape[-2:])
    y = torch.istft(
        flat, n_fft, hop_length=hop_length, window=hann_window(n_fft, dtype=torch.float32, device=flat.device),
        center=True, length=length,
    )
    return y.reshape(*shape[:-2], y.shape[-1])


def unit_phase(S: torch.Tensor, mag: torch.Tensor | None = None) -> torch.Tensor:
    """The unit-modulus phase of a complex spectrogram.

    Parameters
    ----------
    S : torch.Tensor [shape=(...), dtype=complex]
        The spectrogram.
    mag : torch.Tensor [shape=(...)], optional
        ``|S|`` when the caller has it already.

    Returns
    -------
    torch.Tensor [shape=(...), dtype=complex]
        ``S / |S|``, 1 where ``|S| = 0``.
    """
    mag = S.abs() if mag is None else mag
    return torch.where(mag > 0, S / mag.clamp_min(1e-30), torch.ones_like(S))


def magphase(S: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a complex spectrogram into magnitude and unit-modulus phase (``S = mag * phase``).

    Parameters
    ----------
    S : torch.Tensor [shape=(...), dtype=complex]
        The spectrogram.

    Returns
    -------
    mag : torch.Tensor [shape=(...)]
        ``|S|``.
    phase : torch.Tensor [shape=(...), dtype=complex]
        :func:`unit_phase` of ``S``.
    """
    mag = S.abs()
    return mag, unit_phase(S, mag)


# --------------------------------------------------------------------------- causal / streaming


def causal_frames(y: torch.Tensor | np.ndarray, *, n_fft: int, hop_length: int, window: str = "hann",
                  synthesis_length: int | None = None) -> torch.Tensor:
    """Offline reference of :class:`StreamingAnalyzer`: causal STFT frames of ``y``.

    Frame ``k`` is the windowed spectrum of the ``n_fft`` samples ending at
    ``(k + 1) * hop_length`` (zeros before the signal start), with the analysis window of
    :func:`frame_windows` (``window``, ``synthesis_length``).

    Parameters
    ----------
    y : torch.Tensor or np.ndarray [shape=(..., n)]
        Signals.
    n_fft, hop_length : int, samples, keyword-only
        Frame and hop of the analysis.
    window, synthesis_length : keyword-only
        The window pair (:func:`frame_windows`); the frames take its analysis window.

    Returns
    -------
    torch.Tensor [shape=(..., n_fft // 2 + 1, n // hop_length), dtype=complex]
    """
    n_fft, hop_length = check_stft_params(n_fft, hop_length)
    y = _as_tensor(y)
    k = y.shape[-1] // hop_length
    padded = torch.nn.functional.pad(y, (n_fft - hop_length, 0))
    frames = padded.unfold(-1, n_fft, hop_length)[..., :k, :]
    wa = frame_windows(n_fft, hop_length, window=window, synthesis_length=synthesis_length)[0]
    X = torch.fft.rfft(frames * wa.to(frames.device), dim=-1)
    return X.transpose(-1, -2)


def _ola_envelope(n_fft: int, hop_length: int, window: str = "hann",
                  synthesis_length: int | None = None) -> torch.Tensor:
    """Steady-state sum of the analysis x synthesis window products, one period of ``hop_length`` samples."""
    wa, ws, L = _windows64(n_fft, hop_length, window, synthesis_length)
    prod = (wa * ws)[n_fft - L:]
    reps = math.ceil(L / hop_length)
    env = torch.nn.functional.pad(prod, (0, reps * hop_length - L)).reshape(reps, hop_length).sum(0)
    return env.float()


def _check_synthesis(n_fft, hop_length, window, synthesis_length) -> tuple[int, int]:
    """STFT sizes valid for resynthesis: Hann overlap needs ``hop <= n_fft / 2``; low-delay checks its own."""
    return check_stft_params(n_fft, hop_length, synthesis=window == "hann")


def overlap_add(X: torch.Tensor | np.ndarray, *, n_fft: int, hop_length: int, window: str = "hann",
                synthesis_length: int | None = None) -> torch.Tensor:
    """Offline reference of :class:`StreamingSynthesizer`: weighted overlap-add of causal frames.

    Each frame is inverse-transformed and multiplied by the synthesis window of
    :func:`frame_windows`; its last ``L`` samples (the window's support: ``n_fft`` for Hann,
    ``synthesis_length`` for low-delay) are added at ``k * hop_length``; the sum is divided by
    the steady-state envelope of the window products (1 for low-delay). Output sample ``j`` is
    input sample ``j - (L - hop_length)``; the first ``L - hop_length`` samples are warm-up.

    Parameters
    ----------
    X : torch.Tensor or np.ndarray [shape=(..., n_fft // 2 + 1, frames), dtype=complex]
        Causal frames (:func:`causal_frames`).
    n_fft, hop_length : int, samples, keyword-only
        Frame and hop the frames were made with.
    window, synthesis_length : keyword-only
        The window pair (:func:`frame_windows`); each frame is multiplied by its synthesis window.

    Returns
    -------
    torch.Tensor [shape=(..., frames * hop_length)]
    """
    n_fft, hop_length = _check_synthesis(n_fft, hop_length, window, synthesis_length)
    _, ws, L = frame_windows(n_fft, hop_length, window=window, synthesis_length=synthesis_length)
    X = _as_tensor(X)
    k = X.shape[-1]
    frames = torch.fft.irfft(X.transpose(-1, -2), n=n_fft, dim=-1)[..., n_fft - L:] * ws[n_fft - L:].to(X.device)
    lead = frames.shape[:-2]
    flat = frames.reshape(-1, k, L).transpose(1, 2)  # (B, L, k) for fold
    total = (k - 1) * hop_length + L
    out = torch.nn.functional.fold(flat, output_size=(1, total), kernel_size=(1, L), stride=(1, hop_length))
    out = out.reshape(*lead, total)[..., : k * hop_length]
    env = _ola_envelope(n_fft, hop_length, window, synthesis_length).to(out.device).repeat(k)
    return out / env


class StreamingAnalyzer:
    """Causal STFT over a stream of blocks of any length.

    Feeding a signal in blocks of any sizes and concatenating the returned frames gives
    exactly :func:`causal_frames` of the whole signal.

    Parameters
    ----------
    n_fft, hop_length : int, samples, keyword-only
        Frame and hop.
    channels : int, keyword-only
        Leading size of every block ``(channels, n)``.
    window, synthesis_length : keyword-only
        The window pair (:func:`frame_windows`); the analyzer uses its analysis window.
    device : torch.device or str, keyword-only
        Where the window and history live; blocks passed in must be there too (default the CPU).

    Examples
    --------
    >>> an = StreamingAnalyzer(n_fft=512, hop_length=128, channels=1)
    >>> an.process(torch.zeros(1, 300)).shape  # two complete hops so far
    torch.Size([1, 257, 2])
    """

    def __init__(self, *, n_fft: int, hop_length: int, channels: int = 1, window: str = "hann",
                 synthesis_length: int | None = None, device: torch.device | str = "cpu"):
        self.n_fft, self.hop_length = check_stft_params(n_fft, hop_length)
        self.channels = check_int(channels, "channels")
        self.device = torch.device(device)
        self.window = frame_windows(self.n_fft, self.hop_length, window=window,
                                    synthesis_length=synthesis_length)[0].to(self.device)
        self.reset()

    def reset(self) -> None:
        """Forget all history (zeros before the next sample)."""
        self._hist = torch.zeros(self.channels, self.n_fft - self.hop_length, device=self.device)

    def state(self) -> torch.Tensor:
        """The samples kept for the next frame.

        Returns
        -------
        torch.Tensor [shape=(channels, n_fft - hop_length)]
            Not a copy: :meth:`process` replaces it rather than writing into it.
        """
        return self._hist

    def load_state(self, hist: torch.Tensor) -> None:
        """Continue from a :meth:`state` (one taken from this analyzer or a twin of it).

        Parameters
        ----------
        hist : torch.Tensor [shape=(channels, n_fft - hop_length)]
            The samples kept for the next frame.
        """
        self._hist = hist

    def process(self, block: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Consume a block of samples and return the frames it completes.

        Parameters
        ----------
        block : torch.Tensor or np.ndarray [shape=(channels, n)]
            The next samples, any ``n``.

        Returns
        -------
        torch.Tensor [shape=(channels, n_fft // 2 + 1, k), dtype=complex]
            The ``k`` frames completed (possibly none).
        """
        block = _as_tensor(block)
        x = torch.cat([self._hist, block], dim=-1)
        k = (x.shape[-1] - (self.n_fft - self.hop_length)) // self.hop_length
        self._hist = x[..., k * self.hop_length:].clone()
        if k == 0:
            return torch.zeros(self.channels, self.n_fft // 2 + 1, 0, dtype=torch.complex64, device=self.device)
        frames = x[..., : (k - 1) * self.hop_length + self.n_fft].unfold(-1, self.n_fft, self.hop_length)
        return torch.fft.rfft(frames * self.window, dim=-1).transpose(-1, -2)


class StreamingSynthesizer:
    """Weighted overlap-add of causal frames, one hop of finished samples per frame.

    Concatenating its outputs over any split of the frames gives exactly :func:`overlap_add`.
    Together with :class:`StreamingAnalyzer` (same ``window``) the round trip is the input
    delayed by :attr:`latency_samples` ``= L - hop_length``, ``L`` the synthesis window's
    support (``n_fft`` for ``"hann"``, ``synthesis_length`` for ``"low-delay"``).

    Parameters
    ----------
    n_fft, hop_length : int, samples, keyword-only
        Frame and hop (``hop_length <= n_fft // 2`` for ``"hann"``).
    channels : int, keyword-only
        Leading size of every frame batch ``(channels, bins, k)``.
    window, synthesis_length : keyword-only
        The window pair (:func:`frame_windows`); the synthesizer uses its synthesis window.
    device : torch.device or str, keyword-only
        Where the window and overlap accumulator live; frames passed in must be there too
        (default the CPU).
    """

    def __init__(self, *, n_fft: int, hop_length: int, channels: int = 1, window: str = "hann",
                 synthesis_length: int | None = None, device: torch.device | str = "cpu"):
        self.n_fft, self.hop_length = _check_synthesis(n_fft, hop_length, window, synthesis_length)
        self.channels = check_int(channels, "channels")
        self.device = torch.device(device)
        _, ws, self.support = frame_windows(self.n_fft, self.hop_length, window=window,
                                            synthesis_length=synthesis_length)
        self.window = ws[self.n_fft - self.support:].contiguous().to(self.device)  # the nonzero tail
        self._env = _ola_envelope(self.n_fft, self.hop_length, window, synthesis_length).to(self.device)
        self._env_tiled: dict[int, torch.Tensor] = {}
        self.reset()

    @property
    def latency_samples(self) -> int:
        """Delay of analyzer + synthesizer in samples: ``L - hop_length``."""
        return self.support - self.hop_length

    def reset(self) -> None:
        """Clear the overlap accumulator."""
        self._acc = torch.zeros(self.channels, self.support - self.hop_length, device=self.device)

    def state(self) -> torch.Tensor:
        """The overlap accumulator: samples of past frames not finished yet.

        Returns
        -------
        torch.Tensor [shape=(channels, support - hop_length)]
            Not a copy: :meth:`process` replaces it rather than writing into it.
        """
        return self._acc

    def load_state(self, acc: torch.Tensor) -> None:
        """Continue from a :meth:`state`.

        Parameters
        ----------
        acc : torch.Tensor [shape=(channels, support - hop_length)]
            The overlap accumulator.
        """
        self._acc = acc

    def process(self, X: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Add frames and return the samples they finish.

        Parameters
        ----------
        X : torch.Tensor or np.ndarray [shape=(channels, n_fft // 2 + 1, k), dtype=complex]
            The next ``k`` causal frames (possibly none).

        Returns
        -------
        torch.Tensor [shape=(channels, k * hop_length)]
            One hop of finished samples per frame.
        """
        X = _as_tensor(X)
        k = X.shape[-1]
        if k == 0:
            return torch.zeros(self.channels, 0, device=self.device)
        L = self.support
        frames = torch.fft.irfft(X.transpose(-1, -2), n=self.n_fft, dim=-1)[..., self.n_fft - L:] * self.window
        h = self.hop_length
        total = (k - 1) * h + L
        out = torch.nn.functional.fold(
            frames.transpose(1, 2), output_size=(1, total), kernel_size=(1, L), stride=(1, h)
        ).reshape(self.channels, total)
        out[..., : L - h] += self._acc
        self._acc = out[..., k * h:].clone()
        env = self._env_tiled.get(k)
        if env is None:  # live streams see one or two frame counts: tile each once
            env = self._env_tiled[k] = self._env.repeat(k)
        return out[..., : k * h] / env


class SpectralStream:
    """Block-in, block-out STFT processing with exact, constant latency.

    Each call consumes ``(channels, n)`` samples and returns ``(channels, n)`` samples, for any
    ``n``. Complete frames are passed through ``frame_fn`` (complex ``(channels, bins, k)`` to the
    same shape) before resynthesis; with no ``frame_fn`` the output is the input delayed by
    :attr:`latency_samples` ``= L - 1``: ``L - hop`` for framing plus ``hop - 1`` so that every
    block can be answered in full whatever its size, where ``L`` is the synthesis window's
    support (:func:`frame_windows`): ``n_fft`` for ``window="hann"``, ``synthesis_length``
    (default ``2 * hop``) for ``window="low-delay"``.

    Parameters
    ----------
    n_fft, hop_length : int, samples, keyword-only
        Frame and hop.
    channels : int, keyword-only
        Leading size of every block.
    frame_fn : callable, optional, keyword-only
        Applied to each batch of complete frames, complex ``(channels, bins, k)`` to the same
        shape (``k >= 1``); None passes them through.
    window, synthesis_length : keyword-only
        The window pair (:func:`frame_windows`).
    device : torch.device or str, keyword-only
        Where the windows and all streaming state live; blocks passed in must be there too
        (default the CPU).

    Examples
    --------
    >>> SpectralStream(n_fft=512, hop_length=128).latency_samples
    511
    >>> SpectralStream(n_fft=512, hop_length=128, window="low-delay").latency_samples
    255
    """

    def __init__(self, *, n_fft: int, hop_length: int, channels: int = 1,
                 frame_fn: Callable[[torch.Tensor], torch.Tensor] | None = None, window: str = "hann",
                 synthesis_length: int | None = None, device: torch.device | str = "cpu"):
        kw = dict(n_fft=n_fft, hop_length=hop_length, channels=channels, window=window,
                  synthesis_length=synthesis_length, device=device)
        self.synthesizer = StreamingSynthesizer(**kw)
        self.analyzer = StreamingAnalyzer(**kw)
        self.frame_fn = frame_fn
        self.reset()

    @property
    def latency_samples(self) -> int:
        """Delay from input to output in samples: ``L - 1``."""
        return self.synthesizer.support - 1

    def reset(self) -> None:
        """Forget all history: the next block starts a fresh stream (zeros before it)."""
        self.analyzer.reset()
        self.synthesizer.reset()
        # FIFO of finished samples, primed with hop - 1 zeros (see class docstring).
        self._fifo = torch.zeros(self.analyzer.channels, self.analyzer.hop_length - 1, device=self.analyzer.device)

    def state(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Everything the stream carries from one block to the next.

        Returns
        -------
        hist : torch.Tensor [shape=(channels, n_fft - hop_length)]
            The analyzer's (:meth:`StreamingAnalyzer.state`).
        acc : torch.Tensor [shape=(channels, L - hop_length)]
            The synthesizer's (:meth:`StreamingSynthesizer.state`).
        fifo : torch.Tensor [shape=(channels, m)]
            Finished samples not yet returned (``hop_length - 1`` after whole hops).
        """
        return self.analyzer.state(), self.synthesizer.state(), self._fifo

    def load_state(self, hist: torch.Tensor, acc: torch.Tensor, fifo: torch.Tensor) -> None:
        """Continue from a :meth:`state` (the three tensors in its order)."""
        self.analyzer.load_state(hist)
        self.synthesizer.load_state(acc)
        self._fifo = fifo

    def process(self, block: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Process one block.

        Parameters
        ----------
        block : torch.Tensor or np.ndarray [shape=(channels, n)]
            The next input samples, any ``n``: as many come out.

        Returns
        -------
        torch.Tensor [shape=(channels, n)]
            The output, :attr:`latency_samples` behind the input.
        """
        block = _as_tensor(block)
        X = self.analyzer.process(block)
        if self.frame_fn is not None and X.shape[-1]:
            X = self.frame_fn(X)
        fifo = torch.cat([self._fifo, self.synthesizer.process(X)], dim=-1)
        n = block.shape[-1]
        self._fifo = fifo[..., n:].clone()
        return fifo[..., :n]


# --------------------------------------------------------------------------- cepstrum


def real_cepstrum(mag: torch.Tensor | np.ndarray, *, n_fft: int | None = None) -> torch.Tensor:
    """Real cepstrum of magnitude spectra: ``irfft(log|X|)``.

    Parameters
    ----------
    mag : torch.Tensor or np.ndarray [shape=(..., n_fft // 2 + 1, frames)]
        Non-negative magnitudes (bins on the second-to-last axis, as :func:`stft` returns);
        floored at 1e-10 before the log.
    n_fft : int, optional, keyword-only
        FFT size; inferred as ``2 * (bins - 1)``.

    Returns
    -------
    torch.Tensor [shape=(..., n_fft, frames)]
        Quefrency (samples) on the second-to-last axis.
    """
    mag = _as_tensor(mag)
    n_fft = n_fft or 2 * (mag.shape[-2] - 1)
    return torch.fft.irfft(torch.log(mag.clamp_min(_EPS)), n=n_fft, dim=-2)


def lifter(ceps: torch.Tensor | np.ndarray, order: int) -> torch.Tensor:
    """Low-quefrency lifter: keep quefrencies ``0..order`` and their mirror, zero the rest.

    Parameters
    ----------
    ceps : torch.Tensor or np.ndarray [shape=(..., n_fft, frames)]
        Cepstra, quefrency on the second-to-last axis (:func:`real_cepstrum`).
    order : int, samples
        Highest quefrency kept, in ``[0, n_fft // 2)``.

    Returns
    -------
    torch.Tensor [shape=(..., n_fft, frames)]
        The liftered cepstra.
    """
    ceps = _as_tensor(ceps)
    n = ceps.shape[-2]
    order = check_int(order, "lifter order", lo=0, hi=n // 2 - 1)
    w = torch.zeros(n, 1, dtype=ceps.dtype, device=ceps.device)
    w[: order + 1] = 1
    if order > 0:
        w[n - order:] = 1
    return ceps * w


def cepstral_envelope(mag: torch.Tensor | np.ndarray, *, order: int, n_fft: int | None = None) -> torch.Tensor:
    """Spectral envelope from the liftered real cepstrum: ``exp(rfft(lifter(irfft(log|X|))))``.

    Parameters
    ----------
    mag : torch.Tensor or np.ndarray [shape=(..., n_fft // 2 + 1, frames)]
        Magnitudes.
    order : int, samples, keyword-only
        Lifter order (:func:`lifter`): higher follows finer detail.
    n_fft : int, optional, keyword-only
        FFT size; inferred as ``2 * (bins - 1)``.

    Returns
    -------
    torch.Tensor [shape=(..., n_fft // 2 + 1, frames)]
        The envelope, positive, in the units of ``mag``.
    """
    mag = _as_tensor(mag)
    n_fft = n_fft or 2 * (mag.shape[-2] - 1)
    c = lifter(real_cepstrum(mag, n_fft=n_fft), order)
    return torch.exp(torch.fft.rfft(c, dim=-2).real)


# --------------------------------------------------------------------------- MFCC


def mel_filterbank(*, sr: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None) -> torch.Tensor:
    """Slaney-style mel filterbank (librosa's default).

    Parameters
    ----------
    sr : int, Hz, keyword-only
        Sample rate.
    n_fft : int, samples, keyword-only
        FFT size.
    n_mels : int, keyword-only
        Mel bands.
    fmin, fmax : float, Hz, keyword-only
        Band edges (``fmax`` None: ``sr / 2``).

    Returns
    -------
    torch.Tensor [shape=(n_mels, n_fft // 2 + 1)]
        Slaney-normalised triangular filters.
    """
    fmax = sr / 2 if fmax is None else fmax
    fb = torchaudio.functional.melscale_fbanks(
        n_fft // 2 + 1, f_min=fmin, f_max=fmax, n_mels=n_mels, sample_rate=sr, norm="slaney", mel_scale="slaney"
    )
    return fb.T.contiguous()


def mfcc(
    y: torch.Tensor | np.ndarray,
    *,
    sr: int,
    n_mfcc: int = 13,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
    top_db: float | None = 80.0,
) -> torch.Tensor:
    """MFCCs matching ``librosa.feature.mfcc`` defaults, batched in torch.

    Power mel spectrogram (Slaney mels, centred Hann STFT) -> dB with ``ref=1, amin=1e-10``
    and ``top_db`` clipping per signal -> orthonormal DCT-II.

    Parameters
    ----------
    y : torch.Tensor or np.ndarray [shape=(..., n)]
        Signals.
    sr : int, Hz, keyword-only
        Sample rate.
    n_mfcc : int, keyword-only
        Coefficients kept.
    n_fft, hop_length : int, samples, keyword-only
        STFT frame and hop (centred, :func:`stft`).
    n_mels : int, keyword-only
        Mel bands.
    top_db : float or None, dB, keyword-only
        Floor below each signal's peak; None: no floor.

    Returns
    -------
    torch.Tensor [shape=(..., n_mfcc, 1 + n // hop_length)]
    """
    S = stft(y, n_fft=n_fft, hop_length=hop_length).abs() ** 2
    return mfcc_from_power(S, sr=sr, n_mfcc=n_mfcc, n_mels=n_mels, top_db=top_db)


def mfcc_from_power(S: torch.Tensor | np.ndarray, *, sr: int, n_mfcc: int = 13, n_mels: int = 128,
                    top_db: float | None = 80.0) -> torch.Tensor:
    """MFCCs from a power spectrogram; see :func:`mfcc`.

    Parameters
    ----------
    S : torch.Tensor or np.ndarray [shape=(..., n_fft // 2 + 1, frames)]
        Power (squared magnitude); ``n_fft`` is inferred as ``2 * (bins - 1)``.
    sr : int, Hz, keyword-only
        Sample rate.
    n_mfcc, n_mels, top_db : keyword-only
        As :func:`mfcc`; ``top_db`` is applied per leading index, over bands and frames.

    Returns
    -------
    torch.Tensor [shape=(..., n_mfcc, frames)]
    """
    S = _as_tensor(S)
    n_fft = 2 * (S.shape[-2] - 1)
    mel = torch.matmul(mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels), S)
    db = 10.0 * torch.log10(mel.clamp_min(_EPS))
    if top_db is not None:
        peak = db.amax(dim=(-2, -1), keepdim=True)
        db = torch.maximum(db, peak - top_db)
    dct = torchaudio.functional.create_dct(n_mfcc, n_mels, norm="ortho")  # (n_mels, n_mfcc)
    return torch.matmul(db.transpose(-1, -2), dct).transpose(-1, -2)


_CHROMA_FB: dict = {}


def chroma_filterbank(*, sr: int, n_fft: int) -> torch.Tensor:
    """librosa's chroma filterbank (pitch class C first), cached per ``(sr, n_fft)``.

    Parameters
    ----------
    sr : int, Hz, keyword-only
        Sample rate of the spectra it maps.
    n_fft : int, samples, keyword-only
        Their FFT size.

    Returns
    -------
    torch.Tensor [shape=(12, n_fft // 2 + 1), dtype=float32]
        The shared cached tensor: do not modify it in place.
    """
    key = (int(sr), int(n_fft))
    if key not in _CHROMA_FB:
        import librosa

        _CHROMA_FB[key] = torch.from_numpy(librosa.filters.chroma(sr=sr, n_fft=n_fft).astype(np.float32))
    return _CHROMA_FB[key]


def chroma_onehot(mag: torch.Tensor | np.ndarray, *, sr: int, n_fft: int, floor: float = 1e-8) -> torch.Tensor:
    """One-hot dominant pitch class of magnitude frames.

    The argmax of the frame's chromagram (power through librosa's chroma filters), as MANNe
    conditions on (seed 002).

    Parameters
    ----------
    mag : torch.Tensor or np.ndarray [shape=(..., n_fft // 2 + 1)]
        Magnitude frames, bins on the last axis.
    sr : int, Hz, keyword-only
        Sample rate.
    n_fft : int, samples, keyword-only
        FFT size.
    floor : float, keyword-only
        Frames whose peak magnitude is not above it (silent) get all zeros.

    Returns
    -------
    torch.Tensor [shape=(..., 12)]
        One-hot, pitch class C first.
    """
    mag = _as_tensor(mag)
    fb = chroma_filterbank(sr=sr, n_fft=n_fft).to(device=mag.device, dtype=mag.dtype)
    if mag.shape[-1] != fb.shape[1]:
        raise ParameterError(f"frames have {mag.shape[-1]} bins; expected n_fft // 2 + 1 = {fb.shape[1]}")
    energy = (mag**2) @ fb.T
    onehot = torch.nn.functional.one_hot(energy.argmax(-1), 12).to(mag.dtype)
    return onehot * (mag.amax(-1, keepdim=True) > floor).to(mag.dtype)


# --------------------------------------------------------------------------- frame pitch


_SHS: dict = {}


def _shs_matrix(bins: int, *, min_bins: float, max_bins: float, harmonics: int, per_octave: int):
    """Sub-harmonic summation weights ``(candidates, bins)``: + at each harmonic, - halfway between
    harmonics (so a candidate scores the contrast of its series, not the frame's density); the
    candidates' f0 in bins and each candidate's summed harmonic weight. Cached."""
    key = (bins, min_bins, max_bins, harmonics, per_octave)
    if key not in _SHS:
        n = int(np.floor(np.log2(max_bins / min_bins) * per_octave)) + 1
        cands = min_bins * 2 ** (np.arange(n) / per_octave)
        M = np.zeros((n, bins), np.float32)
        total = np.zeros(n, np.float32)
        for i, c in enumerate(cands):
            for k in range(1, harmonics + 1):
                if k * c >= bins - 1:
                    break
                w = 0.8 ** (k - 1)  # lower harmonics count more, so f0 / 2 does not win on every other peak
                total[i] += w
                for pos, sign in ((k * c, 1.0), ((k - 0.5) * c, -1.0)):
                    lo, frac = int(pos), pos - int(pos)
                    M[i, lo] += sign * w * (1 - frac)
                    M[i, lo + 1] += sign * w * frac
        _SHS[key] = (torch.from_numpy(M), torch.from_numpy(cands.astype(np.float32)), torch.from_numpy(total))
    return _SHS[key]


def frame_f0_bins(mag: torch.Tensor | np.ndarray, *, min_bins: float = 2.5, max_bins: float | None = None, harmonics: int = 8,
                  per_octave: int = 48, threshold: float = 0.25) -> torch.Tensor:
    """Causal per-frame f0 of magnitude frames ``(..., bins)``, in bins (0 where not pitched).

    Sub-harmonic summation (Hermes 1988) on the frame's square-root magnitude (peak 1),
    max-pooled over three bins so a harmonic slightly off its ideal place still counts, less the
    same sum halfway between the harmonics; a frame is pitched when the best candidate's score
    exceeds ``threshold`` of its summed weights; lower candidates are slightly preferred, as
    multiples of f0 score about as well as f0 itself. Works frame by frame, so a live effect can use it.
    In Hz: ``f0_bins * sr / n_fft``.

    Parameters
    ----------
    mag : torch.Tensor or np.ndarray [shape=(..., bins)]
        Magnitude frames, bins on the last axis.
    min_bins, max_bins : float, bins, keyword-only
        Search range (``max_bins`` None: a quarter of the band, ``(bins - 1) / 4``).
    harmonics : int, keyword-only
        Harmonics summed per candidate.
    per_octave : int, keyword-only
        Candidates per octave.
    threshold : float, keyword-only
        Share of a candidate's summed weights its score must exceed for the frame to be pitched.

    Returns
    -------
    torch.Tensor [shape=(...)], bins
        f0 in (fractional) bins, 0 for frames with no pitch.
    """
    mag = _as_tensor(mag)
    bins = mag.shape[-1]
    max_bins = float(max_bins or (bins - 1) / 4)
    M, cands, total = _shs_matrix(bins, min_bins=float(min_bins), max_bins=max_bins, harmonics=int(harmonics),
                                  per_octave=int(per_octave))
    s = mag.clamp_min(0).sqrt()
    s = s / s.amax(-1, keepdim=True).clamp_min(1e-12)
    lead = s.shape[:-1]
    s2 = s.reshape(-1, 1, bins)
    s2 = torch.nn.functional.max_pool1d(s2, 3, stride=1, padding=1)[:, 0]
    M, cands, total = M.to(s2.device), cands.to(s2.device), total.to(s2.device)  # cached on the CPU
    score = (s2 @ M.T.to(s2.dtype)) / total.to(s2.dtype)  # (N, candidates)
    # A multiple of f0 explains the same peaks about as well as f0 (every k-th harmonic is still a
    # harmonic): a mild preference for low candidates (3 % an octave) breaks that tie, and is far
    # too small to prefer f0 / 2, which scores at most 0.8 of f0 (its first harmonic falls between).
    prior = 1 - 0.03 * torch.log2(cands / cands[0]).to(s2.dtype)
    best = (score * prior).argmax(-1)
    f0 = cands.to(s2.dtype)[best]
    f0 = torch.where(score.gather(-1, best[:, None])[:, 0] > threshold, f0, torch.zeros_like(f0))
    return f0.reshape(lead)


def a_weighting(*, sr: int, n_fft: int, power: bool = False, dtype: torch.dtype = torch.float32,
                device: torch.device | str | None = None) -> torch.Tensor:
    """IEC 61672 A-weighting as linear gains per FFT bin (librosa's curve).

    Parameters
    ----------
    sr : int, Hz, keyword-only
        Rate of the frames weighted.
    n_fft : int, samples, keyword-only
        Their FFT size: one gain per bin.
    power : bool, keyword-only
        Gains for power spectra (``10 ** (dB / 10)``) rather than magnitudes (``10 ** (dB / 20)``).
    dtype : torch.dtype, keyword-only
        Of the result (computed in float64 either way).
    device : torch.device or str or None, keyword-only
        Where the result lives.

    Returns
    -------
    torch.Tensor [shape=(n_fft // 2 + 1,)]
        Floored at -80 dB (librosa's ``min_db``), which is where DC lands.
    """
    import librosa

    with np.errstate(divide="ignore"):  # the curve is -inf dB at 0 Hz before the floor
        db = librosa.A_weighting(librosa.fft_frequencies(sr=sr, n_fft=n_fft))
    return torch.from_numpy(10 ** (db / (10 if power else 20))).to(dtype=dtype, device=device)
