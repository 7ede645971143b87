"""The trained LSTM-context autoencoder as an input-driven timbre-transfer effect.

Per hop: causal STFT frame of the input -> normalised, compressed context window -> one
network step with the LSTM state carried -> the instrument's frame shape, given the input
frame's energy and phase -> overlap-add (see :class:`effects.frame_effect.FrameEffect` for the
gate, mix and latency).
"""

from __future__ import annotations

import torch

from effects.frame_effect import FrameEffect, match_energy, unit_phase
from models.checkpoint import LoadedRun, load_run
from models.lstm_ae import decompress, prepare_input, stack_context
from workbench.errors import ParameterError

__all__ = ["AutoencoderEffect"]


class AutoencoderEffect(FrameEffect):
    """Play audio through an instrument autoencoder trained with ``workbench train``.

    Parameters
    ----------
    model : path or LoadedRun
        A run folder (``model.safetensors`` + ``config.json``).
    mix, gate_db, gain_db
        See :class:`FrameEffect`.

    Examples
    --------
    >>> fx = AutoencoderEffect(model="runs/trumpet", mix=1.0)  # doctest: +SKIP
    >>> out = fx.process(voice, 16000)                          # doctest: +SKIP
    """

    def __init__(self, *, model, mix: float = 1.0, gate_db: float = -60.0, gain_db: float = 0.0):
        self.run = model if isinstance(model, LoadedRun) else load_run(model)
        self.model = self.run.model.eval()
        cfg = self.run.config
        super().__init__(n_fft=cfg.audio.n_fft, hop_length=cfg.audio.hop_length, mix=mix, gate_db=gate_db,
                         gain_db=gain_db)
        self.model_sr = cfg.audio.sr
        m = cfg.model
        self._io = dict(normalize=m.normalize, compression=m.compression, power=m.power, log_range_db=m.log_range_db)
        self._decomp = dict(mode=m.compression, power=m.power, log_range_db=m.log_range_db)
        self.context = m.context

    def _prepare_frames(self, sample_rate, channels):
        if sample_rate != self.model_sr:
            raise ParameterError(f"sample_rate={sample_rate} does not match the model's {self.model_sr} Hz; "
                                 f"resample the input (workbench transfer does it for you)")

    def _reset_frames(self):
        self._state = None
        self._history = torch.zeros(self.channels, self.context, self.n_fft // 2 + 1)

    def _transform(self, X, absX):
        mag = absX.transpose(1, 2)  # (ch, k, bins)
        x, _ = prepare_input(mag, **self._io)
        ctx = stack_context(x, self.context, self._history)
        if self.context:
            self._history = torch.cat([self._history, x], dim=1)[:, -self.context:]
        y, _, self._state = self.model(ctx, self._state)
        shape = decompress(y, **self._decomp)
        return match_energy(shape, mag, dim=-1).transpose(1, 2) * unit_phase(X, absX)
