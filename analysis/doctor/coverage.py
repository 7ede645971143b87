"""Pitch and what the material sounds like, read on a bounded sample of it.

f0 tracking is slow (pYIN runs at about 0.15 s per second of audio here), so it runs on excerpts
of at most ``pitch_seconds`` in all, spread over the files in proportion to their length; shares
found on the sample are applied to the whole material, and the report says how much was sampled.
"""

from __future__ import annotations

import logging

import numpy as np

from analysis.doctor.scan import FileScan, read_excerpt
from workbench.pitch import hz_to_midi, track_f0

__all__ = ["SR", "HOP", "FMIN_HZ", "FMAX_HZ", "VOICE_RANGES", "pitch_excerpts", "track_excerpts", "pitch_summary",
           "judge_excerpts"]

log = logging.getLogger(__name__)

SR, HOP = 16000, 512  # the model's default rate; 32 ms pYIN frames keep tracking affordable
FMIN_HZ, FMAX_HZ = 50.0, 1600.0  # G1 .. G6: a low voice's octave below to a flute's upper register
_EXCERPT = 2.0  # s: short excerpts, many of them, sample a file's pitch range better than a few long ones
# Typical f0 ranges, MIDI: sung, bass E2 to soprano C6; spoken, a low male voice's 75 Hz to a
# child's or raised female voice's 400 Hz. The material is played with voices, and outside its
# own range a model repeats its nearest trained note's timbre.
VOICE_RANGES = {"sung": (40, 84), "spoken": (38, 67)}
_MIN_PROB = 0.3
_COVERED = 0.005  # a semitone holding this share of the pitched frames counts as covered


def pitch_excerpts(scans: list[FileScan], *, seconds: float) -> list[tuple[FileScan, float, float]]:
    """Which excerpts to track: ``(scan, start_s, length_s)``, about ``seconds`` in all.

    Each file gets a share in proportion to its duration (at least 2 s, or all of it when
    shorter), read as excerpts of up to 2 s evenly spread over the file.
    """
    total = sum(s.seconds for s in scans)
    out = []
    for s in scans:
        share = min(s.seconds, max(2.0, seconds * s.seconds / max(total, 1e-9)))
        n = max(1, int(np.ceil(share / _EXCERPT)))
        length = share / n
        out += [(s, float(t), length) for t in np.linspace(0.0, s.seconds - length, n)]
    return out


def track_excerpts(excerpts, *, floor_db: float | None, min_db: float = -60.0) -> dict:
    """pYIN over the excerpts: per-frame MIDI pitch and whether each frame is usable.

    Parameters
    ----------
    excerpts : list of (FileScan, start_s, length_s)
        From :func:`pitch_excerpts`.
    floor_db : float or None, dBFS, keyword-only
        The measured noise floor; a usable frame stands 6 dB above it (None: not measured).
    min_db : float, dBFS, keyword-only
        And above this level.

    Returns
    -------
    dict
        ``midi`` (ndarray ``(frames,)``, NaN where unvoiced), ``usable`` (bool ``(frames,)``),
        ``seconds`` (how much was tracked) and ``audio`` (the mono 16 kHz excerpts, for the judge).
    """
    import librosa

    floor = max(min_db, floor_db + 6.0) if floor_db is not None else min_db
    midi, usable, audio, seconds = [], [], [], 0.0
    for scan, start, length in excerpts:
        y = read_excerpt(scan.path, start=start, seconds=length, sr=SR)
        if y.size < 2048:  # shorter than pYIN's frame: pad with silence (a 0.1 s file still gets a look)
            y = np.pad(y, (0, 2048 - y.size))
        _, f0, prob = track_f0(y, sr=SR, fmin=FMIN_HZ, fmax=FMAX_HZ, hop_length=HOP, with_confidence=True)
        # pYIN's Viterbi path calls much of white noise voiced at a voiced probability of 0.01;
        # notes sit above 0.9 and their transitions above 0.1
        f0 = np.where(prob >= _MIN_PROB, f0, 0.0)
        ms = librosa.feature.rms(y=y, frame_length=2048, hop_length=HOP, center=True)[0] ** 2
        n = min(len(f0), len(ms))
        with np.errstate(divide="ignore"):
            level = 10 * np.log10(ms[:n])
        m = hz_to_midi(f0[:n])
        midi.append(m)
        usable.append(np.isfinite(m) & (level > floor))
        audio.append(y)
        seconds += length
    return {"midi": np.concatenate(midi) if midi else np.zeros(0), "seconds": seconds, "audio": audio,
            "usable": np.concatenate(usable) if usable else np.zeros(0, bool)}


def pitch_summary(track: dict, *, instrument_range: tuple[int, int] | None = None) -> dict:
    """Histogram of the usable frames' pitch in semitones and its coverage of voice ranges.

    Parameters
    ----------
    track : dict
        From :func:`track_excerpts`.
    instrument_range : (low, high), MIDI, optional, keyword-only
        The instrument's playable range, also checked for coverage.

    Returns
    -------
    dict
        ``usable_share`` (of the tracked frames), ``histogram`` (MIDI note -> share of usable
        frames), ``p5`` / ``p50`` / ``p95`` (MIDI), and ``coverage``: per range its ``low``,
        ``high`` and the ``share`` of its semitones that hold at least 0.5 % of the usable frames.
    """
    midi, usable = track["midi"], track["usable"]
    frames = max(len(midi), 1)
    m = midi[usable]
    out = {"usable_share": round(float(usable.sum() / frames), 4), "tracked_seconds": round(track["seconds"], 1),
           "histogram": {}, "p5": None, "p50": None, "p95": None, "coverage": {}}
    ranges = dict(VOICE_RANGES)
    if instrument_range is not None:
        ranges["instrument"] = tuple(int(v) for v in instrument_range)
    notes = np.round(m).astype(int)
    values, counts = np.unique(notes, return_counts=True)
    shares = counts / max(len(notes), 1)
    out["histogram"] = {int(v): round(float(c), 4) for v, c in zip(values, shares)}
    if m.size:
        out["p5"], out["p50"], out["p95"] = (round(float(v), 1) for v in np.percentile(m, [5, 50, 95]))
    covered = {int(v) for v, c in zip(values, shares) if c >= _COVERED}
    for name, (lo, hi) in ranges.items():
        held = sum(1 for k in range(lo, hi + 1) if k in covered)
        out["coverage"][name] = {"low": lo, "high": hi, "share": round(held / (hi - lo + 1), 3)}
    return out


def judge_excerpts(judge, audio: list[np.ndarray]) -> dict:
    """What a fitted :class:`analysis.instrument_judge.InstrumentJudge` calls the excerpts.

    Parameters
    ----------
    judge : InstrumentJudge
        Fitted.
    audio : list of ndarray, mono, 16 kHz
        The excerpts.

    Returns
    -------
    dict
        ``windows`` (how many were judged) and ``shares`` (label -> share of the windows).
    """
    labels = judge.predict(audio, sr=SR) if audio else np.array([], str)
    values, counts = np.unique(labels, return_counts=True)
    return {"windows": int(labels.size),
            "shares": {str(v): round(float(c / labels.size), 3) for v, c in zip(values, counts)}}
