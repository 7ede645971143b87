"""What a training loop tells the code that watches it: the hooks and the state they see.

A training loop (:class:`models.train.Trainer`, :func:`models.ddsp_train.train_ddsp`) calls each
callback's :meth:`~TrainingCallback.on_train_start` once, :meth:`~TrainingCallback.on_epoch_end`
after every epoch's validation and checkpoint, and :meth:`~TrainingCallback.on_train_end` after
the last epoch, and adds its :meth:`~TrainingCallback.summary` to ``meta.json``. A callback
that can end training says why in :attr:`~TrainingCallback.stop_reason`; the loop stops on it
when the config's ``train.stop_on`` names it (``"scorecard"``). The loops
know nothing about what a callback measures, so measuring code (``analysis.scorecard``) stays
above the models layer and the faces wire it in.

Like Keras' ``Callback`` and Lightning's hooks, every method does nothing by default.

The other way round, a watcher in another process (the dashboard's Training page) asks a
running loop to stop by writing :data:`STOP_FILE` into the run folder; the loops check
:func:`stop_requested` after each epoch and finish the run as they do on any other stop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

__all__ = ["RunState", "TrainingCallback", "epoch_figures", "stop_reason", "stop_requested", "STOP_FILE",
           "STOP_REQUESTED"]

STOP_FILE = "STOP"  # in a run folder: finish after the current epoch
STOP_REQUESTED = "stop requested"  # the run's stopped_by when it did


@dataclass
class RunState:
    """A training run as its callbacks see it, refreshed before each call.

    Attributes
    ----------
    method : str
        ``"autoencoder"`` or ``"ddsp"``: which effect plays the model.
    model : torch.nn.Module
        The model with its current weights (training mode may be on; copy before changing it).
    config : Config or DDSPConfig
        The run's complete config (what ``config.json`` keeps).
    model_kwargs : dict
        The model's constructor keywords.
    out : Path
        The run folder.
    held_out : callable
        Returns the held-out clips (never trained on) as mono float32 arrays ``(n,)`` at
        ``config.audio.sr``; loaded on the first call.
    epoch : int
        The epoch just finished, numbered as the run's ``loss.csv`` numbers it (the last one in
        :meth:`TrainingCallback.on_train_end`; the first one minus one in
        :meth:`TrainingCallback.on_train_start`).
    done : int
        Epochs finished so far (those of an interrupted run included).
    seconds : float, seconds
        Wall time since training started (callbacks' own time included).
    resumed : bool
        The run continues an interrupted one (its earlier rows are in the run folder).
    meta : dict
        What the run's ``meta.json`` will say that playing the model needs (the DDSP method's
        ``pitch_midi``); may be empty.
    """

    method: str
    model: torch.nn.Module
    config: object
    model_kwargs: dict
    out: Path
    held_out: Callable[[], list[np.ndarray]]
    epoch: int = -1
    done: int = 0
    seconds: float = 0.0
    resumed: bool = False
    meta: dict = field(default_factory=dict)


class TrainingCallback:
    """Hooks of a training loop (each a no-op here); subclass and override what you need.

    Attributes
    ----------
    stop_reason : str or None
        Set by the callback when training should stop on its account (the loop honours it
        when ``train.stop_on`` is ``"scorecard"``).
    """

    stop_reason: str | None = None

    def on_train_start(self, state: RunState) -> None:
        """Before the first epoch (after data, model and any resume are ready)."""

    def on_epoch_end(self, state: RunState) -> dict[str, str] | None:
        """After an epoch's validation and checkpoint.

        Returns
        -------
        dict of str or None
            Figures to show on the progress bar beside the losses (name -> formatted value).
        """
        return None

    def on_train_end(self, state: RunState) -> None:
        """After the last epoch, before the run's summary is written."""

    def summary(self) -> dict:
        """Entries the callback adds to the run's ``meta.json`` at the end (none here)."""
        return {}


def epoch_figures(callbacks: Sequence[TrainingCallback], state: RunState) -> dict[str, str]:
    """Call every callback's :meth:`~TrainingCallback.on_epoch_end`; their figures merged.

    Parameters
    ----------
    callbacks : sequence of TrainingCallback
    state : RunState

    Returns
    -------
    dict of str
        Name -> formatted value, for the progress bar.
    """
    out: dict[str, str] = {}
    for cb in callbacks:
        out.update(cb.on_epoch_end(state) or {})
    return out


def stop_reason(callbacks: Sequence[TrainingCallback]) -> str | None:
    """The first stop reason a callback gives, None when none asks to stop.

    Parameters
    ----------
    callbacks : sequence of TrainingCallback

    Returns
    -------
    str or None
    """
    return next((cb.stop_reason for cb in callbacks if cb.stop_reason), None)


def stop_requested(out: str | Path) -> bool:
    """Whether a watcher has asked the run in ``out`` to stop (:data:`STOP_FILE` exists there).

    Parameters
    ----------
    out : str or Path
        The run folder.

    Returns
    -------
    bool
    """
    return (Path(out) / STOP_FILE).is_file()
