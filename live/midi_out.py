"""The pitch an effect detects, sent out as MIDI notes (``workbench live --method ddsp --midi-out PORT``).

:class:`NoteFollower` turns a frame-rate pitch track (MIDI, voiced or not) into note-on and
note-off events, with the hysteresis a pitch-to-MIDI converter needs: a note starts once the
pitch has stayed within ``HOLD_CENTS`` of one semitone for ``settle`` frames, and stops when the
frames turn unvoiced or the pitch settles on another note; vibrato within the band does not
retrigger. Each event carries the frame it happened at, so a file gives the same events offline
as in a stream. :class:`MidiNoteOut` owns a virtual MIDI output port (python-rtmidi, ALSA or
JACK) and a thread that sends the events the audio worker queued: nothing on the audio path
waits for MIDI.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

import numpy as np

from workbench.errors import ParameterError
from workbench.validate import check_int

__all__ = ["NoteFollower", "MidiNoteOut", "HOLD_CENTS"]

log = logging.getLogger(__name__)

HOLD_CENTS = 70.0  # a sounding note holds while the pitch stays this close to it (vibrato, scoops)


class NoteFollower:
    """Frame pitch -> MIDI note events, with settling and hysteresis.

    Parameters
    ----------
    settle : int, keyword-only
        Voiced frames on one semitone (within 50 cents) before its note starts (1 to 16).
    velocity : int, keyword-only
        Note-on velocity (1 to 127).

    Attributes
    ----------
    frame : int
        Frames seen so far.
    sounding : int or None
        The note on, if any.
    """

    def __init__(self, *, settle: int = 2, velocity: int = 100):
        check_int(settle, "settle", lo=1, hi=16)
        check_int(velocity, "velocity", lo=1, hi=127)
        self.settle, self.velocity = int(settle), int(velocity)
        self.reset()

    def reset(self) -> None:
        """Forget the track (no note sounding; the events already returned stand)."""
        self.frame = 0
        self.sounding: int | None = None
        self._candidate: int | None = None
        self._count = 0

    def feed(self, midi: np.ndarray, voiced: np.ndarray) -> list[tuple[int, str, int]]:
        """Events for the next frames.

        Parameters
        ----------
        midi : np.ndarray [shape=(k,)], MIDI
            Pitch per frame (any value where unvoiced).
        voiced : np.ndarray [shape=(k,)], bool
            Whether each frame is voiced.

        Returns
        -------
        list of (int, str, int)
            ``(frame, "on" or "off", note)`` in order; an "off" precedes the "on" of a new note at
            the same frame.
        """
        events = []
        for m, v in zip(np.asarray(midi, np.float64), np.asarray(voiced, bool)):
            f = self.frame
            self.frame += 1
            if not v or not np.isfinite(m):
                self._candidate, self._count = None, 0
                if self.sounding is not None:
                    events.append((f, "off", self.sounding))
                    self.sounding = None
                continue
            if self.sounding is not None and abs(m - self.sounding) * 100 <= HOLD_CENTS:
                self._candidate, self._count = None, 0
                continue
            n = int(np.clip(round(m), 0, 127))
            self._count = self._count + 1 if n == self._candidate else 1
            self._candidate = n
            if self._count >= self.settle:
                if self.sounding is not None:
                    events.append((f, "off", self.sounding))
                events.append((f, "on", n))
                self.sounding, self._candidate, self._count = n, None, 0
        return events

    def flush(self) -> list[tuple[int, str, int]]:
        """The note-off of a note still sounding (at the end of a stream)."""
        if self.sounding is None:
            return []
        ev = [(self.frame, "off", self.sounding)]
        self.sounding = None
        return ev


class MidiNoteOut:
    """A virtual MIDI output port that sends the notes a :class:`NoteFollower` finds, on a thread.

    The audio worker calls :meth:`push` with its frames' pitch (cheap: it queues the events); a
    sender thread writes them to the port.

    Parameters
    ----------
    port : str
        Name of the port this creates (other programs connect to it).
    api : {"alsa", "jack"}, optional, keyword-only
        Default: the ALSA sequencer where ``/dev/snd/seq`` exists, else JACK.
    channel : int, keyword-only
        MIDI channel 1-16.
    settle : int, keyword-only
        As :class:`NoteFollower`.
    client_name : str, keyword-only
        The MIDI client's name.
    """

    def __init__(self, port: str, *, api: str | None = None, channel: int = 1, settle: int = 2,
                 client_name: str = "workbench"):
        import rtmidi

        from live.control_input import _midi_api

        check_int(channel, "channel", lo=1, hi=16)
        if not isinstance(port, str) or not port.strip():
            raise ParameterError(f"--midi-out {port!r} is not valid; expected a port name")
        self.follower = NoteFollower(settle=settle)
        self.channel, self.port_name = int(channel) - 1, port
        self.api, api_id = _midi_api(api)
        try:
            self._out = rtmidi.MidiOut(rtapi=api_id, name=client_name)
            self._out.open_virtual_port(port)
        except (rtmidi.SystemError, RuntimeError) as err:
            raise ParameterError(f"MIDI output ({self.api}) is not available here: {err}") from None
        self._queue: collections.deque = collections.deque(maxlen=4096)
        self.sent = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="midi-out", daemon=True)
        self._thread.start()

    def push(self, midi: np.ndarray, voiced: np.ndarray) -> None:
        """Queue the events of the next frames (from the audio worker; never blocks).

        Parameters
        ----------
        midi : np.ndarray [shape=(k,)], MIDI
        voiced : np.ndarray [shape=(k,)], bool
        """
        events = self.follower.feed(midi, voiced)
        if events:
            self._queue.extend(events)
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.05)
            self._wake.clear()
            self._send_queued()

    def _send_queued(self) -> None:
        while self._queue:
            _, kind, note = self._queue.popleft()
            status = (0x90 if kind == "on" else 0x80) | self.channel
            self._out.send_message([status, note, self.follower.velocity if kind == "on" else 0])
            self.sent += 1

    def close(self) -> None:
        """Send the last note-off, stop the thread and close the port."""
        self._queue.extend(self.follower.flush())
        self._stop.set()
        self._wake.set()
        self._thread.join(2)
        self._send_queued()
        time.sleep(0.05)  # let the last message leave before the port goes
        self._out.close_port()
        self._out.delete()
