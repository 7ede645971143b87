"""What the live engine reports: its latency, counts and per-block timings, the block log, the status line.

:class:`EngineReport` is the :class:`~live.engine.LiveEngine`'s book-keeping, kept apart from the
streaming itself. The engine's threads record into it (each record a few array writes: no
allocation, no lock of its own; every record has one writer thread), and the engine's
:meth:`~live.engine.LiveEngine.stats`, :meth:`~live.engine.LiveEngine.status_line` and
:meth:`~live.engine.LiveEngine.block_log` read it back, handing over the engine state they show.

Latency figure (:class:`Latency`): algorithmic (``effect.latency_samples``) + pre-fill + the
stream's reported input and output latency (PortAudio's figures for the device, e.g. JACK port
latencies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EngineReport", "Latency", "pct_text", "reported_latency", "STATS_LEN", "XRUN", "LATE", "PREFILL", "SILENT"]

STATS_LEN = 1 << 16  # per-block timings kept (about 3 minutes at 128 frames, 44.1 kHz)
XRUN, LATE, PREFILL, SILENT = 1, 2, 4, 8  # block log flags


@dataclass(frozen=True)
class Latency:
    """The live path's delay from input to output, in samples and milliseconds.

    ``algorithmic`` (the effect's ``latency_samples``) and ``prefill`` (scheduling: pre-filled
    output blocks) are exact; ``input_s`` and ``output_s`` are what PortAudio reports for the
    open stream (None when it reports nothing usable, as for JACK client-to-client ports).
    """

    samplerate: int
    algorithmic: int
    prefill: int
    input_s: float | None = None
    output_s: float | None = None

    @property
    def internal(self) -> int:
        """Samples from the callback's input to its output: ``algorithmic + prefill``."""
        return self.algorithmic + self.prefill

    def ms(self, samples: int) -> float:
        """Samples as milliseconds at ``samplerate``.

        Parameters
        ----------
        samples : int, samples
            A delay in samples.

        Returns
        -------
        float, ms
            The same delay in milliseconds.
        """
        return 1e3 * samples / self.samplerate

    @property
    def total_ms(self) -> float:
        """The whole delay in ms: ``internal`` plus the reported input and output latency (None counted as 0)."""
        return self.ms(self.internal) + 1e3 * ((self.input_s or 0.0) + (self.output_s or 0.0))

    def describe(self) -> str:
        """The delay as one line of text, for the status line.

        Returns
        -------
        str
            The total and its parts in ms, e.g. ``"8.8 ms (effect 0.0 + buffer 5.8 + in 1.5 + out 1.5)"``
            (``n/a`` for a device latency PortAudio did not report).
        """
        dev = "".join(f" + {k} {1e3 * v:.1f}" if v is not None else f" + {k} n/a"
                      for k, v in (("in", self.input_s), ("out", self.output_s)))
        return (f"{self.total_ms:.1f} ms (effect {self.ms(self.algorithmic):.1f} + buffer "
                f"{self.ms(self.prefill):.1f}{dev})")

    def to_dict(self) -> dict:
        """The delay as JSON-ready numbers (for :meth:`LiveEngine.stats <live.engine.LiveEngine.stats>` and the run reports).

        Returns
        -------
        dict
            ``samplerate`` (Hz); ``algorithmic_samples`` and ``prefill_samples``; ``algorithmic_ms``,
            ``prefill_ms``, ``input_ms``, ``output_ms`` (None when not reported) and ``total_ms``, in
            ms rounded to 3 decimals.
        """
        return {"samplerate": self.samplerate, "algorithmic_samples": self.algorithmic,
                "prefill_samples": self.prefill, "algorithmic_ms": round(self.ms(self.algorithmic), 3),
                "prefill_ms": round(self.ms(self.prefill), 3),
                "input_ms": None if self.input_s is None else round(1e3 * self.input_s, 3),
                "output_ms": None if self.output_s is None else round(1e3 * self.output_s, 3),
                "total_ms": round(self.total_ms, 3)}


def reported_latency(seconds: float) -> float | None:
    """A device latency PortAudio reports, or None when it is no figure.

    PortAudio's JACK host API reports an unset port latency (-1 frames, unsigned) as about
    97 000 s when connected to another client's ports: "unknown", not a figure.

    Parameters
    ----------
    seconds : float, s
        One of the stream's reported latencies.

    Returns
    -------
    float or None, s
        ``seconds`` when in [0, 10), else None.
    """
    return float(seconds) if 0 <= seconds < 10 else None


def pct_text(v: float | None) -> str:
    """A load share as text: ``0.42`` -> ``"42%"``, ``None`` -> ``"-"``.

    Parameters
    ----------
    v : float or None
        A share, 1.0 being 100% (e.g. a load from :meth:`LiveEngine.stats <live.engine.LiveEngine.stats>`).

    Returns
    -------
    str
        The percentage rounded to a whole number, or ``"-"``.
    """
    return "-" if v is None else f"{100 * v:.0f}%"


def _summary(t: np.ndarray, count: int, scale: float, recent: int | None = None) -> dict:
    """Median, 99th percentile and maximum of the first ``count`` entries of ring ``t`` (or its
    last ``recent``), divided by ``scale``; Nones when there are none."""
    if recent is not None and count > recent:  # the last `recent` entries of the ring
        v = t[np.arange(count - recent, count) % len(t)] / scale
    else:
        v = t[: min(count, len(t))] / scale
    if not len(v):
        return {"median": None, "p99": None, "max": None}
    return {"median": round(float(np.median(v)), 4), "p99": round(float(np.percentile(v, 99)), 4),
            "max": round(float(v.max()), 4)}


class EngineReport:
    """A live stream's counts, per-block timings and block log, and the figures read from them.

    Made by :meth:`LiveEngine.start <live.engine.LiveEngine.start>` once the stream's rate,
    devices and latency are known; the engine's worker and guard threads record into it, the
    engine's reading methods hand over the state they show.

    Parameters
    ----------
    latency : Latency
        The stream's delay (its ``samplerate`` is the stream's; ``prefill`` is in samples).
    blocksize : int, frames
        Frames per block.
    devices : tuple of dict
        The input and output device (``index`` and ``name``), as
        :func:`workbench.devices.resolve_device` gives them.
    warmup_load : float
        The effect's median time per block over the block period during the warm-up.

    Attributes
    ----------
    counts : dict of str to int
        ``callbacks``, ``xruns``, ``late_blocks``, ``fell_behind``, ``skipped_blocks``,
        ``nonfinite``, ``underruns``, ``gc_collections``, ``processed`` (see :meth:`stats`);
        the engine's threads increment them.
    """

    def __init__(self, latency: Latency, *, blocksize: int, devices: tuple[dict, dict], warmup_load: float):
        self.latency, self.blocksize, self.devices = latency, int(blocksize), devices
        self.samplerate = latency.samplerate
        self.prefill_blocks = latency.prefill // self.blocksize
        self.warmup_load = float(warmup_load)
        self.counts = dict(callbacks=0, xruns=0, late_blocks=0, fell_behind=0, skipped_blocks=0, nonfinite=0,
                           underruns=0, gc_collections=0, processed=0)
        self._block_s = self.blocksize / self.samplerate
        self._cb_load = np.zeros(STATS_LEN, np.float64)  # PortAudio's callback load, sampled by the guard
        self._cb_n = 0
        self._fx_t = np.zeros(STATS_LEN, np.float64)  # worker: the effect's time per block
        self._gc_t = np.zeros(STATS_LEN, np.float64)
        self._dl_t = np.zeros(STATS_LEN, np.float64)  # worker: block arrival to output written
        self._log_g = np.zeros((STATS_LEN, 2), np.float32)  # wet gain at each block's start, end
        self._log_flags = np.zeros(STATS_LEN, np.uint8)  # XRUN | LATE | PREFILL | SILENT
        self._log_flags[:self.prefill_blocks] = PREFILL

    # -- recording (from the engine's threads) ---------------------------------------------------
    def log_block(self, m: int, flags: int, g0: float, g1: float) -> None:
        """Output block ``m`` as written, into the block log.

        Parameters
        ----------
        m : int, blocks
            The output block's number in the stream.
        flags : int
            ``XRUN | LATE | PREFILL | SILENT`` bits (0: a wet block on time).
        g0, g1 : float
            The wet gain at the block's first and last sample, in [0, 1].
        """
        b = m % STATS_LEN
        self._log_flags[b] = flags
        self._log_g[b, 0], self._log_g[b, 1] = g0, g1

    def xrun(self, total: int, m: int) -> None:
        """PortAudio's xrun count changed: keep it, and flag the block the callback is at.

        Parameters
        ----------
        total : int
            PortAudio's xruns since the stream started.
        m : int, blocks
            The block the callback is at now (flagged ``XRUN`` in the block log).
        """
        self.counts["xruns"] = total
        self._log_flags[m % STATS_LEN] |= XRUN

    def callback_load(self, load: float) -> None:
        """Keep one sample of PortAudio's callback load.

        Parameters
        ----------
        load : float
            Time in the callback over the block period (1.0: a whole period).
        """
        self._cb_load[self._cb_n % STATS_LEN] = load
        self._cb_n += 1

    def block_processed(self, effect_s: float, delivery_s: float | None) -> None:
        """The worker ran the effect on a block: keep its timings and count it as ``processed``.

        Parameters
        ----------
        effect_s : float, s
            The effect's time on the block.
        delivery_s : float or None, s
            From the block's arrival to its output being written; None when the output was not
            written (the block came too late), and then nothing is kept for it.
        """
        i = self.counts["processed"] % STATS_LEN
        if delivery_s is not None:
            self._dl_t[i] = delivery_s
        self._fx_t[i] = effect_s
        self.counts["processed"] += 1

    def gc_pause(self, seconds: float) -> None:
        """The worker ran the garbage collector: keep the pause and count it.

        Parameters
        ----------
        seconds : float, s
            How long the collection took.
        """
        self._gc_t[self.counts["gc_collections"] % STATS_LEN] = seconds
        self.counts["gc_collections"] += 1

    # -- reading -----------------------------------------------------------------------------------
    @property
    def status_window(self) -> int:
        """Blocks the status line summarises: about a second, 64 at least."""
        return max(64, int(self.samplerate / self.blocksize))

    def block_log(self, written: int) -> dict:
        """The block log of :meth:`LiveEngine.block_log <live.engine.LiveEngine.block_log>`.

        Parameters
        ----------
        written : int, blocks
            Output blocks written so far (the pre-fill counts).

        Returns
        -------
        dict
            ``block``, ``g0``, ``g1``, ``flags``: the last ``min(written, STATS_LEN)`` output blocks,
            oldest first (copies).
        """
        first = max(0, written - STATS_LEN)
        rows = np.arange(first, written) % STATS_LEN
        return {"block": np.arange(first, written), "g0": self._log_g[rows, 0].copy(),
                "g1": self._log_g[rows, 1].copy(), "flags": self._log_flags[rows].copy()}

    def stats(self, *, seconds: float, state: dict, record_dropped_frames: int, recent: int | None = None) -> dict:
        """The figures of :meth:`LiveEngine.stats <live.engine.LiveEngine.stats>`.

        Parameters
        ----------
        seconds : float, s
            Streamed so far.
        state : dict
            The engine's ``behind``, ``bypass``, ``worker_error`` and ``device_error``, in that order.
        record_dropped_frames : int, frames
            Frames the recorder could not keep.
        recent : int, blocks, optional, keyword-only
            Summarise only the last ``recent`` entries of each timing ring (None: all kept).

        Returns
        -------
        dict
            The keys listed in :meth:`LiveEngine.stats <live.engine.LiveEngine.stats>`, in its order.
        """
        c = dict(self.counts)
        minutes = max(seconds / 60, 1e-9)
        gc_n = c["gc_collections"]
        din, dout = self.devices
        return {
            "seconds": round(seconds, 3), "samplerate": self.samplerate, "blocksize": self.blocksize,
            "prefill_blocks": self.prefill_blocks, **c, "xruns_per_minute": round(c["xruns"] / minutes, 3),
            "fell_behind_per_minute": round(c["fell_behind"] / minutes, 3),
            **state, "callback": "C (rtmixer)", "callback_wait_ms": 0.0,
            "callback_load": _summary(self._cb_load, self._cb_n, 1.0, recent),
            "worker_load": _summary(self._fx_t, c["processed"], self._block_s, recent),
            "delivery_blocks": _summary(self._dl_t, c["processed"], self._block_s, recent),
            "warmup_load": round(self.warmup_load, 4),
            "gc_pause_ms": _summary(self._gc_t, gc_n, 1e-3) if gc_n else None,
            "record_dropped_frames": record_dropped_frames,
            "latency": self.latency.to_dict(),
            "devices": {"input": f"{din['index']} {din['name']}", "output": f"{dout['index']} {dout['name']}"},
        }

    def status_line(self, stats: dict, *, params: dict, extra: str = "") -> str:
        """The line of :meth:`LiveEngine.status_line <live.engine.LiveEngine.status_line>`.

        Parameters
        ----------
        stats : dict
            :meth:`stats` over the last :attr:`status_window` blocks (its state keys give the state).
        params : dict
            The effect's parameters; ``mix`` and ``alpha`` are shown when present.
        extra : str
            Text appended at the end (e.g. MIDI/OSC control counts); nothing when empty.

        Returns
        -------
        str
            Latency, callback and effect load, xruns, late blocks, state, knobs and ``extra``.
        """
        cb, fx = stats["callback_load"], stats["worker_load"]
        state = "BYPASS" if stats["bypass"] else ("BEHIND (dry)" if stats["behind"] else "ok")
        if stats["worker_error"]:
            state = f"EFFECT FAILED (dry): {stats['worker_error']}"
        if stats["device_error"]:
            state = f"DEVICE LOST: {stats['device_error']}"
        knobs = "".join(f" {k} {params[k]:.2f}" for k in ("mix", "alpha") if k in params)
        return (f"latency {self.latency.describe()} | callback {pct_text(cb['median'])} (max {pct_text(cb['max'])}) | "
                f"effect {pct_text(fx['median'])} | xruns {stats['xruns']} | late {stats['late_blocks']} | {state} |{knobs}"
                + ((" |" if knobs else "") + f" {extra}" if extra else ""))
