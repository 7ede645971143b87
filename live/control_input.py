"""MIDI and OSC control of a live effect: messages to parameter targets, and the receivers.

deepAutoController (seed 004) put a MIDI controller's eight faders on hidden units and its
buttons on bypass; MANNe (seed 002) gave a slider per bottleneck unit. Here any effect run by
:class:`live.engine.LiveEngine` gets the same:

- :mod:`live.mapping`: which control drives which parameter (the TOML file, the default
  eight-fader layout).
- :mod:`live.controlled_effect`: the effect wrapper that applies targets between blocks, smoothed
  and logged.
- :class:`Controller`: turns messages into targets, counts what it could not use (unknown
  controls, malformed messages, values out of range), binds a control in learn mode, and plays
  notes: mono, last-note priority, on a :class:`live.latent_synth.LatentSynth`; polyphonic on a
  :class:`live.ddsp_synth.DDSPSynth` (a free voice, else the one sounding longest is stolen),
  with pitch bend.
- :class:`MidiInput` (python-rtmidi ports, mido's parser; the ALSA sequencer where there is
  one, else JACK MIDI) and :class:`OscInput` (a UDP socket, python-osc's parser), each on a
  thread of its own. The MIDI port is polled (about every millisecond) rather than given a
  callback: under JACK, rtmidi calls a callback on JACK's real-time thread, where waiting for
  Python's lock would make the whole graph late.

Nothing here raises on what arrives over the wire: it is counted (:meth:`Controller.counts`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from live.controlled_effect import ControlledEffect
from live.mapping import Binding, Mapping, binding
from workbench.devices import thread_priority
from workbench.errors import ParameterError
from workbench.validate import check_int, is_number

__all__ = ["Controller", "MidiInput", "OscInput", "midi_ports"]

log = logging.getLogger(__name__)


# -- messages -> targets -------------------------------------------------------------------------
class Controller:
    """Receives control messages (any thread) and turns them into targets of a :class:`ControlledEffect`.

    Parameters
    ----------
    effect : ControlledEffect
        The effect whose targets the controls set.
    mapping : Mapping
        The bindings; those the effect cannot take are refused or dropped (``strict``).
    engine : object, optional, keyword-only
        Has a ``bypass`` attribute (a :class:`live.engine.LiveEngine`); needed for ``bypass``.
    learn : str, optional, keyword-only
        Bind the next control that moves (a CC, or an OSC address with no binding) to this target.
    on_learn : callable, optional, keyword-only
        Called with the new :class:`Binding`.
    strict : bool, keyword-only
        Raise ``ParameterError`` for a binding whose target the effect lacks (a user's file);
        False drops them with a log line (the default layout).
    """

    def __init__(self, effect: ControlledEffect, mapping: Mapping, *, engine: object | None = None,
                 learn: str | None = None, on_learn: Callable[[Binding], object] | None = None, strict: bool = True):
        self.effect, self.mapping, self.engine = effect, mapping, engine
        self.on_learn = on_learn
        self._c = dict(messages=0, applied=0, unknown=0, malformed=0, out_of_range=0, notes=0, learned=0, stolen=0)
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
        self._poly = isinstance(p.get("note"), tuple) and "velocity" in p
        self._synth = self._poly or ("chroma" in p and "gate" in p)
        if self._poly:  # one (note, velocity, gate) slot triple per voice
            self._voice_slots = [tuple(effect.slot(f"{name}.{i}", discrete=True) for name in ("note", "velocity", "gate"))
                                 for i in range(len(p["note"]))]
            self._voice_note: list[int | None] = [None] * len(p["note"])
            self._voice_time = [0] * len(p["note"])  # when each voice was last given or released a note
            self._clock = 0
            self._bend_slot = effect.slot("bend", discrete=True)
        elif self._synth:
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
        param = self.effect.slot_info(slot)[0]
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
    def control(self, b: Binding | None, x: object, *, source: tuple) -> None:
        """Apply a control position; what cannot be used is counted, never raised.

        Parameters
        ----------
        b : Binding or None
            The control's binding (None: ``source`` has none).
        x : object
            The position, a number in [0, 1] (anything else counts as malformed or out of range).
        source : tuple, keyword-only
            ``("cc", (channel 1-16, number))``, ``("osc", address)`` or another kind, for learn mode.
        """
        self._c["messages"] += 1
        self.last_arrival = time.perf_counter()
        if not is_number(x):
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
        """A MIDI control change.

        Parameters
        ----------
        channel : int
            0-15, as on the wire.
        number : int
            0-127.
        value : int
            0-127 (the position ``value / 127``).
        """
        self.control(self.mapping.for_cc(channel + 1, number), value / 127.0, source=("cc", (channel + 1, number)))

    def osc(self, address: str, args: Sequence[object]) -> None:
        """An OSC message.

        Parameters
        ----------
        address : str
            Its address.
        args : sequence
            Its arguments: one number in [0, 1] expected (anything else counts as malformed, a
            number outside [0, 1] as out of range).
        """
        if len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], (int, float)):
            self._c["messages"] += 1
            self._c["malformed"] += 1
            return
        self.control(self.mapping.for_osc(address), float(args[0]), source=("osc", address))

    def note_on(self, note: int, velocity: int) -> None:
        """A note: on the latent synthesizer mono, last-note priority (the newest held note sounds);
        on a polyphonic synth, a voice of its own (:meth:`_voice_on`).

        Parameters
        ----------
        note : int, MIDI
            Its pitch class is the synth's chroma.
        velocity : int
            1-127 sets the gain (``velocity / 127``); 0 is a note-off.
        """
        self._c["messages"] += 1
        self.last_arrival = time.perf_counter()
        if not self._synth:
            self._c["unknown"] += 1
            return
        if velocity == 0:
            return self.note_off(note, counted=True)
        if self._poly:
            self._voice_on(note, velocity)
            self._c["notes"] += 1
            self._c["applied"] += 1
            return
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
        """Release, or fall back to the previous held note (no new attack: legato).

        Parameters
        ----------
        note : int, MIDI
            The note released.
        counted : bool, keyword-only
            The message was counted already (a note-on of velocity 0).
        """
        if not counted:
            self._c["messages"] += 1
            self.last_arrival = time.perf_counter()
        if not self._synth:
            self._c["unknown"] += 1
            return
        if self._poly:
            if note in self._voice_note:
                v = self._voice_note.index(note)
                self._voice_note[v] = None
                self._clock += 1
                self._voice_time[v] = self._clock
                self.effect.set_target(self._voice_slots[v][2], 0.0)
                self._c["applied"] += 1
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

    def _voice_on(self, note: int, velocity: int) -> None:
        """Give a note a voice: the one already playing it, else the free voice released longest
        ago, else the voice that has sounded longest (stolen: it moves to the new note)."""
        held = self._voice_note
        if note in held:
            v = held.index(note)
        else:
            free = [i for i, n in enumerate(held) if n is None]
            v = min(free or range(len(held)), key=self._voice_time.__getitem__)
            if not free:
                self._c["stolen"] += 1
        self._clock += 1
        held[v], self._voice_time[v] = note, self._clock
        n, vel, gate = self._voice_slots[v]
        self.effect.set_target(n, float(note))
        self.effect.set_target(vel, round(velocity / 127.0, 6))
        self.effect.set_target(gate, 1.0)

    def pitch_bend(self, value: float) -> None:
        """A pitch bend for a polyphonic synth (all its voices).

        Parameters
        ----------
        value : float
            -1 (full down) to 1 (full up); the synth's ``bend_range`` gives the semitones.
        """
        self._c["messages"] += 1
        self.last_arrival = time.perf_counter()
        if not self._poly:
            self._c["unknown"] += 1
            return
        if not (is_number(value) and -1.0 <= value <= 1.0):
            self._c["out_of_range"] += 1
            return
        self.effect.set_target(self._bend_slot, float(value))
        self._c["applied"] += 1

    def malformed(self) -> None:
        """Count a message that could not be parsed."""
        self._c["messages"] += 1
        self._c["malformed"] += 1

    def counts(self) -> dict:
        """What arrived and what became of it.

        Returns
        -------
        dict of str to int
            ``messages``, ``applied``, ``unknown``, ``malformed``, ``out_of_range``, ``notes``,
            ``learned``, ``stolen`` (voices taken from a sounding note), and ``rejected`` (targets
            the effect refused).
        """
        return {**self._c, "rejected": self.effect.rejected}

    def status(self) -> str:
        """One line of the counts for a console.

        Returns
        -------
        str
            Messages, and how many were unknown, malformed or out of range.
        """
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
    """MIDI sources that can be opened.

    Parameters
    ----------
    api : {"alsa", "jack"}, optional, keyword-only
        Default: the ALSA sequencer where ``/dev/snd/seq`` exists, else JACK MIDI.

    Returns
    -------
    list of str
        Port names (the ALSA sequencer's, or JACK MIDI output ports).

    Raises
    ------
    ParameterError
        An unknown api, or MIDI not available here.
    """
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
            elif m.type == "pitchwheel":
                c.pitch_bend(m.pitch / (8192.0 if m.pitch < 0 else 8191.0))
            else:
                c.control(None, 0.0, source=("other", m.type))

    def close(self) -> None:
        """Stop the thread (waiting up to 2 s) and close the port."""
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
        port = check_int(port, "OSC port", lo=0, hi=65535)
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
        """Stop the thread (waiting up to 2 s) and close the socket."""
        self._stop.set()
        self._thread.join(2)
        self._sock.close()
