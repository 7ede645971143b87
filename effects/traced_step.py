"""One hop of a prepared autoencoder or DDSP effect as a traced TorchScript step, its state in and out.

With one hop of input per step, the effect's per-hop computation has no data-dependent control
flow, so ``torch.jit.trace`` records it once; the state (the effect's :meth:`~effects.frame_effect.
FrameEffect.state` or :meth:`~effects.ddsp.DDSPEffect.state`, in ``state_names()``' order) goes
in and comes out as tensors. The autoencoder effect itself runs such a step for speed
(``torchscript=True``), and :mod:`effects.export` and :mod:`effects.export_ddsp` wrap one into a
portable module. What runs is the effect's own code, not a second implementation of it.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from torch import nn

from workbench.errors import ParameterError

if TYPE_CHECKING:  # the effect imports this module when it traces itself
    from effects.autoencoder import AutoencoderEffect
    from effects.ddsp import DDSPEffect

__all__ = ["check_traceable", "trace_wet_step", "trace_hop_step", "trace_ddsp_step"]


class _WetStep(nn.Module):
    """One hop of the wet path (causal STFT, network step, level match, phase, overlap-add and
    gate): ``(x, gate_db, *state) -> (y, *state)``. The mix, the dry line and the gain stay in
    Python, so they remain live parameters."""

    def __init__(self, fx: AutoencoderEffect):
        super().__init__()
        self.net = fx.model  # registered, so the trace keeps its weights as parameters
        object.__setattr__(self, "_fx", fx)

    def forward(self, x, gate_db, *state):
        fx = self._fx
        fx.load_state(state, dry=False)
        fx.gate_db = gate_db
        return (fx.wet_path(x), *fx.state(dry=False))


class _HopStep(_WetStep):
    """One hop through the whole prepared effect (wet path, mix with the dry line, gain,
    limiter): ``(x, *state) -> (y, *state)``, the dry line's samples last. The effect is an
    autoencoder or a DDSP effect: both have ``model``, ``state()``, ``load_state()`` and
    ``block_path()``."""

    def forward(self, x, *state):
        fx = self._fx
        fx.load_state(state)
        return (fx.block_path(x), *fx.state())


def check_traceable(fx: AutoencoderEffect, doing: str) -> None:
    """One line for what a traced step cannot keep live: an instrument code, or a chroma condition.

    Parameters
    ----------
    fx : AutoencoderEffect
        The effect to trace.
    doing : str
        What is being done, for the message (``"traced"``, ``"exported"``).
    """
    if fx.codes:
        raise ParameterError(f"model.condition={fx.run.config.model.condition!r}: a multi-instrument run cannot be "
                             f"{doing} yet (its instrument code is a live parameter); expected a single-instrument run")
    if fx.model.chroma:
        raise ParameterError(f"model.chroma=true: the chroma condition cannot be {doing} yet; expected a model "
                             "without chroma")


@contextmanager
def _kept(fx: AutoencoderEffect | DDSPEffect):
    """Tracing runs the effect on example inputs: put its state and gate back afterwards."""
    saved, gate = fx.state(), fx.gate_db
    try:
        yield
    finally:
        fx.load_state(saved)
        fx.gate_db = gate


def _trace(step: nn.Module, example: tuple, what: str):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape-derived constants: one hop per step
            # TorchScript is marked deprecated in favour of torch.export, but it is what C++ hosts
            # (torch::jit::load) and nn~ load today
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.trace(step.eval().requires_grad_(False), example, check_trace=False)
    except (RuntimeError, ValueError, torch.jit.Error) as err:  # noqa: B014 - jit errors vary by version
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ParameterError(f"the model could not be {what}: {first}") from None


def trace_wet_step(fx: AutoencoderEffect) -> torch.jit.ScriptModule:
    """Trace one hop of a prepared, freshly reset effect's wet path.

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
        ``(x, gate_db, *state) -> (y, *state)``: ``x`` and ``y`` are one hop, ``torch.Tensor
        [shape=(channels, hop_length)], float32``; ``gate_db`` a 0-d tensor (dB); ``state`` the
        effect's ``state(dry=False)``.
    """
    check_traceable(fx, "traced")
    with _kept(fx), torch.inference_mode(False), torch.no_grad():
        example = (torch.zeros(fx.channels, fx.hop_length, device=fx.device),
                   torch.tensor(float(fx.gate_db), device=fx.device), *(t.clone() for t in fx.state(dry=False)))
        return _trace(_WetStep(fx), example, "traced")


def trace_hop_step(fx: AutoencoderEffect) -> tuple[torch.jit.ScriptModule, list[torch.Tensor]]:
    """Trace one hop of a prepared, freshly reset effect, mix and limiter included.

    Parameters
    ----------
    fx : AutoencoderEffect
        As for :func:`trace_wet_step`.

    Returns
    -------
    step : torch.jit.ScriptModule
        ``(x, *state) -> (y, *state)``, ``state`` the effect's ``state()`` (dry line last).
    state : list of torch.Tensor
        The freshly reset state (copies), in that order.
    """
    check_traceable(fx, "exported")
    with _kept(fx), torch.no_grad():
        state = [t.clone() for t in fx.state()]
        example = (torch.zeros(fx.channels, fx.hop_length, device=fx.device), *(t.clone() for t in state))
        return _trace(_HopStep(fx), example, "scripted"), state


def trace_ddsp_step(fx: DDSPEffect) -> tuple[torch.jit.ScriptModule, list[torch.Tensor]]:
    """Trace one hop of a prepared, freshly reset DDSP effect: tracker, hold and gate, decoder
    step, loudness match, synthesis with its noise, mix, gain and limiter.

    The effect's parameters (octave shift, mix, gate, gain, seed, loudness match) become
    constants of the step; its state is left as it was. The count behind
    :meth:`~effects.ddsp.DDSPEffect.pitch_notice` is not traced (it changes no sample).

    Parameters
    ----------
    fx : DDSPEffect
        A prepared effect on the CPU, freshly reset (its state is what the example inputs of the
        trace are made from).

    Returns
    -------
    step : torch.jit.ScriptModule
        ``(x, *state) -> (y, *state)``: ``x`` and ``y`` one hop, ``torch.Tensor [shape=(channels,
        hop)], float32``; ``state`` the effect's ``state()``, in ``state_names()``' order.
    state : list of torch.Tensor
        The freshly reset state (copies), in that order.
    """
    with _kept(fx), torch.no_grad():
        state = [t.clone() for t in fx.state()]
        example = (torch.zeros(fx.channels, fx.hop, device=fx.device), *(t.clone() for t in state))
        return _trace(_HopStep(fx), example, "scripted"), state
