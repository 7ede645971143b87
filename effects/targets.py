"""Target material for the classical methods: loaded from a file, a folder, a corpus selection
or an array, at the stream's sample rate, with the checks every method needs."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from workbench.audio import load, resample, validate_audio
from workbench.corpus.select import resolve_target
from workbench.errors import ParameterError

__all__ = ["load_target"]

log = logging.getLogger(__name__)


def load_target(target: str | Path | list[str | Path] | tuple[str | Path, ...] | np.ndarray, *, sr: int,
                target_sr: int | None = None, min_samples: int, notice: bool = True) -> list[np.ndarray]:
    """The target material as mono clips at the stream's rate.

    Parameters
    ----------
    target : str, Path, list of paths or np.ndarray [shape=(channels, n) or (n,)]
        A path (file, folder, ``CORPUS:key=value``), a list of paths, or an array (mixed to mono).
    sr : int, Hz, keyword-only
        The rate wanted; a clip at another rate is resampled.
    target_sr : int, Hz, optional, keyword-only
        The array's rate (required for an array).
    min_samples : int, samples, keyword-only
        One analysis frame: clips shorter than it are dropped.
    notice : bool, keyword-only
        Log (INFO) how many files were resampled from each rate.

    Returns
    -------
    list of np.ndarray [shape=(n,), dtype=float32]
        The clips at least ``min_samples`` long, in order.

    Raises
    ------
    ParameterError
        An array without ``target_sr``, a bad file or array (NaN/Inf...), or no clip as long as
        one frame.
    """
    clips = []
    if isinstance(target, np.ndarray):
        if target_sr is None:
            raise ParameterError("target given as an array needs target_sr (its sample rate in Hz)")
        a = validate_audio(target, sr=target_sr, name="target")
        a = a.mean(axis=0)
        if target_sr != sr:
            a = resample(a[None], target_sr, sr)[0]
        clips.append(a)
    else:
        paths = [Path(p) for p in target] if isinstance(target, (list, tuple)) else resolve_target(target)
        resampled: dict[int, list] = {}  # rate -> [count, first file]
        for p in paths:
            y, file_sr = load(p, mono=True)
            if file_sr != sr:
                resampled.setdefault(file_sr, [0, p])[0] += 1
                y = resample(y, file_sr, sr)
            clips.append(y[0])
        for rate, (count, first) in resampled.items() if notice else ():
            log.info("note: resampling %d target file(s) from %d Hz to %d Hz (first: %s)", count, rate, sr, first)
    longest = max(len(c) for c in clips)
    if longest < min_samples:
        raise ParameterError(f"target is {longest} samples long, shorter than one analysis frame of {min_samples}; "
                             f"expected at least {min_samples} samples")
    return [c for c in clips if len(c) >= min_samples]
