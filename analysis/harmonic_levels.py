"""The per-frame harmonic analysis of the timbre measure (:mod:`analysis.harmonic_timbre`): the
relative levels of a sound's harmonics, and an output's levels read at its input's pitch.

1. :func:`harmonic_levels`: pYIN f0 per frame, then the peak magnitude near each harmonic
   ``k * f0`` (``k = 1..harmonics``, below ``fmax``), in dB relative to the frame's strongest
   harmonic, floored at ``floor_db``.
2. :func:`judged_frames`: the same levels of an *output*, read at the *input's* f0 in the same
   frame. An output that plays other notes than the input has its harmonics elsewhere and scores
   as far as it sounds; such frames (the output's own f0 more than 50 cents away, or none) are
   also counted apart as the pitch-error share. :func:`analyse_input` and :func:`judge_output`
   are its two halves, for an input analysed once and judged against many outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.errors import ParameterError
from workbench.pitch import pyin_f0

__all__ = ["harmonic_levels", "judged_frames", "JudgedFrames", "InputFrames", "analyse_input", "judge_output",
           "PITCH_TOLERANCE_CENTS"]

PITCH_TOLERANCE_CENTS = 50.0  # as raw pitch accuracy (mir_eval): further than this is another note
_SILENT_DB = -190.0  # frame level of digital silence (the level's floor is -200 dB)


def _frames(y: np.ndarray, *, sr: int, n_fft: int, hop_length: int,
            f0_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pYIN f0 (NaN where unvoiced), magnitude spectra and frame levels (dB), frame-aligned."""
    import librosa

    _, f0, voiced = pyin_f0(y, sr=sr, fmin=f0_range[0], fmax=min(f0_range[1], sr / 4), frame_length=n_fft,
                            hop_length=hop_length, center=True)
    # 4x zero padding: the peak of a harmonic between two bins loses at most ~0.1 dB (1.4 dB without)
    S = np.abs(librosa.stft(y, n_fft=4 * n_fft, win_length=n_fft, hop_length=hop_length,
                            window="hann", center=True))
    n = min(S.shape[1], f0.size)
    f0 = np.where(voiced[:n] & np.isfinite(f0[:n]), f0[:n], np.nan)
    level = 10 * np.log10(np.maximum((S[:, :n] ** 2).sum(0), 1e-20))
    return f0, S[:, :n], level


def _peaks(S: np.ndarray, f0: np.ndarray, *, sr: int, n_fft: int, harmonics: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame (columns of ``S``), the peak near each harmonic ``k * f0`` and the peak halfway
    between ``k`` and ``k + 1``; both ``(frames, harmonics)``, linear magnitude."""
    freqs = np.arange(S.shape[0]) * sr / (4 * n_fft)
    h = freqs[None, :] / f0[:, None]  # (frames, bins): position in harmonics
    k = np.rint(h).astype(int)
    # the peak within a quarter of f0 of each harmonic (tolerates slight inharmonicity and vibrato)
    near = (np.abs(h - k) <= 0.25) & (k >= 1) & (k <= harmonics)
    amp = np.zeros((f0.size, harmonics + 1))
    rows = np.broadcast_to(np.arange(f0.size)[:, None], h.shape)
    np.maximum.at(amp, (rows[near], k[near]), S.T[near])
    # the peak halfway between harmonics: a pitched frame's harmonics stand out from it, noise that
    # pYIN happens to call voiced does not
    kv = np.floor(h).astype(int)
    mid = (np.abs(h - kv - 0.5) <= 0.25) & (kv >= 1) & (kv <= harmonics)
    valley = np.zeros_like(amp)
    np.maximum.at(valley, (rows[mid], kv[mid]), S.T[mid])
    return amp[:, 1:], valley[:, 1:]


def _above(f0: np.ndarray, *, sr: int, n_fft: int, harmonics: int, fmax: float) -> np.ndarray:
    """Which harmonics of each frame lie above ``fmax`` (or next to Nyquist): not measured."""
    return np.arange(1, harmonics + 1)[None, :] * f0[:, None] > min(fmax, sr / 2 - sr / n_fft)


def _relative_db(amp: np.ndarray, above: np.ndarray, floor_db: float) -> np.ndarray:
    """Levels in dB relative to each frame's strongest harmonic, floored; NaN above ``fmax``."""
    db = 20 * np.log10(np.maximum(amp, 1e-10))
    db[above] = np.nan
    return np.maximum(db - np.nanmax(db, axis=1, keepdims=True), floor_db)


def _pitched(amp: np.ndarray, valley: np.ndarray, above: np.ndarray, min_contrast_db: float) -> np.ndarray:
    """Frames whose first 8 harmonics stand ``min_contrast_db`` (median) above the peaks between them."""
    contrast = np.where(above, np.nan, 20 * np.log10(np.maximum(amp, 1e-10))
                        - 20 * np.log10(np.maximum(valley, 1e-10)))[:, :8]
    with np.errstate(all="ignore"):
        return np.nanmedian(np.where(np.isnan(contrast), -np.inf, contrast), axis=1) >= min_contrast_db


def _mono(y: np.ndarray, name: str) -> np.ndarray:
    y = np.asarray(y, np.float32)
    if y.ndim == 2 and y.shape[0] == 1:
        y = y[0]
    if y.ndim != 1:
        raise ParameterError(f"{name} has shape {y.shape}; expected mono audio of shape (n,) or (1, n)")
    if not np.isfinite(y).all():
        raise ParameterError(f"{name} contains NaN or Inf samples; expected finite audio")
    return y


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

    y = _mono(y, "audio")
    empty = np.zeros(0), np.zeros((0, harmonics))
    if y.size < n_fft or not np.any(y):
        return empty
    f0, S, level = _frames(y, sr=sr, n_fft=n_fft, hop_length=hop_length, f0_range=f0_range)
    keep = np.isfinite(f0) & (level > level.max() - range_db)
    if not keep.any():
        return empty
    S, f0 = S[:, keep], f0[keep]
    amp, valley = _peaks(S, f0, sr=sr, n_fft=n_fft, harmonics=harmonics)
    above = _above(f0, sr=sr, n_fft=n_fft, harmonics=harmonics, fmax=fmax)
    pitched = _pitched(amp, valley, above, min_contrast_db)
    if not pitched.any():
        return empty
    return librosa.hz_to_midi(f0[pitched]), _relative_db(amp[pitched], above[pitched], floor_db)


@dataclass(frozen=True)
class JudgedFrames:
    """An output's harmonic levels at its input's pitch, on the frames where both can be judged.

    ``midi``, ``input_levels``, ``output_levels`` and ``pitch_error`` hold the judged frames
    (``frames``); ``input_frames`` counts the input's pitched frames, the denominator of the
    judged share.
    """

    midi: np.ndarray
    input_levels: np.ndarray
    output_levels: np.ndarray
    pitch_error: np.ndarray
    input_frames: int

    @property
    def frames(self) -> int:
        """Judged frames."""
        return int(self.midi.size)


@dataclass(frozen=True)
class InputFrames:
    """An input's pitched frames, analysed once for every output judged against it."""

    size: int
    f0: np.ndarray  # (frames,), Hz, of every frame
    keep: np.ndarray  # indices of the pitched frames
    amp: np.ndarray  # (pitched, harmonics), linear peaks
    above: np.ndarray  # (pitched, harmonics), bool: above fmax

    @property
    def frames(self) -> int:
        """Pitched frames."""
        return int(self.keep.size)

    def relative_levels(self, *, floor_db: float = -50.0) -> np.ndarray:
        """The pitched frames' harmonic levels relative to each frame's strongest harmonic.

        Parameters
        ----------
        floor_db : float, dB, keyword-only
            Levels are clipped here, as in :func:`harmonic_levels`.

        Returns
        -------
        np.ndarray [shape=(frames, harmonics)], dB
            In ``[floor_db, 0]``; NaN where the harmonic is above ``fmax``.
        """
        return _relative_db(self.amp, self.above, floor_db)


def analyse_input(x: np.ndarray, *, sr: int, n_fft: int = 2048, hop_length: int = 256, harmonics: int = 24,
                  fmax: float = 5000.0, f0_range: tuple[float, float] = (50.0, 1600.0), floor_db: float = -50.0,
                  range_db: float = 35.0, min_contrast_db: float = 6.0) -> InputFrames:
    """An input's pitched frames, analysed once to judge many outputs of it (:func:`judge_output`).

    Parameters
    ----------
    x : np.ndarray [shape=(n,) or (1, n)]
        Mono input.
    sr : int, Hz, keyword-only
        Its rate.
    n_fft, hop_length, harmonics, fmax, f0_range, floor_db, range_db, min_contrast_db
        As :func:`harmonic_levels` (the pitched frames are those it keeps).

    Returns
    -------
    InputFrames
        Its pYIN f0 of every frame, the indices of the pitched frames and their harmonic peaks;
        no pitched frame for silent input or input shorter than ``n_fft``.

    Raises
    ------
    ParameterError
        Non-mono or non-finite audio.
    """
    x = _mono(x, "input")
    none = InputFrames(x.size, np.zeros(0), np.zeros(0, int), np.zeros((0, harmonics)), np.zeros((0, harmonics), bool))
    if x.size < n_fft or not np.any(x):
        return none
    f0, S, level = _frames(x, sr=sr, n_fft=n_fft, hop_length=hop_length, f0_range=f0_range)
    keep = np.flatnonzero(np.isfinite(f0) & (level > level.max() - range_db))
    if not keep.size:
        return none
    amp, valley = _peaks(S[:, keep], f0[keep], sr=sr, n_fft=n_fft, harmonics=harmonics)
    above = _above(f0[keep], sr=sr, n_fft=n_fft, harmonics=harmonics, fmax=fmax)
    pitched = _pitched(amp, valley, above, min_contrast_db)
    return InputFrames(x.size, f0, keep[pitched], amp[pitched], above[pitched])


def judge_output(inp: InputFrames, y: np.ndarray, *, sr: int, n_fft: int = 2048, hop_length: int = 256,
                 harmonics: int = 24, fmax: float = 5000.0, f0_range: tuple[float, float] = (50.0, 1600.0),
                 floor_db: float = -50.0, range_db: float = 35.0, min_contrast_db: float = 6.0) -> JudgedFrames:
    """:func:`judged_frames` of output ``y`` against an input analysed by :func:`analyse_input`.

    Parameters
    ----------
    inp : InputFrames
        From :func:`analyse_input`, at ``sr`` and with the same level settings.
    y : np.ndarray [shape=(m,) or (1, m)]
        Mono output, time-aligned with the input (``|m - n| <= n_fft``).
    sr : int, Hz, keyword-only
        Rate of both.
    n_fft, hop_length, harmonics, fmax, f0_range, floor_db, range_db, min_contrast_db
        As :func:`harmonic_levels`.

    Returns
    -------
    JudgedFrames
        As :func:`judged_frames`.

    Raises
    ------
    ParameterError
        Non-mono or non-finite audio, or lengths more than a frame apart.
    """
    import librosa

    y = _mono(y, "output")
    if abs(inp.size - y.size) > n_fft:
        raise ParameterError(f"output has {y.size} samples, the input {inp.size}; expected the same length "
                             f"(within {n_fft}): frames are compared in time")
    none = JudgedFrames(np.zeros(0), np.zeros((0, harmonics)), np.zeros((0, harmonics)), np.zeros(0, bool),
                        inp.frames)
    if not inp.frames or y.size < n_fft or not np.any(y):
        return none
    f0_out, S_out, level_out = _frames(y, sr=sr, n_fft=n_fft, hop_length=hop_length, f0_range=f0_range)
    # the output's frames line up with the input's (same hop, centred); beyond its end it is silent
    keep = inp.keep
    inside = keep < level_out.size
    sounding = np.zeros(keep.size, bool)
    sounding[inside] = level_out[keep[inside]] > max(level_out.max() - range_db, _SILENT_DB)
    at = keep[sounding]
    if not at.size:
        return none
    f0 = inp.f0[at]
    amp_out, _ = _peaks(S_out[:, at], f0, sr=sr, n_fft=n_fft, harmonics=harmonics)
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.abs(1200 * np.log2(f0_out[at] / f0))
    return JudgedFrames(midi=librosa.hz_to_midi(f0),
                        input_levels=_relative_db(inp.amp[sounding], inp.above[sounding], floor_db),
                        output_levels=_relative_db(amp_out, inp.above[sounding], floor_db),
                        pitch_error=~(off <= PITCH_TOLERANCE_CENTS), input_frames=inp.frames)


def judged_frames(x: np.ndarray, y: np.ndarray, *, sr: int, n_fft: int = 2048, hop_length: int = 256,
                  harmonics: int = 24, fmax: float = 5000.0, f0_range: tuple[float, float] = (50.0, 1600.0),
                  floor_db: float = -50.0, range_db: float = 35.0, min_contrast_db: float = 6.0) -> JudgedFrames:
    """Harmonic levels of output ``y`` read at the pitch of input ``x``, frame by frame.

    The input's pitched frames are those :func:`harmonic_levels` keeps. Of these, a frame is
    judged when the output sounds there (within ``range_db`` of the output's loudest frame);
    the output's levels are then read at ``k * f0`` of the *input*, so an output that plays
    other notes is measured where its notes should have been. The output's own pYIN f0 marks
    the frame a pitch error when it is more than :data:`PITCH_TOLERANCE_CENTS` from the input's,
    or unvoiced.

    Parameters
    ----------
    x : np.ndarray [shape=(n,) or (1, n)]
        Mono input.
    y : np.ndarray [shape=(m,) or (1, m)]
        Mono output, time-aligned with ``x`` (``|m - n| <= n_fft``; the common frames count).
    sr : int, Hz, keyword-only
        Rate of both.
    n_fft, hop_length, harmonics, fmax, f0_range, floor_db, range_db, min_contrast_db
        As :func:`harmonic_levels`.

    Returns
    -------
    JudgedFrames
        ``midi`` (input pitch, MIDI), ``input_levels`` and ``output_levels`` (dB, ``(frames,
        harmonics)``), ``pitch_error`` (bool), ``input_frames``.

    Raises
    ------
    ParameterError
        Non-mono or non-finite audio, or lengths more than a frame apart.
    """
    return judge_output(analyse_input(x, sr=sr, n_fft=n_fft, hop_length=hop_length, harmonics=harmonics, fmax=fmax,
                                      f0_range=f0_range, floor_db=floor_db, range_db=range_db,
                                      min_contrast_db=min_contrast_db),
                        y, sr=sr, n_fft=n_fft, hop_length=hop_length, harmonics=harmonics, fmax=fmax, f0_range=f0_range,
                        floor_db=floor_db, range_db=range_db, min_contrast_db=min_contrast_db)
