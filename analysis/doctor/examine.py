"""The examination: every check over the material, gathered into one JSON-ready dict."""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path

import numpy as np

from analysis.doctor.advice import findings, verdict
from analysis.doctor.coverage import judge_excerpts, pitch_excerpts, pitch_summary, track_excerpts
from analysis.doctor.decay import decay_rt60s, rt60_summary
from analysis.doctor.scan import list_material, scan_file
from analysis.doctor.training import training_estimate
from workbench.audio import info
from workbench.errors import ParameterError

__all__ = ["examine"]

log = logging.getLogger(__name__)

SILENCE_DB = -60.0  # frames below this (dBFS, mean square) count as silence


def _budgets(seconds: list[float], *, total: float, per_file: float) -> list[float]:
    """How much of each file to read: all of it while the material fits ``total``, else a share."""
    whole = sum(seconds)
    scale = min(1.0, total / whole) if whole > 0 else 1.0
    return [max(min(s, 10.0), min(per_file, s * scale)) for s in seconds]


def _duplicates(scans) -> list[list[str]]:
    """Groups of files with the same audio: equal digests, or level tracks within 0.1 dB on average
    (the same take written twice with a different rounding or container)."""
    groups: list[list] = []
    for s in scans:
        fp = np.maximum(s.levels, -80.0)
        for g in groups:
            ref = g[0]
            if s.digest == ref[0].digest or (fp.size == ref[1].size and fp.size and
                                             float(np.mean(np.abs(fp - ref[1]))) < 0.1):
                g.append((s, fp))
                break
        else:
            groups.append([(s, fp)])
    return [[str(s.path) for s, _ in g] for g in groups if len(g) > 1]


def _pct(x: np.ndarray, q) -> list:
    return [round(float(v), 1) for v in np.percentile(x, q)] if x.size else [None] * len(q)


def examine(target: str | os.PathLike | list, *, name: str | None = None, pitch_seconds: float = 60.0,
            budget_seconds: float = 7200.0,
            file_seconds: float = 1800.0, instrument_range: tuple[int, int] | None = None, family: str | None = None,
            judge=None, throughput: dict | None = None, progress: bool = False) -> dict:
    """Read training material and say what a careful engineer would check before training on it.

    Parameters
    ----------
    target : path or list of paths
        A folder of audio files, one audio file, or a list of files (a corpus selection).
    name : str, optional, keyword-only
        How the material is named in the report (default the path, or the number of files).
    pitch_seconds : float, s, keyword-only
        How much of the material is pitch-tracked (pYIN), spread over the files.
    budget_seconds : float, s, keyword-only
        How much audio the level pass reads in all; longer material is read as excerpts.
    file_seconds : float, s, keyword-only
        How much of any one file the level pass reads.
    instrument_range : (low, high), MIDI, optional, keyword-only
        The instrument's playable range, checked for coverage.
    family : str, optional, keyword-only
        The instrument family the material should sound like (the judge's label).
    judge : InstrumentJudge, optional, keyword-only
        A fitted judge; without one the voice/instrument check is skipped and the report says so.
    throughput : dict, optional, keyword-only
        Training throughput (:func:`analysis.doctor.training.measure_throughput`; default the
        stated constants).
    progress : bool, keyword-only
        A progress bar over the files.

    Returns
    -------
    dict
        ``target``, ``files`` (one row per file), ``unreadable``, ``other_files``, ``totals``,
        ``formats``, ``levels``, ``reverb``, ``pitch``, ``judge``, ``too_short``, ``duplicates``,
        ``training``, ``findings`` (each with ``check``, ``level``, ``message``, ``action``) and
        ``verdict`` (``ready``, ``usable with caveats`` or ``not enough``) with its ``reason``.

    Raises
    ------
    ParameterError
        A missing path, an empty folder or a folder without audio files.
    """
    from tqdm import tqdm

    from workbench.config import AudioConfig

    if isinstance(target, (list, tuple)):
        paths, other, name = [Path(p) for p in target], [], name or f"{len(target)} files"
        if not paths:
            raise ParameterError("no audio files given; expected a folder, a file or a list of files")
    else:
        paths, other = list_material(target)
        name = name or str(target)
    heads, unreadable = [], []
    for p in paths:
        try:
            heads.append((p, info(p)))
        except ParameterError as err:
            unreadable.append({"path": str(p), "reason": str(err)})
    budgets = _budgets([h.frames / h.samplerate for _, h in heads], total=budget_seconds, per_file=file_seconds)
    scans = []
    for (p, _), b in tqdm(list(zip(heads, budgets)), desc="doctor", unit="file", disable=not progress):
        try:
            scans.append(scan_file(p, budget_seconds=b))
        except ParameterError as err:  # a header that reads and data that does not
            unreadable.append({"path": str(p), "reason": str(err)})
    total = sum(s.seconds for s in scans)
    analysed = sum(s.analysed_seconds for s in scans)
    levels = np.concatenate([np.maximum(s.levels, -120.0) for s in scans]) if scans else np.zeros(0)
    sounding = levels[levels > SILENCE_DB]
    floor = float(np.percentile(levels, 5)) if levels.size else None
    spread = float(np.percentile(levels, 95)) - floor if levels.size else 0.0
    floor_measured = floor is not None and spread >= 15.0  # without pauses the quietest frames are playing
    a = AudioConfig()
    report = {
        "target": name,
        "files": [{"path": str(s.path), "seconds": round(s.seconds, 3), "analysed_seconds": round(s.analysed_seconds, 3),
                   "sr": s.sr, "channels": s.channels, "subtype": s.subtype,
                   "peak_dbfs": round(20 * np.log10(max(float(s.peak.max()), 1e-12)), 2),
                   "dc": round(float(np.abs(s.dc).max()), 5), "clipped_share": s.clipped / max(s.samples * s.channels, 1),
                   "digest": s.digest} for s in scans],
        "unreadable": unreadable, "other_files": [str(p) for p in other],
        "totals": {"files": len(paths), "readable": len(scans), "seconds": round(total, 2),
                   "analysed_seconds": round(analysed, 2), "sampled": analysed < total - 1e-6},
        "formats": {k: {str(v): n for v, n in Counter(getattr(s, k) for s in scans).items()}
                    for k in ("sr", "channels", "subtype")},
    }
    digital = float(np.mean(np.isneginf(np.concatenate([s.levels for s in scans])))) if scans else 0.0
    report["levels"] = {
        "noise_floor_dbfs": round(floor, 1) if floor_measured else None,
        "quietest_dbfs": round(floor, 1) if floor is not None else None,
        "silence_share": round(float(np.mean(levels <= SILENCE_DB)), 4) if levels.size else None,
        "digital_silence_share": round(digital, 4),
        "loudness_dbfs": dict(zip(("p5", "p25", "p50", "p75", "p95"), _pct(sounding, [5, 25, 50, 75, 95]))),
        "clipped_share": sum(s.clipped for s in scans) / max(sum(s.samples * s.channels for s in scans), 1),
        "max_dc": round(max((float(np.abs(s.dc).max()) for s in scans), default=0.0), 5),
        "method": "mono mean square over 10 ms frames (a full-scale sine reads -3 dBFS); floor: 5th percentile",
    }
    rt = [decay_rt60s(seg, floor_db=floor if floor_measured else -100.0) for s in scans for _, seg in s.segments]
    report["reverb"] = rt60_summary(np.concatenate(rt) if rt else np.zeros(0))
    track = track_excerpts(pitch_excerpts(scans, seconds=pitch_seconds), floor_db=floor if floor_measured else None) \
        if scans else {"midi": np.zeros(0), "usable": np.zeros(0, bool), "seconds": 0.0, "audio": []}
    report["pitch"] = pitch_summary(track, instrument_range=instrument_range)
    report["totals"]["usable_seconds"] = round(report["pitch"]["usable_share"] * total, 2)
    if judge is None:
        report["judge"] = {"ran": False, "why": "the instrument judge must be fitted on a corpus first (no trained "
                                                "judge ships with the workbench); give --judge CORPUS to run it"}
    else:
        report["judge"] = {"ran": True, "family": family, **judge_excerpts(judge, track["audio"])}
    min_seconds = a.n_fft / a.sr
    report["too_short"] = {"min_seconds": min_seconds, "n_fft": a.n_fft, "sr": a.sr,
                           "files": [str(s.path) for s in scans if s.seconds < min_seconds]}
    report["duplicates"] = _duplicates(scans)
    report["training"] = training_estimate(total, throughput=throughput)
    report["findings"] = findings(report)
    report["verdict"] = verdict(report)
    log.debug("doctor %s: %s", name, report["verdict"]["verdict"])
    return report
