"""Train a run folder with either method, or reuse the finished run already there.

The one place that turns "a target and a config" into a run folder: the CLI's ``train`` (which
always trains), the demo and the pitch protocol's class models (which reuse what is finished)
all come through :func:`train_or_reuse`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from models.callbacks import TrainingCallback
from models.checkpoint import RunFolder
from workbench.config import Config, DDSPConfig, config_hash
from workbench.errors import ParameterError

__all__ = ["train_or_reuse", "method_of_config"]

log = logging.getLogger(__name__)


def method_of_config(cfg: Config | DDSPConfig) -> str:
    """``"ddsp"`` for a :class:`DDSPConfig`, ``"autoencoder"`` for a :class:`Config`."""
    return "ddsp" if isinstance(cfg, DDSPConfig) else "autoencoder"


def train_or_reuse(target: str | Path | Sequence[str | Path], cfg: Config | DDSPConfig, out: str | Path, *,
                   reuse: bool = True, match_config: bool = True, resume: bool = False,
                   check: Callable[[list[Path]], None] | None = None, describe: dict | None = None,
                   device: str = "cpu", world_size: int = 1, rank: int = 0,
                   callbacks: Sequence[TrainingCallback] = (), progress: bool = True) -> dict:
    """Train ``target`` into the run folder ``out`` with the method ``cfg`` is for, unless a
    finished run is there.

    Parameters
    ----------
    target : str, Path or sequence of paths
        A folder, a file, a corpus selection (``CORPUS:key=value``, see
        :func:`workbench.corpus.select.resolve_target`) or the audio files themselves. A config
        with an instrument code (``model.condition``) labels the files by ``model.code_by``.
    cfg : Config or DDSPConfig
        The validated config (:func:`workbench.config.make_config`); its type picks the method.
    out : str or Path
        The run folder.
    reuse : bool, keyword-only
        Return the finished run at ``out`` instead of training (``RunFolder.is_complete``).
    match_config : bool, keyword-only
        Reuse only a run trained with this config (its ``config_hash`` in ``meta.json``);
        False: any finished run.
    resume : bool, keyword-only
        Continue an interrupted autoencoder run from its ``resume.pt``.
    check : callable, optional, keyword-only
        Called with the resolved files before training (e.g. the doctor's refusal); raises to stop.
    describe : dict, optional, keyword-only
        Entries for ``meta.json`` (``target``, ``preset`` ...); ``config_hash`` is added.
    device : str, keyword-only
        Where it trains (``cpu``, ``cuda``, ``cuda:N``).
    world_size, rank : int, keyword-only
        The autoencoder's data-parallel group (under torchrun).
    callbacks : sequence of TrainingCallback, keyword-only
        The scorecard and the like (:mod:`models.callbacks`).
    progress : bool, keyword-only
        Show a progress bar.

    Returns
    -------
    dict
        The run's summary: the trainer's on training, ``meta.json`` on reuse (with
        ``reused: True``).

    Raises
    ------
    ParameterError
        Resume asked of a DDSP config, or what the trainer and ``check`` raise.
    """
    from workbench.corpus.select import resolve_target, target_labels

    method, run, h = method_of_config(cfg), RunFolder(out), config_hash(cfg)
    if reuse and not resume and run.is_complete(config_hash=h if match_config else None):
        log.info("reusing the finished %s run %s", method, run.path)
        return {**run.read_meta(), "reused": True}
    if resume and method == "ddsp":
        raise ParameterError("--resume: --method ddsp trains from the start; --resume is for the autoencoder")
    labels = None
    if isinstance(target, (str, Path)):
        if method == "autoencoder" and cfg.model.condition != "none":
            paths, labels = target_labels(str(target), by=cfg.model.code_by)
        else:
            paths = resolve_target(str(target))
        name = str(target)
    else:
        paths, name = [Path(p) for p in target], None
    if check is not None:
        check(list(paths))
    describe = {**({"target": name} if name else {}), **(describe or {}), "config_hash": h}
    if method == "ddsp":
        from models.ddsp_train import train_ddsp

        return train_ddsp(paths, cfg, run.path, progress=progress, describe=describe, device=device,
                          callbacks=callbacks)
    from models.train import train

    return train(paths, cfg, run.path, labels=labels, resume=resume, progress=progress, device=device,
                 world_size=world_size, rank=rank, describe=describe, callbacks=callbacks)
