"""MIDI and OSC control of a live effect: the mapping file, smoothing, and the receivers.

deepAutoController (seed 004) put a MIDI controller's eight faders on hidden units and its
buttons on bypass; MANNe (seed 002) gave a slider per bottleneck unit. Here any effect run by
:class:`effects.live.LiveEngine` gets the same:

- :class:`Mapping`: which control drives which parameter. A TOML file of ``[[control]]`` tables,
  each with ``cc = [channel, number]`` (channels 1-16) or ``osc = "/address"``, a ``target``
  (``mix``, ``bypass``, ``gain``, ``alpha``, ``mode``, ``fader.N.scale``, ``fader.N.offset``,
  ``latent.N``, ``octave``, or any other numeric parameter of the effect), a ``range`` and a
  ``curve`` (``linear`` or ``exp``, geometric, for gains). Controls send 0..1 (CC value / 127;
  OSC: one number in [0, 1]). :func:`default_mapping` is an eight-fader controller's layout.
- :class:`ControlledEffect`: wraps the effect. Control threads only store targets; the thread
  that runs ``process_block`` applies them at the start of the next block (so a change acts
  within one block of its arrival) and ramps continuous ones over ``smooth_ms`` (so it does not
  click). Every change applied is logged by block, so a run can be replayed offline exactly
  (``script=``).
- :class:`Controller`: turns messages into targets, counts what it could not use (unknown
  controls, malformed messages, values out of range), binds a control in learn mode, and plays
  notes (mono, last-note priority) on a :class:`effects.play.LatentSynth`.
- :class:`MidiInput` (python-rtmidi ports, mido's parser; the ALSA sequencer where there is
  one, else JACK MIDI) and :class:`OscInput` (a UDP socket, python-osc's parser), each on a
  thread of its own. The MIDI port is polled (about every millisecond) rather than given a
  callback: under JACK, rtmidi calls a callback on JACK's real-time thread, where waiting for
  Python's lock would make the whole graph late.

Nothing here raises on what arrives over the wire: it is counted (:meth:`Controller.counts`).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from effects.base import Effect
from workbench.devices import thread_priority
from workbench.errors import ParameterError

__all__ = ["Binding", "Mapping", "default_mapping", "load_mapping", "ControlledEffect", "Controller",
           "MidiInput", "OscInput", "midi_ports", "CURVES", "DEFAULT_RANGES"]

log = logging.getLogger(__name__)

CURVES = ("linear", "exp")
DEFAULT_RANGES = {"mix": (0.0, 1.0, "linear"), "gain": (0.01, 2.0, "exp"), "alpha": (0.0, 1.0, "linear"),
                  "scale": (0.0, 2.0, "linear"), "offset": (-1.0, 1.0, "linear"), "latent": (0.0, 1.0, "linear"),
                  "octave": (-2.0, 2.0, "linear"), "mode": (0.0, 1.0, "linear"), "bypass": (0.0, 1.0, "linear"),
                  "glide_ms": (0.0, 500.0, "linear")}
LOG_LEN = 1 << 16  # applied changes kept (preallocated)
OSC_PREFIX = "/workbench"


# -- the mapping --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Binding:
    """One control -> one parameter.

    ``cc``: ``(channel 1-16, number 0-127)``, or ``osc``: an address; ``target``: see the module
    docstring; ``lo``, ``hi``: the parameter's values at control 0 and 1; ``curve``: ``linear``
    or ``exp`` (``lo * (hi / lo) ** x``: both positive); ``toggle``: a button that flips the
    target (bypass) each time it is pressed (value >= 0.5 after < 0.5).
    """

    target: str
    cc: tuple[int, int] | None = None
    osc: str | None = None
    lo: float = 0.0
    hi: float = 1.0
    curve: str = "linear"
    toggle: bool = False

    def __post_init__(self):
        if (self.cc is None) == (self.osc is None):
            raise ParameterError(f"control for {self.target!r} needs exactly one of cc = [channel, number] or "
                                 "osc = \"/address\"")
        if self.cc is not None:
            ch, num = self.cc
            if not (isinstance(ch, int) and 1 <= ch <= 16 and isinstance(num, int) and 0 <= num <= 127):
                raise ParameterError(f"cc={list(self.cc)!r} for {self.target!r} must be [channel 1-16, number 0-127]")
        if self.osc is not None and not (isinstance(self.osc, str) and self.osc.startswith("/")):
            raise ParameterError(f"osc={self.osc!r} for {self.target!r} must be an address starting with /")
        if self.curve not in CURVES:
            raise ParameterError(f"curve={self.curve!r} for {self.target!r} is not valid; expected linear or exp")
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            raise ParameterError(f"range=[{self.lo}, {self.hi}] for {self.target!r} must be finite numbers")
        if self.curve == "exp" and not (self.lo > 0 and self.hi > 0):
            raise ParameterError(f"range=[{self.lo}, {self.hi}] for {self.target!r}: an exp curve needs both ends > 0")

    @property
    def source(self) -> str:
        return f"cc {self.cc[0]}:{self.cc[1]}" if self.cc else f"osc {self.osc}"

    def value(self, x: float) -> float:
        """The parameter value for a control position ``x`` in [0, 1]."""
        if self.curve == "exp":
            return self.lo * (self.hi / self.lo) ** x
        return self.lo + (self.hi - self.lo) * x

    def to_toml(self) -> str:
        src = f"cc = [{self.cc[0]}, {self.cc[1]}]" if self.cc else f'osc = "{self.osc}"'
        extra = "\ntoggle = true" if self.toggle else ""
        return (f'[[control]]\n{src}\ntarget = "{self.target}"\nrange = [{self.lo!r}, {self.hi!r}]\n'
                f'curve = "{self.curve}"{extra}\n')


def binding(target: str, *, cc=None, osc=None, lo=None, hi=None, curve=None, toggle=None) -> Binding:
    """A :class:`Binding` with the target's default range and curve where not given."""
    kind = _kind(target)
    dlo, dhi, dcurve = DEFAULT_RANGES.get(kind, (0.0, 1.0, "linear"))
    return Binding(target=target, cc=None if cc is None else (int(cc[0]), int(cc[1])), osc=osc,
                   lo=float(dlo if lo is None else lo), hi=float(dhi if hi is None else hi),
                   curve=dcurve if curve is None else curve,
                   toggle=(kind == "bypass" and cc is not None) if toggle is None else bool(toggle))


def _kind(target: str) -> str:
    parts = target.split(".")
    if len(parts) == 3 and parts[0] == "fader":
        return parts[2]
    if len(parts) == 2 and parts[0] == "latent":
        return "latent"
    return target


class Mapping:
    """The bindings in force, looked up by CC or OSC address.

    Parameters
    ----------
    bindings : sequence of Binding
    smooth_ms : float
        Ramp time of continuous parameters.
    """

    def __init__(self, bindings=(), *, smooth_ms: float = 5.0):
        if isinstance(smooth_ms, bool) or not isinstance(smooth_ms, (int, float)) or not 0 <= smooth_ms <= 1000:
            raise ParameterError(f"smooth_ms={smooth_ms!r} must be a number of milliseconds in [0, 1000]")
        self.smooth_ms = float(smooth_ms)
        self.bindings: list[Binding] = []
        self._cc: dict[tuple[int, int], Binding] = {}
        self._osc: dict[str, Binding] = {}
        for b in bindings:
            self.add(b)

    def add(self, b: Binding) -> None:
        """Add (or replace: one binding per control) a binding."""
        old = self._cc.get(b.cc) if b.cc else self._osc.get(b.osc)
        if old is not None:
            self.bindings.remove(old)
        self.bindings.append(b)
        if b.cc:
            self._cc[b.cc] = b
        else:
            self._osc[b.osc] = b

    def for_cc(self, channel: int, number: int) -> Binding | None:
        """``channel`` 1-16."""
        return self._cc.get((channel, number))

    def for_osc(self, address: str) -> Binding | None:
        return self._osc.get(address)

    def to_toml(self) -> str:
        head = ("# workbench control mapping: cc = [channel 1-16, number] or osc = \"/address\"; controls send 0..1\n"
                f"smooth_ms = {self.smooth_ms!r}\n")
        return head + "".join("\n" + b.to_toml() for b in self.bindings)

    def save(self, path) -> Path:
        p = Path(path)
        p.write_text(self.to_toml())
        return p

    def __len__(self) -> int:
        return len(self.bindings)


def load_mapping(path) -> Mapping:
    """Read a mapping TOML file (see the module docstring); one-line ``ParameterError`` on a bad entry."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"mapping file {str(p)!r} does not exist")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ParameterError(f"mapping file {str(p)!r} is not valid TOML: {err}") from None
    items = data.get("control", [])
    if not isinstance(items, list):
        raise ParameterError(f"mapping file {str(p)!r}: 'control' must be an array of tables ([[control]])")
    out = []
    for i, it in enumerate(items):
        if not isinstance(it, dict) or not isinstance(it.get("target"), str):
            raise ParameterError(f"mapping file {str(p)!r}: control {i + 1} has no target = \"...\"")
        unknown = set(it) - {"target", "cc", "osc", "range", "curve", "toggle"}
        if unknown:
            raise ParameterError(f"mapping file {str(p)!r}: control {i + 1} has unknown key(s) {', '.join(sorted(unknown))}; "
                                 "expected cc, osc, target, range, curve, toggle")
        rng = it.get("range")
        if rng is not None and not (isinstance(rng, list) and len(rng) == 2
                                    and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rng)):
            raise ParameterError(f"mapping file {str(p)!r}: control {i + 1} range={rng!r} must be [low, high]")
        cc = it.get("cc")
        if cc is not None and not (isinstance(cc, list) and len(cc) == 2 and all(isinstance(v, int) for v in cc)):
            raise ParameterError(f"mapping file {str(p)!r}: control {i + 1} cc={cc!r} must be [channel, number]")
        out.append(binding(it["target"], cc=cc, osc=it.get("osc"), lo=None if rng is None else rng[0],
                           hi=None if rng is None else rng[1], curve=it.get("curve"), toggle=it.get("toggle")))
    return Mapping(out, smooth_ms=data.get("smooth_ms", 5.0))


def default_mapping(*, synth: bool = False, units: int = 8) -> Mapping:
    """An eight-fader controller (nanoKONTROL-like numbering, channel 1), as deepAutoController:

    - faders CC 0-7: ``fader.N.scale`` (hidden unit N's gain; ``latent.N`` for the synth);
    - knobs CC 16-23: ``fader.N.offset`` (knob 1 ``gain`` and knob 2 ``glide_ms`` for the synth);
    - button CC 41: ``bypass`` (toggle); CC 24: ``mix``, CC 25: ``alpha``, CC 26: ``gain`` (effects);
    - every target also answers at OSC ``/workbench/<target with / for .>``, e.g.
      ``/workbench/fader/1/scale``.

    Targets the effect does not have are left out when the mapping is bound
    (:meth:`Controller.bind_all` with ``strict=False``).
    """
    items = []
    for n in range(1, units + 1):
        if synth:
            items.append(binding(f"latent.{n}", cc=(1, n - 1)))
        else:
            items.append(binding(f"fader.{n}.scale", cc=(1, n - 1)))
            items.append(binding(f"fader.{n}.offset", cc=(1, 16 + n - 1)))
    if synth:
        items += [binding("gain", cc=(1, 16)), binding("glide_ms", cc=(1, 17))]
    else:
        items.append(binding("gain", cc=(1, 26)))
    items += [binding("bypass", cc=(1, 41)), binding("mix", cc=(1, 24)), binding("alpha", cc=(1, 25))]
    osc = [binding(b.target, osc=f"{OSC_PREFIX}/{b.target.replace('.', '/')}", lo=b.lo, hi=b.hi, curve=b.curve,
                   toggle=False) for b in items]
    return Mapping(items + osc)


# -- the controlled effect ------------------------------------------------------------------------
class ControlledEffect(Effect):
    """An effect whose parameters follow targets set from other threads, smoothed, logged.

    Parameters
    ----------
    effect : Effect
    smooth_ms : float
        Continuous parameters reach a new target in ``ceil(smooth_ms / block)`` blocks, in equal
        steps, the first at the next block.
    script : dict, optional
        A :meth:`control_log` to replay instead of live targets: the same values at the same
        blocks.

    Slots are added with :meth:`slot` (``"mix"``, ``"scale.3"``, ``"chroma"``...); ``discrete``
    slots (choices, integers, switches) change at once.
    """

    def __init__(self, effect: Effect, *, smooth_ms: float = 5.0, script: dict | None = None):
        super().__init__()
        if not isinstance(effect, Effect):
            raise ParameterError(f"effect={effect!r} is not an Effect")
        self.effect, self.smooth_ms, self.script = effect, float(smooth_ms), script
        self._slots: list[tuple[str, int | None, str]] = []  # (param, element, kind)
        self._index: dict[str, int] = {}
        cap = 64
        self._tgt = np.zeros(cap)
        self._cur = np.zeros(cap)
        self._inc = np.zeros(cap)
        self._left = np.zeros(cap, np.int64)
        self._ver = np.zeros(cap, np.int64)  # written by control threads
        self._seen = np.zeros(cap, np.int64)  # read by the processing thread
        self._arrival = np.zeros(cap)  # perf_counter of the latest target per slot
        self._log_block = np.zeros(LOG_LEN, np.int64)
        self._log_slot = np.zeros(LOG_LEN, np.int32)
        self._log_value = np.zeros(LOG_LEN)
        self._log_delay = np.zeros(LOG_LEN)  # seconds from a target's arrival to its first step
        self._log_n = 0
        self._dvals: dict[int, object] = {}  # discrete slots' latest values
        self._logged_values: dict[int, object] = {}  # log row -> a discrete value that is not a number
        self.block = 0
        self.rejected = 0
        self._gen = 0  # targets set, all slots (control threads)
        self._gen_seen = 0
        self._ramping = 0  # slots still ramping

    # -- Effect plumbing ------------------------------------------------------------------------
    @property
    def required_sample_rate(self):
        return self.effect.required_sample_rate

    @property
    def latency_samples(self) -> int:
        return self.effect.latency_samples

    def get_params(self) -> dict:
        return self.effect.get_params()

    def check_params(self, **params) -> None:
        self.effect.check_params(**params)

    def set_params(self, **params):
        self.effect.set_params(**params)
        return self

    def _prepare(self, sample_rate, channels, max_block):
        self.effect.prepare(sample_rate, channels, max_block)
        self._steps = max(1, math.ceil(self.smooth_ms * 1e-3 * sample_rate / max_block))

    def _reset(self):
        self.effect.reset()
        self.block = 0
        self._log_n = 0
        self._left[:] = 0
        self._seen[:] = self._ver  # targets set before the stream starts are dropped with the old state
        self._gen_seen, self._ramping = self._gen, 0
        if self.script is not None:
            self._script_i = 0

    def _process(self, x):
        if self.script is not None:
            self._play_script()
        else:
            self._follow()
        self.block += 1
        return torch.from_numpy(self.effect.process_block(x.numpy()))

    # -- slots ----------------------------------------------------------------------------------
    def slot(self, name: str, *, discrete: bool = False) -> int:
        """The slot of parameter ``name`` or element ``name.i`` (0-based), created on first use."""
        if name in self._index:
            return self._index[name]
        param, _, el = name.partition(".")
        params = self.effect.get_params()
        if param not in params:
            raise ParameterError(f"{type(self.effect).__name__} has no parameter {param!r}; expected one of "
                                 f"{', '.join(params)}")
        value = params[param]
        if el:
            if not isinstance(value, (tuple, list, np.ndarray)) or not el.isdigit() or int(el) >= len(value):
                raise ParameterError(f"{name!r}: {param} has {len(value) if hasattr(value, '__len__') else 'no'} "
                                     "elements; expected an index below that")
            idx, v = int(el), float(value[int(el)])
        else:
            if isinstance(value, (tuple, list, np.ndarray)):
                raise ParameterError(f"{name!r} is a vector; address one element as {param}.i")
            idx = None
            if isinstance(value, (bool, np.bool_, str)) or value is None:
                discrete, v = True, 0.0
            else:
                v = float(value)
        k = len(self._slots)
        if k >= len(self._tgt):
            raise ParameterError(f"more than {len(self._tgt)} controlled parameters")
        kind = "discrete" if discrete else "smooth"
        self._slots.append((param, idx, kind))
        self._index[name] = k
        self._tgt[k] = self._cur[k] = v
        return k

    def set_target(self, slot: int, value) -> None:
        """From any thread: the slot's new target (a number; discrete slots: the value itself)."""
        if self._slots[slot][2] == "discrete":
            self._discrete_value(slot, value)
        else:
            self._tgt[slot] = float(value)
        self._arrival[slot] = time.perf_counter()
        self._ver[slot] += 1
        self._gen += 1

    def _discrete_value(self, slot, value):
        self._dvals[slot] = value

    # -- the processing thread --------------------------------------------------------------------
    def _follow(self) -> None:
        n = len(self._slots)
        gen = self._gen
        if not n or (gen == self._gen_seen and not self._ramping):  # the usual block: nothing to do
            return
        self._gen_seen = gen
        changed, first = None, None
        for k in range(n):
            v = int(self._ver[k])
            if v != self._seen[k]:
                self._seen[k] = v
                changed = changed or {}
                first = first or {}
                first[k] = time.perf_counter() - self._arrival[k]
                if self._slots[k][2] == "discrete":
                    param = self._slots[k][0]
                    if self._dvals[k] != self.effect.get_params()[param]:  # a repeat changes nothing
                        changed[k] = self._dvals[k]
                    continue
                self._left[k] = self._steps
                self._inc[k] = (self._tgt[k] - self._cur[k]) / self._steps
            if self._left[k] > 0:
                self._left[k] -= 1
                self._cur[k] = self._tgt[k] if self._left[k] == 0 else self._cur[k] + self._inc[k]
                changed = changed or {}
                changed[k] = float(self._cur[k])
        self._ramping = int(np.count_nonzero(self._left[:n]))
        if changed:
            self._apply(changed, first or {})

    def _apply(self, changed: dict, first: dict) -> None:
        params: dict = {}
        current = None
        for k, value in changed.items():
            param, idx, _ = self._slots[k]
            if idx is None:
                params[param] = value
            else:
                if param not in params:
                    current = current or self.effect.get_params()
                    params[param] = np.array(current[param], np.float32)
                params[param][idx] = value
        try:
            self.effect.set_params(**params)
        except ParameterError as err:
            self.rejected += 1
            log.debug("control change rejected: %s", err)
            return
        for k, value in changed.items():
            i = self._log_n % LOG_LEN
            self._log_block[i], self._log_slot[i] = self.block, k
            self._log_delay[i] = first.get(k, np.nan)
            number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            self._log_value[i] = float(value) if number else np.nan
            self._logged_values.pop(self._log_n - LOG_LEN, None)
            if not number or self._slots[k][2] == "discrete":
                self._logged_values[self._log_n] = value
            self._log_n += 1

    def control_log(self) -> dict:
        """The changes applied, oldest first (the last ``LOG_LEN``): ``block`` (this effect's block
        count when applied), ``slot``, ``name``, ``value`` (as set), ``delay_s`` (from the target's
        arrival to its first application; NaN for the later steps of a ramp) and ``slots``."""
        n = self._log_n
        first = max(0, n - LOG_LEN)
        rows = np.arange(first, n) % LOG_LEN
        names = {k: (p if i is None else f"{p}.{i}") for k, (p, i, _) in enumerate(self._slots)}
        values = [self._logged_values.get(j, float(self._log_value[r])) for j, r in zip(range(first, n), rows)]
        return {"block": self._log_block[rows].copy(), "slot": self._log_slot[rows].copy(),
                "name": [names[int(s)] for s in self._log_slot[rows]], "value": values,
                "delay_s": self._log_delay[rows].copy(), "slots": list(self._slots)}

    def _play_script(self) -> None:
        s = self.script
        if not self._slots:  # recreate the recorded slots
            for param, idx, kind in s["slots"]:
                self.slot(param if idx is None else f"{param}.{idx}", discrete=kind == "discrete")
        changed = {}
        while self._script_i < len(s["block"]) and s["block"][self._script_i] == self.block:
            changed[int(s["slot"][self._script_i])] = s["value"][self._script_i]
            self._script_i += 1
        if changed:
            self._apply(changed, {})


# -- messages -> targets -------------------------------------------------------------------------
class Controller:
    """Receives control messages (any thread) and turns them into targets of a :class:`ControlledEffect`.

    Parameters
    ----------
    effect : ControlledEffect
    mapping : Mapping
    engine : object, optional
        Has a ``bypass`` attribute (a :class:`effects.live.LiveEngine`); needed for ``bypass``.
    learn : str, optional
        Bind the next control that moves (a CC, or an OSC address with no binding) to this target.
    on_learn : callable, optional
        Called with the new :class:`Binding`.
    strict : bool
        Raise ``ParameterError`` for a binding whose target the effect lacks (a user's file);
        False drops them with a log line (the default layout).
    """

    def __init__(self, effect: ControlledEffect, mapping: Mapping, *, engine=None, learn: str | None = None,
                 on_learn=None, strict: bool = True):
        self.effect, self.mapping, self.engine = effect, mapping, engine
        self.on_learn = on_learn
        self._c = dict(messages=0, applied=0, unknown=0, malformed=0, out_of_range=0, notes=0, learned=0)
        self._slot_of: dict[Binding, int | None] = {}
        self._pressed: dict[Binding, bool] = {}
        self._notes: list[int] = []  # held notes, last on top
        self.last_arrival: float | None = None
        self.learn_target = None
        kept = []
        for b in list(mapping.bindings):
            try:
                self._resolve(b)
                kept.append(b)
            except ParameterError as err:
                if strict:
                    raise ParameterError(f"mapping {b.source} -> {b.target!r}: {err}") from None
                log.debug("default mapping: %s -> %s left out (%s)", b.source, b.target, err)
        self.mapping = Mapping(kept, smooth_ms=mapping.smooth_ms)
        if learn is not None:
            try:  # the target must exist before a control moves
                self._resolve(binding(learn, osc="/learn"))
            except ParameterError as err:
                raise ParameterError(f"learn={learn!r}: {err}") from None
            self.learn_target = learn
        p = effect.get_params()
        self._synth = "chroma" in p and "gate" in p
        if self._synth:
            self._note_slots = (effect.slot("chroma", discrete=True), effect.slot("gate", discrete=True),
                                effect.slot("gain", discrete=True))

    # -- target resolution ------------------------------------------------------------------------
    def _resolve(self, b: Binding) -> int | None:
        """The effect slot of a binding (None for bypass)."""
        if b in self._slot_of:
            return self._slot_of[b]
        t = b.target
        params = self.effect.get_params()
        if t == "bypass":
            if self.engine is None:
                raise ParameterError("bypass needs a live engine")
            slot = None
        else:
            parts = t.split(".")
            if len(parts) == 3 and parts[0] == "fader" and parts[1].isdigit() and parts[2] in ("scale", "offset"):
                name = f"{parts[2]}.{int(parts[1]) - 1}"
                if int(parts[1]) < 1:
                    raise ParameterError(f"{t!r}: faders count from 1")
            elif len(parts) == 2 and parts[0] == "latent" and parts[1].isdigit():
                if int(parts[1]) < 1:
                    raise ParameterError(f"{t!r}: latent units count from 1")
                name = f"latent.{int(parts[1]) - 1}"
            elif t == "gain" and "gain" not in params and "gain_db" in params:
                name = "gain_db"
            elif t == "octave":
                name = "octave_shift" if "octave_shift" in params else "octave"
            elif "." in t:
                raise ParameterError(f"target {t!r} is not valid; expected mix, bypass, gain, alpha, mode, "
                                     "fader.N.scale, fader.N.offset, latent.N, octave or a parameter name")
            else:
                name = t
            discrete = name in ("mode", "octave_shift", "octave", "chroma", "phase")
            slot = self.effect.slot(name, discrete=discrete)
        self._slot_of[b] = slot
        return slot

    def _value(self, b: Binding, slot: int, x: float):
        param, _, kind = self.effect._slots[slot]
        v = b.value(x)
        if param == "gain_db":  # a linear gain onto a dB parameter
            return float(np.clip(20 * np.log10(max(v, 1e-10)), -200.0, 48.0))
        if param == "mode":
            from effects.latent_mix import MODES

            choices = [m for m in MODES if m != "morph"]
            return choices[min(int(x * len(choices)), len(choices) - 1)]
        if param in ("octave_shift", "octave", "chroma"):
            return int(round(v))
        return v

    # -- input ------------------------------------------------------------------------------------
    def control(self, b: Binding | None, x, *, source: tuple) -> None:
        """Apply control position ``x`` (0..1) of binding ``b`` (None: no binding for ``source``)."""
        self._c["messages"] += 1
        self.last_arrival = time.perf_counter()
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            self._c["malformed"] += 1
            return
        if self.learn_target is not None and (b is None or source[0] == "cc"):
            self._learn(source)
            return
        if b is None:
            self._c["unknown"] += 1
            return
        if not 0.0 <= x <= 1.0:
            self._c["out_of_range"] += 1
            return
        slot = self._slot_of.get(b, -1)
        if slot == -1:
            slot = self._resolve(b)
        if slot is None:  # bypass
            if b.toggle:
                on = x >= 0.5
                if on and not self._pressed.get(b, False):
                    self.engine.bypass = not self.engine.bypass
                self._pressed[b] = on
            else:
                self.engine.bypass = x >= 0.5
        else:
            self.effect.set_target(slot, self._value(b, slot, float(x)))
        self._c["applied"] += 1

    def _learn(self, source: tuple) -> None:
        t = self.learn_target
        b = (binding(t, cc=source[1]) if source[0] == "cc" else binding(t, osc=source[1]))
        self._resolve(b)
        self.mapping.add(b)
        self.learn_target = None
        self._c["learned"] += 1
        if self.on_learn is not None:
            self.on_learn(b)

    def cc(self, channel: int, number: int, value: int) -> None:
        """A MIDI control change; ``channel`` 0-15 as on the wire."""
        self.control(self.mapping.for_cc(channel + 1, number), value / 127.0, source=("cc", (channel + 1, number)))

    def osc(self, address: str, args) -> None:
        """An OSC message: one number expected."""
        if len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], (int, float)):
            self._c["messages"] += 1
            self._c["malformed"] += 1
            return
        self.control(self.mapping.for_osc(address), float(args[0]), source=("osc", address))

    def note_on(self, note: int, velocity: int) -> None:
        """Mono, last-note priority: the newest held note sounds; velocity sets the gain."""
        self._c["messages"] += 1
        self.last_arrival = time.perf_counter()
        if not self._synth:
            self._c["unknown"] += 1
            return
        if velocity == 0:
            return self.note_off(note, counted=True)
        if note in self._notes:
            self._notes.remove(note)
        self._notes.append(note)
        chroma, gate, gain = self._note_slots
        self.effect.set_target(chroma, note % 12)
        self.effect.set_target(gain, round(velocity / 127.0, 6))
        self.effect.set_target(gate, True)
        self._c["notes"] += 1
        self._c["applied"] += 1

    def note_off(self, note: int, *, counted: bool = False) -> None:
        """Release, or fall back to the previous held note (no new attack: legato)."""
        if not counted:
            self._c["messages"] += 1
            self.last_arrival = time.perf_counter()
        if not self._synth:
            self._c["unknown"] += 1
            return
        if note not in self._notes:
            return
        top = self._notes[-1] == note
        self._notes.remove(note)
        chroma, gate, _ = self._note_slots
        if top and self._notes:
            self.effect.set_target(chroma, self._notes[-1] % 12)
        elif not self._notes:
            self.effect.set_target(gate, False)
        self._c["applied"] += 1

    def malformed(self) -> None:
        self._c["messages"] += 1
        self._c["malformed"] += 1

    def counts(self) -> dict:
        """messages, applied, unknown, malformed, out_of_range, notes, learned; plus rejected (by the effect)."""
        return {**self._c, "rejected": self.effect.rejected}

    def status(self) -> str:
        c = self.counts()
        return (f"control {c['messages']} msgs ({c['unknown']} unknown, {c['malformed']} malformed, "
                f"{c['out_of_range']} out of range)")


# -- receivers -----------------------------------------------------------------------------------
def _midi_api(api: str | None):
    import rtmidi

    if api is None:
        api = "alsa" if os.path.exists("/dev/snd/seq") else "jack"
    apis = {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK}
    if api not in apis:
        raise ParameterError(f"MIDI api={api!r} is not valid; expected alsa or jack")
    return api, apis[api]


def midi_ports(*, api: str | None = None) -> list[str]:
    """MIDI sources that can be opened (the ALSA sequencer's, or JACK MIDI output ports)."""
    import rtmidi

    name, api_id = _midi_api(api)
    try:
        m = rtmidi.MidiIn(rtapi=api_id, name="workbench-list")
    except (rtmidi.SystemError, RuntimeError) as err:
        raise ParameterError(f"MIDI ({name}) is not available here: {err}") from None
    try:
        return list(m.get_ports())
    finally:
        m.delete()


class MidiInput:
    """A MIDI source feeding a :class:`Controller`, on a polling thread.

    Parameters
    ----------
    controller : Controller
    port : str
        A source port name or part of it (``midi_ports()``).
    api : {"alsa", "jack"}, optional
        Default: ALSA where ``/dev/snd/seq`` exists, else JACK.
    client_name : str
    poll_ms : float
    priority : str
        :func:`workbench.devices.thread_priority` of the thread (it takes the GIL beside the
        audio callback, so it runs like the live engine's other threads).
    """

    def __init__(self, controller: Controller, port: str, *, api: str | None = None, client_name: str = "workbench",
                 poll_ms: float = 1.0, priority: str = "normal"):
        import mido  # noqa: F401 - the parser used below; checked here so a missing package fails early
        import rtmidi

        self.controller, self.poll_s, self.priority = controller, poll_ms * 1e-3, priority
        self.api, api_id = _midi_api(api)
        try:
            self._in = rtmidi.MidiIn(rtapi=api_id, name=client_name, queue_size_limit=8192)
        except (rtmidi.SystemError, RuntimeError) as err:
            raise ParameterError(f"MIDI ({self.api}) is not available here: {err}") from None
        names = list(self._in.get_ports())
        hits = [i for i, n in enumerate(names) if n == port] or [i for i, n in enumerate(names) if port in n]
        if len(hits) != 1:
            self._in.delete()
            what = "matches several" if hits else "matches none"
            raise ParameterError(f"MIDI port {port!r} {what} of the {self.api} MIDI sources; available: "
                                 f"{', '.join(names) if names else 'none'}")
        self.port_name = names[hits[0]]
        try:
            self._in.open_port(hits[0], "control_in")
        except (rtmidi.SystemError, RuntimeError) as err:
            self._in.delete()
            raise ParameterError(f"MIDI port {self.port_name!r} could not be opened: {err}") from None
        self._in.ignore_types(sysex=True, timing=True, active_sense=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="midi-in", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import mido

        thread_priority(self.priority)
        get, c = self._in.get_message, self.controller
        while not self._stop.is_set():
            msg = get()
            if msg is None:
                time.sleep(self.poll_s)
                continue
            try:
                m = mido.Message.from_bytes(msg[0])
            except (ValueError, TypeError, IndexError):
                c.malformed()
                continue
            if m.type == "control_change":
                c.cc(m.channel, m.control, m.value)
            elif m.type == "note_on":
                c.note_on(m.note, m.velocity)
            elif m.type == "note_off":
                c.note_off(m.note)
            else:
                c.control(None, 0.0, source=("other", m.type))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._in.close_port()
        self._in.delete()


class OscInput:
    """OSC over UDP feeding a :class:`Controller`, on a thread of its own.

    Parameters
    ----------
    controller : Controller
    port : int
        UDP port (0: any free one; see :attr:`port`).
    host : str
    priority : str
        As :class:`MidiInput`.
    """

    def __init__(self, controller: Controller, port: int, *, host: str = "127.0.0.1", priority: str = "normal"):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ParameterError(f"OSC port={port!r} must be an integer 0-65535")
        self.controller, self.priority = controller, priority
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.bind((host, port))
        except OSError as err:
            self._sock.close()
            raise ParameterError(f"OSC port {host}:{port} could not be opened ({err.strerror}); give a free UDP "
                                 "port, e.g. 9000, or 0 for any") from None
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self._sock.settimeout(0.1)
        self.host, self.port = host, self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="osc-in", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from pythonosc.osc_packet import OscPacket, ParseError

        thread_priority(self.priority)
        c = self.controller
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            try:
                msgs = OscPacket(data).messages
            except (ParseError, ValueError, IndexError, TypeError, OverflowError):
                c.malformed()
                continue
            for tm in msgs:
                c.osc(tm.message.address, tm.message.params)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()
