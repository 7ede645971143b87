"""The trained LSTM-context autoencoder as an input-driven timbre-transfer effect.

Per hop: causal STFT frame of the input -> normalised, compressed context window -> one
network step with the LSTM state carried -> the instrument's frame shape, given the input
frame's energy and phase -> overlap-add (see :class:`effects.frame_effect.FrameEffect` for the
gate, mix and latency).
"""

from __future__ import annotations

from pathlib import Path

import torch

from effects.base import model_on
from effects.frame_effect import FrameEffect, match_energy
from models.checkpoint import LoadedRun, load_run
from models.lstm_ae import decompress, input_options, prepare_input, stack_context
from workbench.errors import ParameterError
from workbench.spectral import a_weighting, chroma_onehot, unit_phase

__all__ = ["AutoencoderEffect"]


class AutoencoderEffect(FrameEffect):
    """Play audio through an instrument autoencoder trained with ``workbench train``.

    Parameters
    ----------
    model : str, Path or LoadedRun, keyword-only
        A run folder (``model.safetensors`` + ``config.json``).
    instrument : str, optional, keyword-only
        For a model trained on several instruments (``model.condition``): which one to decode
        as (default: the first of the run's ``codes``).
    window : {"hann", "low-delay"}, optional, keyword-only
        STFT window pair (default: the run's ``audio.window``, the one it was trained with).
        ``"low-delay"`` plays with latency ``synthesis_length - 1`` instead of ``n_fft - 1``;
        a model trained on Hann frames then sees slightly different magnitudes.
    synthesis_length : int, samples, optional, keyword-only
        See :class:`FrameEffect`.
    mix, gate_db, gain_db : float, keyword-only
        See :class:`FrameEffect`.
    torchscript : bool
        Run each hop's wet path as a traced TorchScript step (:func:`effects.traced_step.trace_wet_step`)
        when a block is a whole number of hops: the same computation with less Python around its
        ~300 small tensor operations (per-hop compute 0.23 of the hop instead of 0.33 for the
        low-latency preset on one idle core; BENCHMARKS.md). Blocks of any other size take the Python
        path, on the same state. Single-instrument runs without chroma only; CPU only.
    device : torch.device or str, keyword-only
        Where the model and all streaming state live (``"cpu"``, ``"cuda"``, ``"cuda:N"``;
        :func:`effects.base.check_device`). :meth:`process_block` still takes and returns float32
        NumPy blocks on the CPU, moving each block in and out once. The run keeps its CPU model.

    Examples
    --------
    >>> fx = AutoencoderEffect(model="runs/trumpet", mix=1.0)  # doctest: +SKIP
    >>> out = fx.process(voice, 16000)                          # doctest: +SKIP
    """

    _param_names = FrameEffect._param_names + ("instrument",)

    def __init__(self, *, model: str | Path | LoadedRun, instrument: str | None = None, window: str | None = None,
                 synthesis_length: int | None = None, mix: float = 1.0, gate_db: float = -60.0,
                 gain_db: float = 0.0, torchscript: bool = False,
                 device: torch.device | str = "cpu"):
        self.run = model if isinstance(model, LoadedRun) else load_run(model)
        if self.run.method != "autoencoder":
            raise ParameterError(f"model={str(self.run.path)!r} is a {self.run.method} run; play it with "
                                 f"--method {self.run.method}")
        cfg = self.run.config
        m = cfg.model
        self.codes = tuple(m.codes) if m.condition != "none" else ()
        self.instrument = None
        super().__init__(n_fft=cfg.audio.n_fft, hop_length=cfg.audio.hop_length,
                         window=cfg.audio.window if window is None else window, synthesis_length=synthesis_length,
                         mix=mix, gate_db=gate_db, gain_db=gain_db, device=device)
        self.model = model_on(self.run.model, self.device)
        self.set_params(instrument=instrument if instrument is not None else (self.codes[0] if self.codes else None))
        self.model_sr = cfg.audio.sr
        self._io = input_options(m)
        self._decomp = dict(mode=m.compression, power=m.power, log_range_db=m.log_range_db)
        self.context = m.context
        self.latent_dim = m.latent
        if not isinstance(torchscript, bool):
            raise ParameterError(f"torchscript={torchscript!r} is not valid; expected True or False")
        if torchscript and self.device.type != "cpu":  # the traced step is the CPU's per-hop speed-up
            raise ParameterError(f"torchscript=True runs on the CPU only; got device={device!r} (leave torchscript off)")
        self.torchscript = torchscript
        self._step = self._gate = None

    @property
    def required_sample_rate(self) -> int:
        """The run's rate in Hz: the effect runs at it only."""
        return self.model_sr

    def _check_param(self, name, value):
        super()._check_param(name, value)
        if name == "instrument" and value is not None and value not in self.codes:
            if not self.codes:
                raise ParameterError(f"instrument={value!r}: this model was trained on one instrument; leave it unset")
            raise ParameterError(f"instrument={value!r} is not one of the model's instruments ({', '.join(self.codes)})")

    def code_vector(self, weights: dict[str, float]) -> torch.Tensor | None:
        """An instrument code that weighs the model's instruments.

        Parameters
        ----------
        weights : dict of str to float
            Instrument name (one of ``codes``) -> its weight; the others get 0.

        Returns
        -------
        torch.Tensor [shape=(len(codes),)] or None
            The code, on the effect's ``device``; None for an unconditioned model.
        """
        if not self.codes:
            return None
        v = torch.zeros(len(self.codes), device=self.device)
        for name, w in weights.items():
            v[self.codes.index(name)] += float(w)
        return v

    def _prepare_frames(self, sample_rate, channels):
        # the output keeps the input's A-weighted level frame by frame: its loudness, not just its
        # energy (an instrument's balance differs from the voice's, and raw energy matching would
        # let the loudness wander with it)
        self._loudness_weights = a_weighting(sr=self.model_sr, n_fft=self.n_fft, device=self.device)
        torch.set_flush_denormal(True)  # subnormal arithmetic would spike the per-block time (process-wide)
        self._step = None  # traced for these channels at the reset below

    def _reset_frames(self):
        self._state = None
        self._history = torch.zeros(self.channels, self.context, self.n_fft // 2 + 1, device=self.device)
        self._offset = 0  # samples since the reset, modulo the hop: the traced step needs whole hops
        if self.torchscript and self._step is None and type(self) is AutoencoderEffect:
            from effects.traced_step import trace_wet_step

            self._step = trace_wet_step(self)

    #: the context frames and the LSTM's hidden and cell state follow the stream's
    STATE_NAMES = FrameEffect.STATE_NAMES + ("history", "h", "c")

    def _frame_state(self):
        if self._state is None:  # fresh: the LSTM starts from zeros
            zeros = torch.zeros(1, self.channels, self.model.lstm.hidden_size, device=self.device)
            return self._history, zeros, zeros.clone()
        return (self._history, *self._state)

    def _load_frame_state(self, tensors):
        self._history, h, c = tensors
        self._state = (h, c)

    def _wet(self, x):
        n, hop = x.shape[1], self.hop_length
        if self._step is None or self._offset or n % hop:
            self._offset = (self._offset + n) % hop
            return super()._wet(x)
        if self._gate is None or float(self._gate) != self.gate_db:  # a tensor only when the gate changes
            self._gate = torch.tensor(float(self.gate_db))
        state, out = self.state(dry=False), []
        for i in range(0, n, hop):
            y, *state = self._step(x[:, i:i + hop], self._gate, *state)
            out.append(y)
        self.load_state(state, dry=False)
        return out[0] if len(out) == 1 else torch.cat(out, dim=1)

    def _chroma(self, mag):
        if not self.model.chroma:
            return None
        return chroma_onehot(mag, sr=self.model_sr, n_fft=self.n_fft)

    def _code(self):
        """The instrument code the decoder gets this block."""
        return self.code_vector({self.instrument: 1.0}) if self.instrument is not None else None

    def _map_latent(self, z: torch.Tensor, mag: torch.Tensor) -> torch.Tensor:
        """Latent frames ``(channels, k, latent)`` on their way to the decoder (identity here)."""
        return z

    def _transform(self, X, absX):
        mag = absX.transpose(1, 2)  # (ch, k, bins)
        x, _, f0 = prepare_input(mag, **self._io)
        ctx = stack_context(x, self.context, self._history)
        if self.context:
            self._history = torch.cat([self._history, x], dim=1)[:, -self.context:]
        chroma = self._chroma(mag)
        z, self._state = self.model.encode(ctx, self._state, chroma=chroma)
        y = self.model.decode(self._map_latent(z, mag), x, code=self._code(), chroma=chroma, f0=f0)
        shape = decompress(y, **self._decomp)
        return match_energy(shape, mag, dim=-1, weights=self._loudness_weights).transpose(1, 2) * unit_phase(X, absX)
