"""Timbre at the input's pitch: the relative levels of an output's harmonics, measured where the
input's notes put them, against the target instrument's own notes at that pitch.

An instrument's harmonic levels change with pitch (a trumpet's low notes are darker than its high
ones), so comparing a sung phrase with an instrument's average spectrum mixes timbre with
register. Here every frame is compared with reference notes *at the input's pitch*:

1. :func:`~analysis.harmonic_levels.harmonic_levels`: pYIN f0 per frame, then the peak magnitude
   near each harmonic ``k * f0`` (``k = 1..harmonics``, below ``fmax``), in dB relative to the
   frame's strongest harmonic, floored at ``floor_db``.
2. :func:`~analysis.harmonic_levels.judged_frames`: the same levels of an *output*, read at the
   *input's* f0 in the same frame. An output that plays other notes than the input has its
   harmonics elsewhere and scores as far as it sounds; such frames (the output's own f0 more than
   50 cents away, or none) are also counted apart as the pitch-error share.
3. :class:`HarmonicReference`: reference notes' frames pooled per semitone (median level of each
   harmonic), per dynamic layer when the notes say their velocity; a query pitch gets the two
   nearest populated semitones, interpolated, or the nearest one outside the notes' range.
4. :meth:`HarmonicReference.compare`: per judged frame, the mean absolute dB difference over the
   harmonics both have, after removing the mean offset (overall level is not timbre), for the
   output and for the input on the same frames; with several layers, against the nearest of the
   instrument's dynamics between its softest and loudest layer (an instrument's harmonic levels
   change with how hard it is played: pooling soft and loud notes into one median describes
   neither, and held-out notes of the instrument lie far from it). Fewer judged frames than
   ``min_judged`` of the input's pitched frames gives no score, with the reason.
5. :func:`gap_closed`: ``(d_input - d_output) / (d_input - d_target)``, at most 1; 0 is the
   input unchanged, 1 is as close as held-out reference notes, negative is further than the input.
   Every report shows the three distances beside it.

This module holds the reference and the score (3-5); the per-frame analysis (1-2) is
:mod:`analysis.harmonic_levels`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.harmonic_levels import InputFrames, JudgedFrames, analyse_input, harmonic_levels, judge_output, judged_frames
from workbench.errors import ParameterError

__all__ = ["HarmonicReference", "TimbreDistance", "TimbreScore", "gap_closed", "score_methods", "target_reference",
           "fit_reference", "NO_PITCH"]

log = logging.getLogger(__name__)

NO_PITCH = "no pitched frames"


@dataclass(frozen=True)
class TimbreDistance:
    """The distance of one sound (or several) to a reference at its own pitch.

    ``distance_db`` is ``None`` when there was no pitched frame (``status`` says so).
    """

    distance_db: float | None
    frames: int
    status: str = "ok"

    def __str__(self) -> str:
        return self.status if self.distance_db is None else f"{self.distance_db:.2f} dB over {self.frames} frames"


@dataclass(frozen=True)
class TimbreScore:
    """An output judged at its input's pitch (:meth:`HarmonicReference.compare`).

    Attributes
    ----------
    output_db, input_db : float or None, dB
        Distances of the output and of the input to the reference, on the same judged frames;
        None when there is no score (``status`` says why).
    target_db : float or None, dB
        The held-out reference notes' distance (the ``1`` of the gap), as given.
    gap_closed : float or None
        :func:`gap_closed` of the three, at most 1.
    frames, input_frames : int
        Judged frames, and the input's pitched frames.
    judged_share : float
        ``frames / input_frames`` (0 with no pitched input frame).
    pitch_error_share : float or None
        Share of judged frames where the output's own f0 is more than 50 cents from the input's
        (or unvoiced); None with no judged frame.
    status : str
        ``"ok"``, :data:`NO_PITCH`, or why too few frames were judged.
    """

    output_db: float | None
    input_db: float | None
    target_db: float | None
    gap_closed: float | None
    frames: int
    input_frames: int
    judged_share: float
    pitch_error_share: float | None
    status: str = "ok"

    def __str__(self) -> str:
        if self.output_db is None:
            return self.status
        gap = "-" if self.gap_closed is None else f"{self.gap_closed:.2f}"
        target = "-" if self.target_db is None else f"{self.target_db:.2f}"
        return (f"{self.output_db:.2f} dB (input {self.input_db:.2f}, target {target}) over {self.frames} frames "
                f"({self.judged_share:.0%} judged), gap closed {gap}, pitch errors {self.pitch_error_share:.0%}")


def _pairs(x, y) -> list[tuple[np.ndarray, np.ndarray]]:
    single = isinstance(x, np.ndarray) and (x.ndim == 1 or x.shape[0] == 1)
    xs, ys = ([x], [y]) if single else (list(x), list(y))
    if len(xs) != len(ys):
        raise ParameterError(f"{len(ys)} outputs for {len(xs)} inputs; expected one output per input")
    return list(zip(xs, ys))


def _blend(a: np.ndarray, b: np.ndarray, w) -> np.ndarray:
    """``(1 - w) a + w b`` in dB; where one side has a harmonic the other has not (above ``fmax``),
    the side that has it."""
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, (1 - w) * a + w * b))


def _frame_distance(levels: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Mean absolute dB difference per frame over the harmonics both have, mean offset removed."""
    d = levels - profile
    ok = np.isfinite(d)
    n = ok.sum(1).clip(min=1)
    d0 = np.where(ok, d, 0.0)
    offset = d0.sum(1, keepdims=True) / n[:, None]
    return np.where(ok, np.abs(d0 - offset), 0.0).sum(1) / n


class HarmonicReference:
    """Reference notes' harmonic levels per semitone; scores other sounds against them.

    Parameters
    ----------
    min_frames : int, keyword-only
        Frames a semitone needs to count as covered.
    min_seconds : float, seconds, keyword-only
        Pitched seconds the material must hold (else :meth:`fit` raises ``ParameterError``).
    max_seconds : float, seconds, keyword-only
        At most this much material is analysed (evenly across the signals), to bound the pYIN
        time.
    min_judged : float, keyword-only
        In ``(0, 1]``: the share of the input's pitched frames in which the output must sound for
        :meth:`compare` to give a score (fewer: no score, and the reason).
    dynamic_steps : int, keyword-only
        With several layers (:meth:`fit`'s ``layers``), the dynamics tried between two adjacent
        layers, ends included (2: the layers themselves only).
    **levels
        Keywords of :func:`~analysis.harmonic_levels.harmonic_levels`.

    Examples
    --------
    >>> ref = HarmonicReference().fit(trumpet_notes, sr=16000, name="data/trumpet-reference")  # doctest: +SKIP
    >>> ref.compare(voice, output, sr=16000, target_db=2.1).gap_closed                           # doctest: +SKIP
    0.41
    """

    def __init__(self, *, min_frames: int = 5, min_seconds: float = 5.0, max_seconds: float = 120.0,
                 min_judged: float = 0.5, dynamic_steps: int = 9, **levels: object):
        if not 0 < float(min_judged) <= 1:
            raise ParameterError(f"min_judged={min_judged} must be a share in (0, 1]")
        if isinstance(dynamic_steps, bool) or not isinstance(dynamic_steps, (int, np.integer)) or dynamic_steps < 2:
            raise ParameterError(f"dynamic_steps={dynamic_steps!r} must be an integer >= 2")
        self.dynamic_steps = int(dynamic_steps)
        self.min_frames, self.min_seconds, self.max_seconds = int(min_frames), float(min_seconds), float(max_seconds)
        self.min_judged = float(min_judged)
        self.levels = levels

    def _analyse(self, signals, sr: int, *, with_source: bool = False):
        if isinstance(signals, np.ndarray) and signals.ndim == 1:
            signals = [signals]
        mids, levs, src = [], [], []
        for i, y in enumerate(signals):
            m, lv = harmonic_levels(y, sr=sr, **self.levels)
            mids.append(m)
            levs.append(lv)
            src.append(np.full(m.size, i))
        k = self.levels.get("harmonics", 24)
        midi = np.concatenate(mids) if mids else np.zeros(0)
        lev = np.concatenate(levs) if levs else np.zeros((0, k))
        if with_source:
            return midi, lev, (np.concatenate(src) if src else np.zeros(0, int))
        return midi, lev

    def fit(self, signals: Sequence[np.ndarray], *, sr: int, name: str = "target",
            layers: Sequence[float] | None = None) -> HarmonicReference:
        """Analyse the target material: the median levels of each semitone's frames, per layer.

        Parameters
        ----------
        signals : sequence of np.ndarray [shape=(n,)]
            Mono audio of the target material; beyond ``max_seconds`` in all, the same leading
            share of each is kept.
        sr : int, Hz, keyword-only
            Their sample rate.
        name : str, keyword-only
            The material's name, for messages and the log.
        layers : sequence of float or None, keyword-only
            One dynamic per signal (e.g. the MIDI velocity its notes were played at); signals of
            one value form a layer with its own per-semitone profiles, and distances are taken
            to the nearest dynamic between adjacent layers (:meth:`frame_distances`). None: one
            layer, every signal pooled.

        Returns
        -------
        HarmonicReference
            ``self``, fitted (``pitches_``: the semitones any layer covers; ``layers_``: the
            layer values, ascending; ``seconds_``, ``name_``).

        Raises
        ------
        ParameterError
            Less than ``min_seconds`` of pitched material, a ``layers`` of another length than
            ``signals``, or a layer with no covered semitone.
        """
        signals = [np.asarray(s, np.float32).reshape(-1) for s in signals]
        if layers is None:
            layers = [0.0] * len(signals)
        layers = [float(v) for v in layers]
        if len(layers) != len(signals):
            raise ParameterError(f"layers has {len(layers)} values for {len(signals)} signals; expected one per signal")
        total = sum(s.size for s in signals) / sr
        if total > self.max_seconds:  # the same evenly spaced excerpts every time
            share = self.max_seconds / total
            signals = [s[: max(int(s.size * share), 1)] for s in signals]
        midi, lev, src = self._analyse(signals, sr, with_source=True)
        hop = self.levels.get("hop_length", 256)
        seconds = midi.size * hop / sr
        if seconds < self.min_seconds:
            raise ParameterError(f"{name}: {seconds:.1f} s of pitched material found; the matched-pitch measure "
                                 f"needs at least {self.min_seconds:g} s")
        frame_layer = np.asarray(layers)[src] if src.size else np.zeros(0)
        semis = np.rint(midi).astype(int)
        self.layers_ = np.unique(layers)
        self._layer_pitches, self._layer_profiles = [], []
        for value in self.layers_:
            pitches, profiles = [], []
            for p in np.unique(semis[frame_layer == value]):
                sel = lev[(semis == p) & (frame_layer == value)]
                if len(sel) >= self.min_frames:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN harmonics above fmax
                        profiles.append(np.nanmedian(sel, axis=0))
                    pitches.append(p)
            if not pitches:
                raise ParameterError(f"{name}: layer {value:g} has no semitone with {self.min_frames} pitched frames; "
                                     "expected pitched notes in every layer")
            self._layer_pitches.append(np.array(pitches, float))
            self._layer_profiles.append(np.array(profiles))
        self.pitches_ = np.unique(np.concatenate(self._layer_pitches))
        self.seconds_ = seconds
        self.name_ = name
        log.info("harmonic reference %s: %.1f pitched s, MIDI %d-%d, %d layer(s)", name, seconds, self.pitches_[0],
                 self.pitches_[-1], len(self.layers_))
        return self

    def profile(self, midi: np.ndarray, *, layer: int = 0) -> np.ndarray:
        """One layer's reference levels at any pitches, interpolated linearly between covered semitones.

        Parameters
        ----------
        midi : np.ndarray [shape=(frames,)], MIDI
            Fractional pitches; outside the layer's covered range they take its nearest end.
        layer : int, keyword-only
            Index into ``layers_`` (0: the softest, or the only one).

        Returns
        -------
        np.ndarray [shape=(frames, harmonics)], dB
            Where one neighbour is NaN (above ``fmax``) the other is taken.
        """
        pitches, profiles = self._layer_pitches[layer], self._layer_profiles[layer]
        midi = np.clip(np.asarray(midi, float), pitches[0], pitches[-1])
        if len(pitches) == 1:
            return np.repeat(profiles, midi.size, axis=0)
        hi = np.searchsorted(pitches, midi).clip(1, len(pitches) - 1)
        lo = hi - 1
        w = ((midi - pitches[lo]) / (pitches[hi] - pitches[lo])).clip(0, 1)[:, None]
        return _blend(profiles[lo], profiles[hi], w)

    def frame_distances(self, midi: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Per-frame distance of harmonic levels to the reference at the same pitch.

        The mean level difference of a frame is removed first (loudness is not timbre); the
        distance is the mean absolute difference left over the harmonics both have. With several
        layers, the smallest such distance over the dynamics between adjacent layers
        (``dynamic_steps`` blends of their levels in dB, ends included): a frame is compared with
        the instrument played as hard as fits it best, within the range the reference spans.

        Parameters
        ----------
        midi : np.ndarray [shape=(frames,)], MIDI
            Each frame's pitch.
        levels : np.ndarray [shape=(frames, harmonics)], dB
            As :func:`~analysis.harmonic_levels.harmonic_levels` gives them.

        Returns
        -------
        np.ndarray [shape=(frames,)], dB
        """
        profiles = [self.profile(midi, layer=i) for i in range(len(self.layers_))]
        if len(profiles) == 1:
            return _frame_distance(levels, profiles[0])
        ws = np.linspace(0.0, 1.0, self.dynamic_steps)
        best = np.full(len(midi), np.inf)
        for a, b in zip(profiles[:-1], profiles[1:]):
            for w in ws:
                best = np.minimum(best, _frame_distance(levels, _blend(a, b, w)))
        return best

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


    def compare(self, inputs: np.ndarray | Sequence[np.ndarray], outputs: np.ndarray | Sequence[np.ndarray], *,
                sr: int, target_db: float | None = None) -> TimbreScore:
        """Judge outputs at their inputs' pitch: the output's and the input's distance on the same frames.

        Parameters
        ----------
        inputs : np.ndarray [shape=(n,)] or sequence of them
            One mono input or several.
        outputs : np.ndarray [shape=(n,)] or sequence of them
            The output of each input, time-aligned with it
            (:func:`~analysis.harmonic_levels.judged_frames`); frames of several pairs are pooled.
        sr : int, Hz, keyword-only
            Rate of every signal.
        target_db : float or None, dB, keyword-only
            The held-out reference notes' distance (:meth:`distance`), the ``1`` of the gap.

        Returns
        -------
        TimbreScore
            No distances and no gap (``status`` says why) when the inputs have no pitched frame,
            or when the output sounds in less than ``min_judged`` of them.

        Raises
        ------
        ParameterError
            A bad sample rate, unequal counts or lengths of inputs and outputs, or bad audio.
        """
        if not isinstance(sr, (int, np.integer)) or sr <= 0:
            raise ParameterError(f"sr={sr!r} must be a positive integer (Hz)")
        return self._score([judged_frames(x, y, sr=sr, **self.levels) for x, y in _pairs(inputs, outputs)],
                           target_db)

    def analyse_input(self, x: np.ndarray, *, sr: int) -> InputFrames:
        """An input's pitched frames, analysed once to judge many outputs of it (:meth:`compare_input`).

        Parameters
        ----------
        x : np.ndarray [shape=(n,) or (1, n)]
            Mono input.
        sr : int, Hz, keyword-only
            Its rate.

        Returns
        -------
        InputFrames
            Its pYIN f0, pitched frames and harmonic peaks (this reference's level settings).
        """
        if not isinstance(sr, (int, np.integer)) or sr <= 0:
            raise ParameterError(f"sr={sr!r} must be a positive integer (Hz)")
        return analyse_input(x, sr=sr, **self.levels)

    def compare_input(self, inp: InputFrames, y: np.ndarray, *, sr: int,
                      target_db: float | None = None) -> TimbreScore:
        """:meth:`compare` of one output against an input analysed by :meth:`analyse_input`.

        What a training scorecard does every few epochs: the input's pYIN runs once.

        Parameters
        ----------
        inp : InputFrames
            From :meth:`analyse_input`, at ``sr``.
        y : np.ndarray [shape=(n,) or (1, n)]
            The output, time-aligned with the input.
        sr : int, Hz, keyword-only
            Rate of both.
        target_db : float or None, dB, keyword-only
            The held-out reference notes' distance (the ``1`` of the gap).

        Returns
        -------
        TimbreScore
        """
        if not isinstance(sr, (int, np.integer)) or sr <= 0:
            raise ParameterError(f"sr={sr!r} must be a positive integer (Hz)")
        return self._score([judge_output(inp, y, sr=sr, **self.levels)], target_db)

    def _score(self, parts: list[JudgedFrames], target_db: float | None) -> TimbreScore:
        pitched = sum(p.input_frames for p in parts)
        judged = sum(p.frames for p in parts)
        share = judged / pitched if pitched else 0.0
        errors = float(np.concatenate([p.pitch_error for p in parts]).mean()) if judged else None
        if not pitched:
            return TimbreScore(None, None, target_db, None, 0, 0, 0.0, None, NO_PITCH)
        if share < self.min_judged:
            why = (f"too few judged frames: the output sounds in {share:.0%} of the input's {pitched} pitched frames; "
                   f"at least {self.min_judged:.0%} needed")
            return TimbreScore(None, None, target_db, None, judged, pitched, share, errors, why)
        midi = np.concatenate([p.midi for p in parts])
        d_out = float(self.frame_distances(midi, np.concatenate([p.output_levels for p in parts])).mean())
        d_in = float(self.frame_distances(midi, np.concatenate([p.input_levels for p in parts])).mean())
        return TimbreScore(d_out, d_in, target_db, gap_closed(d_in, d_out, target_db), judged, pitched, share, errors)


def gap_closed(input_db: float | None, output_db: float | None, target_db: float | None) -> float | None:
    """Share of the input-to-target distance the output closed: 0 unchanged, 1 the instrument itself.

    Parameters
    ----------
    input_db, output_db, target_db : float or None, dB
        Distances of the input, the output (on the same frames) and held-out reference notes.

    Returns
    -------
    float or None
        ``(input_db - output_db) / (input_db - target_db)``, capped at 1: an output closer than
        the instrument's own held-out notes is as close as the measure can tell, not closer
        (negative: further than the input). None when a distance is missing or the input is
        already as close as the target material.

    Raises
    ------
    ParameterError
        A distance that is negative or not finite.
    """
    for name, v in (("input_db", input_db), ("output_db", output_db), ("target_db", target_db)):
        if v is not None and not (np.isfinite(v) and v >= 0):
            raise ParameterError(f"{name}={v} must be a finite distance >= 0 dB (or None)")
    if input_db is None or output_db is None or target_db is None or input_db - target_db <= 1e-9:
        return None
    return min(float((input_db - output_db) / (input_db - target_db)), 1.0)


def score_methods(reference: HarmonicReference, *, inputs: dict, outputs: dict, target_db: float | None,
                  sr: int) -> list[dict]:
    """The table of timbre at the input's pitch: every input, and every method's output of it.

    Parameters
    ----------
    reference : HarmonicReference
        Fitted on the reference notes.
    inputs : dict, keyword-only
        ``name -> mono audio [shape=(n,)]`` at ``sr``.
    outputs : dict, keyword-only
        ``method -> {input name -> mono audio}``, each time-aligned with its input.
    target_db : float or None, dB, keyword-only
        The distance of held-out reference notes (the ``1`` of the gap).
    sr : int, Hz, keyword-only
        Sample rate of every signal.

    Returns
    -------
    list of dict
        One row per input and method (the input itself first, as ``method="input"``): ``input``,
        ``method``, ``distance_db`` (the output's; None without a score), ``input_db`` (the
        input's, on the same frames), ``target_db``, ``gap_closed`` (at most 1; None without a
        score), ``frames`` (judged), ``judged_share``, ``pitch_error_share``, ``status``.
    """
    if not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ParameterError(f"sr={sr!r} must be a positive integer (Hz)")
    rows = []
    for name, x in inputs.items():
        inp = analyse_input(x, sr=sr, **reference.levels)  # tracked once for every method
        d_in = None
        if inp.frames:
            lev = inp.relative_levels(floor_db=reference.levels.get("floor_db", -50.0))
            d_in = float(reference.frame_distances(12 * np.log2(inp.f0[inp.keep] / 440.0) + 69, lev).mean())
        rows.append({"input": name, "method": "input", "distance_db": d_in, "input_db": d_in, "target_db": target_db,
                     "gap_closed": 0.0 if d_in is not None else None, "frames": inp.frames,
                     "judged_share": 1.0 if inp.frames else 0.0, "pitch_error_share": 0.0 if inp.frames else None,
                     "status": "ok" if inp.frames else NO_PITCH})
        for method, per_input in outputs.items():
            s = reference._score([judge_output(inp, per_input[name], sr=sr, **reference.levels)], target_db)
            rows.append({"input": name, "method": method, "distance_db": s.output_db, "input_db": s.input_db,
                         "target_db": target_db, "gap_closed": s.gap_closed, "frames": s.frames,
                         "judged_share": s.judged_share, "pitch_error_share": s.pitch_error_share,
                         "status": s.status})
    return rows


def target_reference(target: str | Path, *, sr: int, seed: int = 0, min_judged: float = 0.5,
                     progress: bool = False) -> tuple[HarmonicReference, float]:
    """A reference fitted on reference notes and the distance of their held-out part.

    Best fitted on notes rendered apart from any training or target material
    (:func:`workbench.corpus.reference.render_reference_notes`), as an outside listener's notes.

    Parameters
    ----------
    target : str or Path
        A file, folder or corpus selection (:func:`workbench.corpus.select.resolve_target`).
    sr : int, Hz, keyword-only
        Rate the material is loaded at (mono).
    seed : int, keyword-only
        Seed of the held-out split: the training's clip-level split (10 %), or the last fifth of
        a single file. Files whose ground truth gives one velocity each (reference notes) are
        fitted one layer per velocity (:func:`workbench.corpus.reference.note_layers`).
    min_judged : float, keyword-only
        :class:`HarmonicReference`'s share of judged frames below which there is no score.
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
    from workbench.corpus.reference import note_layers
    from workbench.corpus.select import resolve_target

    files = resolve_target(target)
    clips = [load(p, sr=sr, mono=True)[0][0] for p in files]
    velocities = note_layers(files)
    if len(clips) == 1:
        cut = int(clips[0].size * 0.8)
        fit, held, layers = [clips[0][:cut]], [clips[0][cut:]], velocities
    else:
        tr, va = split_indices(len(clips), valid_fraction=0.1, seed=seed)
        fit, held = [clips[i] for i in tr], [clips[i] for i in va]
        layers = None if velocities is None else [velocities[i] for i in tr]
    return fit_reference(fit, held, sr=sr, name=str(target), min_judged=min_judged, layers=layers)


def fit_reference(fit: Sequence[np.ndarray], held: Sequence[np.ndarray], *, sr: int, name: str,
                  min_judged: float = 0.5, layers: Sequence[float] | None = None,
                  min_seconds: float = 5.0, max_seconds: float = 120.0) -> tuple[HarmonicReference, float]:
    """A reference fitted on some reference notes, and the distance of others held out from it.

    Parameters
    ----------
    fit, held : sequence of np.ndarray [shape=(n,)]
        Mono reference notes to fit on, and disjoint ones for the floor (the ``1`` of the gap).
    sr : int, Hz, keyword-only
        Their rate.
    name : str, keyword-only
        The material's name, for messages.
    min_judged : float, keyword-only
        :class:`HarmonicReference`'s share of judged frames below which there is no score.
    layers : sequence of float or None, keyword-only
        The dynamic (velocity) of each ``fit`` signal, for a reference per layer
        (:meth:`HarmonicReference.fit`); None pools them. The held-out notes need none: each
        frame is measured against the nearest dynamic.
    min_seconds, max_seconds : float, seconds, keyword-only
        Pitched seconds ``fit`` must hold, and the most of it analysed (:class:`HarmonicReference`).

    Returns
    -------
    reference : HarmonicReference
    held_out_db : float, dB

    Raises
    ------
    ParameterError
        Too little pitched material to fit on, or held-out notes with no pitched frame.
    """
    ref = HarmonicReference(min_judged=min_judged, min_seconds=min_seconds,
                            max_seconds=max_seconds).fit(fit, sr=sr, name=name, layers=layers)
    d = ref.distance(list(held), sr=sr)
    if d.distance_db is None:
        raise ParameterError(f"{name}: its held-out part has no pitched frames; expected pitched target material")
    return ref, d.distance_db
