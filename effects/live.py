"""Any Effect on a live audio stream (PortAudio through sounddevice), glitch-aware.

Real-time design (figures in BENCHMARKS.md, section "Live audio"):

- The PortAudio callback only copies: the input block into a preallocated ring, the finished
  output block (or the aligned dry signal) out of another ring, and both into the recorder's
  ring. It never waits for the effect.
- A worker thread runs ``effect.process_block`` on fixed blocks of ``blocksize`` frames, with
  torch on one intra-op thread and in inference mode. The output is pre-filled with
  ``prefill`` blocks of silence (:func:`default_prefill`: 5 ms of margin past one block): the
  worker has that many block periods to finish a block. This scheduling delay is part of the
  reported latency (``mode="callback"`` runs the effect inside the callback instead, with no
  pre-fill; measured worse).
- Every Python thread beside the callback (worker, recorder, console) runs at SCHED_FIFO 1 when
  permitted: one preempted by another process while holding the GIL would stall the callback
  (:func:`workbench.devices.thread_priority`).
- The garbage collector is frozen and disabled while streaming (its pauses would land on
  whichever thread allocates, including the callback); the worker collects the young
  generations itself when it is idle, at most once a second, and the pauses are measured.
- The interpreter's GIL switch interval is lowered while streaming so the callback thread gets
  the GIL quickly when the worker holds it (the default 5 ms is longer than a 128-frame block).
- Falling behind: the callback checks that the block it needs now is finished and (with
  ``prefill >= 2``) that the next one is too. If not, it crossfades to the dry input, delayed
  to stay aligned with the wet signal, counts the event, and crossfades back after the worker
  has kept up for ``recover_ms``. A worker more than ``prefill`` blocks late skips ahead to
  the newest block instead of stuttering through stale ones; the effect's output is treated as
  invalid until the skip has left its analysis window.
- The output passes a non-finite guard and a hard clip at 0 dBFS (effects already soft-limit).
- ``record`` writes one float WAV from a writer thread: input channels first, then output
  channels, sample-aligned as they passed through the callback (the output lags the input by
  :attr:`LiveEngine.latency` ``algorithmic + prefill``).

Latency figure: algorithmic (``effect.latency_samples``) + pre-fill + the stream's reported
input and output latency (PortAudio's figures for the device, e.g. JACK port latencies).
"""

from __future__ import annotations

import gc
import math
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from effects.base import Effect
from effects.recorder import Recorder
from workbench.devices import (
    check_stream_format,
    check_stream_settings,
    list_devices,
    release,
    rescan,
    resolve_device,
    thread_priority,
)
from workbench.errors import DeviceError, ParameterError
from workbench.validate import check_int, check_number

__all__ = ["LiveEngine", "Latency", "default_prefill", "MODES", "XRUN", "LATE", "PREFILL"]

MODES = ("worker", "callback")
GC_MODES = ("freeze", "default")
PRIORITIES = ("realtime", "nice", "normal")
PREFILL_MARGIN_MS = 5.0  # time the worker gets past one block before the fall-back warns
STATS_LEN = 1 << 16  # per-block timings kept (about 3 minutes at 128 frames, 44.1 kHz)
GC_EVERY_S = 1.0  # the worker collects at most this often, and only when idle
XRUN, LATE, PREFILL = 1, 2, 4  # block log flags
_XRUN_FLAGS = ("input_overflow", "input_underflow", "output_overflow", "output_underflow")


def default_prefill(blocksize: int, samplerate: int) -> int:
    """Pre-fill blocks for worker mode: ``1 + ceil(PREFILL_MARGIN_MS / block duration)``, at least 2.

    The fall-back's early warning needs the worker to finish each block ``prefill - 1`` periods
    after it arrives. At 44.1 kHz that is 5 blocks of 64 frames, 3 of 128, 2 of 256. With 2
    blocks of 128 (2.9 ms of margin) a loaded 2-core machine fell back to dry 54 to 141 times
    a minute, with 3 blocks 0 to 15 times (BENCHMARKS.md); the extra block costs 2.9 ms.
    """
    block_ms = 1e3 * blocksize / samplerate
    return max(2, 1 + math.ceil(PREFILL_MARGIN_MS / block_ms - 1e-9))


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
        return 1e3 * samples / self.samplerate

    @property
    def total_ms(self) -> float:
        return self.ms(self.internal) + 1e3 * ((self.input_s or 0.0) + (self.output_s or 0.0))

    def describe(self) -> str:
        dev = "".join(f" + {k} {1e3 * v:.1f}" if v is not None else f" + {k} n/a"
                      for k, v in (("in", self.input_s), ("out", self.output_s)))
        return (f"{self.total_ms:.1f} ms (effect {self.ms(self.algorithmic):.1f} + buffer "
                f"{self.ms(self.prefill):.1f}{dev})")

    def to_dict(self) -> dict:
        return {"samplerate": self.samplerate, "algorithmic_samples": self.algorithmic,
                "prefill_samples": self.prefill, "algorithmic_ms": round(self.ms(self.algorithmic), 3),
                "prefill_ms": round(self.ms(self.prefill), 3),
                "input_ms": None if self.input_s is None else round(1e3 * self.input_s, 3),
                "output_ms": None if self.output_s is None else round(1e3 * self.output_s, 3),
                "total_ms": round(self.total_ms, 3)}


class LiveEngine:
    """Run an :class:`~effects.base.Effect` on a duplex audio stream.

    Parameters
    ----------
    effect : Effect
        Any effect (autoencoder, cepstral, mosaic, latent mix...). It is prepared for the
        stream's rate, ``channels`` and ``blocksize``.
    samplerate : int, optional
        Stream rate in Hz. Default: the effect's model rate if it has one, else the input
        device's default rate. An effect with a model rate only runs at that rate.
    blocksize : int
        Frames per callback (and per ``process_block`` call).
    input_device, output_device : int or str, optional
        A device index or part of its name (``workbench devices``); default devices if None.
    channels : int
        Input channels processed. A mono effect output goes to both channels of a stereo
        output device.
    latency : {"low", "high"} or float
        PortAudio's suggested device latency (seconds for a number).
    mix : float, optional
        Initial ``mix`` of the effect in [0, 1] (left as it is when None).
    prefill : int, optional
        Output blocks of pre-filled silence (worker mode; default :func:`default_prefill`; must be
        0 in callback mode).
    mode : {"worker", "callback"}
        Where ``process_block`` runs.
    record : path, optional
        Float WAV of the input channels followed by the output channels.
    fade_ms, recover_ms : float
        Crossfade length for bypass and fall-back, and how long the worker must keep up before
        the wet signal comes back.
    gc_mode : {"freeze", "default"}
        Freeze and disable the garbage collector while streaming (collected by the worker when
        idle), or leave it alone.
    switch_interval_ms : float, optional
        GIL switch interval while streaming (None leaves the interpreter's).
    worker_priority : {"realtime", "nice", "normal"}
        Scheduling of the threads that take the GIL beside the callback (worker, recorder,
        :func:`run_console`'s): see :func:`workbench.devices.thread_priority`.
    client_name : str
        Our JACK client's name, when PortAudio runs on JACK.

    Examples
    --------
    >>> fx = CepstralEffect(target="trumpet.wav", n_fft=512, hop_length=128)  # doctest: +SKIP
    >>> with LiveEngine(fx, blocksize=128, samplerate=44100) as eng:          # doctest: +SKIP
    ...     time.sleep(10); print(eng.status_line())
    """

    def __init__(self, effect: Effect, *, samplerate: int | None = None, blocksize: int = 128,
                 input_device=None, output_device=None, channels: int = 1, latency="low",
                 mix: float | None = None, prefill: int | None = None, mode: str = "worker",
                 record=None, fade_ms: float = 10.0, recover_ms: float = 50.0, gc_mode: str = "freeze",
                 switch_interval_ms: float | None = 0.5, worker_priority: str = "realtime",
                 client_name: str = "workbench"):
        if not isinstance(effect, Effect):
            raise ParameterError(f"effect={effect!r} is not an Effect; expected an instance of effects.base.Effect")
        self.effect = effect
        check_stream_settings(blocksize=blocksize, samplerate=samplerate, channels=channels, latency=latency)
        self.blocksize, self.samplerate, self.channels = int(blocksize), samplerate, int(channels)
        model_sr = effect.required_sample_rate
        if samplerate is not None and model_sr and samplerate != model_sr:
            raise ParameterError(f"samplerate={samplerate} does not match the model's {model_sr} Hz; "
                                 f"expected {model_sr} (or leave it out)")
        self.latency_hint = latency
        if mode not in MODES:
            raise ParameterError(f"mode={mode!r} is not valid; expected one of {', '.join(MODES)}")
        self.mode = mode
        if prefill is None:  # chosen in start(), when the rate is known
            self.prefill_blocks = None if mode == "worker" else 0
        elif mode == "worker":
            self.prefill_blocks = check_int(prefill, "prefill", hi=64, what=" blocks in worker mode")
        else:
            self.prefill_blocks = check_int(prefill, "prefill", lo=0, hi=0, what=" in callback mode")
        if mix is not None:
            if "mix" not in effect.get_params():
                raise ParameterError(f"mix={mix!r}: {type(effect).__name__} has no mix parameter")
            effect.set_params(mix=mix)  # validates: a number in [0, 1]
        for name, v in (("fade_ms", fade_ms), ("recover_ms", recover_ms)):
            check_number(v, name, lo=0, hi=5000, what=" of milliseconds")
        self.fade_ms, self.recover_ms = float(fade_ms), float(recover_ms)
        if gc_mode not in GC_MODES:
            raise ParameterError(f"gc_mode={gc_mode!r} is not valid; expected one of {', '.join(GC_MODES)}")
        self.gc_mode = gc_mode
        if switch_interval_ms is not None:
            check_number(switch_interval_ms, "switch_interval_ms", lo=0.01, hi=100, what=" or None")
        self.switch_interval_ms = switch_interval_ms
        if worker_priority not in PRIORITIES:
            raise ParameterError(f"worker_priority={worker_priority!r} is not valid; expected one of "
                                 f"{', '.join(PRIORITIES)}")
        self.worker_priority = worker_priority
        self.worker_priority_got = None
        self.stop_error: str | None = None
        self.worker_error: str | None = None  # the effect raised in the worker: output stays dry
        self.record = None if record is None else Path(record)
        if self.record is not None and not self.record.parent.is_dir():
            raise ParameterError(f"record={str(self.record)!r}: folder {str(self.record.parent)!r} does not exist")
        self.input_device, self.output_device = input_device, output_device
        self.client_name = client_name
        self.stream = None
        self.latency: Latency | None = None
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._bypass = False
        self.status_extra = None  # a callable returning text appended to the status line

    # -- public control -----------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.stream is not None and bool(self.stream.active)

    @property
    def bypass(self) -> bool:
        return self._bypass

    @bypass.setter
    def bypass(self, on: bool) -> None:
        self._bypass = bool(on)  # the callback crossfades to the aligned dry signal

    def params(self) -> dict:
        """The effect's parameters, with changes not yet applied by the processing thread."""
        with self._lock:
            return {**self.effect.get_params(), **self._pending}

    def set_params(self, **params) -> None:
        """Validate now; the processing thread applies them between two blocks."""
        self.effect.check_params(**params)
        with self._lock:
            self._pending.update(params)
        if self.stream is None:
            self._apply_pending()

    def _apply_pending(self) -> None:
        if self._pending:
            with self._lock:
                p, self._pending = self._pending, {}
            self.effect.set_params(**p)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> LiveEngine:
        """Choose and check the devices, prepare the effect, open and start the stream.

        Raises ``DeviceError`` (a ``ParameterError``) when no usable device exists.
        """
        if self.stream is not None:
            raise ParameterError("this LiveEngine is already started; stop() it first")
        sd = rescan(client_name=self.client_name)
        devices = list_devices(refresh=False)
        ch, B = self.channels, self.blocksize
        din = resolve_device(self.input_device, kind="input", channels=ch, devices=devices)
        dout = resolve_device(self.output_device, kind="output", channels=ch, devices=devices)
        sr = self.samplerate or self.effect.required_sample_rate or int(din["default_samplerate"])
        out_ch = ch if ch > 1 else min(2, dout["outputs"])
        check_stream_format(din, kind="input", channels=ch, samplerate=sr)
        check_stream_format(dout, kind="output", channels=out_ch, samplerate=sr)
        self.devices = (din, dout)
        self.sr, self.out_channels = sr, out_ch
        self.effect.prepare(sr, ch, B)
        L = self.effect.latency_samples
        P = self.prefill_blocks if self.prefill_blocks is not None else default_prefill(B, sr)
        self._L, self._P, self._D = L, P, L + P * B  # dry delay keeps the fall-back aligned
        self._allocate()
        self.warmup_load = self._warm_up()
        self.effect.reset()  # the stream starts from a fresh state, like offline processing
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by the callback for each new block
        self._recorder = self._worker = None
        try:
            stream = sd.Stream(device=(din["index"], dout["index"]), samplerate=sr, blocksize=B,
                               channels=(ch, out_ch), dtype="float32", latency=self.latency_hint,
                               callback=self._callback)
        except sd.PortAudioError as err:
            release()
            raise DeviceError(f"could not open a stream on input {din['index']} ({din['name']}) and output "
                              f"{dout['index']} ({dout['name']}) at {sr} Hz, blocksize {B}: {err}") from None
        self.stream = stream
        self.latency = Latency(sr, L, P * B, *(self._reported(s) for s in stream.latency))
        self._enter_realtime()
        self.__dict__.pop("_t_stop", None)
        self._t_start = time.monotonic()
        try:
            if self.record is not None:
                self._recorder = Recorder(self.record, samplerate=sr, channels=2 * ch, blocksize=B,
                                           priority=self.worker_priority)
            if self.mode == "worker":
                self._worker = threading.Thread(target=self._work, name="live-effect", daemon=True)
                self._worker.start()
            stream.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> dict:
        """Stop and close the stream, join the threads, close the recording; returns :meth:`stats`."""
        if self.stream is None:
            return getattr(self, "_final", {})
        try:
            self.stream.stop()
        except Exception as err:  # noqa: BLE001 - e.g. the JACK server went away: still clean up
            self.stop_error = str(err)
        self._t_stop = time.monotonic()
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join()
        if self._recorder is not None:
            self._recorder.close()
        self._leave_realtime()
        self._final = self.stats()
        try:
            self.stream.close()
        except Exception as err:  # noqa: BLE001 - as above
            self.stop_error = str(err)
        self.stream = None
        release()  # closes our JACK client: PortAudio must not outlive a JACK server it used
        return self._final

    def __enter__(self) -> LiveEngine:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @staticmethod
    def _reported(seconds: float) -> float | None:
        # PortAudio's JACK host API reports an unset port latency (-1 frames, unsigned) as about
        # 97 000 s when connected to another client's ports: "unknown", not a figure.
        return float(seconds) if 0 <= seconds < 10 else None

    def _allocate(self) -> None:
        B, ch, P, D = self.blocksize, self.channels, self._P, self._D
        # ring of N blocks; the input ring is written twice (mirrored) so any window of up to
        # N blocks is one contiguous slice, whatever its start
        self._N = N = max(8, P + math.ceil((D + B) / B) + 4)
        self._C = N * B
        self._in = np.zeros((ch, 2 * self._C), np.float32)
        self._out = np.zeros((N, ch, B), np.float32)
        self._out_idx = np.full(N, -1, np.int64)  # block number held by each output slot
        self._out_ok = np.zeros(N, bool)  # False while a skip is inside the effect's window
        self._arrived = np.zeros(N, np.float64)  # perf_counter when each input block came in
        self._mix_buf = np.zeros((ch, B), np.float32)
        self._tmp = np.zeros((ch, B), np.float32)
        self._ramp = np.zeros(B, np.float32)
        self._frac = (np.arange(1, B + 1, dtype=np.float32) / B)
        self._n = 0  # callbacks run = input blocks written
        self._next = 0  # next block the worker processes
        self._valid_from = 0
        self._taint = math.ceil(2 * self._L / B) + 1
        self._g = 1.0  # wet gain now; 0 = dry
        self._g_step = 1.0 if self.fade_ms <= 0 else min(1.0, B / (self.fade_ms * 1e-3 * self.sr))
        self._recover = max(1, math.ceil(self.recover_ms * 1e-3 * self.sr / B))
        self._healthy = 0
        self._behind = False
        self.counts = dict(callbacks=0, xruns=0, late_blocks=0, fell_behind=0, skipped_blocks=0, nonfinite=0,
                           odd_blocks=0, gc_collections=0, processed=0)
        self._cb_t = np.zeros(STATS_LEN, np.float64)
        self._fx_t = np.zeros(STATS_LEN, np.float64)
        self._gc_t = np.zeros(STATS_LEN, np.float64)
        self._lag_t = np.zeros(STATS_LEN, np.float64)
        self._dl_t = np.zeros(STATS_LEN, np.float64)  # worker: block arrival to output published
        self._log_g = np.zeros((STATS_LEN, 2), np.float32)  # wet gain at each block's start, end
        self._log_flags = np.zeros(STATS_LEN, np.uint8)  # XRUN | LATE | PREFILL
        self._block_s = B / self.sr

    def _warm_up(self) -> float:
        """Run half a second of quiet noise through the effect (first calls allocate and
        compile); returns the median process time per block over block time."""
        rng = np.random.default_rng(0)
        B = self.blocksize
        n = max(8, math.ceil(0.5 * self.sr / B))
        x = (0.01 * rng.standard_normal((self.channels, n * B))).astype(np.float32)
        ts = []
        prev = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                for i in range(n):
                    t = time.perf_counter()
                    self.effect.process_block(x[:, i * B:(i + 1) * B])
                    ts.append(time.perf_counter() - t)
        finally:
            torch.set_num_threads(prev)
        return float(np.median(ts[n // 2:])) / self._block_s

    def _enter_realtime(self) -> None:
        self._saved = (gc.isenabled(), sys.getswitchinterval(), torch.get_num_threads())
        torch.set_num_threads(1)  # intra-op threads would fight the audio threads for 2 cores
        if self.switch_interval_ms is not None:
            sys.setswitchinterval(self.switch_interval_ms * 1e-3)
        if self.gc_mode == "freeze":
            gc.collect()
            gc.freeze()  # everything alive now is never scanned again
            gc.disable()
        self._last_gc = time.monotonic()

    def _leave_realtime(self) -> None:
        enabled, interval, threads = self._saved
        torch.set_num_threads(threads)
        sys.setswitchinterval(interval)
        if self.gc_mode == "freeze":
            gc.unfreeze()
            if enabled:
                gc.enable()

    # -- audio thread -------------------------------------------------------------------------
    def _callback(self, indata, outdata, frames, time_info, status) -> None:
        t0 = time.perf_counter()
        c = self._n
        # how late this Python code starts after PortAudio's callback time (mostly GIL wait)
        self._lag_t[c % STATS_LEN] = self.stream.time - time_info.currentTime
        counts = self.counts
        b = c % STATS_LEN
        self._log_flags[b] = 0
        if status:
            for flag in _XRUN_FLAGS:
                if getattr(status, flag):
                    counts["xruns"] += 1
                    self._log_flags[b] = XRUN
                    break
        B, ch = self.blocksize, self.channels
        if frames != B:  # PortAudio promised fixed blocks; never expected, but never crash
            counts["odd_blocks"] += 1
            outdata.fill(0)
            return
        pos = (c % self._N) * B
        x = indata.T
        self._in[:, pos:pos + B] = x
        self._in[:, self._C + pos:self._C + pos + B] = x
        self._arrived[c % self._N] = t0
        self._n = c + 1
        s = (c * B - self._D) % self._C
        dry = self._in[:, s:s + B]
        out = self._mix_buf
        if self.mode == "callback":
            y = self.effect.process_block(self._in[:, pos:pos + B])
            self._blend(y, dry, out, behind=False, b=b)
            self._fx_t[c % STATS_LEN] = time.perf_counter() - t0
            counts["processed"] += 1
            if self._pending:
                self._apply_pending()
        else:
            self._wake.set()
            j = c - self._P
            if j < 0:
                out.fill(0)
                self._log_flags[b] |= PREFILL
                self._log_g[b] = 0.0
            else:
                slot = j % self._N
                ready = self._out_idx[slot] == j and self._out_ok[slot]
                ahead = self._P < 2 or self._out_idx[(j + 1) % self._N] == j + 1
                if not ready:
                    counts["late_blocks"] += 1
                    self._log_flags[b] |= LATE
                self._blend(self._out[slot] if ready else None, dry, out, behind=not (ready and ahead), b=b)
        if not np.isfinite(out).all():  # effects guard their output; this guards the sum
            counts["nonfinite"] += 1
            np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        np.clip(out, -1.0, 1.0, out=out)
        if self.out_channels == ch:
            outdata[:] = out.T
        else:
            outdata[:] = out[0][:, None]
        if self._recorder is not None:
            self._recorder.push(indata, out.T)
        counts["callbacks"] += 1
        self._cb_t[c % STATS_LEN] = time.perf_counter() - t0

    def _blend(self, wet, dry, out, *, behind: bool, b: int) -> None:
        """``out`` = crossfade between ``wet`` (None: missing) and ``dry``, moving the wet gain
        toward 1 (healthy, not bypassed) or 0 by at most one fade step per block; the gains at
        the block's start and end go to the block log (row ``b``)."""
        if behind:
            self._healthy = 0
            if not self._behind:
                self._behind = True
                self.counts["fell_behind"] += 1
        else:
            self._healthy += 1
            if self._behind and self._healthy >= self._recover:
                self._behind = False
        target = 0.0 if (self._bypass or self._behind) else 1.0
        g0 = self._g
        if wet is None:  # nothing to fade from: the dry signal is aligned, so the cut is small
            self._g = 0.0
            self._log_g[b] = 0.0
            np.copyto(out, dry)
            return
        g1 = min(target, g0 + self._g_step) if target > g0 else max(target, g0 - self._g_step)
        self._g = g1
        self._log_g[b, 0], self._log_g[b, 1] = g0, g1
        if g0 == g1 == 1.0:
            np.copyto(out, wet)
        elif g0 == g1 == 0.0:
            np.copyto(out, dry)
        else:
            np.multiply(self._frac, g1 - g0, out=self._ramp)
            self._ramp += g0
            np.subtract(wet, dry, out=self._tmp)
            self._tmp *= self._ramp
            np.add(self._tmp, dry, out=out)

    # -- worker thread ------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            self._work_loop()
        except Exception as err:  # noqa: BLE001 - the callback keeps playing dry; the error is shown
            self.worker_error = f"{type(err).__name__}: {err}"

    def _work_loop(self) -> None:
        B, N, P = self.blocksize, self._N, self._P
        self.worker_priority_got = thread_priority(self.worker_priority)
        with torch.inference_mode():
            while not self._stop.is_set():
                n = self._n
                j = self._next
                if j >= n:  # nothing new: a good moment for the collector, then wait
                    self._maybe_collect()
                    self._wake.clear()
                    if self._next >= self._n:  # re-checked after clear: no wake-up is lost
                        self._wake.wait(0.05)
                    continue
                if j < n - P:  # its output was due already: skip to the newest block
                    self.counts["skipped_blocks"] += n - 1 - j
                    j = n - 1
                    self._valid_from = j + self._taint
                if self._pending:
                    self._apply_pending()
                t = time.perf_counter()
                pos = (j % N) * B
                y = self.effect.process_block(self._in[:, pos:pos + B])
                slot = j % N
                self._out[slot] = y
                self._out_ok[slot] = j >= self._valid_from
                self._out_idx[slot] = j  # published last: the callback checks this index
                done = time.perf_counter()
                self._fx_t[self.counts["processed"] % STATS_LEN] = done - t
                self._dl_t[self.counts["processed"] % STATS_LEN] = done - self._arrived[slot]
                self.counts["processed"] += 1
                self._next = j + 1

    def _maybe_collect(self) -> None:
        if self.gc_mode != "freeze" or time.monotonic() - self._last_gc < GC_EVERY_S:
            return
        t = time.perf_counter()
        gc.collect(1)
        self._gc_t[self.counts["gc_collections"] % STATS_LEN] = time.perf_counter() - t
        self.counts["gc_collections"] += 1
        self._last_gc = time.monotonic()

    # -- reporting ------------------------------------------------------------------------------
    @staticmethod
    def _summary(t: np.ndarray, count: int, scale: float, recent: int | None = None) -> dict:
        if recent is not None and count > recent:  # the last `recent` entries of the ring
            v = t[np.arange(count - recent, count) % len(t)] / scale
        else:
            v = t[: min(count, len(t))] / scale
        if not len(v):
            return {"median": None, "p99": None, "max": None}
        return {"median": round(float(np.median(v)), 4), "p99": round(float(np.percentile(v, 99)), 4),
                "max": round(float(v.max()), 4)}

    def block_log(self) -> dict:
        """What the callback did with each block, oldest first (the last ``STATS_LEN`` blocks).

        Returns ``block`` (callback numbers), ``g0`` and ``g1`` (the wet gain at the block's
        first and last sample: the output is ``dry + ramp * (wet - dry)`` with ``ramp`` going
        linearly from ``g0`` to ``g1`` over samples ``1..B`` as ``g0 + (g1 - g0) * k / B``), and
        ``flags`` (``XRUN``: PortAudio reported an xrun; ``LATE``: the wet block was missing;
        ``PREFILL``: silence before the first processed block). ``wet`` is the effect's output
        and ``dry`` the input, both delayed by ``latency.internal`` samples.
        """
        n = self.counts["callbacks"]
        first = max(0, n - STATS_LEN)
        rows = np.arange(first, n) % STATS_LEN
        return {"block": np.arange(first, n), "g0": self._log_g[rows, 0].copy(),
                "g1": self._log_g[rows, 1].copy(), "flags": self._log_flags[rows].copy()}

    @property
    def behind(self) -> bool:
        """True while the output is the dry fall-back because processing did not keep up."""
        return self._behind

    def stats(self, *, recent: int | None = None) -> dict:
        """Counts and loads so far (or of the finished run after :meth:`stop`).

        ``recent``: summarise only the last ``recent`` blocks' timings (the status line uses
        about a second: percentiles of a full 65 536-entry ring would hold the GIL for
        milliseconds while the callback waits).
        """
        if self.stream is None:
            return getattr(self, "_final", {})
        c = dict(self.counts)
        seconds = getattr(self, "_t_stop", time.monotonic()) - self._t_start
        minutes = max(seconds / 60, 1e-9)
        try:
            pa_load = float(self.stream.cpu_load)
        except Exception:  # noqa: BLE001 - closed stream
            pa_load = None
        gc_n = c["gc_collections"]
        return {
            "seconds": round(seconds, 3), "samplerate": self.sr, "blocksize": self.blocksize, "mode": self.mode,
            "prefill_blocks": self._P, **c, "xruns_per_minute": round(c["xruns"] / minutes, 3),
            "behind": self._behind, "bypass": self._bypass, "worker_error": self.worker_error,
            "callback_load": self._summary(self._cb_t, c["callbacks"], self._block_s, recent),
            "callback_lag_ms": self._summary(self._lag_t, c["callbacks"], 1e-3, recent),
            "worker_load": self._summary(self._fx_t, c["processed"], self._block_s, recent),
            "delivery_blocks": (self._summary(self._dl_t, c["processed"], self._block_s, recent)
                                if self.mode == "worker" else None),
            "portaudio_cpu_load": pa_load, "warmup_load": round(self.warmup_load, 4),
            "gc_pause_ms": self._summary(self._gc_t, gc_n, 1e-3) if gc_n else None,
            "record_dropped_frames": self._recorder.dropped_frames if self._recorder else 0,
            "latency": self.latency.to_dict(),
            "devices": {"input": f"{self.devices[0]['index']} {self.devices[0]['name']}",
                        "output": f"{self.devices[1]['index']} {self.devices[1]['name']}"},
        }

    def status_line(self) -> str:
        """One line: latency, callback and effect load (over the last second or so), xruns, late
        blocks, state, parameters."""
        s = self.stats(recent=max(64, int(self.sr / self.blocksize)))
        cb, fx = s["callback_load"], s["worker_load"]
        pct = pct_text
        state = "BYPASS" if self._bypass else ("BEHIND (dry)" if self._behind else "ok")
        if self.worker_error:
            state = f"EFFECT FAILED (dry): {self.worker_error}"
        p = self.params()
        knobs = "".join(f" {k} {p[k]:.2f}" for k in ("mix", "alpha") if k in p)
        extra = self.status_extra() if self.status_extra is not None else ""  # e.g. MIDI/OSC control counts
        return (f"latency {self.latency.describe()} | callback {pct(cb['median'])} (max {pct(cb['max'])}) | "
                f"effect {pct(fx['median'])} | xruns {s['xruns']} | late {s['late_blocks']} | {state} |{knobs}"
                + ((" |" if knobs else "") + f" {extra}" if extra else ""))


def pct_text(v: float | None) -> str:
    """A load share as text: ``0.42`` -> ``"42%"``, ``None`` -> ``"-"``."""
    return "-" if v is None else f"{100 * v:.0f}%"
