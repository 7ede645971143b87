"""The trained LSTM-context autoencoder as an input-driven timbre-transfer effect.

Per hop: causal STFT frame of the input -> normalised, compressed context window -> one
network step with the LSTM state carried -> the instrument's frame shape, given the input
frame's energy and phase -> overlap-add. A soft gate keeps silence silent (the network would
otherwise paint instrument noise over a quiet room), and the base class limits the output.
"""

from __future__ import annotations

import math

import torch

from effects.base import Effect
from models.checkpoint import LoadedRun, load_run
from models.lstm_ae import decompress, prepare_input, stack_context
from workbench.errors import ParameterError
from workbench.spectral import SpectralStream, hann_window

__all__ = ["AutoencoderEffect", "DelayLine"]


class DelayLine:
    """Fixed integer delay of ``(channels, n)`` blocks (the dry path of a mix)."""

    def __init__(self, channels: int, delay: int):
        self.channels, self.delay = channels, int(delay)
        self.reset()

    def reset(self) -> None:
        self._buf = torch.zeros(self.channels, self.delay)

    def process(self, x: torch.Tensor) -> torch.Tensor:
        full = torch.cat([self._buf, x], dim=-1)
        self._buf = full[:, x.shape[-1]:].clone()
        return full[:, : x.shape[-1]]


class AutoencoderEffect(Effect):
    """Play audio through an instrument autoencoder trained with ``workbench train``.

    Parameters
    ----------
    model : path or LoadedRun
        A run folder (``model.safetensors`` + ``config.json``).
    mix : float
        0 = dry input (delayed to stay aligned), 1 = fully transferred.
    gate_db : float
        Frames whose input level (dBFS, RMS) is below this are silent; full level 12 dB above.
    gain_db : float
        Output gain.

    Examples
    --------
    >>> fx = AutoencoderEffect(model="runs/trumpet", mix=1.0)  # doctest: +SKIP
    >>> out = fx.process(voice, 16000)                          # doctest: +SKIP
    """

    _param_names = ("mix", "gate_db", "gain_db")

    def __init__(self, *, model, mix: float = 1.0, gate_db: float = -60.0, gain_db: float = 0.0):
        super().__init__()
        self.run = model if isinstance(model, LoadedRun) else load_run(model)
        self.model = self.run.model.eval()
        cfg = self.run.config
        self.n_fft, self.hop_length, self.model_sr = cfg.audio.n_fft, cfg.audio.hop_length, cfg.audio.sr
        m = cfg.model
        self._io = dict(normalize=m.normalize, compression=m.compression, power=m.power, log_range_db=m.log_range_db)
        self._decomp = dict(mode=m.compression, power=m.power, log_range_db=m.log_range_db)
        self.context = m.context
        self.set_params(mix=mix, gate_db=gate_db, gain_db=gain_db)
        # RMS of a windowed full-scale frame per unit of spectral energy (Parseval, one-sided).
        w = hann_window(self.n_fft)
        self._level_scale = 1.0 / (self.n_fft * math.sqrt(float((w**2).mean())))

    def _check_param(self, name, value):
        if name == "mix" and not (isinstance(value, (int, float)) and 0 <= value <= 1):
            raise ParameterError(f"mix={value!r} must be a number in [0, 1]")
        if name in ("gate_db", "gain_db") and not (isinstance(value, (int, float)) and -200 <= value <= 48):
            raise ParameterError(f"{name}={value!r} must be a level in dB between -200 and 48")

    @property
    def latency_samples(self) -> int:
        return self.n_fft - 1

    def _prepare(self, sample_rate, channels, max_block):
        if sample_rate != self.model_sr:
            raise ParameterError(f"sample_rate={sample_rate} does not match the model's {self.model_sr} Hz; "
                                 f"resample the input (workbench transfer does it for you)")
        self._stream = SpectralStream(n_fft=self.n_fft, hop_length=self.hop_length, channels=channels,
                                      frame_fn=self._frames)
        self._dry = DelayLine(channels, self.latency_samples)

    def _reset(self):
        ch = self.channels
        self._stream.reset()
        self._dry.reset()
        self._state = None
        self._history = torch.zeros(ch, self.context, self.n_fft // 2 + 1)

    def _frames(self, X: torch.Tensor) -> torch.Tensor:
        """Complex frames ``(channels, bins, k)`` -> transferred complex frames, state carried."""
        absX = X.abs()
        mag = absX.transpose(1, 2)  # (ch, k, bins)
        x, _ = prepare_input(mag, **self._io)
        ctx = stack_context(x, self.context, self._history)
        if self.context:
            self._history = torch.cat([self._history, x], dim=1)[:, -self.context:]
        y, _, self._state = self.model(ctx, self._state)
        shape = decompress(y, **self._decomp)
        energy = torch.linalg.vector_norm(mag, dim=-1, keepdim=True)
        out = shape * (energy / torch.linalg.vector_norm(shape, dim=-1, keepdim=True).clamp_min(1e-8))
        level_db = 20 * torch.log10(energy * math.sqrt(2) * self._level_scale + 1e-12)
        gate = ((level_db - self.gate_db) / 12.0).clamp(0, 1)
        phase = torch.where(absX > 0, X / absX.clamp_min(1e-30), torch.ones_like(X))
        return (out * gate).transpose(1, 2) * phase

    def _process(self, x):
        wet = self._stream.process(x)
        dry = self._dry.process(x)
        y = self.mix * wet + (1 - self.mix) * dry if self.mix < 1 else wet
        return y * 10 ** (self.gain_db / 20) if self.gain_db else y
