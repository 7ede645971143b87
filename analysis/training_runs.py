"""Training runs as the Training page shows them: their curves, a running one's progress and ETA,
the voice phrase through their weights, and two runs side by side.

Everything here reads what the trainers and the scorecard write into a run folder while they
run (``loss.csv`` after every epoch, ``scorecard.csv`` and ``scorecard_audio/`` at each
measurement, ``meta.json``) and what :mod:`analysis.training_job` keeps about a background job
(``training.json``, ``train.log``); nothing is re-measured except :func:`play_phrase`, which
plays the scorecard's voice phrase through a run's saved weights.

Examples
--------
>>> p = progress("runs/cello")  # doctest: +SKIP
>>> p["state"], p["epochs_done"], p["epochs"], round(p["eta_s"])  # doctest: +SKIP
('running', 4, 20, 96)
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path

import numpy as np

from analysis.scorecard import VOICE_FILE, read_scorecard, snapshot_audio, voice_phrase
from analysis.training_job import JOB_FILE, job_status
from models.checkpoint import RunFolder
from workbench.errors import ParameterError
from workbench.report_io import read_json

__all__ = ["training_runs", "curves", "progress", "compare_table", "snapshots", "play_phrase", "SCORECARD_SERIES"]

log = logging.getLogger(__name__)

# the scorecard's figures worth a curve: column -> (label, higher is better)
SCORECARD_SERIES = {"gap": ("timbre gap closed", True), "pitch_accuracy": ("raw pitch accuracy", True),
                    "loudness_correlation": ("loudness correlation", True), "timbre_db": ("timbre distance (dB)", False),
                    "ms_per_hop": ("ms per hop", False)}


def training_runs(runs: str | os.PathLike) -> list[Path]:
    """The run folders under a runs root, finished or still training.

    Parameters
    ----------
    runs : str or PathLike
        The runs root.

    Returns
    -------
    list of Path
        Folders directly under it with a ``config.json``, a ``loss.csv`` or a background job
        (``training.json``), sorted by name; empty when ``runs`` is not a folder.
    """
    runs = Path(runs)
    if not runs.is_dir():
        return []
    marks = (RunFolder.CONFIG, RunFolder.LOSS_CSV, JOB_FILE)
    return sorted(p for p in runs.iterdir() if p.is_dir() and any((p / m).is_file() for m in marks))


def curves(run: str | os.PathLike) -> dict:
    """A run's loss and scorecard curves so far.

    Parameters
    ----------
    run : str or PathLike
        A run folder.

    Returns
    -------
    dict
        ``loss`` (columns of ``loss.csv``: ``epoch``, ``train_loss``, ``valid_loss``,
        ``seconds``; empty before the first epoch) and ``scorecard`` (columns of
        ``scorecard.csv``, None where a figure could not be measured; empty before the first
        measurement).
    """
    rows = read_scorecard(run)
    card = {k: [r.get(k) for r in rows] for k in (rows[0] if rows else {})}
    return {"loss": RunFolder(run).read_loss(), "scorecard": card}


def _finite(v) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def progress(run: str | os.PathLike, *, now: float | None = None) -> dict:
    """How far a run has come, and how long it has left.

    The ETA is the lesser of the epochs left at the mean epoch time so far (scorecard
    measurements included, the set-up before the first epoch not) and what is left of the time budget; early stopping can end the
    run sooner, so it is an upper bound.

    Parameters
    ----------
    run : str or PathLike
        A run folder (a background job's, or one trained from the command line).
    now : float, s since the epoch, optional, keyword-only
        The time to measure against (default now).

    Returns
    -------
    dict
        ``state`` (a job's :func:`analysis.training_job.job_status` state; for a run without a
        job ``"done"`` or ``"unfinished"`` from its ``meta.json``), ``running``, ``phase``
        (``"preparing"`` before the first epoch of a running job, else ``"training"`` or
        ``"finished"``), ``epochs_done``, ``epochs`` (asked for; None when unknown),
        ``max_seconds`` (the budget, 0 for none), ``train_seconds`` (at the last epoch),
        ``elapsed_s`` (since the job started, None without a job), ``epoch_s`` (mean),
        ``eta_s`` (None when not running or not known yet), ``fraction`` (0-1),
        ``valid_loss`` (last), ``scorecard`` (last row or None), ``stopped_by`` (from
        ``meta.json`` when finished), ``message`` (the log's last line) and ``reason`` (why a
        job failed).
    """
    run = Path(run)
    now = time.time() if now is None else now
    job = job_status(run)
    folder = RunFolder(run)
    loss, meta = folder.read_loss(), folder.read_meta()
    done = len(loss.get("epoch", []))
    train_s = _finite(loss["seconds"][-1]) if done else None
    if job is not None:
        state, running = job["state"], job["running"]
        epochs, budget = job.get("epochs"), float(job.get("max_seconds") or 0.0)
        elapsed = now - float(job["started"])
    else:
        state, running, elapsed = ("done" if meta.get("status") == "done" else "unfinished"), False, None
        cfg = meta.get("config") or read_json(folder.config).get("config", {})
        epochs = cfg.get("train", {}).get("epochs")
        budget = float(cfg.get("train", {}).get("max_seconds") or 0.0)
    phase = ("preparing" if done == 0 else "training") if running else "finished"
    secs = [s for s in loss.get("seconds", []) if math.isfinite(s)]
    # from the second epoch on, the differences: the first row's time includes the set-up (the scorecard's voice
    # and reference) that later epochs do not pay again
    epoch_s = (secs[-1] - secs[0]) / (len(secs) - 1) if len(secs) >= 2 else (secs[0] if secs else None)
    eta = None
    if running and epoch_s is not None:
        left = [max(0, epochs - done) * epoch_s] if epochs else []
        if budget:
            left.append(max(0.0, budget - train_s))
        eta = min(left) if left else None
    shares = [done / epochs] if epochs else []
    if budget and train_s is not None:
        shares.append(train_s / budget)
    fraction = 1.0 if state == "done" else min(1.0, max(shares, default=0.0))
    card = read_scorecard(run)
    return {"state": state, "running": running, "phase": phase, "epochs_done": done, "epochs": epochs,
            "max_seconds": budget, "train_seconds": train_s, "elapsed_s": elapsed, "epoch_s": epoch_s, "eta_s": eta,
            "fraction": fraction, "valid_loss": _finite(loss["valid_loss"][-1]) if done else None,
            "scorecard": card[-1] if card else None,
            "stopped_by": meta.get("stopped_by") if meta.get("status") == "done" else None,
            "message": job["last_line"] if job else "", "reason": job.get("reason") if job else None}


def snapshots(run: str | os.PathLike) -> list[tuple[int, Path]]:
    """The voice phrase through the weights of each scorecard measurement (:func:`analysis.scorecard.snapshot_audio`).

    Parameters
    ----------
    run : str or PathLike

    Returns
    -------
    list of (int, Path)
        ``(epoch, wav file)``, oldest first.
    """
    return snapshot_audio(run)


def compare_table(runs: list[str | os.PathLike]) -> list[dict]:
    """One row per run: its method, epochs, best valid loss and its last scorecard.

    Parameters
    ----------
    runs : list of str or PathLike
        Run folders.

    Returns
    -------
    list of dict
        ``run``, ``method``, ``epochs``, ``best_valid_loss``, ``stopped_by``, then the last
        scorecard's ``epoch`` (as ``scorecard_epoch``) and figures (None where missing).
    """
    from analysis.scorecard import COLUMNS
    from models.checkpoint import run_method

    out = []
    for r in runs:
        r = Path(r)
        folder = RunFolder(r)
        meta, job, loss = folder.read_meta(), read_json(r / JOB_FILE), folder.read_loss()
        valid = [v for v in loss.get("valid_loss", []) if math.isfinite(v)]
        card = read_scorecard(r)
        last = card[-1] if card else {}
        method = job.get("method") or (run_method(r) if folder.config.is_file() else None)
        row = {"run": r.name, "method": method, "epochs": len(loss.get("epoch", [])),
               "best_valid_loss": min(valid) if valid else None, "stopped_by": meta.get("stopped_by"),
               "scorecard_epoch": last.get("epoch")}
        row.update({k: last.get(k) for k in COLUMNS if k not in ("epoch", "seconds", "measure_seconds")})
        out.append(row)
    return out


def play_phrase(run: str | os.PathLike, *, voice_cache: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, int]:
    """The scorecard's voice phrase through a run's saved weights (the best so far while training).

    Parameters
    ----------
    run : str or PathLike
        A run folder with ``model.safetensors`` (loaded from safetensors, never unpickled).
    voice_cache : str or PathLike, keyword-only
        A folder for the phrase when the run has none of its own (``scorecard_voice.wav``,
        written by the scorecard): it is sung there once per rate.

    Returns
    -------
    x : np.ndarray [shape=(n,), dtype=float32]
        The phrase.
    y : np.ndarray [shape=(n,), dtype=float32]
        Through the run.
    sr : int, Hz
        The run's rate (of both).

    Raises
    ------
    ParameterError
        No weights yet, or the phrase cannot be sung (Festival missing).
    """
    from effects.registry import make_effect
    from effects.render import render_audio
    from models.checkpoint import run_method

    folder = RunFolder(run)
    run = folder.path
    if not folder.weights.is_file() or not folder.config.is_file():
        raise ParameterError(f"{str(run)!r} has no saved weights yet (model.safetensors; the DDSP method writes them "
                             "when it finishes)")
    sr = int(read_json(folder.config)["config"]["audio"]["sr"])
    own = run / VOICE_FILE
    x = voice_phrase(own if own.is_file() else Path(voice_cache) / f"scorecard_voice_{sr}.wav", sr=sr)
    fx = make_effect(run_method(run), model=str(run))
    y, _ = render_audio(fx, x, sr=sr)
    log.info("voice phrase through %s: %.1f s", run, x.size / sr)
    return x.astype(np.float32), np.asarray(y, np.float32), sr
