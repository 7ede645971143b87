"""STFT-frame effects: causal analysis -> a transform of complex frames -> overlap-add.

Shared by the autoencoder, cepstral and mosaic methods: the stream (exact latency
``n_fft - 1``, or ``synthesis_length - 1`` with the low-delay windows), the delayed dry path
for ``mix``, output gain, the input-level gate that keeps silence silent, energy matching and
the input's phase.
"""

from __future__ import annotations

import abc
import math

import torch

from effects.base import Effect, check_mix_and_levels, soft_limit
from workbench.errors import ParameterError
from workbench.spectral import SpectralStream, frame_windows

__all__ = ["FrameEffect", "DelayLine", "match_energy"]


class DelayLine:
    """Fixed integer delay of ``(channels, n)`` blocks (the dry path of a mix).

    Parameters
    ----------
    channels : int
        Channels of every block.
    delay : int, samples
        The delay (zeros come out first).
    device : torch.device or str, keyword-only
        Where the line lives; blocks passed in must be there too (default the CPU).
    """

    def __init__(self, channels: int, delay: int, *, device: torch.device | str = "cpu"):
        self.channels, self.delay, self.device = channels, int(delay), torch.device(device)
        self.reset()

    def reset(self) -> None:
        """Fill the line with zeros."""
        self._buf = torch.zeros(self.channels, self.delay, device=self.device)

    def state(self) -> torch.Tensor:
        """The samples in the line.

        Returns
        -------
        torch.Tensor [shape=(channels, delay)]
            Not a copy: :meth:`process` replaces it rather than writing into it.
        """
        return self._buf

    def load_state(self, buf: torch.Tensor) -> None:
        """Continue from a :meth:`state`.

        Parameters
        ----------
        buf : torch.Tensor [shape=(channels, delay)]
            The samples in the line.
        """
        self._buf = buf

    def process(self, x: torch.Tensor) -> torch.Tensor:
        """Push a block in and take as many samples out.

        Parameters
        ----------
        x : torch.Tensor [shape=(channels, n)]
            The next block, any ``n``.

        Returns
        -------
        torch.Tensor [shape=(channels, n)]
            The input ``delay`` samples ago.
        """
        full = torch.cat([self._buf, x], dim=-1)
        self._buf = full[:, x.shape[-1]:].clone()
        return full[:, : x.shape[-1]]


def match_energy(shape: torch.Tensor, mag: torch.Tensor, *, dim: int = -2,
                 weights: torch.Tensor | None = None) -> torch.Tensor:
    """Scale magnitude frames ``shape`` so each has the L2 energy of the matching ``mag`` frame.

    Parameters
    ----------
    shape : torch.Tensor [shape=(..., bins, frames)]
        The frames to scale.
    mag : torch.Tensor [shape=(..., bins, frames)]
        The frames whose energy they take.
    dim : int, keyword-only
        The bins' axis.
    weights : torch.Tensor, optional, keyword-only
        Per-bin weights along ``dim`` (e.g. :func:`workbench.spectral.a_weighting`) in both energies, so the output
        keeps the input's weighted level (its loudness) whatever its balance; the ratio stays
        within 12 dB of the plain energy match.

    Returns
    -------
    torch.Tensor
        ``shape`` scaled per frame.
    """
    def ratio(a, b):
        return torch.linalg.vector_norm(a, dim=dim, keepdim=True) / torch.linalg.vector_norm(
            b, dim=dim, keepdim=True).clamp_min(1e-8)

    r = ratio(mag, shape)
    if weights is not None:
        # within 12 dB of the plain energy match: a frame whose energy sits where the weights are
        # near 0 (below 50 Hz) must not be blown up
        r = torch.minimum(torch.maximum(ratio(mag * weights, shape * weights), r / 4), r * 4)
    return shape * r


class FrameEffect(Effect):
    """Base of the STFT-frame methods. Subclasses implement :meth:`_transform`.

    Parameters
    ----------
    n_fft, hop_length : int, samples, keyword-only
        Analysis frame and hop.
    window : {"hann", "low-delay"}, keyword-only
        The STFT window pair (:func:`workbench.spectral.frame_windows`): ``"hann"``, latency
        ``n_fft - 1`` samples; ``"low-delay"``, a long asymmetric analysis window (``n_fft``
        resolution) with a short synthesis window, latency ``synthesis_length - 1``.
    synthesis_length : int, samples, optional, keyword-only
        Support of the low-delay synthesis window, ``hop < L <= 2 * hop`` (default
        ``2 * hop_length``).
    mix : float, keyword-only
        0 = dry input (delayed to stay aligned), 1 = fully processed.
    gate_db : float, dBFS, keyword-only
        Frames whose input level (RMS) is below this are silent; full level 12 dB above.
    gain_db : float, dB, keyword-only
        Output gain.
    device : torch.device or str, keyword-only
        Where the streaming state (and a subclass's model) live (:class:`effects.base.Effect`).
    """

    _param_names = ("mix", "gate_db", "gain_db")

    def __init__(self, *, n_fft: int, hop_length: int, window: str = "hann", synthesis_length: int | None = None,
                 mix: float = 1.0, gate_db: float = -60.0, gain_db: float = 0.0, device: torch.device | str = "cpu"):
        super().__init__(device=device)
        self.n_fft, self.hop_length = int(n_fft), int(hop_length)
        # fixed at construction (the latency depends on them); raises ParameterError when invalid
        w, _, self._support = frame_windows(self.n_fft, self.hop_length, window=window,
                                            synthesis_length=synthesis_length)
        self.window, self.synthesis_length = window, synthesis_length
        self.set_params(mix=mix, gate_db=gate_db, gain_db=gain_db)
        # RMS of a windowed full-scale frame per unit of one-sided spectral energy (Parseval).
        self._level_scale = math.sqrt(2) / (self.n_fft * math.sqrt(float((w**2).mean())))

    def _check_param(self, name, value):
        check_mix_and_levels(name, value)

    @property
    def latency_samples(self) -> int:
        """``n_fft - 1`` with the Hann windows, ``synthesis_length - 1`` with the low-delay ones."""
        return self._support - 1

    def _prepare(self, sample_rate, channels, max_block):
        self._stream = SpectralStream(n_fft=self.n_fft, hop_length=self.hop_length, channels=channels,
                                      frame_fn=self._frames, window=self.window,
                                      synthesis_length=self.synthesis_length, device=self.device)
        self._dry = DelayLine(channels, self.latency_samples, device=self.device)
        self._prepare_frames(sample_rate, channels)

    def _reset(self):
        self._stream.reset()
        self._dry.reset()
        self._reset_frames()

    def _frames(self, X: torch.Tensor) -> torch.Tensor:
        absX = X.abs()
        Y = self._transform(X, absX)
        energy = torch.linalg.vector_norm(absX, dim=1, keepdim=True)
        level_db = 20 * torch.log10(energy * self._level_scale + 1e-12)
        gate = ((level_db - self.gate_db) / 12.0).clamp(0, 1)
        return Y * gate

    def _wet(self, x: torch.Tensor) -> torch.Tensor:
        """The processed signal ``(channels, n)``, before mix and gain (subclasses may run it faster)."""
        return self.wet_path(x)

    # -- streaming state, for tracing and export -------------------------------------------------
    #: Names of :meth:`state`'s tensors, in its order (subclasses append theirs before ``dry``).
    STATE_NAMES: tuple[str, ...] = ("hist", "acc", "fifo")

    def state_names(self, *, dry: bool = True) -> tuple[str, ...]:
        """Names of :meth:`state`'s tensors, in order.

        Parameters
        ----------
        dry : bool, keyword-only
            With the dry line's samples last (``"dry"``).

        Returns
        -------
        tuple of str
        """
        return self.STATE_NAMES + (("dry",) if dry else ())

    def state(self, *, dry: bool = True) -> tuple[torch.Tensor, ...]:
        """Everything the prepared effect carries from one block to the next, as tensors.

        The stream's analysis history, overlap accumulator and output FIFO
        (:meth:`workbench.spectral.SpectralStream.state`), a subclass's own state, and the dry
        line's samples; :meth:`state_names` names them. A traced step takes and returns them.

        Parameters
        ----------
        dry : bool, keyword-only
            With the dry line (the wet path alone does not use it).

        Returns
        -------
        tuple of torch.Tensor
            Not copies; the effect replaces them as it runs rather than writing into them.
        """
        self._need_prepared()
        return self._stream.state() + self._frame_state() + ((self._dry.state(),) if dry else ())

    def load_state(self, tensors, *, dry: bool = True) -> None:
        """Continue from a :meth:`state` taken with the same ``dry``.

        Parameters
        ----------
        tensors : sequence of torch.Tensor
            In :meth:`state_names`' order.
        dry : bool, keyword-only
            Whether the dry line's samples are the last tensor.
        """
        self._need_prepared()
        tensors = tuple(tensors)
        if len(tensors) != len(self.state_names(dry=dry)):
            raise ParameterError(f"{len(tensors)} state tensors; expected {len(self.state_names(dry=dry))} "
                                 f"({', '.join(self.state_names(dry=dry))})")
        if dry:
            self._dry.load_state(tensors[-1])
            tensors = tensors[:-1]
        self._stream.load_state(*tensors[:3])
        self._load_frame_state(tensors[3:])

    def _frame_state(self) -> tuple[torch.Tensor, ...]:
        """A subclass's streaming state (names appended to ``STATE_NAMES``)."""
        return ()

    def _load_frame_state(self, tensors: tuple[torch.Tensor, ...]) -> None:
        """Put back what :meth:`_frame_state` gave."""

    def wet_path(self, x: torch.Tensor) -> torch.Tensor:
        """One block's wet signal by the Python path, before mix and gain.

        Parameters
        ----------
        x : torch.Tensor [shape=(channels, n)]
            Finite samples on the effect's ``device``.

        Returns
        -------
        torch.Tensor [shape=(channels, n)]
        """
        return self._stream.process(x)

    def block_path(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`process_tensor`'s arithmetic with no checks, no inference mode and no move
        between devices: what a trace of one block records.

        Parameters
        ----------
        x : torch.Tensor [shape=(channels, n)]
            Samples on the effect's ``device`` (non-finite ones are taken as 0).

        Returns
        -------
        torch.Tensor [shape=(channels, n)]
            Mixed, with gain, soft-limited.
        """
        return soft_limit(self._process(torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)))

    def _process(self, x):
        wet = self._wet(x)
        y = wet if self.mix >= 1 else self.mix * wet + (1 - self.mix) * self._dry.process(x)
        if self.mix >= 1:
            self._dry.process(x)  # keep the dry line current so mix can change mid-stream
        return y * 10 ** (self.gain_db / 20) if self.gain_db else y

    # -- for subclasses -----------------------------------------------------------------------
    @abc.abstractmethod
    def _prepare_frames(self, sample_rate: int, channels: int) -> None:
        """Check the rate, load targets or models, allocate per-channel state."""

    @abc.abstractmethod
    def _reset_frames(self) -> None:
        """Clear per-channel frame state."""

    @abc.abstractmethod
    def _transform(self, X: torch.Tensor, absX: torch.Tensor) -> torch.Tensor:
        """Complex input frames ``(channels, bins, k)`` (and their magnitudes) -> output frames."""
