"""The test oracle for the live engine: the output it should produce, from its block log."""

from __future__ import annotations

import numpy as np

from live.report import SILENT
from workbench.errors import ParameterError


def expected_output(dry: np.ndarray, wet: np.ndarray, log: dict, *, blocksize: int, delay: int) -> np.ndarray:
    """The output the engine should have produced, rebuilt from its :meth:`~LiveEngine.block_log`.

    Parameters
    ----------
    dry : ndarray, shape ``(channels, n)``
        The input as the callback received it, from its first block (``record`` holds it).
    wet : ndarray, shape ``(channels, n)``
        The effect's offline output on ``dry`` (``effect.process(dry, sr)``: aligned with it).
    log : dict
        :meth:`LiveEngine.block_log`, covering blocks ``0 .. n / blocksize - 1``.
    blocksize : int
    delay : int
        ``engine.latency.internal`` (algorithmic + pre-fill samples).

    Returns
    -------
    ndarray, shape ``(channels, n)``
        ``dry + ramp * (wet - dry)``, both delayed by ``delay`` samples, ``ramp`` per the log,
        clipped to [-1, 1]; zero in blocks the log flags ``SILENT`` (the output ring ran
        dry). Equal to the recorded output up to float32 rounding.
    """
    ch, n = dry.shape
    pad = np.zeros((ch, delay), np.float32)
    d = np.concatenate([pad, dry], axis=1)[:, :n]
    w = np.concatenate([pad, wet.astype(np.float32)], axis=1)[:, :n]
    blocks = n // blocksize
    index = {int(b): i for i, b in enumerate(log["block"])}
    if any(b not in index for b in range(blocks)):
        raise ParameterError(f"the block log does not cover blocks 0..{blocks - 1}; expected a log of the whole run")
    rows = np.array([index[b] for b in range(blocks)])
    frac = np.arange(1, blocksize + 1, dtype=np.float32) / blocksize
    g0, g1 = log["g0"][rows], log["g1"][rows]
    ramp = (frac[None] * (g1 - g0)[:, None] + g0[:, None]).astype(np.float32).reshape(-1)
    m = blocks * blocksize
    out = (w[:, :m] - d[:, :m]) * ramp + d[:, :m]
    silent = np.repeat((log["flags"][rows] & SILENT) > 0, blocksize)
    out[:, silent] = 0.0
    return np.clip(out, -1.0, 1.0)
