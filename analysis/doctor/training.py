"""How long training would take here, from a measured throughput and the material's duration.

The two methods scale differently (``models/train.py``, ``models/ddsp_train.py``):

- the autoencoder's epoch passes over every frame of the material, so an epoch costs
  ``autoencoder_epoch_s_per_audio_s`` times its duration, for up to ``train.epochs`` (60)
  epochs, fewer when early stopping (patience 8) ends it;
- the DDSP-style model first tracks CREPE controls over all of the material
  (``ddsp_controls_s_per_audio_s`` per second), then runs epochs of a fixed 128 one-second crops
  (``ddsp_epoch_s`` each, whatever the duration) until the validation loss plateaus: 43-104
  epochs in BENCHMARKS.md (issue 14), capped at ``train.max_seconds`` (600 s).

The throughput is either measured at run time (:func:`measure_throughput`: one real epoch of
each method on 8 s of a synthetic tone, through the trainers' own code) or the constants in
:data:`THROUGHPUT`, measured the same way on the reference machine.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["THROUGHPUT", "measure_throughput", "training_estimate"]

log = logging.getLogger(__name__)

# From BENCHMARKS.md's figures on an idle x86_64 with 2 cores and no GPU: the demo's autoencoder
# (36 epochs in 153 s over 288 s of training clips) and issue 14's DDSP runs (epochs of 2.3 s
# median; CREPE-tiny controls 40 s for 320 s of audio). measure_throughput() on the same kind of
# machine shared with two other jobs (load average 3-3.5) gave 4.5-7x the autoencoder figure,
# 5-12x the DDSP epoch and 7-33x the controls (BENCHMARKS.md, 2026-12-04): torch's threads
# contend for the cores. Hence a run-time measurement is an option (--measure-training), not
# the default, and the estimate is for a machine the training has to itself.
THROUGHPUT = {"autoencoder_epoch_s_per_audio_s": 0.015, "ddsp_epoch_s": 2.3, "ddsp_controls_s_per_audio_s": 0.125,
              "source": "constants from BENCHMARKS.md (idle x86_64, 2 cores, no GPU; demo run and issue 14)"}
_DDSP_EPOCHS = (40, 105)  # epochs to the plateau seen in BENCHMARKS.md, issue 14


def _tone(seconds: float, sr: int) -> np.ndarray:
    """A harmonic tone stepping through a scale, with gaps: something both trainers accept."""
    t = np.arange(int(0.5 * sr)) / sr
    notes = []
    for k in range(int(np.ceil(seconds / 0.5))):
        f0 = 220.0 * 2 ** ((k * 2 % 12) / 12)
        y = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 9))
        notes.append(0.2 * y * np.minimum(1, (0.5 - t) / 0.05))
    return np.concatenate(notes)[: int(seconds * sr)].astype(np.float32)


def measure_throughput(*, seconds: float = 8.0, seed: int = 0) -> dict:
    """Time one training epoch of each method on ``seconds`` of a synthetic tone.

    Parameters
    ----------
    seconds : float, s, keyword-only
        Length of the material trained on.
    seed : int, keyword-only
        Seed of both trainers.

    Returns
    -------
    dict
        As :data:`THROUGHPUT`, with ``source`` saying it was measured now.
    """

    from models.checkpoint import RunFolder
    from models.ddsp_train import ControlTracker, clip_controls, train_ddsp
    from models.train import Trainer
    from workbench.audio import save
    from workbench.config import make_config

    with tempfile.TemporaryDirectory(prefix="doctor-") as tmp:
        wav = save(Path(tmp) / "tone.wav", _tone(seconds, 16000), 16000)
        tr = Trainer(make_config(seed=seed), Path(tmp) / "ae", progress=False).prepare_data([wav]).build()
        tr.train_epoch(0)  # the first epoch pays one-off costs (allocation, kernels); time the second
        t0 = time.perf_counter()
        tr.train_epoch(1)
        ae = time.perf_counter() - t0
        cfg = make_config(method="ddsp", overrides=["train.epochs=2", "train.patience=5"], seed=seed)
        tracker = ControlTracker(capacity=cfg.model.crepe)
        clip_controls([wav], cfg, tracker)
        t0 = time.perf_counter()
        clip_controls([wav], cfg, tracker)
        controls = time.perf_counter() - t0
        train_ddsp([wav], cfg, Path(tmp) / "ddsp", progress=False)
        stamps = RunFolder(Path(tmp) / "ddsp").read_loss()["seconds"]
        epoch = stamps[-1] - stamps[0]
    out = {"autoencoder_epoch_s_per_audio_s": round(ae / seconds, 4), "ddsp_epoch_s": round(epoch, 2),
           "ddsp_controls_s_per_audio_s": round(controls / seconds, 4),
           "source": f"measured now: a second epoch of each method on {seconds:g} s of a synthetic tone"}
    log.info("training throughput: %s", out)
    return out


def training_estimate(seconds: float, *, throughput: dict | None = None) -> dict:
    """Training time of both methods on ``seconds`` of material.

    Parameters
    ----------
    seconds : float, s
        The duration training reads.
    throughput : dict, optional, keyword-only
        From :func:`measure_throughput` (default :data:`THROUGHPUT`).

    Returns
    -------
    dict
        ``autoencoder`` (``epoch_s``, ``max_epochs``, ``max_s``), ``ddsp`` (``controls_s``,
        ``low_s``, ``high_s``, the cap ``cap_s``) and ``source``.
    """
    from workbench.config import DDSPTrainConfig, TrainConfig

    tp = throughput or THROUGHPUT
    ae_epoch = tp["autoencoder_epoch_s_per_audio_s"] * seconds
    epochs = TrainConfig().epochs
    cap = DDSPTrainConfig().max_seconds
    controls = tp["ddsp_controls_s_per_audio_s"] * seconds
    lo, hi = (min(cap, n * tp["ddsp_epoch_s"]) for n in _DDSP_EPOCHS)
    return {"autoencoder": {"epoch_s": round(ae_epoch, 1), "max_epochs": epochs, "max_s": round(ae_epoch * epochs)},
            "ddsp": {"controls_s": round(controls), "low_s": round(controls + lo), "high_s": round(controls + hi),
                     "cap_s": cap},
            "source": tp["source"]}
