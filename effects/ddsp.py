"""The DDSP-style instrument model as an input-driven effect (``transfer --method ddsp``, ``live``).

Every ``hop`` input samples: the causal 1024-sample window ending there -> CREPE f0 and
confidence, A-weighted loudness -> the decoder (GRU state carried) -> the frame's level matched to
the input's (:func:`models.ddsp.synth_loudness`) -> the segment between the previous frame and this
one, synthesized (harmonics with phase carried, filtered noise counted from a seed by
:func:`models.ddsp.uniform_noise`).

All the frames a block completes go through each step together: a 65536-sample block offline
(256 frames), one frame or none per block live. A stream and a whole file give the same output
because each step gives a frame the same result however many frames share the call: the
tracker's pitch bit for bit (:class:`models.ddsp.ControlTracker`), the hold and gate element-wise,
the noise counted in frame order; the decoder's products round within about 1e-7.

The state is tensors (:meth:`DDSPEffect.state`), and no branch depends on the samples, so one
hop traces into a TorchScript step (:func:`effects.traced_step.trace_ddsp_step`) that
``workbench export`` loops in a portable module (:mod:`effects.export_ddsp`).

Latency: a frame's window is centred ``window / 2`` samples before its boundary, and a segment
can be synthesized only once its end frame exists, so the output is ``hop + window / 2``
samples behind the input (768 samples, 48 ms, at the default hop of 256). The low-delay STFT
windows of the frame effects (:func:`workbench.spectral.low_delay_windows`) do not apply here:
nothing is overlap-added from STFT frames, and the delay is set by CREPE's centred window (the
pitch network was trained on full 1024-sample windows), not by a synthesis window.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from effects.base import Effect, check_mix_and_levels, model_on, soft_limit
from effects.frame_effect import DelayLine
from models.checkpoint import LoadedRun, load_run
from models.ddsp import (
    CREPE_WINDOW,
    ControlTracker,
    causal_windows,
    frame_parameters,
    hold_f0,
    synth_loudness,
    synthesize,
    uniform_noise,
    voicing_gate,
)
from workbench.errors import ParameterError
from workbench.pitch import hz_to_midi_t, midi_to_hz
from workbench.validate import check_int

__all__ = ["DDSPEffect", "auto_octave", "input_pitch", "auto_octave_for_file"]

log = logging.getLogger(__name__)

MATCH_DB = 24.0  # the most the loudness match moves a frame, dB: a near-silent frame is not blown up


class DDSPEffect(Effect):
    """Play audio through a DDSP-style instrument model trained with ``workbench train --method ddsp``.

    Parameters
    ----------
    model : str, Path or LoadedRun, keyword-only
        A ddsp run folder (``model.safetensors`` + ``config.json``).
    octave_shift : int, keyword-only
        Octaves added to the input's pitch before the model plays it (-4 to 4).
    mix : float, keyword-only
        0 = dry input (delayed to stay aligned), 1 = the instrument only.
    gate_db : float, dB, keyword-only
        Frames whose A-weighted loudness is below this are silent; full level 12 dB above.
    gain_db : float, dB, keyword-only
        Output gain.
    seed : int, keyword-only
        Seed of the noise (:func:`models.ddsp.uniform_noise`; reset restarts it).
    auto_register : bool, keyword-only
        Before each file rendered (:meth:`before_file`), set ``octave_shift`` so the file's median
        pitch lands nearest the instrument's trained median (:func:`auto_octave_for_file`).
        Offline only: a live stream cannot be measured ahead.
    match_loudness : bool, keyword-only
        Scale each synthesized frame so that its A-weighted loudness (computed from its parameters,
        :func:`models.ddsp.synth_loudness`) is the input frame's, within +-24 dB (``MATCH_DB``); the
        gain is per frame and interpolated with the frame's parameters, so it is smooth and the
        same in a stream as offline. False plays the decoder's own level, as trained.
    device : torch.device or str, keyword-only
        Where the decoder, the pitch tracker and all streaming state live (``"cpu"``, ``"cuda"``,
        ``"cuda:N"``; :func:`effects.base.check_device`). :meth:`process_block` still takes and
        returns float32 NumPy blocks; the noise is integer arithmetic on the device (the same
        numbers on every device, :func:`models.ddsp.uniform_noise`). The run keeps its CPU model.

    Examples
    --------
    >>> fx = DDSPEffect(model="runs/trumpet-ddsp", octave_shift=1)  # doctest: +SKIP
    >>> out = fx.process(voice, 16000)                             # doctest: +SKIP
    """

    _param_names = ("octave_shift", "mix", "gate_db", "gain_db")

    def __init__(self, *, model: str | Path | LoadedRun, octave_shift: int = 0, mix: float = 1.0, gate_db: float = -60.0,
                 gain_db: float = 0.0, seed: int = 0, auto_register: bool = False, match_loudness: bool = True,
                 device: torch.device | str = "cpu"):
        super().__init__(device=device)
        self.match_loudness = bool(match_loudness)
        self.auto_register = bool(auto_register)
        self.run = model if isinstance(model, LoadedRun) else load_run(model)
        if self.run.method != "ddsp":
            raise ParameterError(f"model={str(self.run.path)!r} is an {self.run.method} run; play it with "
                                 f"--method {self.run.method}")
        cfg = self.run.config
        self.model = model_on(self.run.model, self.device)
        self.model_sr, self.hop = cfg.audio.sr, cfg.audio.hop_length
        self.voicing = tuple(cfg.model.voicing)
        self.noise_taps = 2 * (cfg.model.noise_bands - 1)
        self.seed = int(seed)
        pitch = self.run.meta.get("pitch_midi", {})
        self.trained_range = (pitch["p5"], pitch["p95"]) if "p5" in pitch else None
        self.trained_median = pitch.get("p50", 69.0)
        self.tracker = ControlTracker(capacity=cfg.model.crepe)
        if self.device.type != "cpu":
            self.tracker.to(self.device)
        self.set_params(octave_shift=octave_shift, mix=mix, gate_db=gate_db, gain_db=gain_db)
        # called from the processing thread with each new frame's detected pitch (MIDI) and voicing
        # of channel 0, ``(k,)`` NumPy arrays: :class:`live.midi_out.MidiNoteOut.push`
        self.on_frames = None

    def _check_param(self, name, value):
        if name == "octave_shift":
            check_int(value, name, lo=-4, hi=4)
        check_mix_and_levels(name, value)

    @property
    def required_sample_rate(self) -> int:
        """The run's rate in Hz (16000, CREPE's): the effect runs at it only."""
        return self.model_sr

    @property
    def latency_samples(self) -> int:
        """``hop + 512``: a frame's CREPE window is centred half a window before its boundary."""
        return self.hop + CREPE_WINDOW // 2

    def _prepare(self, sample_rate, channels, max_block):
        torch.set_flush_denormal(True)
        self._dry = DelayLine(channels, self.latency_samples, device=self.device)

    def _reset(self):
        ch, dev = self.channels, self.device
        self._dry.reset()
        self._in = torch.zeros(ch, CREPE_WINDOW, device=dev)  # the last window of input, plus samples past its boundary
        self._state = torch.zeros(1, ch, self.model.gru.hidden_size, device=dev)  # the GRU's (zeros, as for None)
        self._phase = torch.zeros(ch, dtype=torch.float64, device=dev)
        # held pitch per channel, a tensor so that a device stream never waits to read it back
        self._last_f0 = torch.full((ch,), float(midi_to_hz(self.trained_median)), device=dev)
        # the previous frame: f0 (ch, 1), -1 before the stream's first frame; harmonic amplitudes (ch, 1, H)
        self._prev_f0 = torch.full((ch, 1), -1.0, device=dev)
        self._prev_harm = torch.zeros(ch, 1, self.model.harmonics, device=dev)
        self._noise = torch.zeros(ch, self.noise_taps - 1, device=dev)  # noise history for the FIR
        self._drawn = torch.zeros((), dtype=torch.int64, device=dev)  # noise segments drawn (uniform_noise's counter)
        self._out = torch.zeros(ch, self.hop, device=dev)  # synthesized samples not yet returned (the pre-fill)
        # voiced frames per MIDI note (bounded, however long the stream), counted where the stream runs
        self._pitch_hist = torch.zeros(128, dtype=torch.float64, device=dev)

    #: :meth:`state`'s tensors, in order
    STATE_NAMES = ("input", "pending", "gru", "phase", "held_f0", "prev_f0", "prev_harm", "noise", "drawn", "dry")

    def state_names(self) -> tuple[str, ...]:
        """Names of :meth:`state`'s tensors, in order.

        Returns
        -------
        tuple of str
            ``input`` (the input since the last frame's window began, ``(ch, 1024 + r)``, ``r``
            samples past the boundary), ``pending`` (synthesized samples not yet returned),
            ``gru`` (the decoder's state ``(1, ch, gru)``), ``phase`` (the fundamental's, radians,
            float64 ``(ch,)``), ``held_f0`` (Hz ``(ch,)``, held over unvoiced frames), ``prev_f0``
            and ``prev_harm`` (the last frame, ``(ch, 1)`` Hz, -1 before the first, and
            ``(ch, 1, H)``), ``noise`` (the FIR's noise history), ``drawn`` (noise segments drawn,
            int64), ``dry`` (the dry line's samples).
        """
        return self.STATE_NAMES

    def state(self) -> tuple[torch.Tensor, ...]:
        """Everything the prepared effect carries from one block to the next, as tensors.

        After whole hops from a reset the shapes stay fixed (``input`` 1024 samples, ``pending``
        one hop), so a traced step takes and returns them (:func:`effects.traced_step.trace_ddsp_step`).
        The pitch histogram behind :meth:`pitch_notice` is not part of it (it changes no sample).

        Returns
        -------
        tuple of torch.Tensor
            In :meth:`state_names`' order. Not copies; the effect replaces them as it runs
            rather than writing into them.
        """
        self._need_prepared()
        return (self._in, self._out, self._state, self._phase, self._last_f0, self._prev_f0, self._prev_harm,
                self._noise, self._drawn, self._dry.state())

    def load_state(self, tensors) -> None:
        """Continue from a :meth:`state`.

        Parameters
        ----------
        tensors : sequence of torch.Tensor
            In :meth:`state_names`' order.
        """
        self._need_prepared()
        tensors = tuple(tensors)
        if len(tensors) != len(self.STATE_NAMES):
            raise ParameterError(f"{len(tensors)} state tensors; expected {len(self.STATE_NAMES)} "
                                 f"({', '.join(self.STATE_NAMES)})")
        (self._in, self._out, self._state, self._phase, self._last_f0, self._prev_f0, self._prev_harm, self._noise,
         self._drawn, dry) = tensors
        self._dry.load_state(dry)

    def block_path(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`process_tensor`'s arithmetic with no checks, no inference mode and no move
        between devices: what a trace of one hop records.

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
        hop = self.hop
        self._in = torch.cat([self._in, x], dim=1)
        k = (self._in.shape[1] - CREPE_WINDOW) // hop
        if k:
            # frame i's window ends (i + 1) hops into the buffer: one strided view for every new frame
            windows = self._in[:, hop: k * hop + CREPE_WINDOW].unfold(1, CREPE_WINDOW, hop)
            self._out = torch.cat([self._out, self._segments(windows)], dim=1)
            self._in = self._in[:, k * hop:]
        y, self._out = self._out[:, : x.shape[1]], self._out[:, x.shape[1]:]
        dry = self._dry.process(x)
        if self.mix < 1:
            y = self.mix * y + (1 - self.mix) * dry
        return y * 10 ** (self.gain_db / 20) if self.gain_db else y

    def _segments(self, windows: torch.Tensor) -> torch.Tensor:
        """Audio ``(ch, k * hop)`` for ``k`` new frames of windows ``(ch, k, 1024)``.

        Every step runs on all ``k`` frames at once (a whole 65536-sample block offline, one
        frame or none per block live), and gives each frame the same result whatever ``k`` is:
        the tracker's pitch bit for bit (:class:`models.ddsp.ControlTracker`), the hold and the
        gate element-wise or by a running maximum, the noise counted from the stream's start
        (:func:`models.ddsp.uniform_noise`). Only the decoder's matrix products round
        differently for different ``k`` (about 1e-7; nothing discrete follows them). No branch
        depends on the samples, so one hop traces (:func:`effects.traced_step.trace_ddsp_step`).
        """
        ch, k, _ = windows.shape
        hop = self.hop
        raw, conf, loud = (v.reshape(ch, k) for v in self.tracker(windows.reshape(ch * k, CREPE_WINDOW)))
        gate = voicing_gate(conf, low=self.voicing[0], high=self.voicing[1])
        if not torch.jit.is_tracing():  # the notice's count and the MIDI out, not the sound: a traced step leaves them out
            voiced = (gate > 0.5) & (loud > -60)
            if self.on_frames is not None:  # e.g. the detected pitch sent as MIDI notes (reads it back from a device)
                self.on_frames(hz_to_midi_t(raw[0].clamp_min(1e-3)).cpu().numpy(), voiced[0].cpu().numpy())
            # every frame counted with weight 0 or 1: no data-dependent shape, nothing read back
            midi = hz_to_midi_t(raw).round().clamp(0, 127).long()
            self._pitch_hist.index_add_(0, midi.reshape(-1), voiced.reshape(-1).to(torch.float64))
        held, last = zip(*(hold_f0(raw[c], gate[c], last=self._last_f0[c]) for c in range(ch)))
        f0 = torch.stack(held) * 2.0 ** self.octave_shift
        self._last_f0 = torch.stack(last)
        level = ((loud - self.gate_db) / 12.0).clamp(0, 1)
        harm, bands, self._state = frame_parameters(self.model, f0, loud, gate, sr=self.model_sr, state=self._state)
        if self.match_loudness:
            # the frame's own level, known from its parameters, moved to the input's (within +-MATCH_DB)
            made = synth_loudness(f0, harm, bands, sr=self.model_sr, a_power=self.tracker.a_power)
            level = level * 10 ** ((loud - made).clamp(-MATCH_DB, MATCH_DB) / 20)
        harm = harm * level.unsqueeze(-1)
        bands = bands * level.unsqueeze(-1)
        # the stream's first frame starts from silence at its own pitch (prev_f0 is -1 until then;
        # a held f0 is always > 0)
        prev_f0 = torch.where(self._prev_f0 < 0, f0[:, :1], self._prev_f0)
        f0_all = torch.cat([prev_f0, f0], dim=1)
        harm_all = torch.cat([self._prev_harm, harm], dim=1)
        self._prev_f0, self._prev_harm = f0[:, -1:], harm[:, -1:]
        # frame-major numbers counted from the stream's start: the same however the blocks were cut
        fresh = uniform_noise(self._drawn, seed=self.seed, frames=k, channels=ch, hop=hop)
        self._drawn = self._drawn + k
        noise = torch.cat([self._noise, fresh], dim=1)
        self._noise = noise[:, -(self.noise_taps - 1):]
        y, self._phase = synthesize(f0_all, harm_all, bands, noise, sr=self.model_sr, hop=hop, phase=self._phase)
        return y

    def before_file(self, path) -> str | None:
        """With ``auto_register``: measure the file's median pitch and set ``octave_shift``.

        Parameters
        ----------
        path : str or PathLike
            The input file about to be rendered.

        Returns
        -------
        str or None
            What was set and why (None without ``auto_register``).
        """
        if not self.auto_register:
            return None
        shift, med = auto_octave_for_file(self, path)
        self.set_params(octave_shift=shift)
        return (f"auto-register: {Path(path).name}: octave shift {shift:+d} (input median MIDI "
                f"{'none voiced' if med is None else f'{med:.0f}'}, instrument {self.trained_median:.0f})")

    def notice(self) -> str | None:
        """:meth:`pitch_notice`."""
        return self.pitch_notice()

    def pitch_notice(self) -> str | None:
        """Say whether the voiced input so far lay outside the trained pitch range (p5-p95).

        Returns
        -------
        str or None
            One line naming the input's median pitch (after ``octave_shift``) and the range;
            None when it lay inside, nothing was voiced, or the run records no range.
        """
        hist = self._pitch_hist.cpu().numpy()
        total = hist.sum()
        if not total or self.trained_range is None:
            return None
        med = float(np.searchsorted(np.cumsum(hist), total / 2)) + 12 * self.octave_shift
        lo, hi = self.trained_range
        if lo <= med <= hi:
            return None
        side = "below" if med < lo else "above"
        return (f"the input's median pitch (MIDI {med:.0f}) is {side} the instrument's trained range "
                f"(MIDI {lo:.0f}-{hi:.0f}); try --auto-register or --octave-shift")


def input_pitch(effect: DDSPEffect, audio: np.ndarray) -> float | None:
    """Median pitch of the voiced frames of the input, as the effect's tracker hears it.

    Parameters
    ----------
    effect : DDSPEffect
        Its tracker, hop and voicing gate are used.
    audio : np.ndarray [shape=(channels, n) or (n,)]
        The input at the model's rate (channels averaged).

    Returns
    -------
    float or None, MIDI
        None when no frame is voiced.
    """
    x = torch.from_numpy(np.asarray(audio, np.float32).reshape(-1, np.shape(audio)[-1]).mean(0)).to(effect.device)
    k = x.numel() // effect.hop + 1
    f0, conf, loud = effect.tracker(causal_windows(x, hop=effect.hop, frames=k))
    voiced = (voicing_gate(conf, low=effect.voicing[0], high=effect.voicing[1]) > 0.5) & (loud > -60) & (f0 > 0)
    return float(hz_to_midi_t(f0[voiced]).median()) if voiced.any() else None


def auto_octave(effect: DDSPEffect, audio: np.ndarray) -> int:
    """The octave shift that moves the input's median pitch nearest the instrument's trained median.

    Parameters
    ----------
    effect : DDSPEffect
        The effect (its run's trained median pitch).
    audio : np.ndarray [shape=(channels, n) or (n,)]
        The input at the model's rate.

    Returns
    -------
    int
        -4 to 4; 0 when nothing is voiced.
    """
    return _octaves(effect, input_pitch(effect, audio))


def _octaves(effect: DDSPEffect, median_midi: float | None) -> int:
    if median_midi is None:
        return 0
    return int(np.clip(round((effect.trained_median - median_midi) / 12), -4, 4))


def auto_octave_for_file(effect: DDSPEffect, path: str | Path, *, seconds: float = 120.0) -> tuple[int, float | None]:
    """:func:`auto_octave` measured on the beginning of a file (mono mix, resampled to the model's rate).

    Parameters
    ----------
    effect : DDSPEffect
        The effect.
    path : str or Path
        The audio file.
    seconds : float, seconds, keyword-only
        How much of its beginning is read.

    Returns
    -------
    shift : int
        -4 to 4.
    median : float or None, MIDI
        The input's median pitch (None when nothing was voiced).
    """
    import soundfile as sf

    from workbench.audio import resample

    with sf.SoundFile(str(path)) as f:
        x = f.read(frames=int(seconds * f.samplerate), dtype="float32", always_2d=True).T
        sr = f.samplerate
    x = resample(x.mean(0, keepdims=True), sr, effect.model_sr) if sr != effect.model_sr else x.mean(0, keepdims=True)
    med = input_pitch(effect, x)
    return _octaves(effect, med), med
