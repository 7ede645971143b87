"""A trained autoencoder as a portable streaming TorchScript module (``workbench export``).

The module carries the whole effect: causal STFT, input preparation (whitening, frame pitch,
harmonic levelling), the network step with its LSTM state, the A-weighted level match, the
input's phase, overlap-add, gate, mix and limiter. Its state lives in buffers, so a host calls
``forward`` block after block, as nn~ and other RAVE hosts do.

How it is built: one hop of the effect is traced with its state passed in and out as tensors
(:func:`effects.traced_step.trace_hop_step`); a small scripted module loops that step over the
hops of a block and keeps the state in buffers. What runs is therefore the same code as the
Python effect, not a second implementation of it. :class:`HopModule` is what every exported
effect shares (attributes, buffers, ``forward``); :mod:`effects.export_ddsp` builds the DDSP
effect's module on it.

Conventions (RAVE / nn~): ``forward(x)`` takes ``(batch, channels, n)`` or ``(channels, n)``
float32 audio with ``n`` a multiple of ``block_multiple`` (the hop), and returns the same shape;
``forward_params`` is ``[in_channels, in_ratio, out_channels, out_ratio]``. Attributes:
``sampling_rate`` (Hz), ``latency_samples`` (exact delay, samples), ``block_multiple``
(samples), ``channels``, ``n_fft``; ``reset()`` clears the state.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from effects.autoencoder import AutoencoderEffect
from effects.traced_step import check_traceable, trace_hop_step
from models.checkpoint import LoadedRun
from workbench.errors import ParameterError
from workbench.validate import check_int

__all__ = ["export_autoencoder", "load_exported", "script_and_save", "HopModule", "StreamingModule"]

log = logging.getLogger(__name__)


class HopModule(nn.Module):
    """What every exported effect shares: the RAVE / nn~ attributes, the state buffers and ``forward``.

    A subclass names its state (``STATE``, the traced step's order) and loops its step over the
    hops of a block in :meth:`hops`, and spells out :meth:`reset`; both name each buffer, as
    the scripted methods must. The int attributes are inferred by the scripting from their values.

    Parameters
    ----------
    step : nn.Module
        The traced hop step: ``(x, *state) -> (y, *state)``.
    state : list of torch.Tensor
        The freshly reset state, in the step's order; :meth:`reset` returns to it.
    sampling_rate : int, Hz, keyword-only
        The model's rate.
    latency_samples : int, samples, keyword-only
        The effect's exact delay.
    hop : int, samples, keyword-only
        Hop of the step: blocks must be multiples of it (``block_multiple``).
    channels : int, keyword-only
        Channels processed.
    n_fft : int, samples, keyword-only
        Analysis frame length.
    """

    #: the state buffers (``s_<name>``), in the step's order
    STATE: tuple[str, ...] = ()

    def __init__(self, step: nn.Module, state: list[torch.Tensor], *, sampling_rate: int, latency_samples: int, hop: int,
                 channels: int, n_fft: int):
        super().__init__()
        self.step = step
        self.sampling_rate, self.latency_samples = int(sampling_rate), int(latency_samples)
        self.block_multiple, self.channels, self.n_fft = int(hop), int(channels), int(n_fft)
        if len(state) != len(self.STATE):
            raise ValueError(f"{len(state)} state tensors; expected {len(self.STATE)} ({', '.join(self.STATE)})")
        for name, t in zip(self.STATE, state):
            name = "s_" + name
            self.register_buffer(name, t.clone())
            self.register_buffer(name + "0", t.clone())
        self.register_buffer("forward_params", torch.tensor([channels, 1, channels, 1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Process one block, state carried.

        Parameters
        ----------
        x : torch.Tensor [shape=(channels, n) or (batch, channels, n)]
            float32 audio, ``batch x channels`` equal to ``channels``, ``n`` a multiple of ``block_multiple``.

        Returns
        -------
        torch.Tensor
            The output, of ``x``'s shape, ``latency_samples`` behind the input.
        """
        batched = x.dim() == 3
        a = x.reshape(-1, x.shape[-1]) if batched else x
        if a.dim() != 2 or a.shape[0] != self.channels:
            raise ValueError(f"expected ({self.channels}, n) or (batch, channels, n) audio with batch x channels = "
                             f"{self.channels}")
        n = a.shape[1]
        if n % self.block_multiple != 0:
            raise ValueError(f"block of {n} samples; expected a multiple of {self.block_multiple}")
        y = self.hops(a)  # each subclass's loop of its traced step over the hops of ``a`` ``(channels, n)``
        return y.reshape(x.shape) if batched else y


class StreamingModule(HopModule):
    """The exported autoencoder effect: its traced hop step looped over each block, state in buffers.

    Parameters are :class:`HopModule`'s.
    """

    #: the effect's ``state_names()``
    STATE = ("hist", "acc", "fifo", "history", "h", "c", "dry")

    @torch.jit.export
    def reset(self) -> None:
        """Return to the freshly reset state (silence before the next block)."""
        self.s_hist.copy_(self.s_hist0)
        self.s_acc.copy_(self.s_acc0)
        self.s_fifo.copy_(self.s_fifo0)
        self.s_history.copy_(self.s_history0)
        self.s_h.copy_(self.s_h0)
        self.s_c.copy_(self.s_c0)
        self.s_dry.copy_(self.s_dry0)

    def hops(self, a: torch.Tensor) -> torch.Tensor:
        """The step over each hop of ``a`` ``(channels, n)``, ``n`` a multiple of the hop."""
        hop = self.block_multiple
        outs: list[torch.Tensor] = []
        for i in range(a.shape[1] // hop):
            y, hist, acc, fifo, history, h, c, dry = self.step(a[:, i * hop:(i + 1) * hop], self.s_hist, self.s_acc,
                                                               self.s_fifo, self.s_history, self.s_h, self.s_c,
                                                               self.s_dry)
            self.s_hist.copy_(hist)
            self.s_acc.copy_(acc)
            self.s_fifo.copy_(fifo)
            self.s_history.copy_(history)
            self.s_h.copy_(h)
            self.s_c.copy_(c)
            self.s_dry.copy_(dry)
            outs.append(y)
        return torch.cat(outs, dim=1) if len(outs) > 0 else torch.zeros_like(a)


def script_and_save(module: HopModule, out: str | os.PathLike) -> Path:
    """Script an exported effect and write it (parent folders created).

    Parameters
    ----------
    module : HopModule
        The module, its step traced.
    out : str or PathLike
        The ``.ts`` file.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ParameterError
        The module could not be scripted (the first line of why).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # see effects.traced_step
            scripted = torch.jit.script(module)
    except (RuntimeError, ValueError, torch.jit.Error) as err:  # noqa: B014 - jit errors vary by version
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ParameterError(f"the model could not be scripted: {first}") from None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scripted.save(str(out))
    return out


def export_autoencoder(model: str | os.PathLike | LoadedRun, out: str | os.PathLike, *, channels: int = 1, mix: float = 1.0,
                       gate_db: float = -60.0, window: str | None = None,
                       synthesis_length: int | None = None) -> Path:
    """Write ``model`` (a run folder or :class:`models.checkpoint.LoadedRun`) as a TorchScript file.

    Parameters
    ----------
    model : str, PathLike or LoadedRun
        A single-instrument autoencoder run (``workbench train``).
    out : str or PathLike
        The ``.ts`` file to write (parent folders created).
    channels : int, keyword-only
        Channels the module processes (each on its own).
    mix, gate_db : float, keyword-only
        Fixed in the module (see :class:`effects.frame_effect.FrameEffect`).
    window, synthesis_length : optional, keyword-only
        STFT window pair (see :class:`effects.autoencoder.AutoencoderEffect`; default the run's).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ParameterError
        A run whose model cannot be exported, naming the part that cannot.
    """
    channels = check_int(channels, "channels")
    fx = AutoencoderEffect(model=model, mix=mix, gate_db=gate_db, window=window, synthesis_length=synthesis_length)
    check_traceable(fx, "exported")
    hop = fx.hop_length
    fx.prepare(fx.model_sr, channels, hop)
    if fx.state_names() != StreamingModule.STATE:
        raise ParameterError(f"the effect's state is {fx.state_names()}; the module keeps {StreamingModule.STATE}")
    traced, state = trace_hop_step(fx)
    out = script_and_save(StreamingModule(traced, state, sampling_rate=fx.model_sr, latency_samples=fx.latency_samples,
                                          hop=hop, channels=channels, n_fft=fx.n_fft), out)
    log.info("exported %s -> %s (%d Hz, hop %d, latency %d samples)", fx.run.path, out, fx.model_sr, hop,
             fx.latency_samples)
    return out


def load_exported(path: str | os.PathLike) -> torch.jit.ScriptModule:
    """Load an exported module (TorchScript; no pickled Python objects are executed).

    Parameters
    ----------
    path : str or PathLike
        A ``.ts`` file from :func:`export_autoencoder` or :func:`effects.export_ddsp.export_ddsp`.

    Returns
    -------
    torch.jit.ScriptModule
        On the CPU; call ``forward`` block by block, ``reset()`` between streams.

    Raises
    ------
    ParameterError
        The file is missing or not TorchScript.
    """
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"path={str(p)!r} does not exist; expected a .ts file from `workbench export`")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # see effects.traced_step
            return torch.jit.load(str(p), map_location="cpu")
    except RuntimeError as err:
        raise ParameterError(f"path={str(p)!r} is not a TorchScript module ({str(err).splitlines()[0]})") from None
