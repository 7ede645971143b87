"""Reference notes of an instrument, rendered apart from any training or target material.

The timbre measure (``analysis.harmonic_timbre``) compares an output with the instrument's own
notes at the same pitch. If those notes were the clips a model trained on, or a baseline's target
material, the measure would reward copying them. An outside listener knows the instrument from
other playing: here sustained single notes at other velocities than the training renders (the
random melodies play 50-120 with notes of at most 1.2 s; the demo corpus 75 and 127, held 3 s).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workbench.audio import save
from workbench.corpus.families import instrument_str, playable_range
from workbench.corpus.synth import GMSynth
from workbench.corpus.truth import read_truth, write_truth
from workbench.errors import ParameterError
from workbench.validate import check_int

__all__ = ["render_reference_notes", "note_layers", "REFERENCE_VELOCITIES"]

PEAK = 10 ** (-1 / 20)
# soft and loud, both outside the melodies' 50-120 and off the demo corpus's 75 / 127
REFERENCE_VELOCITIES = (40, 124)


def render_reference_notes(out: str | Path, *, program: int, velocities: Sequence[int] = REFERENCE_VELOCITIES,
                           hold: float = 2.0, seconds: float = 2.5, step: int = 1, low: int | None = None,
                           high: int | None = None, sr: int = 16000, soundfont: str | Path | None = None,
                           progress: bool = True) -> dict:
    """Render sustained single notes of a GM program across its range, for the timbre measure's reference.

    Writes ``note_<pitch>_<velocity>.wav`` (16-bit, each peak -1 dBFS), a ground-truth ``.json``
    per note and ``index.json``. Deterministic (FluidSynth with a fresh synth per call).

    Parameters
    ----------
    out : str or Path
        The folder (created).
    program : int, keyword-only
        The General MIDI program.
    velocities : sequence of int, keyword-only
        1-127; by default :data:`REFERENCE_VELOCITIES`, outside the training renders' velocities.
    hold : float, seconds, keyword-only
        Note-on time, longer than any melody note (sustained tone, not attacks).
    seconds : float, seconds, keyword-only
        Length of each file (the release follows ``hold``).
    step : int, semitones, keyword-only
        Every ``step``-th pitch from ``low`` (1: every semitone).
    low, high : int or None, MIDI, keyword-only
        Inclusive range; None takes :func:`~workbench.corpus.families.playable_range`.
    sr : int, Hz, keyword-only
        Sample rate.
    soundfont : str or Path, optional, keyword-only
        The SoundFont (:func:`~workbench.corpus.synth.find_soundfont` when None).
    progress : bool, keyword-only
        Show a progress bar.

    Returns
    -------
    dict
        What ``index.json`` holds: program, instrument, velocities, hold, seconds, sr, range and
        the notes (``items``: name, pitch, velocity).

    Raises
    ------
    ParameterError
        A velocity outside 1-127, a hold not in ``(0, seconds)``, a bad step or range, or a
        program that renders silence.

    Examples
    --------
    >>> render_reference_notes("data/trumpet-reference", program=56)  # doctest: +SKIP
    """
    from tqdm import tqdm

    step = check_int(step, "step")
    velocities = tuple(int(v) for v in velocities)
    if not velocities or any(not 1 <= v <= 127 for v in velocities):
        raise ParameterError(f"velocities={velocities} must be MIDI velocities in [1, 127]")
    if not 0 < hold < seconds:
        raise ParameterError(f"hold={hold} must be in (0, seconds={seconds}) seconds")
    lo, hi = playable_range(program)
    low, high = lo if low is None else int(low), hi if high is None else int(high)
    if not 0 <= low <= high <= 127:
        raise ParameterError(f"range [{low}, {high}] must be MIDI notes with low <= high")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    items = []
    notes = [(p, v) for p in range(low, high + 1, step) for v in velocities]
    with GMSynth(sr=sr, soundfont=soundfont) as synth:
        for pitch, vel in tqdm(notes, desc="reference notes", unit="note", disable=not progress):
            y = synth.note(program, pitch, vel, hold=hold, seconds=seconds)
            peak = float(np.abs(y).max())
            if peak <= 0:
                raise ParameterError(f"program={program} rendered silence at pitch {pitch}; expected a pitched "
                                     "GM instrument")
            name = f"note_{pitch:03d}_{vel:03d}"
            save(out / f"{name}.wav", y * (PEAK / peak), sr, subtype="PCM_16")
            write_truth(out / f"{name}.json", audio=f"{name}.wav", sr=sr, seconds=seconds,
                        source=f"fluidsynth:{instrument_str(program)}", program=program,
                        notes=[{"onset": 0.0, "offset": hold, "pitch": pitch, "velocity": vel}])
            items.append({"name": name, "pitch": pitch, "velocity": vel})
    summary = {"program": program, "instrument": instrument_str(program), "velocities": list(velocities),
               "hold": hold, "seconds": seconds, "sr": sr, "range": [low, high], "step": step, "items": items}
    (out / "index.json").write_text(json.dumps(summary, indent=1))
    return summary


def note_layers(paths: Sequence[str | Path]) -> list[int] | None:
    """The velocity each audio file was played at, read from its ground-truth JSON beside it.

    The timbre measure fits one reference layer per velocity
    (:meth:`analysis.harmonic_timbre.HarmonicReference.fit`'s ``layers``): an instrument's
    harmonic levels change with how hard it is played.

    Parameters
    ----------
    paths : sequence of str or Path
        Audio files (``x.wav`` with ``x.json`` as :func:`render_reference_notes` writes them).

    Returns
    -------
    list of int or None
        One velocity per file; None when a file has no ground truth, no notes, or notes at
        several velocities (melodies): then there are no layers to tell apart.
    """
    out = []
    for p in paths:
        truth = Path(p).with_suffix(".json")
        if not truth.is_file():
            return None
        vel = {n.get("velocity") for n in read_truth(truth).get("notes", [])}
        if len(vel) != 1 or None in vel:
            return None
        out.append(int(vel.pop()))
    return out
