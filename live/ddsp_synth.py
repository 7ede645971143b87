"""A DDSP-style instrument model played from notes: several voices sharing one decoder.

A harmonic-plus-noise model driven by pitch and loudness is an instrument by construction
(DDSP-VST plays its models from MIDI). :class:`DDSPSynth` turns notes into those controls, per
voice and per control frame (the run's hop, 16 ms at 16 kHz):

- pitch (MIDI, float): the voice's note, plus the note's pitch class offset from ``tuning``
  (cents: microtonal scales, as a MIDI scale/octave tuning message carries them), plus the
  channel's pitch bend times ``bend_range`` semitones; a new note glides there from the voice's
  current pitch over ``glide_ms`` (exponential, time constant ``glide_ms``; 0 jumps);
- loudness (dB, the tracker's A-weighted scale): ``velocity * expression * volume`` mapped over
  ``DYNAMIC_RANGE_DB`` below ``TOP_DB``; the decoder hears it, and each frame's synthesized
  level is then matched to it (:func:`models.ddsp.synth_loudness`, as the effect's loudness
  match);
- an attack/release envelope per voice (``attack_ms``, ``release_ms``), linear in amplitude.

The voices are the batch rows of one decoder and synthesizer call, so N voices cost one call
per frame. Voice allocation (which voice a new note takes, stealing the oldest when all sound)
is the controller's (:class:`live.control_input.Controller`): this class only plays the per-voice
vectors ``note``, ``velocity`` and ``gate`` it is given.

A note outside the run's trained pitch range (5th to 95th percentile of its training material,
widened by ``RANGE_MARGIN`` semitones) is moved by octaves into it, or to its nearest end when
the range is narrower than an octave; :meth:`notice` says so once, and ``transposed`` counts the
notes moved.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np
import torch

from effects.base import Effect
from effects.render import render_schedule
from models.checkpoint import LoadedRun, load_run
from models.ddsp import CREPE_WINDOW, frame_parameters, synth_loudness, synthesize
from workbench.errors import ParameterError
from workbench.spectral import a_weighting
from workbench.validate import check_int, check_number, is_number

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["DDSPSynth", "MAX_VOICES", "MAX_BEND_RANGE", "TOP_DB", "DYNAMIC_RANGE_DB", "RANGE_MARGIN"]

log = logging.getLogger(__name__)

MAX_VOICES = 16
MAX_BEND_RANGE = 48.0  # semitones (MPE's default per-note range is the widest in common use)
TOP_DB = -12.0  # loudness of velocity 127 at full expression and volume (dB, A-weighted, 0 = full scale)
DYNAMIC_RANGE_DB = 40.0  # velocity 1 .. 127 spans this many dB below TOP_DB
RANGE_MARGIN = 3.0  # semitones beyond the trained 5th-95th percentile still played as written
MATCH_DB = 24.0  # the level match moves a frame by at most this


class DDSPSynth(Effect):
    """A ddsp run as a polyphonic instrument: per-voice notes, velocities and gates -> audio.

    Parameters
    ----------
    model : str, Path or LoadedRun, keyword-only
        A run trained with ``workbench train --method ddsp``.
    voices : int, keyword-only
        Voices (1 to ``MAX_VOICES``), each an instance of the model's decoder state sharing its weights.
    bend_range : float, semitones, keyword-only
        Pitch bend at full deflection, in (0, ``MAX_BEND_RANGE``].
    glide_ms : float, ms, keyword-only
        Portamento time constant (0 to 5000; 0 = none).
    attack_ms, release_ms : float, ms, keyword-only
        Envelope ramps (0 to 5000).
    tuning : sequence of 12 float, cents, keyword-only
        Offset per pitch class C .. B (-100 to 100): a microtonal scale.
    gain_db : float, dB, keyword-only
        Output gain (-60 to 24).
    seed : int, keyword-only
        Seed of the noise generator (reset restarts it).
    device : torch.device or str, keyword-only
        Where the decoder and synthesis run; blocks in and out are float32 NumPy.

    Notes
    -----
    Parameters that controls set (:class:`live.controlled_effect.ControlledEffect` slots): ``note``,
    ``velocity`` and ``gate`` (vectors of ``voices``; ``note.2`` is voice 3's), ``bend`` (-1 to 1),
    ``expression`` and ``volume`` (0 to 1; MIDI CC 11 and CC 7), ``glide_ms`` (CC 5),
    ``bend_range``, ``attack_ms``, ``release_ms``, ``tuning``, ``gain_db``.

    Examples
    --------
    >>> synth = DDSPSynth(model="runs/trumpet-ddsp", voices=4)                # doctest: +SKIP
    >>> y = synth.render(2.0, schedule=[(0.0, {"note": [60, 64, 67, 0], "velocity": [0.8] * 4,
    ...                                         "gate": [1, 1, 1, 0]})])       # doctest: +SKIP
    """

    _param_names = ("note", "velocity", "gate", "bend", "bend_range", "expression", "volume", "glide_ms", "attack_ms",
                    "release_ms", "tuning", "gain_db")

    def __init__(self, *, model: str | Path | LoadedRun, voices: int = 4, bend_range: float = 2.0,
                 glide_ms: float = 0.0, attack_ms: float = 10.0, release_ms: float = 150.0,
                 tuning: Sequence[float] | None = None, gain_db: float = 0.0, seed: int = 0,
                 device: torch.device | str = "cpu"):
        super().__init__(device=device)
        check_int(voices, "voices", lo=1, hi=MAX_VOICES)
        self.run = model if isinstance(model, LoadedRun) else load_run(model)
        if self.run.method != "ddsp":
            raise ParameterError(f"model={str(self.run.path)!r} is an {self.run.method} run; workbench play "
                                 "plays it as the latent synthesizer (model.output=spectrum), not with --voices")
        cfg = self.run.config
        self.model = self.run.model.to(self.device).eval()
        self.model_sr, self.hop = cfg.audio.sr, cfg.audio.hop_length
        self.noise_taps = 2 * (cfg.model.noise_bands - 1)
        self.voices, self.seed = int(voices), int(seed)
        pitch = self.run.meta.get("pitch_midi", {})
        lo, hi = (pitch["p5"], pitch["p95"]) if "p5" in pitch else (36.0, 96.0)
        self.playable = (float(lo) - RANGE_MARGIN, float(hi) + RANGE_MARGIN)
        self.trained_median = float(pitch.get("p50", (lo + hi) / 2))
        self.a_power = a_weighting(sr=self.model_sr, n_fft=CREPE_WINDOW, power=True).to(self.device)
        v = self.voices
        self.note = np.full(v, 60.0, np.float32)
        self.velocity = np.zeros(v, np.float32)
        self.gate = np.zeros(v, np.float32)
        self.tuning = np.zeros(12, np.float32)
        self.bend, self.expression, self.volume = 0.0, 1.0, 1.0
        self.transposed = 0
        self._notice_given = False
        self.set_params(bend_range=bend_range, glide_ms=glide_ms, attack_ms=attack_ms, release_ms=release_ms,
                        tuning=np.zeros(12) if tuning is None else tuning, gain_db=gain_db)

    # -- parameters -------------------------------------------------------------------------------
    def _check_param(self, name, value):
        v = self.voices
        if name in ("note", "velocity", "gate", "tuning"):
            n = 12 if name == "tuning" else v
            arr = np.asarray(value, dtype=np.float64) if not isinstance(value, (str, bytes)) else None
            if arr is None or arr.shape != (n,) or not np.all(np.isfinite(arr)):
                raise ParameterError(f"{name}={value!r} is not valid; expected {n} finite numbers")
            bounds = {"note": (0.0, 127.0), "velocity": (0.0, 1.0), "gate": (0.0, 1.0), "tuning": (-100.0, 100.0)}[name]
            if arr.min() < bounds[0] or arr.max() > bounds[1]:
                raise ParameterError(f"{name}={value!r} is out of range; expected numbers in "
                                     f"[{bounds[0]:g}, {bounds[1]:g}]")
        elif name == "bend":
            check_number(value, name, lo=-1.0, hi=1.0)
        elif name == "bend_range":
            if not is_number(value) or not 0 < float(value) <= MAX_BEND_RANGE:
                raise ParameterError(f"bend_range={value!r} semitones is not valid; expected a number in "
                                     f"(0, {MAX_BEND_RANGE:g}]")
        elif name in ("expression", "volume"):
            check_number(value, name, lo=0.0, hi=1.0)
        elif name in ("glide_ms", "attack_ms", "release_ms"):
            check_number(value, name, lo=0.0, hi=5000.0)
        elif name == "gain_db":
            check_number(value, name, lo=-60.0, hi=24.0)

    def set_params(self, **params: object) -> DDSPSynth:
        """Change parameters; all are checked first, so a bad value changes nothing.

        Parameters
        ----------
        **params
            Names of the class's parameter list; vectors are copied as float32 arrays.

        Returns
        -------
        DDSPSynth
            ``self``.
        """
        self.check_params(**params)
        for k, v in params.items():
            setattr(self, k, np.array(v, np.float32) if k in ("note", "velocity", "gate", "tuning") else float(v))
        return self

    def get_params(self) -> dict:
        """Current parameters (vectors as tuples, so a caller's copy cannot change them).

        Returns
        -------
        dict
            Name -> value for every name in the class's parameter list.
        """
        return {k: tuple(float(x) for x in getattr(self, k)) if isinstance(getattr(self, k), np.ndarray)
                else getattr(self, k) for k in self._param_names}

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def required_sample_rate(self) -> int:
        """The run's rate in Hz (16000): the synth runs at no other."""
        return self.model_sr

    @property
    def latency_samples(self) -> int:
        """0: the synth ignores its input. A control acts at the next frame: up to one hop later."""
        return 0

    def _prepare(self, sample_rate, channels, max_block):
        torch.set_flush_denormal(True)

    def _reset(self):
        v, dev = self.voices, self.device
        self._state = None
        self._phase = torch.zeros(v, dtype=torch.float64, device=dev)
        self._pitch = np.full(v, np.nan)  # sounding pitch per voice (MIDI); NaN before its first note
        self._env = np.zeros(v)  # envelope per voice at the last frame, 0..1
        self._prev = None  # the last frame: f0 (v, 1) Hz, harmonic amplitudes (v, 1, H)
        self._noise_rng = np.random.default_rng(self.seed)
        self._noise = torch.zeros(v, self.noise_taps - 1, device=dev)
        self._out = np.zeros(0, np.float32)
        self._last_note = np.full(v, np.nan)
        self.frames = 0

    def notice(self) -> str | None:
        """One line when notes were moved into the trained range since :meth:`prepare`."""
        if not self.transposed:
            return None
        lo, hi = self.playable
        return (f"{self.transposed} note(s) outside this model's trained range (MIDI {lo:.0f}-{hi:.0f}) were "
                "moved by octaves into it")

    # -- per frame --------------------------------------------------------------------------------
    def _target_pitch(self) -> np.ndarray:
        """Each voice's written pitch (MIDI): note, tuning and bend, moved into the playable range."""
        note = self.note.astype(np.float64)
        pitch = note + self.tuning[np.round(note).astype(int) % 12] / 100.0
        lo, hi = self.playable
        moved = pitch.copy()
        if hi - lo >= 12:
            moved += 12 * np.ceil(np.maximum(lo - moved, 0) / 12) - 12 * np.ceil(np.maximum(moved - hi, 0) / 12)
        moved = np.clip(moved, lo, hi)
        fresh = (self.gate > 0.5) & (note != self._last_note)
        out = fresh & (moved != pitch)
        if out.any():
            self.transposed += int(out.sum())
            if not self._notice_given:
                self._notice_given = True
                log.info("note(s) %s outside the trained range %.0f-%.0f moved by octaves", note[out].tolist(), lo, hi)
        self._last_note = np.where(self.gate > 0.5, note, self._last_note)
        return moved + self.bend * self.bend_range

    def _controls(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This frame's pitch (MIDI), loudness (dB) and envelope per voice; advances glide and envelope."""
        hop_s = self.hop / self.model_sr
        target = self._target_pitch()
        on = self.gate > 0.5
        start = np.isnan(self._pitch) | (self._env <= 0)  # a silent voice starts at its note: no glide
        if self.glide_ms > 0:
            k = 1.0 - math.exp(-hop_s / (1e-3 * self.glide_ms))
            glided = self._pitch + (target - self._pitch) * k
        else:
            glided = target
        self._pitch = np.where(on, np.where(start, target, glided), np.where(start, target, self._pitch))
        up = hop_s / max(1e-3 * self.attack_ms, hop_s)
        down = hop_s / max(1e-3 * self.release_ms, hop_s)
        self._env = np.where(on, np.minimum(self._env + up, 1.0), np.maximum(self._env - down, 0.0))
        strength = np.clip(self.velocity * self.expression * self.volume, 1e-6, 1.0)
        loud = TOP_DB + DYNAMIC_RANGE_DB * (strength - 1.0)
        return self._pitch.copy(), loud, self._env.copy()

    @torch.inference_mode()
    def _frame(self) -> np.ndarray:
        """The next hop of audio ``(hop,)``: every voice's frame, synthesized and summed."""
        v, dev, hop = self.voices, self.device, self.hop
        pitch, loud, env = self._controls()
        f0 = torch.from_numpy(440.0 * 2.0 ** ((pitch - 69.0) / 12.0)).float().to(dev)[:, None]
        sounding = torch.from_numpy(env > 0).to(dev)[:, None]
        gate = sounding.float()
        loud_t = torch.from_numpy(loud).float().to(dev)[:, None]
        harm, bands, self._state = frame_parameters(self.model, f0, torch.where(sounding, loud_t, -100.0), gate,
                                                    sr=self.model_sr, state=self._state)
        made = synth_loudness(f0, harm, bands, sr=self.model_sr, a_power=self.a_power)
        level = 10 ** ((loud_t - made).clamp(-MATCH_DB, MATCH_DB) / 20) * torch.from_numpy(env).float().to(dev)[:, None]
        harm = harm * level.unsqueeze(-1)
        bands = bands * level.unsqueeze(-1)
        if self._prev is None:
            self._prev = (f0, torch.zeros_like(harm))
        f0_all = torch.cat([self._prev[0], f0], dim=1)
        harm_all = torch.cat([self._prev[1], harm], dim=1)
        self._prev = (f0, harm)
        fresh = torch.from_numpy(self._noise_rng.uniform(-1, 1, (v, hop)).astype(np.float32)).to(dev)
        noise = torch.cat([self._noise, fresh], dim=1)
        self._noise = noise[:, -(self.noise_taps - 1):]
        y, self._phase = synthesize(f0_all, harm_all, bands, noise, sr=self.model_sr, hop=hop, phase=self._phase)
        self.frames += 1
        return y.sum(0).cpu().numpy()

    def _process(self, x):
        ch, n = x.shape
        parts = [self._out]
        have = self._out.size
        while have < n:
            seg = self._frame()
            parts.append(seg)
            have += seg.size
        buf = np.concatenate(parts) if len(parts) > 1 else self._out
        out, self._out = buf[:n], buf[n:]
        if self.gain_db:
            out = out * np.float32(10 ** (self.gain_db / 20))
        return torch.from_numpy(np.ascontiguousarray(out, np.float32)).to(self.device).expand(ch, n).contiguous()

    # -- offline ----------------------------------------------------------------------------------
    def render(self, seconds: float, *, schedule: Sequence[tuple[float, dict]] = (), blocksize: int = 128,
               channels: int = 1) -> np.ndarray:
        """Play offline for ``seconds`` with parameter changes at given times
        (:func:`effects.render.render_schedule`).

        Returns
        -------
        np.ndarray [shape=(channels, round(seconds * sr))], float32
            At the model's rate.
        """
        return render_schedule(self, seconds, schedule=schedule, blocksize=blocksize, channels=channels)

