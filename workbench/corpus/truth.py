"""Ground-truth note lists: JSON files, frame-wise reference f0, agreement with pYIN."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from workbench.errors import ParameterError
from workbench.pitch import cents as cents_off
from workbench.pitch import midi_to_hz, pyin_f0

__all__ = ["write_truth", "read_truth", "ground_truth_notes", "reference_f0", "note_segments", "f0_agreement"]


def write_truth(path: str | Path, *, audio: str, sr: int, seconds: float, source: str, notes: list[dict],
                **extra: object) -> Path:
    """Write a ground-truth JSON: audio file name, rate, length, source and notes.

    Parameters
    ----------
    path : str or Path
        The JSON file to write.
    audio : str, keyword-only
        The audio file's name, relative to the JSON's folder.
    sr : int, Hz, keyword-only
        Its sample rate.
    seconds : float, seconds, keyword-only
        Its length.
    source : str, keyword-only
        What made it (e.g. ``"festival:kal_diphone"``).
    notes : list of dict, keyword-only
        Each ``{"onset": s, "offset": s, "pitch": midi, "velocity": 1-127}``; ``offset`` is the
        note-off time (an instrument's release may sound after it). Floats are rounded to 6 digits.
    **extra
        More top-level fields (``kind``, ``text``, ``bpm``...), written as given.

    Returns
    -------
    Path
        The file written.
    """
    p = Path(path)
    doc = {"audio": audio, "sr": int(sr), "seconds": float(seconds), "source": source,
           "notes": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in n.items()} for n in notes], **extra}
    p.write_text(json.dumps(doc, indent=1))
    return p


def read_truth(path: str | Path) -> dict:
    """Read a ground-truth JSON written by :func:`write_truth`.

    Parameters
    ----------
    path : str or Path
        A JSON file written by :func:`write_truth`.

    Returns
    -------
    dict
        Its fields, ``notes`` among them.

    Raises
    ------
    ParameterError
        The file is missing or has no ``notes`` list.
    """
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"notes file {str(p)!r} does not exist; expected a ground-truth JSON")
    doc = json.loads(p.read_text())
    if "notes" not in doc:
        raise ParameterError(f"{str(p)!r} has no 'notes' list; expected a ground-truth JSON")
    return doc


def ground_truth_notes(path: str | Path) -> list[dict] | None:
    """The notes stored beside rendered material as ``<stem>.json`` (:func:`write_truth`), if any.

    Unlike :func:`read_truth`, a missing or foreign file is not an error: most audio has no notes.

    Parameters
    ----------
    path : str or Path
        The audio file.

    Returns
    -------
    list of dict or None
        Its notes (``onset``, ``offset`` in seconds, ``pitch`` in MIDI); None when there is no
        JSON, it does not parse, or it lists no notes (uploads, corpus notes, spoken phrases).
    """
    meta = Path(path).with_suffix(".json")
    if not meta.is_file():
        return None
    try:
        notes = json.loads(meta.read_text()).get("notes")
    except (json.JSONDecodeError, AttributeError):
        return None
    return notes or None


def reference_f0(notes: list[dict], times: np.ndarray) -> np.ndarray:
    """The reference f0 of a note list, frame by frame.

    Parameters
    ----------
    notes : list of dict
        ``onset``, ``offset`` (seconds) and ``pitch`` (MIDI) of each note (:func:`read_truth`).
    times : np.ndarray [shape=(T,)], seconds
        The frame times.

    Returns
    -------
    np.ndarray [shape=(T,)], Hz
        The pitch of the note sounding at each time (onset inclusive, offset exclusive; a later
        note wins an overlap), 0 where no note is on.
    """
    f0 = np.zeros(len(times))
    for n in notes:
        on = (times >= n["onset"]) & (times < n["offset"])
        f0[on] = midi_to_hz(n["pitch"])
    return f0


def note_segments(y: np.ndarray, notes: list[dict], *, sr: int, min_samples: int = 2048) -> list[np.ndarray]:
    """The samples of each note, onset to note-off, at least ``min_samples`` long.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio of the notes.
    notes : list of dict
        ``onset`` and ``offset`` in seconds (:func:`read_truth`).
    sr : int, Hz, keyword-only
        Sample rate of ``y``.
    min_samples : int, samples, keyword-only
        Short notes are extended past their offset to this length (two analysis frames at
        ``n_fft`` 1024 by default: shorter clips give no f0 or timbre).

    Returns
    -------
    list of np.ndarray [shape=(m,)]
        One view of ``y`` per note (shorter than ``min_samples`` only at the end of ``y``).
    """
    return [y[int(n["onset"] * sr): max(int(n["offset"] * sr), int(n["onset"] * sr) + min_samples)] for n in notes]


def f0_agreement(y: np.ndarray, *, sr: int, notes: list[dict], cents: float = 50.0,
                 guard: float = 0.05) -> dict:
    """How well a note list agrees with pYIN on the audio.

    pYIN searches 7 semitones around the notes' range (at least 30 Hz, at most ``sr / 2.5``).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (1, n)]
        The rendered (or recorded) notes, mono.
    sr : int, Hz, keyword-only
        Its sample rate.
    notes : list of dict, keyword-only
        The ground truth (:func:`read_truth`), at least one note.
    cents : float, cents, keyword-only
        Largest pitch difference that counts as agreeing.
    guard : float, seconds, keyword-only
        Frames this close to a note boundary are left out (glides and onsets belong to no
        single note).

    Returns
    -------
    dict
        ``accuracy``: share of the frames voiced in both whose pYIN f0 is within ``cents`` of
        the reference (0 when there are none); ``voicing_recall``: share of reference-voiced
        frames pYIN calls voiced; ``frames``: frames voiced in both; ``median_cents``: their
        median absolute difference (inf when there are none).
    """
    lo = min(n["pitch"] for n in notes)
    hi = max(n["pitch"] for n in notes)
    fmin = max(midi_to_hz(lo - 7), 30.0)
    fmax = min(midi_to_hz(hi + 7), sr / 2.5)
    times, f0, voiced = pyin_f0(y, sr=sr, fmin=fmin, fmax=fmax)
    ref = reference_f0(notes, times)
    near = np.zeros(len(times), bool)
    for n in notes:
        for edge in (n["onset"], n["offset"]):
            near |= np.abs(times - edge) < guard
    ref_on = (ref > 0) & ~near
    both = ref_on & voiced & np.isfinite(f0)
    err = np.abs(cents_off(f0[both], ref[both]))
    return {
        "accuracy": float((err <= cents).mean()) if both.any() else 0.0,
        "voicing_recall": float(both.sum() / max(ref_on.sum(), 1)),
        "frames": int(both.sum()),
        "median_cents": float(np.median(err)) if both.any() else float("inf"),
    }
