"""Reverberation from the decays after note offsets: an RT60 estimate without a test signal.

Method (a free-decay reading, as a room's T20 is read from an impulse response, here applied to
the material's own note ends). The mono level in dBFS over 10 ms frames is searched for peaks
that stand at least ``min_range_db`` above their surroundings. A note's tail runs from its last
frame within 5 dB of the peak to the valley before the next note, or to 5 dB above the noise
floor. Schroeder's backward integral of the tail's energy (floor subtracted) is read between
-5 and -25 dB (T20; at least 10 dB of it); its line's slope ``s`` (dB/s) gives
``RT60 = -60 / s``. A tail cut short bends the integral down, so the energy an exponential
continuation at the fitted rate would hold is added and the line refitted, twice (as Lundeby's
method compensates truncation). Fits that are not straight (r^2 < 0.9: a new note, a crescendo)
are dropped; tails that reach the floor within 0.1 s count as their upper bound. The material's
figure is the median over the decays found.

What it measures is the slower of the room and the note's own release, so it is an upper bound
on the room's RT60; on material without gaps (legato, a drone) no decay qualifies and the
estimate is None.
"""

from __future__ import annotations

import numpy as np

__all__ = ["decay_rt60s", "rt60_summary"]

_START_DB, _END_DB, _MIN_FIT_DB = 5.0, 25.0, 10.0


def decay_rt60s(levels_db: np.ndarray, *, frame_seconds: float = 0.01, floor_db: float = -100.0,
                min_range_db: float = 20.0, max_seconds: float = 6.0) -> np.ndarray:
    """RT60 of each free decay in a level track.

    Parameters
    ----------
    levels_db : ndarray, shape ``(frames,)``, dBFS
        Contiguous frame levels (-inf for digital zero).
    frame_seconds : float, s, keyword-only
        Hop between frames.
    floor_db : float, dBFS, keyword-only
        The noise floor; a decay is read only down to 5 dB above it.
    min_range_db : float, dB, keyword-only
        How far a peak must stand above its surroundings (prominence) to be a note.
    max_seconds : float, s, keyword-only
        Longest stretch after a peak searched for its decay.

    Returns
    -------
    ndarray, shape ``(decays,)``, s
        One RT60 per decay that qualified, in time order.
    """
    from scipy.signal import find_peaks

    L = np.maximum(np.nan_to_num(np.asarray(levels_db, np.float64), nan=-200.0, neginf=-200.0), -200.0)
    if L.size < 10:
        return np.zeros(0)
    peaks, _ = find_peaks(L, prominence=min_range_db, distance=max(1, int(0.05 / frame_seconds)))
    lim = floor_db + 5.0
    span = int(max_seconds / frame_seconds)
    floor_e = 10 ** (floor_db / 10)
    out, seen = [], set()
    for i, p in enumerate(peaks):
        top = L[p]
        stop = min(p + span, peaks[i + 1] if i + 1 < len(peaks) else L.size)
        stop = p + int(np.argmin(L[p:stop])) + 1  # up to the valley before the next note
        w = L[p:stop]
        above = np.flatnonzero(w >= top - _START_DB)
        off = int(above[-1]) + 1  # the note's end: its last frame within 5 dB of the peak
        quiet = np.flatnonzero(w[off:] < lim)
        tail = w[off: off + (int(quiet[0]) if quiet.size else w.size - off)]
        if p + off in seen or top - lim < _START_DB + _MIN_FIT_DB:
            continue
        seen.add(p + off)
        if tail.size * frame_seconds <= 0.1 and quiet.size:  # at the floor within 0.1 s: count an upper bound
            if top - _START_DB - lim >= 30:
                out.append(60.0 * (tail.size + 1) * frame_seconds / (top - _START_DB - lim))
            continue
        if tail.size < 4:  # the note runs to the end of the track: no decay to read
            continue
        # Schroeder's backward integral of the tail's energy (floor removed): a smooth decay curve,
        # read after the direct sound has stopped, so a dry step into a quieter reverb tail does not
        # count as decay
        e = np.maximum(10 ** (tail / 10) - floor_e, 0.0)
        S = np.cumsum(e[::-1])[::-1]
        if S[0] <= 0:
            continue
        fit = _fit(S, frame_seconds)
        for _ in range(2):  # a tail cut short (next note, floor) bends the integral down: add the
            if fit is None or fit[0] >= 0:  # energy an exponential continuation would hold, refit
                break
            r = 10 ** (fit[0] * frame_seconds / 10)
            fit = _fit(S + e[-1] * r / (1 - r), frame_seconds)
        if fit is None:
            continue
        slope, r2 = fit
        if slope < 0 and r2 >= 0.9:
            out.append(-60.0 / slope)
    return np.asarray(out, float)


def _fit(S: np.ndarray, frame_seconds: float):
    """Slope (dB/s) and r^2 of the Schroeder curve ``S`` between -5 and -25 dB; None when too short."""
    with np.errstate(divide="ignore"):
        sdb = 10 * np.log10(S / S[0])
    k = np.flatnonzero((sdb <= -_START_DB) & (sdb >= -_END_DB))
    if k.size < 3 or sdb[k[0]] - sdb[k[-1]] < _MIN_FIT_DB:
        return None
    t = k * frame_seconds
    slope, icpt = np.polyfit(t, sdb[k], 1)
    resid = sdb[k] - (slope * t + icpt)
    return slope, 1 - resid.var() / max(sdb[k].var(), 1e-12)


def rt60_summary(rt60s: np.ndarray, *, min_decays: int = 3) -> dict:
    """The material's reverberation from its decays.

    Parameters
    ----------
    rt60s : ndarray, shape ``(decays,)``, s
        From :func:`decay_rt60s`, over all files.
    min_decays : int, keyword-only
        Fewer decays than this give no estimate.

    Returns
    -------
    dict
        ``rt60_s`` (median, or None), ``p25_s``, ``p75_s``, ``decays`` (count) and ``method``.
    """
    r = np.asarray(rt60s, float)
    ok = r.size >= min_decays
    q = np.percentile(r, [25, 50, 75]) if ok else [None] * 3
    return {"rt60_s": None if not ok else round(float(q[1]), 3),
            "p25_s": None if not ok else round(float(q[0]), 3), "p75_s": None if not ok else round(float(q[2]), 3),
            "decays": int(r.size), "method": "median T20 slope of note-offset decays (upper bound on the room)"}
