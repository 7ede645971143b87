"""Which control drives which parameter: the mapping file of MIDI CCs and OSC addresses.

A TOML file of ``[[control]]`` tables, each with ``cc = [channel, number]`` (channels 1-16) or
``osc = "/address"``, a ``target`` (``mix``, ``bypass``, ``gain``, ``alpha``, ``mode``,
``fader.N.scale``, ``fader.N.offset``, ``latent.N``, ``octave``, or any other numeric parameter
of the effect), a ``range`` and a ``curve`` (``linear`` or ``exp``, geometric, for gains).
Controls send 0..1 (CC value / 127; OSC: one number in [0, 1]). :func:`default_mapping` is an
eight-fader controller's layout (deepAutoController, seed 004). :mod:`live.control_input` acts on it.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import ParameterError
from workbench.validate import check_number

__all__ = ["Binding", "Mapping", "binding", "default_mapping", "load_mapping", "CURVES", "DEFAULT_RANGES",
           "OSC_PREFIX"]

CURVES = ("linear", "exp")
DEFAULT_RANGES = {"mix": (0.0, 1.0, "linear"), "gain": (0.01, 2.0, "exp"), "alpha": (0.0, 1.0, "linear"),
                  "scale": (0.0, 2.0, "linear"), "offset": (-1.0, 1.0, "linear"), "latent": (0.0, 1.0, "linear"),
                  "octave": (-2.0, 2.0, "linear"), "mode": (0.0, 1.0, "linear"), "bypass": (0.0, 1.0, "linear"),
                  "glide_ms": (0.0, 500.0, "linear")}
OSC_PREFIX = "/workbench"


# -- bindings --------------------------------------------------------------------------------
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
        """The control, for display: ``"cc 1:7"`` or ``"osc /address"``."""
        return f"cc {self.cc[0]}:{self.cc[1]}" if self.cc else f"osc {self.osc}"

    def value(self, x: float) -> float:
        """The parameter value for a control position.

        Parameters
        ----------
        x : float
            The control's position in [0, 1].

        Returns
        -------
        float
            ``lo`` at 0, ``hi`` at 1, along the curve.
        """
        if self.curve == "exp":
            return self.lo * (self.hi / self.lo) ** x
        return self.lo + (self.hi - self.lo) * x

    def to_toml(self) -> str:
        """This binding as a ``[[control]]`` table of a mapping file.

        Returns
        -------
        str
            TOML text, ending in a newline.
        """
        src = f"cc = [{self.cc[0]}, {self.cc[1]}]" if self.cc else f'osc = "{self.osc}"'
        extra = "\ntoggle = true" if self.toggle else ""
        return (f'[[control]]\n{src}\ntarget = "{self.target}"\nrange = [{self.lo!r}, {self.hi!r}]\n'
                f'curve = "{self.curve}"{extra}\n')


def binding(target: str, *, cc: Sequence[int] | None = None, osc: str | None = None, lo: float | None = None,
            hi: float | None = None, curve: str | None = None, toggle: bool | None = None) -> Binding:
    """A :class:`Binding` with the target's default range and curve where not given.

    Parameters
    ----------
    target : str
        The parameter (see the module docstring).
    cc : (channel, number), optional, keyword-only
        A MIDI CC, channel 1-16.
    osc : str, optional, keyword-only
        An OSC address (exactly one of ``cc`` and ``osc``).
    lo, hi : float, optional, keyword-only
        The parameter's values at control 0 and 1 (default: :data:`DEFAULT_RANGES` of the
        target's kind, else 0 and 1).
    curve : {"linear", "exp"}, optional, keyword-only
        Default: the kind's.
    toggle : bool, optional, keyword-only
        Default: True for a ``bypass`` CC, else False.

    Returns
    -------
    Binding

    Raises
    ------
    ParameterError
        A bad control, range or curve.
    """
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
    bindings : iterable of Binding
        Added in order (a later one replaces an earlier one of the same control).
    smooth_ms : float, ms, keyword-only
        Ramp time of continuous parameters, 0 to 1000.
    """

    def __init__(self, bindings: Iterable[Binding] = (), *, smooth_ms: float = 5.0):
        self.smooth_ms = check_number(smooth_ms, "smooth_ms", lo=0, hi=1000, what=" of milliseconds")
        self.bindings: list[Binding] = []
        self._cc: dict[tuple[int, int], Binding] = {}
        self._osc: dict[str, Binding] = {}
        for b in bindings:
            self.add(b)

    def add(self, b: Binding) -> None:
        """Add (or replace: one binding per control) a binding.

        Parameters
        ----------
        b : Binding
            The binding.
        """
        old = self._cc.get(b.cc) if b.cc else self._osc.get(b.osc)
        if old is not None:
            self.bindings.remove(old)
        self.bindings.append(b)
        if b.cc:
            self._cc[b.cc] = b
        else:
            self._osc[b.osc] = b

    def for_cc(self, channel: int, number: int) -> Binding | None:
        """The binding of a MIDI CC.

        Parameters
        ----------
        channel : int
            1-16.
        number : int
            0-127.

        Returns
        -------
        Binding or None
            None when the CC is not bound.
        """
        return self._cc.get((channel, number))

    def for_osc(self, address: str) -> Binding | None:
        """The binding of an OSC address.

        Parameters
        ----------
        address : str
            E.g. ``/workbench/mix``.

        Returns
        -------
        Binding or None
            None when the address is not bound.
        """
        return self._osc.get(address)

    def to_toml(self) -> str:
        """The mapping as a TOML file: ``smooth_ms`` and one ``[[control]]`` per binding.

        Returns
        -------
        str
            TOML text (:func:`load_mapping` reads it back).
        """
        head = ("# workbench control mapping: cc = [channel 1-16, number] or osc = \"/address\"; controls send 0..1\n"
                f"smooth_ms = {self.smooth_ms!r}\n")
        return head + "".join("\n" + b.to_toml() for b in self.bindings)

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_toml` to a file.

        Parameters
        ----------
        path : str or Path
            The TOML file to write.

        Returns
        -------
        Path
            The file written.
        """
        p = Path(path)
        p.write_text(self.to_toml())
        return p

    def __len__(self) -> int:
        return len(self.bindings)


def load_mapping(path: str | Path) -> Mapping:
    """Read a mapping TOML file (see the module docstring).

    Parameters
    ----------
    path : str or Path
        A mapping TOML file.

    Returns
    -------
    Mapping

    Raises
    ------
    ParameterError
        One line: a missing or invalid file, or a bad entry (named by its position).
    """
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


def default_mapping(*, synth: bool = False, keyboard: bool = False, units: int = 8) -> Mapping:
    """An eight-fader controller (nanoKONTROL-like numbering, channel 1), as deepAutoController:

    - faders CC 0-7: ``fader.N.scale`` (hidden unit N's gain; ``latent.N`` for the synth);
    - knobs CC 16-23: ``fader.N.offset`` (knob 1 ``gain`` and knob 2 ``glide_ms`` for the synth);
    - ``keyboard`` (a synth played from notes, :class:`live.ddsp_synth.DDSPSynth`): the General
      MIDI controllers instead of the faders: CC 11 ``expression``, CC 7 ``volume``, CC 5
      ``glide_ms`` (portamento time), CC 16 ``gain``;
    - button CC 41: ``bypass`` (toggle); CC 24: ``mix``, CC 25: ``alpha``, CC 26: ``gain`` (effects);
    - every target also answers at OSC ``/workbench/<target with / for .>``, e.g.
      ``/workbench/fader/1/scale``.

    Targets the effect does not have are left out when the mapping is bound
    (:meth:`Controller.bind_all` with ``strict=False``).

    Parameters
    ----------
    synth : bool, keyword-only
        The latent synthesizer's layout (``latent.N``, ``gain``, ``glide_ms``) instead of an effect's.
    keyboard : bool, keyword-only
        The General MIDI layout of a synth played from notes (no faders).
    units : int, keyword-only
        Faders (latent units) mapped.

    Returns
    -------
    Mapping
        The CC bindings, then their OSC twins.
    """
    items = []
    if keyboard:
        units = 0
        items += [binding("expression", cc=(1, 11)), binding("volume", cc=(1, 7)), binding("glide_ms", cc=(1, 5)),
                  binding("gain", cc=(1, 16))]
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
