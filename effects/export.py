"""A trained autoencoder as a portable streaming TorchScript module (``workbench export``).

The module carries the whole effect: causal STFT, input preparation (whitening, frame pitch,
harmonic levelling), the network step with its LSTM state, the A-weighted level match, the
input's phase, overlap-add, gate, mix and limiter. Its state lives in buffers, so a host calls
``forward`` block after block, as nn~ and other RAVE hosts do.

How it is built: with one hop of input per step, the effect's own per-hop computation
(:meth:`effects.base.Effect.process_block`) has no data-dependent control flow, so it is traced
once with its state passed in and out as tensors (``torch.jit.trace``); a small scripted module
loops that step over the hops of a block and keeps the state. What runs is therefore the same
code as the Python effect, not a second implementation of it.

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
from effects.base import soft_limit
from models.checkpoint import LoadedRun
from workbench.errors import ParameterError
from workbench.validate import check_int

__all__ = ["export_autoencoder", "load_exported", "StreamingModule", "trace_wet_step"]

log = logging.getLogger(__name__)


class _WetStep(nn.Module):
    """One hop of an effect's wet path (causal STFT, network step, level match, phase, overlap-add
    and gate), the gate level and the state in and out as tensors (for tracing): the mix, the dry
    line and the gain stay in Python, so they remain live parameters."""

    def __init__(self, fx: AutoencoderEffect):
        super().__init__()
        self.net = fx.model  # registered, so the trace keeps its weights as parameters
        object.__setattr__(self, "_fx", fx)

    def _enter(self, hist, acc, fifo, history, h, c) -> None:
        """Put the state tensors into the effect (``_state_of``'s order, without the dry line)."""
        fx = self._fx
        s = fx._stream
        s.analyzer._hist, s.synthesizer._acc, s._fifo = hist, acc, fifo
        fx._history, fx._state = history, (h, c)

    def _leave(self) -> tuple:
        """The effect's state tensors after the hop, in :meth:`_enter`'s order."""
        fx = self._fx
        s = fx._stream
        return (s.analyzer._hist, s.synthesizer._acc, s._fifo, fx._history, *fx._state)

    def forward(self, x, gate_db, hist, acc, fifo, history, h, c):
        self._enter(hist, acc, fifo, history, h, c)
        self._fx.gate_db = gate_db
        return (self._fx._stream.process(x), *self._leave())


class _HopStep(_WetStep):
    """One hop through the whole prepared effect (wet path, mix with the dry line, limiter), its
    state in and out as tensors (for tracing the exported module)."""

    def forward(self, x, hist, acc, fifo, history, h, c, dry):
        fx = self._fx
        self._enter(hist, acc, fifo, history, h, c)
        fx._dry._buf = dry
        y = soft_limit(fx._process(torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)))
        return (y, *self._leave(), fx._dry._buf)


def _check_traceable(fx: AutoencoderEffect, doing: str) -> None:
    """One line for what a traced module cannot keep live: an instrument code, or a chroma condition."""
    if fx.codes:
        raise ParameterError(f"model.condition={fx.run.config.model.condition!r}: a multi-instrument run cannot be "
                             f"{doing} yet (its instrument code is a live parameter); expected a single-instrument run")
    if fx.model.chroma:
        raise ParameterError(f"model.chroma=true: the chroma condition cannot be {doing} yet; expected a model "
                             "without chroma")


def trace_wet_step(fx: AutoencoderEffect) -> torch.jit.ScriptModule:
    """Trace one hop of a prepared, freshly reset effect's wet path (:class:`_WetStep`).

    The effect's state is left as it was. Raises ParameterError for what tracing cannot keep
    live: several instruments (the code is a parameter) or a chroma condition.

    Parameters
    ----------
    fx : AutoencoderEffect
        A prepared effect, freshly reset (its state is what the example inputs of the trace are
        made from); single-instrument, without chroma.

    Returns
    -------
    torch.jit.ScriptModule
        The traced step ``(x, gate_db, hist, acc, fifo, history, h, c) -> (y, hist, acc, fifo,
        history, h, c)``: ``x`` and ``y`` are one hop, ``torch.Tensor [shape=(channels,
        hop_length)], float32``; ``gate_db`` a 0-d tensor (dB); ``hist``, ``acc``, ``fifo`` and
        ``history`` the analyzer's, synthesizer's, stream's and context's state; ``h`` and ``c``
        the LSTM state ``[shape=(1, channels, hidden)]``.
    """
    _check_traceable(fx, "traced")
    saved = _state_of(fx)
    gate = fx.gate_db
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape-derived constants: one hop per step
            warnings.simplefilter("ignore", FutureWarning)  # see export_autoencoder
            example = (torch.zeros(fx.channels, fx.hop_length), torch.tensor(float(gate)),
                       *(t.clone() for t in saved[:6]))
            step = torch.jit.trace(_WetStep(fx).eval().requires_grad_(False), example, check_trace=False)
    except (RuntimeError, ValueError, torch.jit.Error) as err:  # noqa: B014 - jit errors vary by version
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ParameterError(f"the model could not be traced: {first}") from None
    finally:
        s = fx._stream
        s.analyzer._hist, s.synthesizer._acc, s._fifo, fx._history = saved[:4]
        fx._state, fx.gate_db = None, gate
    return step


def _state_of(fx: AutoencoderEffect) -> list[torch.Tensor]:
    """The effect's freshly reset state, in :class:`_HopStep`'s argument order."""
    s, ch = fx._stream, fx.channels
    hidden = fx.model.lstm.hidden_size
    zeros = torch.zeros(1, ch, hidden)
    return [s.analyzer._hist.clone(), s.synthesizer._acc.clone(), s._fifo.clone(), fx._history.clone(),
            zeros.clone(), zeros.clone(), fx._dry._buf.clone()]


class StreamingModule(nn.Module):
    """The exported effect: a traced hop step looped over each block, state in buffers.

    Its int attributes (``sampling_rate``...) are inferred by the scripting from their values.

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
        Frame length.
    """

    def __init__(self, step: nn.Module, state: list[torch.Tensor], *, sampling_rate: int, latency_samples: int, hop: int,
                 channels: int, n_fft: int):
        super().__init__()
        self.step = step
        self.sampling_rate, self.latency_samples = int(sampling_rate), int(latency_samples)
        self.block_multiple, self.channels, self.n_fft = int(hop), int(channels), int(n_fft)
        for name, t in zip(("s_hist", "s_acc", "s_fifo", "s_history", "s_h", "s_c", "s_dry"), state):
            self.register_buffer(name, t.clone())
            self.register_buffer(name + "0", t.clone())
        self.register_buffer("forward_params", torch.tensor([channels, 1, channels, 1]))

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
        hop = self.block_multiple
        if n % hop != 0:
            raise ValueError(f"block of {n} samples; expected a multiple of {hop}")
        outs: list[torch.Tensor] = []
        for i in range(n // hop):
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
        y = torch.cat(outs, dim=1) if len(outs) > 0 else torch.zeros_like(a)
        return y.reshape(x.shape) if batched else y


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
    _check_traceable(fx, "exported")
    hop = fx.hop_length
    fx.prepare(fx.model_sr, channels, hop)
    state = _state_of(fx)
    step = _HopStep(fx).eval().requires_grad_(False)
    example = (torch.zeros(channels, hop), *state)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the tracer notes every Python value derived from a shape; with one hop per step they are constants
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # TorchScript is marked deprecated in favour of torch.export, but it is what C++ hosts
            # (torch::jit::load) and nn~ load today
            warnings.simplefilter("ignore", FutureWarning)
            traced = torch.jit.trace(step, example, check_trace=False)
            module = torch.jit.script(StreamingModule(traced, state, sampling_rate=fx.model_sr,
                                                      latency_samples=fx.latency_samples, hop=hop, channels=channels,
                                                      n_fft=fx.n_fft))
    except (RuntimeError, ValueError, torch.jit.Error) as err:  # noqa: B014 - jit errors vary by version
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ParameterError(f"the model could not be scripted: {first}") from None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    module.save(str(out))
    log.info("exported %s -> %s (%d Hz, hop %d, latency %d samples)", fx.run.path, out, fx.model_sr, hop,
             fx.latency_samples)
    return out


def load_exported(path: str | os.PathLike) -> torch.jit.ScriptModule:
    """Load an exported module (TorchScript; no pickled Python objects are executed).

    Parameters
    ----------
    path : str or PathLike
        A ``.ts`` file from :func:`export_autoencoder`.

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
            warnings.simplefilter("ignore", FutureWarning)  # see export_autoencoder
            return torch.jit.load(str(p), map_location="cpu")
    except RuntimeError as err:
        raise ParameterError(f"path={str(p)!r} is not a TorchScript module ({str(err).splitlines()[0]})") from None
