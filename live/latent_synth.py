"""The latent space played as an instrument (seed 002, MANNe): a source that decodes a latent
point, and for a chroma model a pitch class, into a stream of frames and ignores its input.

:class:`LatentSynth` is an :class:`~effects.base.Effect` so the live engine (``live.engine``)
runs it exactly as it runs any effect: same worker, rings, status line, block log, recorder
and limiter. Offline, :meth:`LatentSynth.render` runs the same ``process_block`` calls over a
schedule of parameter changes, so a rendered point sounds as it does live.

Per hop: the latent (every unit a parameter) and the chroma (a one-hot, or a blend of two while
gliding) are decoded into a unit-peak magnitude frame (decoded again only when they change),
given a phase (:mod:`workbench.phase`: RTPGHI or noise), and overlap-added
(:class:`workbench.spectral.StreamingSynthesizer`). Per sample: a linear attack/release
envelope toward 1 while ``gate`` is on, toward 0 after it, times ``gain``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from effects.base import Effect
from models.checkpoint import LoadedRun, load_run
from models.lstm_ae import decompress
from workbench.errors import ParameterError
from workbench.phase import PHASE_METHODS, make_phase
from workbench.spectral import StreamingSynthesizer
from workbench.validate import check_int, check_number

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["LatentSynth", "decode_frames", "LEVEL"]

LEVEL = 0.5  # amplitude of a lone partial at gain 1 (frames are scaled to the same energy)


def _run(model) -> LoadedRun:
    return model if isinstance(model, LoadedRun) else load_run(model)


def decode_frames(run: LoadedRun, z: torch.Tensor, *, chroma: int | Sequence[float] | np.ndarray | None = None,
                  instrument: str | None = None) -> torch.Tensor:
    """Decoded magnitude shapes ``(n, bins)`` (unit peak) of latent points ``z`` ``(n, latent)``.

    ``chroma``: a pitch class 0-11 or a weight vector ``(12,)`` (a chroma model needs one);
    ``instrument``: one of a multi-instrument run's codes (default its first).

    Parameters
    ----------
    run : LoadedRun
        A run trained with ``model.output=spectrum`` (else ``ParameterError``).
    z : torch.Tensor [shape=(n, latent)], float32
        Latent points, one row per frame (in [0, 1] for a sigmoid bottleneck, the default).
    chroma : int or array_like [shape=(12,)], optional, keyword-only
        Pitch class 0 (C) to 11 (B), or chroma weights; required by a chroma model, refused by
        any other.
    instrument : str, optional, keyword-only
        Instrument code of a multi-instrument run (default its first); refused by a
        single-instrument run.

    Returns
    -------
    torch.Tensor [shape=(n, n_fft // 2 + 1)], float32
        Linear magnitude frames (decompressed from the model's compression), each scaled to a
        peak of 1.
    """
    m = run.config.model
    if getattr(m, "output", None) != "spectrum":
        raise ParameterError("synthesis from the latent needs a model whose decoder makes the whole frame; this run "
                             f"has model.output={getattr(m, 'output', None)!r} (it only shapes an input frame): train "
                             "one with --set model.output=spectrum")
    if chroma is not None and not m.chroma:
        raise ParameterError("chroma= given, but this model was not trained with model.chroma=true")
    if m.chroma and chroma is None:
        raise ParameterError("this model is chroma-conditioned; give a pitch class (chroma=C ... B)")
    code = None
    if m.condition != "none":
        name = instrument if instrument is not None else m.codes[0]
        if name not in m.codes:
            raise ParameterError(f"instrument={name!r} is not one of the model's instruments ({', '.join(m.codes)})")
        code = torch.nn.functional.one_hot(torch.tensor(m.codes.index(name)), len(m.codes)).float()
    elif instrument is not None:
        raise ParameterError(f"instrument={instrument!r}: this model was trained on one instrument; leave it unset")
    ch = None
    if chroma is not None:
        ch = (torch.nn.functional.one_hot(torch.tensor(int(chroma)), 12).float()
              if np.ndim(chroma) == 0 else torch.as_tensor(np.asarray(chroma, np.float32)))
    with torch.inference_mode():
        y = run.model.decode(z, code=code, chroma=ch)
    mag = decompress(y, mode=m.compression, power=m.power, log_range_db=m.log_range_db)
    return mag / mag.amax(-1, keepdim=True).clamp_min(1e-8)


def _number(name: str, value, lo: float, hi: float) -> None:
    check_number(value, name, lo=lo, hi=hi)


class LatentSynth(Effect):
    """A latent point (and pitch class) of a run, as a held, playable sound; the input is ignored.

    Parameters
    ----------
    model : path or LoadedRun
        A run trained with ``model.output=spectrum`` (``model.chroma=true`` for pitch classes).
    latent : sequence of float, optional
        The point, one number per bottleneck unit (default 0.5 each: the sigmoid's middle).
    chroma : int
        Pitch class 0 (C) to 11 (B); ignored by a model without chroma.
    gain : float
        Linear level in [0, 4] (MIDI velocity sets it to velocity / 127); a change is ramped across
        the next block.
    gate : bool
        Sounding (True) or released (False).
    attack_ms, release_ms : float
        Linear ramps of the envelope (a full 0 -> 1 swing takes this long).
    glide_ms : float
        A chroma change moves the chroma condition from the old class to the new one over this
        long (0: at once).
    phase : {"pghi", "noise"}
        Real-time phase-gradient heap integration, or random phase per bin and frame (MANNe).
    instrument : str, optional
        Instrument code of a multi-instrument run.
    seed : int
        Seed of the random phases.

    Notes
    -----
    Output is mono, copied to every channel; ``latency_samples`` is 0 (nothing is delayed: the
    first frame's hop is the first output). A parameter set between two blocks takes effect
    from the next hop synthesized (the envelope: from the next sample).
    """

    _param_names = ("latent", "chroma", "gain", "gate", "attack_ms", "release_ms", "glide_ms", "phase")

    def __init__(self, *, model: str | Path | LoadedRun, latent: Sequence[float] | np.ndarray | None = None,
                 chroma: int = 0, gain: float = 1.0, gate: bool = True,
                 attack_ms: float = 5.0, release_ms: float = 150.0, glide_ms: float = 0.0, phase: str = "pghi",
                 instrument: str | None = None, seed: int = 0):
        super().__init__()
        self.run = _run(model)
        m, a = self.run.config.model, self.run.config.audio
        if getattr(m, "output", None) != "spectrum":
            decode_frames(self.run, torch.zeros(1, 1))  # raises the one-line explanation
        self.latent_dim, self.has_chroma = int(m.latent), bool(m.chroma)
        self.n_fft, self.hop_length, self.model_sr = int(a.n_fft), int(a.hop_length), int(a.sr)
        self.instrument, self.seed = instrument, int(seed)
        self.latent = np.full(self.latent_dim, 0.5, np.float32)
        self.chroma, self.gain, self.gate, self.phase = 0, 1.0, True, "pghi"
        self.attack_ms, self.release_ms, self.glide_ms = 5.0, 150.0, 0.0
        self.set_params(latent=self.latent if latent is None else latent, chroma=chroma, gain=gain, gate=gate,
                        attack_ms=attack_ms, release_ms=release_ms, glide_ms=glide_ms, phase=phase)
        decode_frames(self.run, torch.zeros(1, self.latent_dim), chroma=0 if self.has_chroma else None,
                      instrument=instrument)  # a bad instrument fails here, not in the stream

    # -- parameters -------------------------------------------------------------------------------
    def _check_param(self, name, value):
        if name == "latent":
            v = np.asarray(value, dtype=np.float64)
            if v.shape != (self.latent_dim,) or not np.isfinite(v).all():
                raise ParameterError(f"latent has shape {v.shape}; expected {self.latent_dim} finite numbers "
                                     "(one per bottleneck unit)")
        elif name == "chroma":
            check_int(value, name, lo=0, hi=11, what=" (a pitch class)")
        elif name == "gain":
            _number(name, value, 0.0, 4.0)
        elif name == "gate":
            if not isinstance(value, (bool, np.bool_)):
                raise ParameterError(f"gate={value!r} must be True or False")
        elif name in ("attack_ms", "release_ms", "glide_ms"):
            _number(name, value, 0.0, 10000.0)
        elif name == "phase" and value not in PHASE_METHODS:
            raise ParameterError(f"phase={value!r} is not valid; expected one of {', '.join(PHASE_METHODS)}")

    def get_params(self) -> dict:
        """The live parameters.

        Returns
        -------
        dict
            Name -> current value for ``latent`` (a tuple of ``latent_dim`` floats), ``chroma``,
            ``gain``, ``gate``, ``attack_ms``, ``release_ms``, ``glide_ms`` and ``phase``.
        """
        p = super().get_params()
        p["latent"] = tuple(map(float, self.latent))
        return p

    def set_params(self, **params: object) -> LatentSynth:
        """Change live parameters; all are checked first, so a bad value changes nothing.

        A new ``phase`` method restarts the phase (with ``seed``) when the synth is prepared.

        Parameters
        ----------
        **params
            Names of ``_param_names`` and their new values (``latent``: ``latent_dim`` finite
            numbers; ``chroma``: 0 to 11; ``gain``: 0 to 4; ``gate``: bool; ``attack_ms``,
            ``release_ms``, ``glide_ms``: 0 to 10000 ms; ``phase``: "pghi" or "noise").

        Returns
        -------
        LatentSynth
            ``self``.
        """
        super().set_params(**params)
        if "latent" in params:
            self.latent = np.asarray(params["latent"], np.float32).copy()
        if "chroma" in params:
            self.chroma = int(params["chroma"])
        if "gate" in params:
            self.gate = bool(params["gate"])
        if "phase" in params and self._prepared is not None:
            self._phase_fn = make_phase(self.phase, n_fft=self.n_fft, hop_length=self.hop_length, seed=self.seed)
        return self

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def required_sample_rate(self) -> int:
        """The model's rate in Hz: the synth runs at no other."""
        return self.model_sr

    @property
    def latency_samples(self) -> int:
        """0: the synth ignores its input, so nothing is delayed."""
        return 0

    def _prepare(self, sample_rate, channels, max_block):
        H = self.hop_length
        self._syn = StreamingSynthesizer(n_fft=self.n_fft, hop_length=H)
        self._phase_fn = make_phase(self.phase, n_fft=self.n_fft, hop_length=H, seed=self.seed)
        self._fifo = np.zeros(max_block + H, np.float32)
        self._steps = np.arange(1, max_block + 1, dtype=np.float64)
        self._env_buf = np.zeros(max_block, np.float64)
        self._scale = self.n_fft / 4 * LEVEL  # frames of unit L2 norm: a lone partial -> amplitude LEVEL

    def _reset(self):
        self._syn.reset()
        self._phase_fn.reset()
        self._fill = 0
        self._env = 0.0
        self._gain_last = float(self.gain)
        self._chroma_vec = np.zeros(12, np.float32)
        self._chroma_vec[self.chroma] = 1.0
        self._last_key = None
        self._frame = None
        self.frames = 0
        self.decodes = 0

    def _condition(self) -> np.ndarray | None:
        """The chroma weights for this hop, one glide step closer to the current class."""
        if not self.has_chroma:
            return None
        c = self._chroma_vec
        t = self.chroma
        d = 1.0 - float(c[t])  # how far the target class's weight is from 1
        if d > 1e-7:
            step = 1.0 if self.glide_ms <= 0 else self.hop_length / (1e-3 * self.glide_ms * self.model_sr)
            f = min(1.0, step / d)  # the target's weight rises by `step`, the others shrink together
            c *= 1.0 - f
            c[t] += f
        elif d:
            c[:] = 0.0
            c[t] = 1.0
        return c

    def _next_hop(self) -> None:
        c = self._condition()
        key = (self.latent.tobytes(), None if c is None else c.tobytes())
        if key != self._last_key:
            z = torch.from_numpy(self.latent)[None]
            frame = decode_frames(self.run, z, chroma=None if c is None else c.copy(),
                                  instrument=self.instrument)[0].numpy().astype(np.float64)
            self._frame = frame * (self._scale / max(float(np.sqrt((frame ** 2).sum())), 1e-12))
            self._last_key = key
            self.decodes += 1
        mag = self._frame
        phi = self._phase_fn(mag)
        X = torch.from_numpy((mag * np.exp(1j * phi)).astype(np.complex64))[None, :, None]
        y = self._syn.process(X)[0].numpy()
        H = self.hop_length
        self._fifo[self._fill:self._fill + H] = y
        self._fill += H
        self.frames += 1

    def _envelope(self, n: int) -> np.ndarray:
        """Per-sample gain for the next ``n`` samples: the gate's linear attack/release ramp (0..1)
        times ``gain``, itself ramped linearly across the block from its value at the last one."""
        target = 1.0 if self.gate else 0.0
        e0 = self._env
        ms = self.attack_ms if target > e0 else self.release_ms
        slope = 1.0 / max(1.0, 1e-3 * ms * self.model_sr)  # full swing per ramp time
        env = self._env_buf[:n]
        if target > e0:
            np.minimum(e0 + slope * self._steps[:n], target, out=env)
        elif target < e0:
            np.maximum(e0 - slope * self._steps[:n], target, out=env)
        else:
            env.fill(e0)
        self._env = float(env[-1]) if n else e0
        g0, g1 = self._gain_last, float(self.gain)
        if g0 == g1:
            env *= g1
        else:
            env *= g0 + (g1 - g0) * self._steps[:n] / n
            self._gain_last = g1
        return env

    def _process(self, x):
        ch, n = x.shape
        while self._fill < n:
            self._next_hop()
        out = self._fifo[:n] * self._envelope(n)
        self._fifo[: self._fill - n] = self._fifo[n: self._fill].copy()
        self._fill -= n
        return torch.from_numpy(out.astype(np.float32)).expand(ch, n).contiguous()

    # -- offline ----------------------------------------------------------------------------------
    def render(self, seconds: float, *, schedule: Sequence[tuple[float, dict]] = (), blocksize: int = 128,
               channels: int = 1) -> np.ndarray:
        """Play offline for ``seconds`` with parameter changes at given times, as the live engine would
        (:func:`effects.render.render_schedule`).

        Returns
        -------
        np.ndarray [shape=(channels, round(seconds * sr))], float32
            The rendered audio at the model's rate ``sr``; the synth's parameters are as before
            the call afterwards.
        """
        from effects.render import render_schedule

        return render_schedule(self, seconds, schedule=schedule, blocksize=blocksize, channels=channels)

