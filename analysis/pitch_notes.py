"""Judging an output's pitch against its input's: per note, per frame, summarised, and the tracks
around one note with the targets in view.

Tracks are ``(times, f0)`` or ``(times, f0, confidence)`` as :func:`workbench.pitch.track_f0`
returns them (0 Hz where unvoiced).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.errors import ParameterError
from workbench.pitch import cents, hz_to_midi, midi_to_hz

__all__ = ["note_pitch", "measure_notes", "f0_match", "summarise", "note_window"]


def note_pitch(times: np.ndarray, f0: np.ndarray, note: dict, *, trim: float = 0.25) -> tuple[float, float]:
    """Median f0 over the voiced frames of the note's steady part, and that part's voiced share.

    Parameters
    ----------
    times : np.ndarray [shape=(T,)], seconds
        Frame times of the track.
    f0 : np.ndarray [shape=(T,)], Hz
        The track, 0 where unvoiced.
    note : dict
        ``onset`` and ``offset`` in seconds.
    trim : float, keyword-only
        Share of the note dropped at each end (onsets and glides between notes).

    Returns
    -------
    f0 : float, Hz
        The median; NaN with fewer than 3 voiced frames.
    share : float
        Voiced frames over frames in the steady part (0 when it has none).
    """
    d = note["offset"] - note["onset"]
    sel = (times >= note["onset"] + trim * d) & (times <= note["offset"] - trim * d)
    f = f0[sel]
    voiced = f[f > 0]
    share = float(voiced.size / max(f.size, 1))
    return (float(np.median(voiced)) if voiced.size >= 3 else float("nan")), share


def measure_notes(notes: list[dict], in_track: Sequence[np.ndarray], out_track: Sequence[np.ndarray], *,
                  tolerance: float = 50.0, trim: float = 0.25) -> list[dict]:
    """One record per note: input and output median f0, cents off the note, kept or lost.

    A note is kept when the output's median f0 lies within ``tolerance`` cents of the note's
    pitch; unvoiced and octave errors are lost. ``kept_semitone`` is the looser one-semitone
    criterion (100 cents).

    Parameters
    ----------
    notes : list of dict
        The ground truth: ``onset``, ``offset`` (seconds) and ``pitch`` (MIDI) of each note.
    in_track, out_track : (times, f0)
        Tracks of the input and the output (:func:`workbench.pitch.track_f0`), seconds and Hz.
    tolerance : float, cents, keyword-only
        Largest deviation of a kept note.
    trim : float, keyword-only
        As :func:`note_pitch`.

    Returns
    -------
    list of dict
        Per note: ``note`` (index), ``pitch``, ``onset``, ``offset``, ``input_f0`` /
        ``output_f0`` (Hz), ``input_cents`` / ``output_cents`` (off the note), ``input_voiced``
        / ``output_voiced`` (shares), ``input_kept``, ``kept``, ``kept_semitone`` and
        ``octave_error`` (bools).
    """
    rows = []
    for i, n in enumerate(notes):
        f_in, v_in = note_pitch(*in_track, n, trim=trim)
        f_out, v_out = note_pitch(*out_track, n, trim=trim)
        c_in, c_out = cents(f_in, midi_to_hz(n["pitch"])), cents(f_out, midi_to_hz(n["pitch"]))
        octave = bool(np.isfinite(c_out) and abs(c_out) > tolerance
                      and abs(c_out - 1200 * round(c_out / 1200)) <= tolerance)
        rows.append({
            "note": i, "pitch": int(n["pitch"]), "onset": round(n["onset"], 4), "offset": round(n["offset"], 4),
            "input_f0": f_in, "output_f0": f_out, "input_cents": c_in, "output_cents": c_out,
            "input_voiced": v_in, "output_voiced": v_out,
            "input_kept": bool(np.isfinite(c_in) and abs(c_in) <= tolerance),
            "kept": bool(np.isfinite(c_out) and abs(c_out) <= tolerance),
            "kept_semitone": bool(np.isfinite(c_out) and abs(c_out) <= 100.0),
            "octave_error": octave,
        })
    return rows


def _track_arrays(track, name: str, sizes: tuple[int, ...]) -> list[np.ndarray]:
    """The 1-D float arrays of an f0 track, checked: ``sizes`` is how many arrays it may hold."""
    if isinstance(track, np.ndarray) and track.ndim == 2:
        track = list(track)  # a cached track: one row per array
    if not isinstance(track, (tuple, list)) or len(track) not in sizes:
        got = f"{len(track)} arrays" if isinstance(track, (tuple, list)) else type(track).__name__
        want = " or ".join(("(times, f0)", "(times, f0, confidence)")[n - 2] for n in sizes)
        raise ParameterError(f"{name} holds {got}; expected {want}")
    arrays = [np.asarray(a, np.float64) for a in track]
    if any(a.ndim != 1 for a in arrays) or len({a.size for a in arrays}) != 1:
        raise ParameterError(f"{name} has arrays of shapes {[a.shape for a in arrays]}; expected 1-D arrays of one "
                             "length (one value per frame)")
    return arrays


def f0_match(in_track: Sequence[np.ndarray], out_track: Sequence[np.ndarray], *, confidence: float = 0.85,
             outlier_semitones: float = 12.0) -> dict:
    """DDSP's f0 metrics of an output against its input: f0 L1 in semitones and the outlier share.

    Only frames where the input's tracker is confident count: voiced (f0 > 0) with confidence at
    or above ``confidence``, as DDSP keeps frames with CREPE confidence >= 0.85. Over those:

    - ``f0_l1_semitones``: mean ``|12 log2(f0_out / f0_in)|`` over the frames the output is voiced too;
    - ``f0_outlier_share``: share of them where the output is more than ``outlier_semitones`` off,
      a frame where the output is unvoiced (untracked, f0 0 or NaN) counting as an outlier too.
      DDSP counts outliers per clip (mean distance over 12 semitones, or no confident frame);
      this counts frames, so one bad note shows in proportion.

    Parameters
    ----------
    in_track : (times, f0, confidence)
        The input's track, three arrays of shape ``(T,)``: times in s, f0 in Hz (0 where
        unvoiced), the tracker's confidence in [0, 1] (:func:`track_f0` with ``with_confidence``).
    out_track : (times, f0) or (times, f0, confidence)
        The output's track on the same frame grid, arrays of shape ``(T',)``; a confidence is ignored.
        Only the first ``min(T, T')`` frames are compared (outputs may end a frame early or late).
    confidence : float, keyword-only
        Threshold in (0, 1] on the input's confidence.
    outlier_semitones : float, semitones, keyword-only
        Distance beyond which a frame is an outlier, in semitones (DDSP: 12, an octave).

    Returns
    -------
    dict
        ``f0_l1_semitones`` (float, semitones), ``f0_outlier_share`` (float in [0, 1]) and
        ``confident_frames`` (int). With no confident frame both measures are NaN; with confident
        frames but none voiced in the output the L1 is NaN and the outlier share 1.

    Raises
    ------
    ParameterError
        A track that is not 1-D arrays of one length, an input track without confidence,
        ``confidence`` outside (0, 1] or ``outlier_semitones`` not positive.
    """
    _, f_in, c_in = _track_arrays(in_track, "in_track", (3,))
    f_out = _track_arrays(out_track, "out_track", (2, 3))[1]
    if not 0 < confidence <= 1:
        raise ParameterError(f"confidence={confidence!r} must be in (0, 1] (the input tracker's voiced probability)")
    if not outlier_semitones > 0:
        raise ParameterError(f"outlier_semitones={outlier_semitones!r} must be positive (semitones)")
    n = min(f_in.size, f_out.size)
    f_in, c_in, f_out = f_in[:n], c_in[:n], f_out[:n]
    sure = np.isfinite(f_in) & (f_in > 0) & (c_in >= confidence)
    if not sure.any():
        return {"f0_l1_semitones": float("nan"), "f0_outlier_share": float("nan"), "confident_frames": 0}
    f_out = np.where(np.isfinite(f_out), f_out, 0.0)[sure]
    voiced = f_out > 0
    dist = np.abs(cents(f_out[voiced], f_in[sure][voiced])) / 100
    outliers = int(np.sum(dist > outlier_semitones)) + int(np.sum(~voiced))
    return {"f0_l1_semitones": float(dist.mean()) if dist.size else float("nan"),
            "f0_outlier_share": outliers / int(sure.sum()), "confident_frames": int(sure.sum())}


def summarise(notes: list[dict], melodies: list[dict]) -> dict:
    """Aggregate per-note records and per-melody scores (one method and class, or more).

    Parameters
    ----------
    notes : list of dict
        Records of :func:`measure_notes`.
    melodies : list of dict
        Per-melody scores: :func:`workbench.pitch.melody_scores` and :func:`f0_match` keys.

    Returns
    -------
    dict
        ``notes`` (count), ``lost_percent``, ``lost_semitone_percent``, ``octave_error_percent``,
        ``input_kept_percent`` (NaN without notes), and the mean over melodies of each melody
        score, NaN values left out (NaN when none is finite).
    """
    k = np.array([r["kept"] for r in notes], bool)
    out = {
        "notes": int(k.size),
        "lost_percent": float(100 * (1 - k.mean())) if k.size else float("nan"),
        "lost_semitone_percent": float(100 * (1 - np.mean([r["kept_semitone"] for r in notes]))) if k.size else float("nan"),
        "octave_error_percent": float(100 * np.mean([r["octave_error"] for r in notes])) if k.size else float("nan"),
        "input_kept_percent": float(100 * np.mean([r["input_kept"] for r in notes])) if k.size else float("nan"),
    }
    for key in ("raw_pitch_accuracy", "voicing_recall", "voicing_false_alarm", "f0_l1_cents", "f0_l1_semitones",
                "f0_outlier_share"):
        vals = [m[key] for m in melodies if np.isfinite(m[key])]
        out[key] = float(np.mean(vals)) if vals else float("nan")
    return out


def note_window(notes: list[dict], rows: list[dict], in_track: Sequence[np.ndarray], out_track: Sequence[np.ndarray], *,
                note: int, pad: float = 1.0) -> dict:
    """The f0 tracks around note ``note`` of a melody, with every note's target pitch in view.

    Parameters
    ----------
    notes : list of dict
        The melody's notes (onset, offset, pitch).
    rows : list of dict
        notes.csv rows of this melody, method and class (``note``, ``kept``...: :func:`measure_notes`).
    in_track, out_track : (times, f0)
        Tracks of input and output (seconds, Hz; 0 where unvoiced), read on the input's times.
    note : int, keyword-only
        Index of the chosen note.
    pad : float, seconds, keyword-only
        Shown before the note's onset and after its offset.

    Returns
    -------
    dict
        ``start``, ``end`` (s), ``times``, ``input_midi``, ``output_midi`` (NaN when unvoiced),
        ``targets`` (one dict per note in view: ``note``, ``onset``, ``offset``, ``pitch``,
        ``kept``, ``chosen``).

    Raises
    ------
    ParameterError
        ``note`` is not an index of ``notes``.
    """
    if not 0 <= note < len(notes):
        raise ParameterError(f"note={note} is not valid; the melody has {len(notes)} notes")
    n = notes[note]
    start, end = max(n["onset"] - pad, 0.0), n["offset"] + pad
    kept = {int(r["note"]): bool(r["kept"]) for r in rows}
    t, f_in = in_track
    f_out = out_track[1]
    m = min(len(t), len(f_out))
    t, f_in, f_out = np.asarray(t[:m]), np.asarray(f_in[:m]), np.asarray(f_out[:m])
    sel = (t >= start) & (t <= end)

    targets = [{"note": i, "onset": float(x["onset"]), "offset": float(x["offset"]), "pitch": int(x["pitch"]),
                "kept": kept.get(i), "chosen": i == note}
               for i, x in enumerate(notes) if x["offset"] > start and x["onset"] < end]
    return {"start": start, "end": end, "times": t[sel], "input_midi": hz_to_midi(f_in[sel]),
            "output_midi": hz_to_midi(f_out[sel]), "targets": targets}
