"""The interpreter's settings while a live stream runs, and their undoing.

While :class:`~live.engine.LiveEngine` streams, torch runs on one intra-op thread (more would
fight the audio threads for the cores), the GIL switch interval is lowered so the guard thread
gets the GIL quickly, and the garbage collector is frozen and disabled; the engine's worker
collects the young generations when it is idle, at most once a second
(:meth:`RealtimeMode.collect_if_due`). :meth:`RealtimeMode.leave` puts everything back.
"""

from __future__ import annotations

import gc
import sys
import time

import torch

from workbench.errors import ParameterError
from workbench.validate import check_number

__all__ = ["RealtimeMode", "GC_MODES", "GC_EVERY_S"]

GC_MODES = ("freeze", "default")
GC_EVERY_S = 1.0  # the worker collects at most this often, and only when idle


class RealtimeMode:
    """Process-wide settings for streaming: one torch thread, a short GIL switch interval, the
    garbage collector frozen.

    Parameters
    ----------
    gc_mode : {"freeze", "default"}
        Freeze and disable the garbage collector while streaming (collected by
        :meth:`collect_if_due` when the worker is idle), or leave it alone.
    switch_interval_ms : float, optional
        GIL switch interval while streaming, 0.01 to 100 ms (None leaves the interpreter's).

    Examples
    --------
    >>> mode = RealtimeMode(gc_mode="freeze", switch_interval_ms=0.5)
    >>> mode.enter()                    # doctest: +SKIP
    >>> pause = mode.collect_if_due()   # doctest: +SKIP
    >>> mode.leave()                    # doctest: +SKIP
    """

    def __init__(self, *, gc_mode: str = "freeze", switch_interval_ms: float | None = 0.5):
        if gc_mode not in GC_MODES:
            raise ParameterError(f"gc_mode={gc_mode!r} is not valid; expected one of {', '.join(GC_MODES)}")
        if switch_interval_ms is not None:
            check_number(switch_interval_ms, "switch_interval_ms", lo=0.01, hi=100, what=" or None")
        self.gc_mode, self.switch_interval_ms = gc_mode, switch_interval_ms
        self._saved: tuple[bool, float, int] | None = None
        self._last_gc = time.monotonic()

    def enter(self) -> None:
        """Apply the settings, remembering the interpreter's own (for :meth:`leave`)."""
        self._saved = (gc.isenabled(), sys.getswitchinterval(), torch.get_num_threads())
        torch.set_num_threads(1)  # intra-op threads would fight the audio threads for 2 cores
        if self.switch_interval_ms is not None:
            sys.setswitchinterval(self.switch_interval_ms * 1e-3)
        if self.gc_mode == "freeze":
            gc.collect()
            gc.freeze()  # everything alive now is never scanned again
            gc.disable()
        self._last_gc = time.monotonic()

    def leave(self) -> None:
        """Put back what :meth:`enter` changed (nothing if it did not run)."""
        if self._saved is None:
            return
        enabled, interval, threads = self._saved
        self._saved = None
        torch.set_num_threads(threads)
        sys.setswitchinterval(interval)
        if self.gc_mode == "freeze":
            gc.unfreeze()
            if enabled:
                gc.enable()

    def collect_if_due(self) -> float | None:
        """Collect the young generations if the collector is frozen and ``GC_EVERY_S`` has passed.

        Returns
        -------
        float or None, s
            How long the collection took; None when none was due.
        """
        if self.gc_mode != "freeze" or time.monotonic() - self._last_gc < GC_EVERY_S:
            return None
        t = time.perf_counter()
        gc.collect(1)
        pause = time.perf_counter() - t
        self._last_gc = time.monotonic()
        return pause
