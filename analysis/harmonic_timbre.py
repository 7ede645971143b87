"""Timbre at matched pitch: the relative levels of a sound's harmonics against the target
instrument's own notes at the same pitch.

An instrument's harmonic levels change with pitch (a trumpet's low notes are darker than its high
ones), so comparing a sung phrase with an instrument's average spectrum mixes timbre with
register. Here every voiced frame is compared with the target material *at that frame's pitch*:

1. :func:`harmonic_levels`: pYIN f0 per frame, then the peak magnitude near each harmonic
   ``k * f0`` (``k = 1..harmonics``, below ``fmax``), in dB relative to the frame's strongest
   harmonic, floored at ``floor_db``.
2. :class:`HarmonicReference`: the target material's frames pooled per semitone (median level of
   each harmonic); a query pitch gets the two nearest populated semitones, interpolated, or the
   nearest one outside the material's range.
3. :meth:`HarmonicReference.distance`: per voiced frame, the mean absolute dB difference over the
   harmonics both have, after removing the mean offset (so overall level does not count); the
   mean over frames.
4. :func:`gap_closed`: ``(d_input - d_output) / (d_input - d_target)``; 0 is the input unchanged,
   1 is as close as held-out material of the instrument itself.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.errors import ParameterError

__all__ = ["harmonic_levels", "HarmonicReference", "TimbreDistance", "gap_closed", "score_methods", "target_reference",
           "NO_PITCH"]

log = logging.getLogger(__name__)

NO_PITCH = "no pitched frames"


def harmonic_levels(y: np.ndarray, *, sr: int, n_fft: int = 2048, hop_length: int = 256, harmonics: int = 24,
                    fmax: float = 5000.0, f0_range: tuple[float, float] = (50.0, 1600.0), floor_db: float = -50.0,
                    range_db: float = 35.0, min_contrast_db: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """Pitch and relative harmonic levels of the voiced, sounding frames of mono ``y``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (1, n)]
        Mono audio of a pitched sound (input, output or target material).
    sr : int, Hz, keyword-only
        Sample rate.
    n_fft, hop_length : int, samples, keyword-only
        Analysis frame and hop (centred frames, Hann window).
    harmonics : int, keyword-only
        Harmonics measured per frame (those above ``fmax`` or Nyquist are NaN).
    fmax : float, Hz, keyword-only
        Highest harmonic frequency measured.
    f0_range : (float, float), Hz, keyword-only
        pYIN search range (the top at most ``sr / 4``).
    floor_db : float, dB, keyword-only
        Levels are clipped here (relative to the strongest harmonic): the noise floor between
        weak harmonics should not count as timbre.
    range_db : float, dB, keyword-only
        Frames more than this below the loudest frame are left out (releases, breaths).
    min_contrast_db : float, dB, keyword-only
        A voiced frame counts as pitched when its first harmonics stand this far (median, dB)
        above the peaks halfway between them.

    Returns
    -------
    midi : np.ndarray [shape=(frames,)], MIDI
        Fractional pitch of each kept frame.
    levels : np.ndarray [shape=(frames, harmonics)], dB
        Level of harmonic ``k`` relative to the frame's strongest, in ``[floor_db, 0]``;
        NaN where the harmonic is above ``fmax``.
    """
    import librosa

    y = np.asarray(y, np.float32).reshape(-1)
    if not np.isfinite(y).all():
        raise ParameterError("audio contains NaN or Inf samples; expected finite audio")
    empty = np.zeros(0), np.zeros((0, harmonics))
    if y.size < n_fft or not np.any(y):
        return empty
    f0, voiced, _ = librosa.pyin(y, fmin=f0_range[0], fmax=min(f0_range[1], sr / 4), sr=sr, frame_length=n_fft,
                                 hop_length=hop_length, center=True)
    # 4x zero padding: the peak of a harmonic between two bins loses at most ~0.1 dB (1.4 dB without)
    S = np.abs(librosa.stft(y, n_fft=4 * n_fft, win_length=n_fft, hop_length=hop_length,
                            window="hann", center=True))
    n = min(S.shape[1], f0.size)
    S, f0, voiced = S[:, :n], f0[:n], voiced[:n]
    level = 10 * np.log10(np.maximum((S ** 2).sum(0), 1e-20))  # frame level (dB), for the range gate
    keep = voiced & np.isfinite(f0) & (level > level.max() - range_db)
    if not keep.any():
        return empty
    S, f0 = S[:, keep], f0[keep]
    freqs = np.arange(S.shape[0]) * sr / (4 * n_fft)
    h = freqs[None, :] / f0[:, None]  # (frames, bins): position in harmonics
    k = np.rint(h).astype(int)
    # the peak within a quarter of f0 of each harmonic (tolerates slight inharmonicity and vibrato)
    near = (np.abs(h - k) <= 0.25) & (k >= 1) & (k <= harmonics)
    amp = np.zeros((f0.size, harmonics + 1))
    rows = np.broadcast_to(np.arange(f0.size)[:, None], h.shape)
    np.maximum.at(amp, (rows[near], k[near]), S.T[near])
    # the peak halfway between harmonics k and k + 1: a pitched frame's harmonics stand out from it,
    # noise that pYIN happens to call voiced does not
    kv = np.floor(h).astype(int)
    mid = (np.abs(h - kv - 0.5) <= 0.25) & (kv >= 1) & (kv <= harmonics)
    valley = np.zeros_like(amp)
    np.maximum.at(valley, (rows[mid], kv[mid]), S.T[mid])
    amp, valley = amp[:, 1:], valley[:, 1:]
    db = 20 * np.log10(np.maximum(amp, 1e-10))
    top = np.arange(1, harmonics + 1)[None, :] * f0[:, None]
    above = top > min(fmax, sr / 2 - sr / n_fft)
    contrast = np.where(above, np.nan, db - 20 * np.log10(np.maximum(valley, 1e-10)))[:, :8]
    with np.errstate(all="ignore"):
        pitched = np.nanmedian(np.where(np.isnan(contrast), -np.inf, contrast), axis=1) >= min_contrast_db
    db, f0 = db[pitched], f0[pitched]
    db[above[pitched]] = np.nan
    db = db - np.nanmax(db, axis=1, keepdims=True)
    if not f0.size:
        return empty
    return librosa.hz_to_midi(f0), np.maximum(db, floor_db)


@dataclass(frozen=True)
class TimbreDistance:
    """The matched-pitch distance of one sound (or several) to a reference.

    ``distance_db`` is ``None`` when there was no pitched frame (``status`` says so).
    """

    distance_db: float | None
    frames: int
    status: str = "ok"

    def __str__(self) -> str:
        return self.status if self.distance_db is None else f"{self.distance_db:.2f} dB over {self.frames} frames"


class HarmonicReference:
    """The target material's harmonic levels per semitone; scores other sounds against them.

    Parameters
    ----------
    min_frames : int, keyword-only
        Frames a semitone needs to count as covered.
    min_seconds : float, seconds, keyword-only
        Pitched seconds the material must hold (else :meth:`fit` raises ``ParameterError``).
    max_seconds : float, seconds, keyword-only
        At most this much material is analysed (evenly across the signals), to bound the pYIN
        time.
    **levels
        Keywords of :func:`harmonic_levels`.

    Examples
    --------
    >>> ref = HarmonicReference().fit(trumpet_melodies, sr=16000, name="data/trumpet")  # doctest: +SKIP
    >>> ref.distance([voice], sr=16000)                                                 # doctest: +SKIP
    TimbreDistance(distance_db=9.8, frames=412, status='ok')
    """

    def __init__(self, *, min_frames: int = 5, min_seconds: float = 5.0, max_seconds: float = 120.0,
                 **levels: object):
        self.min_frames, self.min_seconds, self.max_seconds = int(min_frames), float(min_seconds), float(max_seconds)
        self.levels = levels

    def _analyse(self, signals, sr: int) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(signals, np.ndarray) and signals.ndim == 1:
            signals = [signals]
        mids, levs = [], []
        for y in signals:
            m, lv = harmonic_levels(y, sr=sr, **self.levels)
            mids.append(m)
            levs.append(lv)
        k = self.levels.get("harmonics", 24)
        return (np.concatenate(mids) if mids else np.zeros(0),
                np.concatenate(levs) if levs else np.zeros((0, k)))

    def fit(self, signals: Sequence[np.ndarray], *, sr: int, name: str = "target") -> HarmonicReference:
        """Analyse the target material: the median levels of each semitone's frames.

        Parameters
        ----------
        signals : sequence of np.ndarray [shape=(n,)]
            Mono audio of the target material; beyond ``max_seconds`` in all, the same leading
            share of each is kept.
        sr : int, Hz, keyword-only
            Their sample rate.
        name : str, keyword-only
            The material's name, for messages and the log.

        Returns
        -------
        HarmonicReference
            ``self``, fitted (``pitches_``, ``profiles_``, ``seconds_``, ``name_``).

        Raises
        ------
        ParameterError
            Less than ``min_seconds`` of pitched material.
        """
        signals = [np.asarray(s, np.float32).reshape(-1) for s in signals]
        total = sum(s.size for s in signals) / sr
        if total > self.max_seconds:  # the same evenly spaced excerpts every time
            share = self.max_seconds / total
            signals = [s[: max(int(s.size * share), 1)] for s in signals]
        midi, lev = self._analyse(signals, sr)
        hop = self.levels.get("hop_length", 256)
        seconds = midi.size * hop / sr
        if seconds < self.min_seconds:
            raise ParameterError(f"{name}: {seconds:.1f} s of pitched material found; the matched-pitch measure "
                                 f"needs at least {self.min_seconds:g} s")
        semis = np.rint(midi).astype(int)
        pitches, profiles = [], []
        for p in np.unique(semis):
            sel = lev[semis == p]
            if len(sel) >= self.min_frames:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN harmonics above fmax
                    profiles.append(np.nanmedian(sel, axis=0))
                pitches.append(p)
        self.pitches_ = np.array(pitches, float)
        self.profiles_ = np.array(profiles)
        self.seconds_ = seconds
        self.name_ = name
        log.info("harmonic reference %s: %.1f pitched s, MIDI %d-%d", name, seconds, pitches[0], pitches[-1])
        return self

    def profile(self, midi: np.ndarray) -> np.ndarray:
        """The reference levels at any pitches, interpolated linearly between covered semitones.

        Parameters
        ----------
        midi : np.ndarray [shape=(frames,)], MIDI
            Fractional pitches; outside the covered range they take its nearest end.

        Returns
        -------
        np.ndarray [shape=(frames, harmonics)], dB
            Where one neighbour is NaN (above ``fmax``) the other is taken.
        """
        midi = np.clip(np.asarray(midi, float), self.pitches_[0], self.pitches_[-1])
        hi = np.searchsorted(self.pitches_, midi).clip(1, len(self.pitches_) - 1) if len(self.pitches_) > 1 else \
            np.zeros(midi.shape, int)
        if len(self.pitches_) == 1:
            return np.repeat(self.profiles_, midi.size, axis=0)
        lo = hi - 1
        w = ((midi - self.pitches_[lo]) / (self.pitches_[hi] - self.pitches_[lo])).clip(0, 1)[:, None]
        a, b = self.profiles_[lo], self.profiles_[hi]
        # where one side has a harmonic the other has not (above fmax), use the side that has it
        return np.where(np.isnan(a), b, np.where(np.isnan(b), a, (1 - w) * a + w * b))

    def frame_distances(self, midi: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Per-frame distance of harmonic levels to the reference at the same pitch.

        The mean level difference of a frame is removed first (loudness is not timbre); the
        distance is the mean absolute difference left over the harmonics both have.

        Parameters
        ----------
        midi : np.ndarray [shape=(frames,)], MIDI
            Each frame's pitch.
        levels : np.ndarray [shape=(frames, harmonics)], dB
            As :func:`harmonic_levels` gives them.

        Returns
        -------
        np.ndarray [shape=(frames,)], dB
        """
        d = levels - self.profile(midi)
        ok = np.isfinite(d)
        n = ok.sum(1).clip(min=1)
        d0 = np.where(ok, d, 0.0)
        offset = d0.sum(1, keepdims=True) / n[:, None]
        return np.where(ok, np.abs(d0 - offset), 0.0).sum(1) / n

    def distance(self, signals: np.ndarray | Sequence[np.ndarray], *, sr: int) -> TimbreDistance:
        """Mean matched-pitch distance of the pitched frames of ``signals``.

        Parameters
        ----------
        signals : np.ndarray [shape=(n,)] or sequence of them
            One mono array or several.
        sr : int, Hz, keyword-only
            Their sample rate.

        Returns
        -------
        TimbreDistance
            The mean of :meth:`frame_distances` over every pitched frame (None with none).
        """
        midi, lev = self._analyse(signals, sr)
        if midi.size == 0:
            return TimbreDistance(None, 0, NO_PITCH)
        return TimbreDistance(float(self.frame_distances(midi, lev).mean()), int(midi.size))


def gap_closed(input_db: float | None, output_db: float | None, target_db: float | None) -> float | None:
    """Share of the input-to-target distance the output closed: 0 unchanged, 1 the instrument itself.

    Parameters
    ----------
    input_db, output_db, target_db : float or None, dB
        Matched-pitch distances of the input, the output and held-out target material.

    Returns
    -------
    float or None
        ``(input_db - output_db) / (input_db - target_db)`` (negative: further than the input);
        None when a distance is missing or the input is already as close as the target material.
    """
    if input_db is None or output_db is None or target_db is None or input_db - target_db <= 1e-9:
        return None
    return float((input_db - output_db) / (input_db - target_db))


def score_methods(reference: HarmonicReference, *, inputs: dict, outputs: dict, target_db: float | None,
                  sr: int) -> list[dict]:
    """The matched-pitch table: every input, and every method's output of it, against ``reference``.

    Parameters
    ----------
    reference : HarmonicReference
        Fitted on the target material.
    inputs : dict, keyword-only
        ``name -> mono audio [shape=(n,)]`` at ``sr``.
    outputs : dict, keyword-only
        ``method -> {input name -> mono audio}``.
    target_db : float or None, dB, keyword-only
        The distance of held-out target material (the ``1`` of the gap).
    sr : int, Hz, keyword-only
        Sample rate of every signal.

    Returns
    -------
    list of dict
        One row per input and method (the input itself first, as ``method="input"``): ``input``,
        ``method``, ``distance_db`` (None with no pitched frame), ``gap_closed`` (None likewise),
        ``frames``, ``status``.
    """
    rows = []
    for name, x in inputs.items():
        d_in = reference.distance(x, sr=sr)
        rows.append({"input": name, "method": "input", "distance_db": d_in.distance_db,
                     "gap_closed": 0.0 if d_in.distance_db is not None else None, "frames": d_in.frames,
                     "status": d_in.status})
        for method, per_input in outputs.items():
            d = reference.distance(per_input[name], sr=sr)
            rows.append({"input": name, "method": method, "distance_db": d.distance_db,
                         "gap_closed": gap_closed(d_in.distance_db, d.distance_db, target_db), "frames": d.frames,
                         "status": d.status})
    return rows


def target_reference(target: str | Path, *, sr: int, seed: int = 0,
                     progress: bool = False) -> tuple[HarmonicReference, float]:
    """A reference fitted on target material and the distance of its held-out part.

    Parameters
    ----------
    target : str or Path
        A file, folder or corpus selection (:func:`workbench.corpus.select.resolve_target`).
    sr : int, Hz, keyword-only
        Rate the material is loaded at (mono).
    seed : int, keyword-only
        Seed of the held-out split: the training's clip-level split (10 %), or the last fifth of
        a single file.
    progress : bool, keyword-only
        Not used (nothing here reports progress).

    Returns
    -------
    reference : HarmonicReference
        Fitted on the rest.
    held_out_db : float, dB
        The held-out part's distance to it (the ``1`` of :func:`gap_closed`).

    Raises
    ------
    ParameterError
        Too little pitched material (naming the target, the pitched seconds found and those
        needed), or a held-out part with no pitched frame.
    """
    from models.train import split_indices
    from workbench.audio import load
    from workbench.corpus.select import resolve_target

    files = resolve_target(target)
    clips = [load(p, sr=sr, mono=True)[0][0] for p in files]
    if len(clips) == 1:
        cut = int(clips[0].size * 0.8)
        fit, held = [clips[0][:cut]], [clips[0][cut:]]
    else:
        tr, va = split_indices(len(clips), valid_fraction=0.1, seed=seed)
        fit, held = [clips[i] for i in tr], [clips[i] for i in va]
    ref = HarmonicReference().fit(fit, sr=sr, name=str(target))
    d = ref.distance(held, sr=sr)
    if d.distance_db is None:
        raise ParameterError(f"{target}: its held-out part has no pitched frames; expected pitched target material")
    return ref, d.distance_db
