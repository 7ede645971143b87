"""A trained DDSP-style model as a portable streaming TorchScript module (``workbench export``).

The module carries the whole :class:`effects.ddsp.DDSPEffect`: the causal 1024-sample window
of input, CREPE tiny (as the tracker's matrix products) and the A-weighted loudness, the voicing
gate and the held pitch, the decoder's GRU step, the loudness match, the harmonic synthesis with
its phase, the filtered noise with its counter (:func:`models.ddsp.uniform_noise`: the same
numbers as the Python effect's, from the same seed), the dry line, mix, gain and limiter.

How it is built, as for the autoencoder (:mod:`effects.export`): one hop of the prepared effect
is traced with its state in and out as tensors (:func:`effects.traced_step.trace_ddsp_step`),
and :class:`DDSPModule` loops that step over the hops of a block with the state in buffers.
What runs is the effect's own code.

Conventions (RAVE / nn~), the autoencoder's: ``forward(x)`` takes ``(batch, channels, n)`` or
``(channels, n)`` float32 audio at ``sampling_rate`` with ``n`` a multiple of
``block_multiple`` (the hop), and returns the same shape; ``forward_params`` is ``[channels, 1,
channels, 1]``. Attributes: ``sampling_rate`` (Hz, 16000), ``latency_samples`` (``hop + 512``),
``block_multiple`` (the hop, samples), ``channels``, ``n_fft`` (1024, the tracker's window);
``reset()`` returns to silence and restarts the noise. The effect's parameters (octave shift,
mix, gate, gain, seed, loudness match) are fixed in the file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from effects.ddsp import DDSPEffect
from effects.export import HopModule, script_and_save
from effects.traced_step import trace_ddsp_step
from models.checkpoint import LoadedRun
from models.ddsp import CREPE_WINDOW
from workbench.errors import ParameterError
from workbench.validate import check_int

__all__ = ["export_ddsp", "DDSPModule"]

log = logging.getLogger(__name__)


class DDSPModule(HopModule):
    """The exported DDSP effect: its traced hop step looped over each block, state in buffers.

    Parameters are :class:`effects.export.HopModule`'s; ``n_fft`` is the tracker's window.
    """

    #: the effect's ``state_names()``
    STATE = ("input", "pending", "gru", "phase", "held_f0", "prev_f0", "prev_harm", "noise", "drawn", "dry")

    @torch.jit.export
    def reset(self) -> None:
        """Return to the freshly reset state: silence before the next block, the noise from its start."""
        self.s_input.copy_(self.s_input0)
        self.s_pending.copy_(self.s_pending0)
        self.s_gru.copy_(self.s_gru0)
        self.s_phase.copy_(self.s_phase0)
        self.s_held_f0.copy_(self.s_held_f00)
        self.s_prev_f0.copy_(self.s_prev_f00)
        self.s_prev_harm.copy_(self.s_prev_harm0)
        self.s_noise.copy_(self.s_noise0)
        self.s_drawn.copy_(self.s_drawn0)
        self.s_dry.copy_(self.s_dry0)

    def hops(self, a: torch.Tensor) -> torch.Tensor:
        """The step over each hop of ``a`` ``(channels, n)``, ``n`` a multiple of the hop."""
        hop = self.block_multiple
        outs: list[torch.Tensor] = []
        for i in range(a.shape[1] // hop):
            y, inp, pending, gru, phase, held_f0, prev_f0, prev_harm, noise, drawn, dry = self.step(
                a[:, i * hop:(i + 1) * hop], self.s_input, self.s_pending, self.s_gru, self.s_phase, self.s_held_f0,
                self.s_prev_f0, self.s_prev_harm, self.s_noise, self.s_drawn, self.s_dry)
            self.s_input.copy_(inp)
            self.s_pending.copy_(pending)
            self.s_gru.copy_(gru)
            self.s_phase.copy_(phase)
            self.s_held_f0.copy_(held_f0)
            self.s_prev_f0.copy_(prev_f0)
            self.s_prev_harm.copy_(prev_harm)
            self.s_noise.copy_(noise)
            self.s_drawn.copy_(drawn)
            self.s_dry.copy_(dry)
            outs.append(y)
        return torch.cat(outs, dim=1) if len(outs) > 0 else torch.zeros_like(a)


def export_ddsp(model: str | os.PathLike | LoadedRun, out: str | os.PathLike, *, channels: int = 1,
                octave_shift: int = 0, mix: float = 1.0, gate_db: float = -60.0, gain_db: float = 0.0, seed: int = 0,
                match_loudness: bool = True) -> Path:
    """Write a DDSP run (a folder or :class:`models.checkpoint.LoadedRun`) as a TorchScript file.

    Parameters
    ----------
    model : str, PathLike or LoadedRun
        A run of ``workbench train --method ddsp``.
    out : str or PathLike
        The ``.ts`` file to write (parent folders created).
    channels : int, keyword-only
        Channels the module processes (each on its own).
    octave_shift : int, keyword-only
        Octaves added to the input's pitch (-4 to 4).
    mix : float, keyword-only
        0 = dry input (delayed to stay aligned), 1 = the instrument only.
    gate_db, gain_db : float, dB, keyword-only
        Input level of silent frames (full level 12 dB above), output gain.
    seed : int, keyword-only
        Seed of the noise (:func:`models.ddsp.uniform_noise`).
    match_loudness : bool, keyword-only
        See :class:`effects.ddsp.DDSPEffect`.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ParameterError
        Not a DDSP run, a bad parameter (one line naming it), or a model that could not be scripted.

    Examples
    --------
    >>> export_ddsp("runs/trumpet-ddsp", "trumpet.ts", octave_shift=1)  # doctest: +SKIP
    >>> m = torch.jit.load("trumpet.ts")                                 # doctest: +SKIP
    >>> y = m(x[None, None, : 16 * m.block_multiple])                    # doctest: +SKIP
    """
    channels = check_int(channels, "channels")
    seed = check_int(seed, "seed", lo=0)
    fx = DDSPEffect(model=model, octave_shift=octave_shift, mix=mix, gate_db=gate_db, gain_db=gain_db, seed=seed,
                    match_loudness=match_loudness)
    hop = fx.hop
    fx.prepare(fx.model_sr, channels, hop)
    if fx.state_names() != DDSPModule.STATE:
        raise ParameterError(f"the effect's state is {fx.state_names()}; the module keeps {DDSPModule.STATE}")
    traced, state = trace_ddsp_step(fx)
    out = script_and_save(DDSPModule(traced, state, sampling_rate=fx.model_sr, latency_samples=fx.latency_samples,
                                     hop=hop, channels=channels, n_fft=CREPE_WINDOW), out)
    log.info("exported %s -> %s (%d Hz, hop %d, latency %d samples)", fx.run.path, out, fx.model_sr, hop,
             fx.latency_samples)
    return out
