"""FluidSynth in-process with the General MIDI SoundFont: dry notes and note sequences."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from workbench.errors import ParameterError

__all__ = ["find_soundfont", "GMSynth", "DEFAULT_SOUNDFONT"]

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


def find_soundfont(path: str | os.PathLike | None = None) -> Path:
    """The SoundFont to render with.

    Parameters
    ----------
    path : str or PathLike, optional
        The ``.sf2`` file; when None, ``$WORKBENCH_SOUNDFONT``, else Debian's FluidR3 GM
        (:data:`DEFAULT_SOUNDFONT`).

    Returns
    -------
    Path
        The file, checked to exist.

    Raises
    ------
    ParameterError
        The file does not exist (the message says how to install it).
    """
    p = Path(path or os.environ.get("WORKBENCH_SOUNDFONT") or DEFAULT_SOUNDFONT)
    if not p.is_file():
        raise ParameterError(
            f"soundfont={str(p)!r} not found; expected a .sf2 file "
            f"(install it with: apt-get install fluid-soundfont-gm, or run `make setup`)"
        )
    return p


class GMSynth:
    """A dry (no reverb, no chorus) FluidSynth instance with one SoundFont loaded.

    Rendering is deterministic for a fresh instance and a fixed order of calls: FluidSynth's
    16-bit dither advances with the synth's own state, so corpus workers create one instance
    per task.

    Parameters
    ----------
    sr : int, Hz, keyword-only
        Output sample rate, 8000 to 96000.
    soundfont : str or PathLike, optional, keyword-only
        See :func:`find_soundfont`.
    gain : float, keyword-only
        FluidSynth master gain; 0.5 keeps single notes well clear of int16 clipping.
    """

    def __init__(self, *, sr: int = 16000, soundfont: str | os.PathLike | None = None, gain: float = 0.5):
        import fluidsynth  # imported here: the native library loads only when rendering

        if not 8000 <= int(sr) <= 96000:
            raise ParameterError(f"sr={sr!r} must be between 8000 and 96000 Hz for FluidSynth")
        self.sr = int(sr)
        self.path = find_soundfont(soundfont)
        self._fs = fluidsynth.Synth(
            gain=gain, samplerate=self.sr,
            **{"synth.reverb.active": 0, "synth.chorus.active": 0, "synth.polyphony": 64},
        )
        self._sfid = self._fs.sfload(str(self.path))
        if self._sfid < 0:
            raise ParameterError(f"soundfont={str(self.path)!r} could not be loaded by FluidSynth")

    def close(self) -> None:
        """Free the FluidSynth instance (again: nothing); the synth renders no more after it."""
        if self._fs is not None:
            self._fs.delete()
            self._fs = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _samples(self, n: int) -> np.ndarray:
        if n <= 0:
            return np.zeros(0, np.float32)
        s = np.asarray(self._fs.get_samples(int(n)), dtype=np.float32).reshape(-1, 2)
        return s.mean(axis=1) / 32768.0

    def note(self, program: int, pitch: int, velocity: int, *, hold: float = 3.0, seconds: float = 4.0) -> np.ndarray:
        """One note on a fresh (reset) channel: note-on for ``hold`` s, then its release until ``seconds``.

        Parameters
        ----------
        program : int
            General MIDI program.
        pitch : int, MIDI
            The note.
        velocity : int
            1-127.
        hold : float, seconds, keyword-only
            Time from note-on to note-off.
        seconds : float, seconds, keyword-only
            Total length.

        Returns
        -------
        np.ndarray [shape=(round(max(hold, seconds) * sr),), dtype=float32]
            Mono (the mean of FluidSynth's two channels), full scale 1.
        """
        self._fs.system_reset()
        self._fs.program_select(0, self._sfid, 0, int(program))
        n_hold = int(round(hold * self.sr))
        n_total = int(round(seconds * self.sr))
        self._fs.noteon(0, int(pitch), int(velocity))
        a = self._samples(n_hold)
        self._fs.noteoff(0, int(pitch))
        b = self._samples(n_total - n_hold)
        return np.concatenate([a, b])

    def sequence(self, program: int, notes: list[dict], *, seconds: float) -> np.ndarray:
        """Render notes on one (reset) channel, each event at its exact sample.

        Parameters
        ----------
        program : int
            General MIDI program.
        notes : list of dict
            ``onset``, ``offset`` (seconds), ``pitch`` (MIDI) and ``velocity`` of each note; at
            one sample, note-offs come before note-ons, and events after ``seconds`` are applied
            at the end.
        seconds : float, seconds, keyword-only
            Length of the output.

        Returns
        -------
        np.ndarray [shape=(round(seconds * sr),), dtype=float32]
            Mono (the mean of FluidSynth's two channels), full scale 1.
        """
        self._fs.system_reset()
        self._fs.program_select(0, self._sfid, 0, int(program))
        events = []
        for n in notes:
            events.append((int(round(n["onset"] * self.sr)), 1, int(n["pitch"]), int(n["velocity"])))
            events.append((int(round(n["offset"] * self.sr)), 0, int(n["pitch"]), 0))
        events.sort(key=lambda e: (e[0], e[1]))  # note-offs before note-ons at the same sample
        total = int(round(seconds * self.sr))
        out, pos = [], 0
        for at, on, pitch, vel in events:
            at = min(at, total)
            out.append(self._samples(at - pos))
            pos = max(pos, at)
            if on:
                self._fs.noteon(0, pitch, vel)
            else:
                self._fs.noteoff(0, pitch)
        out.append(self._samples(total - pos))
        return np.concatenate(out)
