"""Random monophonic melodies played by a GM instrument, with MIDI files and ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from workbench.audio import save
from workbench.corpus.families import instrument_str, playable_range
from workbench.corpus.synth import GMSynth
from workbench.corpus.truth import write_truth
from workbench.errors import ParameterError
from workbench.validate import check_int

__all__ = ["random_melody", "write_midi", "render_melodies"]

PEAK = 10 ** (-1 / 20)


def random_melody(rng: np.random.Generator, *, low: int, high: int, seconds: float,
                  tail: float = 0.6) -> list[dict]:
    """A random melody inside ``[low, high]`` that ends ``tail`` s before ``seconds``.

    A random walk of steps up to a fourth (no repeated pitch) with note lengths of 0.2-1.2 s;
    each note is legato (note-off at the next onset) or detached (55-85 % of its slot, the rest
    silent), with a short rest now and then; velocities 50-120.

    Parameters
    ----------
    rng : np.random.Generator
        Where every choice is drawn from.
    low, high : int, MIDI, keyword-only
        Inclusive pitch range, at least 3 semitones wide.
    seconds : float, seconds, keyword-only
        Length of the clip the melody is for.
    tail : float, seconds, keyword-only
        Silence left at the end (for the last note's release).

    Returns
    -------
    list of dict
        Notes ``{"onset": s, "offset": s, "pitch": midi, "velocity": 50-120}`` in time order.

    Raises
    ------
    ParameterError
        A range narrower than 3 semitones, or ``seconds`` too short for one note.
    """
    if high - low < 2:
        raise ParameterError(f"pitch range [{low}, {high}] is too narrow for a melody; expected at least 3 semitones")
    notes, t = [], 0.1 + 0.2 * rng.random()
    pitch = int(rng.integers(low + (high - low) // 4, high - (high - low) // 4 + 1))
    end = seconds - tail
    while True:
        slot = float(rng.choice([0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2]))
        if t + slot > end:
            break
        legato = rng.random() < 0.5
        dur = slot if legato else slot * float(rng.uniform(0.55, 0.85))
        notes.append({"onset": t, "offset": t + dur, "pitch": pitch, "velocity": int(rng.integers(50, 121))})
        t += slot
        if rng.random() < 0.12:
            t += float(rng.choice([0.2, 0.4]))
        step = 0
        while step == 0 or not low <= pitch + step <= high:
            step = int(rng.integers(-5, 6))
        pitch += step
    if not notes:
        raise ParameterError(f"seconds={seconds} leaves no room for a note; expected at least {tail + 0.5:.1f} s")
    return notes


def write_midi(path: str | Path, notes: list[dict], *, program: int, seconds: float) -> Path:
    """Write notes as a one-track MIDI file (pretty_midi, 120 bpm).

    Parameters
    ----------
    path : str or Path
        The ``.mid`` file.
    notes : list of dict
        ``onset``, ``offset`` (seconds), ``pitch`` (MIDI) and ``velocity`` of each note.
    program : int, keyword-only
        The track's General MIDI program.
    seconds : float, seconds, keyword-only
        The clip's length (not written: the file ends with its last note-off).

    Returns
    -------
    Path
        The file written.
    """
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=int(program))
    for n in notes:
        inst.notes.append(pretty_midi.Note(velocity=int(n["velocity"]), pitch=int(n["pitch"]),
                                           start=float(n["onset"]), end=float(n["offset"])))
    pm.instruments.append(inst)
    pm.write(str(path))
    return Path(path)


def render_melodies(out: str | Path, *, program: int, count: int = 40, seconds: float = 8.0, seed: int = 0,
                    sr: int = 16000, low: int | None = None, high: int | None = None,
                    soundfont: str | Path | None = None, progress: bool = True) -> dict:
    """Render random melodies (:func:`random_melody`) with a GM instrument into a folder.

    Writes ``melody_###.wav`` (16-bit, peak -1 dBFS), ``.mid`` and ``.json`` (ground-truth
    notes) per melody and ``index.json``. Deterministic for ``seed``.

    Parameters
    ----------
    out : str or Path
        The folder (created).
    program : int, keyword-only
        The General MIDI program that plays.
    count : int, keyword-only
        How many melodies.
    seconds : float, seconds, keyword-only
        Length of each, at least 1.5.
    seed : int, keyword-only
        Generator seed.
    sr : int, Hz, keyword-only
        Sample rate of the audio.
    low, high : int or None, MIDI, keyword-only
        Pitch range; None takes the program's :func:`~workbench.corpus.families.playable_range`.
    soundfont : str or Path, optional, keyword-only
        The SoundFont (:func:`~workbench.corpus.synth.find_soundfont` when None).
    progress : bool, keyword-only
        Show a progress bar.

    Returns
    -------
    dict
        What ``index.json`` holds: program, instrument, count, seconds, seed, sr, range and the
        melodies' names (``items``).
    """
    from tqdm import tqdm

    count = check_int(count, "count")
    if seconds < 1.5:
        raise ParameterError(f"seconds={seconds} is too short for a melody; expected at least 1.5")
    lo, hi = playable_range(program)
    low = lo if low is None else low
    high = hi if high is None else high
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    index = []
    with GMSynth(sr=sr, soundfont=soundfont) as synth:
        for i in tqdm(range(count), desc="melodies", unit="melody", disable=not progress):
            notes = random_melody(rng, low=low, high=high, seconds=seconds)
            y = synth.sequence(program, notes, seconds=seconds)
            peak = float(np.abs(y).max())
            if peak <= 0:
                raise ParameterError(f"program={program} rendered silence; expected a pitched GM instrument")
            name = f"melody_{i:03d}"
            save(out / f"{name}.wav", y * (PEAK / peak), sr, subtype="PCM_16")
            write_midi(out / f"{name}.mid", notes, program=program, seconds=seconds)
            write_truth(out / f"{name}.json", audio=f"{name}.wav", sr=sr, seconds=seconds,
                        source=f"fluidsynth:{instrument_str(program)}", notes=notes, program=program)
            index.append(name)
    summary = {"program": program, "instrument": instrument_str(program), "count": count, "seconds": seconds,
               "seed": seed, "sr": sr, "range": [low, high], "items": index}
    (out / "index.json").write_text(json.dumps(summary, indent=1))
    return summary
