"""Note features at corpus scale: sharded, cached by content, resumable, on any worker.

A corpus's notes are cut into shards of ``shard_size`` notes in the order given. A shard's
features are stored as one ``.npy`` file named by the hash of the transformer's configuration
and of its notes' *content* (the bytes of each file, not its path or date), so:

- a second run on the same notes reuses every shard, and a copied or renamed corpus too;
- a run killed part way keeps the shards it finished and resumes with the others;
- a shard is written to a temporary name and renamed, so a reader never sees half a file.

Shards run where :class:`analysis.parallel.Compute` says: in this process, on a local Ray
(``--workers N``) or a Ray cluster (``--ray-address``), each task asking for the GPU share it
needs when the features run on CUDA.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import clone

from analysis.features import LatentStats, MFCCStats, ScatteringStats, make_features
from analysis.parallel import Compute, run_tasks
from workbench.errors import ParameterError

__all__ = ["content_hash", "cached_features", "feature_matrix", "SHARD_SIZE"]

log = logging.getLogger(__name__)

SHARD_SIZE = 128  # notes per shard: a few seconds of work, a small file
IN_PROCESS = Compute()


def content_hash(path: str | Path) -> str:
    """SHA-1 of a file's bytes (20 hex digits): the note's identity in the cache.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    str
    """
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


def _config(transformer, sr: int) -> dict:
    cfg = {"class": type(transformer).__name__, "params": transformer.get_params(), "sr": sr}
    cfg["params"].pop("device", None)  # where it runs does not change what it computes
    cfg["params"].pop("batch_size", None)
    if hasattr(transformer, "cache_token"):
        cfg["token"] = transformer.cache_token()
    return cfg


def _extract_shard(task: tuple) -> np.ndarray:
    """One shard's features (runs in a worker): load its notes and transform them."""
    from workbench.audio import load

    transformer, paths, sr = task
    return transformer.fit(None).transform([load(p, sr=sr, mono=True)[0][0] for p in paths])


def _save_atomic(path: Path, F: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as f:
            np.save(f, F, allow_pickle=False)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ParameterError(f"feature cache {str(path.parent)!r} is full (no space left writing {path.name}, "
                                 f"{F.nbytes / 1e6:.1f} MB); expected free space there - finished shards are kept, "
                                 f"free some and run again to resume") from None
        raise


def cached_features(transformer: MFCCStats | ScatteringStats | LatentStats, paths: Sequence[str | Path], *,
                    cache_dir: str | Path, sr: int, compute: Compute = IN_PROCESS, shard_size: int = SHARD_SIZE,
                    progress: bool = False) -> tuple[np.ndarray, dict]:
    """Features of the notes at ``paths``, computed shard by shard where ``compute`` says, each
    shard reused from ``cache_dir`` when the same notes (by content) and configuration were done
    before. Stored as ``.npy`` + ``.json``, no pickles.

    Parameters
    ----------
    transformer : MFCCStats, ScatteringStats or LatentStats
        The features (its parameters, and ``cache_token()`` where it has one, enter the key;
        its device and batch size do not).
    paths : sequence of str or Path
        The notes' audio files.
    cache_dir : str or Path, keyword-only
        The cache folder (created).
    sr : int, Hz, keyword-only
        Rate the notes are loaded at (mono).
    compute : Compute, keyword-only
        In this process, a local Ray or a cluster.
    shard_size : int, keyword-only
        Notes per shard.
    progress : bool, keyword-only
        A progress bar with an ETA over the shards still to do.

    Returns
    -------
    features : np.ndarray [shape=(n, d)]
    info : dict
        The configuration, ``notes``, ``dims``, ``shards``, ``cached_shards``, ``cached`` (all
        shards found) and ``seconds`` (time spent extracting, 0 when all were cached).
    """
    if not paths:
        raise ParameterError("no notes to extract features from; expected at least one audio file")
    if shard_size < 1:
        raise ParameterError(f"shard_size={shard_size!r} is not valid; expected a positive number of notes")
    cfg = _config(transformer, sr)
    folder = Path(cache_dir) / hashlib.sha1(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    hashes = [content_hash(p) for p in paths]
    shards = [(list(paths[i: i + shard_size]), hashes[i: i + shard_size]) for i in range(0, len(paths), shard_size)]
    files = [folder / f"{hashlib.sha1('|'.join(h).encode()).hexdigest()[:20]}.npy" for _, h in shards]
    todo = [k for k, f in enumerate(files) if not f.is_file()]
    t0 = time.perf_counter()
    if todo:
        meta = folder / "config.json"
        if not meta.is_file():
            meta.write_text(json.dumps(cfg, indent=1, default=str))
        tasks = [(clone(transformer), [str(p) for p in shards[k][0]], sr) for k in todo]
        is_cuda = str(getattr(transformer, "device", "cpu")).startswith("cuda")
        for j, F in run_tasks(_extract_shard, tasks, compute=compute, gpu=is_cuda, desc=f"{cfg['class']} shards",
                              progress=progress):
            _save_atomic(files[todo[j]], np.asarray(F, dtype=np.float32))
    seconds = time.perf_counter() - t0 if todo else 0.0
    F = np.concatenate([np.load(f, allow_pickle=False) for f in files])
    info = {**cfg, "notes": len(paths), "dims": int(F.shape[1]), "shards": len(files),
            "cached_shards": len(files) - len(todo), "cached": not todo, "seconds": seconds}
    log.info("%s: %d notes, %d of %d shards cached, %.1f s", cfg["class"], len(paths), info["cached_shards"],
             len(files), seconds)
    return F, info


def feature_matrix(spec: str, paths: Sequence[str | Path], *, cache_dir: str | Path, sr: int,
                   compute: Compute = IN_PROCESS, progress: bool = False) -> tuple[np.ndarray, float]:
    """Features named by ``spec`` for the notes at ``paths``; ``a+b`` joins feature sets side by side.

    Each part is cached on its own (:func:`cached_features`).

    Parameters
    ----------
    spec : str
        Specs of :func:`analysis.features.make_features` joined by ``+``.
    paths : sequence of str or Path
        The notes' audio files.
    cache_dir : str or Path, keyword-only
        The feature cache.
    sr : int, Hz, keyword-only
        Rate the notes are loaded at.
    compute : Compute, keyword-only
        Where the shards run, and the features' device.
    progress : bool, keyword-only
        Progress bars over the shards.

    Returns
    -------
    features : np.ndarray [shape=(n, d)]
        The parts side by side.
    seconds : float, seconds
        Time spent extracting (0 for parts found in the cache).
    """
    parts = [p.strip() for p in spec.split("+")]
    if not all(parts):
        raise ParameterError(f"features={spec!r} has an empty part; expected e.g. mfcc+scattering")
    mats, seconds = [], 0.0
    for part in parts:
        F, info = cached_features(make_features(part, sr=sr, device=compute.device), paths, cache_dir=cache_dir, sr=sr,
                                  compute=compute, progress=progress)
        mats.append(F)
        seconds += info["seconds"]
    return np.hstack(mats), seconds
