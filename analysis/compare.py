"""One input through one method, measured against the input: pitch kept, loudness followed, target
timbre reached (by the instrument judge and at the input's pitch), speed; and the outputs written.

The methods compared are :data:`COMPARE_METHODS`: those that play a trained run
(:data:`effects.registry.MODEL_METHODS`) take ``model``, the classical baselines ``target``;
each is built by :func:`effects.registry.make_effect`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from effects.registry import MODEL_METHODS, make_effect
from workbench.audio import resample, validate_audio
from workbench.errors import ParameterError
from workbench.upload import MIN_INPUT_SAMPLES

if TYPE_CHECKING:
    from analysis.harmonic_timbre import HarmonicReference
    from analysis.instrument_judge import InstrumentJudge
    from effects.base import Effect

__all__ = ["COMPARE_METHODS", "compare_effect", "compare_method", "save_outputs"]

COMPARE_METHODS = ("autoencoder", "ddsp", "cepstral", "mosaic")  # the two run methods, then the two baselines


def compare_effect(method: str, *, model: str | Path | None = None, target: str | Path | None = None,
                   mix: float = 1.0) -> Effect:
    """The effect of ``method`` as the comparison plays it (:func:`effects.registry.make_effect`).

    Parameters
    ----------
    method : str
        One of :data:`COMPARE_METHODS`.
    model : str or Path, optional, keyword-only
        The run a method that plays a trained run (:data:`effects.registry.MODEL_METHODS`) plays.
    target : str or Path, optional, keyword-only
        The target material of the baselines (cepstral, mosaic).
    mix : float, keyword-only
        Wet share, in [0, 1].

    Returns
    -------
    Effect
        Built, not prepared.

    Raises
    ------
    ParameterError
        A method not compared, or what the registry refuses.
    """
    if method not in COMPARE_METHODS:
        raise ParameterError(f"method={method!r} is not valid; expected one of {', '.join(COMPARE_METHODS)}")
    if method in MODEL_METHODS:
        return make_effect(method, model=model, mix=mix)
    return make_effect(method, target=target, mix=mix)


def save_outputs(folder: str | Path, outputs: Mapping[str, np.ndarray], *, sr: int,
                 metrics: Mapping[str, dict] | None = None) -> list[Path]:
    """Write each named signal as a wav file, and the measures as ``metrics.json``.

    Parameters
    ----------
    folder : str or Path
        Where (created).
    outputs : mapping of str to np.ndarray [shape=(channels, n) or (n,)]
        Name -> signal; the file is ``<name>.wav`` with characters other than letters, digits and
        ``-_.`` replaced by ``_``.
    sr : int, Hz, keyword-only
        Their sample rate.
    metrics : mapping, optional, keyword-only
        Written as ``metrics.json`` when given.

    Returns
    -------
    list of Path
        The files written.
    """
    from workbench.audio import save

    folder = Path(folder)
    written = []
    for name, y in outputs.items():
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        written.append(save(folder / f"{slug}.wav", np.asarray(y, np.float32), sr))
    if metrics is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float))
        written.append(folder / "metrics.json")
    return written


def compare_method(effect: Effect, audio: np.ndarray, sr: int, *, notes: list[dict] | None = None,
                   judge: InstrumentJudge | None = None, family: str | None = None, tracker: str = "pyin",
                   input_track: tuple[np.ndarray, np.ndarray] | None = None,
                   reference: tuple[HarmonicReference, float] | None = None) -> dict:
    """Play mono ``audio`` through ``effect`` and measure the result against the input.

    Parameters
    ----------
    effect : Effect
        Any Effect; its ``required_sample_rate`` (a trained model's) sets the processing rate.
    audio : np.ndarray [shape=(1, n)]
        The input, mono (a first channel is taken).
    sr : int, Hz
        Rate of ``audio``.
    notes : list of dict, optional, keyword-only
        The input's notes (onset, offset, pitch): then pitch kept is the share of notes whose
        output median f0 stays within 50 cents.
    judge : InstrumentJudge, optional, keyword-only
        A fitted instrument judge (:func:`analysis.instrument_judge.fitted_judge`) for target-timbre
        accuracy: it labels the output's 2 s windows, as the scoreboard's does.
    family : str, optional, keyword-only
        The target's family; the accuracy is the share of the output's windows the judge labels so.
    tracker : str, keyword-only
        f0 tracker (:data:`workbench.pitch.TRACKERS`).
    input_track : (times, f0), optional, keyword-only
        The input's f0 track, when already computed.
    reference : (HarmonicReference, float), optional, keyword-only
        The target material's matched-pitch reference and its held-out distance
        (:func:`analysis.harmonic_timbre.target_reference`): adds the output judged at the input's
        pitch, ``timbre_distance_db`` (the output's), ``timbre_input_db`` (the input's, same
        frames), ``timbre_target_db``, ``timbre_gap_closed`` (at most 1), ``timbre_judged_share``
        and ``timbre_pitch_error_share`` (distances and gap None, with ``timbre_status`` saying
        why, when there is no score).

    Returns
    -------
    dict
        ``sr``, ``output`` (float32 ``(n,)`` at ``sr``), ``input_track`` and ``output_track`` (times, f0 in Hz, 0 when
        unvoiced), ``metrics`` (``pitch_kept`` share or None, ``raw_pitch_accuracy``,
        ``voicing_recall``, ``loudness_correlation``, ``loudness_l1_db``, ``timbre_accuracy`` or None,
        ``labelled_as``, ``rtf``, the ``timbre_*`` keys above, ``timbre_status``)
        and ``notes`` (per-note records or None).
    """
    from analysis.pitch_notes import measure_notes
    from analysis.scoreboard import loudness_match
    from effects.base import OFFLINE_BLOCK
    from workbench.pitch import melody_scores, track_f0

    x = validate_audio(audio, sr=sr, min_samples=MIN_INPUT_SAMPLES, name="input")[:1]
    proc_sr = int(effect.required_sample_rate or sr)
    xp = resample(x, sr, proc_sr) if proc_sr != sr else x
    effect.prepare(proc_sr, 1, OFFLINE_BLOCK)  # loading targets and fitting indexes is set-up, not processing time
    t0 = time.perf_counter()
    y = effect.process(xp, proc_sr)
    spent = time.perf_counter() - t0
    y = resample(np.asarray(y, np.float32), proc_sr, sr)[0][: x.shape[1]] if proc_sr != sr else np.asarray(y)[0]
    in_track = input_track if input_track is not None else track_f0(x[0], sr=sr, tracker=tracker)
    out_track = track_f0(y, sr=sr, tracker=tracker)
    scores = melody_scores(in_track, out_track)
    loud = loudness_match(x[0], y, sr=sr)
    rows = measure_notes(notes, in_track, out_track) if notes else None
    metrics = {
        "pitch_kept": float(np.mean([r["kept"] for r in rows])) if rows else None,
        "raw_pitch_accuracy": scores["raw_pitch_accuracy"], "voicing_recall": scores["voicing_recall"],
        **loud, "timbre_accuracy": None, "labelled_as": None, "rtf": float(x.shape[1] / sr / max(spent, 1e-9)),
    }
    if judge is not None:
        labels = list(judge.predict(y, sr=sr))
        if labels:
            metrics["labelled_as"] = str(max(set(labels), key=labels.count))
            if family:
                metrics["timbre_accuracy"] = float(np.mean([lab == family for lab in labels]))
    metrics.update(timbre_distance_db=None, timbre_input_db=None, timbre_target_db=None, timbre_gap_closed=None,
                   timbre_judged_share=None, timbre_pitch_error_share=None, timbre_status=None)
    if reference is not None:
        from analysis.harmonic_timbre import score_methods

        ref, held = reference
        row = score_methods(ref, inputs={"x": x[0]}, outputs={"y": {"x": y}}, target_db=held, sr=sr)[1]
        metrics.update(timbre_distance_db=row["distance_db"], timbre_input_db=row["input_db"],
                       timbre_target_db=row["target_db"], timbre_gap_closed=row["gap_closed"],
                       timbre_judged_share=row["judged_share"], timbre_pitch_error_share=row["pitch_error_share"],
                       timbre_status=row["status"])
    return {"sr": sr, "output": y.astype(np.float32), "input_track": in_track, "output_track": out_track,
            "metrics": metrics, "notes": rows}
