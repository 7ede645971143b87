"""Any Effect on a live audio stream (PortAudio through sounddevice), glitch-aware.

Real-time design (figures in BENCHMARKS.md, section "Live audio"):

- The audio callback is C: rtmixer's. It copies the input block into a lock-free ring buffer and
  the next output block out of another, and takes no lock and no GIL, so no Python thread can
  stall it. Its only failure is an empty output ring (counted as ``underruns``: that block is
  silent; the output restarts aligned, see below).
- A worker thread reads the input ring, runs ``effect.process_block`` on fixed blocks of
  ``blocksize`` frames (torch on one intra-op thread, inference mode) and writes the result to
  the output ring. The output ring starts with ``prefill`` blocks of silence
  (:func:`default_prefill`), so the worker has ``prefill`` block periods for each block. This
  scheduling delay is part of the reported latency.
- A guard thread keeps the output ring from running dry: when the ring is empty and the worker
  has not written the next block half a period after the newest input block arrived, it writes
  the aligned dry input for that block. The worker's
  late block is then dropped, the effect skips ahead, and its output counts as invalid until the
  skip has left its analysis window.
- Falling behind: a block the worker writes more than ``prefill - 1`` periods after it arrived
  (one period before the guard would act) starts a crossfade to the dry input (delayed to stay
  aligned with the wet signal), counted once per episode; the wet signal fades back after the
  worker has kept up for ``recover_ms``.
- Every Python thread (worker, guard, recorder, console) runs at SCHED_FIFO 1 when permitted
  (:func:`workbench.devices.thread_priority`), the garbage collector is frozen and disabled
  while streaming (the worker collects the young generations when idle, at most once a second),
  and the GIL switch interval is lowered so the guard gets the GIL quickly
  (:class:`~live.realtime.RealtimeMode`).
- The output passes a non-finite guard and a hard clip at 0 dBFS (effects already soft-limit).
- ``record`` writes one float WAV from a writer thread: input channels first, then output
  channels, sample-aligned as they passed through the callback (the output lags the input by
  :attr:`LiveEngine.latency` ``algorithmic + prefill``; an underrun's silent blocks are zeros).

What the engine reports (latency, counts, loads, the block log, the status line) is kept by its
:class:`~live.report.EngineReport` (``live/report.py``), which the threads above record into.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from effects.base import Effect
from live.realtime import RealtimeMode
from live.recorder import Recorder
from live.report import LATE, SILENT, XRUN, EngineReport, Latency, reported_latency
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

if TYPE_CHECKING:
    import os

__all__ = ["LiveEngine", "default_prefill"]

PRIORITIES = ("realtime", "nice", "normal")
PREFILL_MARGIN_MS = 5.0  # time the worker gets past one block before the fall-back warns
GUARD_AT = 0.5  # the guard writes a missing block this far into the period before it is played
IN_RING_FRAMES = 1 << 17  # 3 s at 44.1 kHz: the input ring only fills if no Python thread ran that long
LOST_STREAM = "the audio stream stopped on its own (for JACK: the server went away or changed its sample rate)"
_XRUN_FIELDS = ("input_underflows", "input_overflows", "output_underflows", "output_overflows")


def default_prefill(blocksize: int, samplerate: int) -> int:
    """Pre-fill blocks: ``1 + ceil(PREFILL_MARGIN_MS / block duration)``, at least 2.

    The fall-back's early warning needs the worker to finish each block ``prefill - 1`` periods
    after it arrives. At 44.1 kHz that is 5 blocks of 64 frames, 3 of 128, 2 of 256. With 2
    blocks of 128 (2.9 ms of margin) a loaded 2-core machine fell back to dry 54 to 141 times
    a minute, with 3 blocks 0 to 15 times (BENCHMARKS.md, measured with the earlier Python
    callback); the extra block costs 2.9 ms. Under 10 ms in all needs 2 blocks and the low-delay
    windows (``prefill=2``).

    Parameters
    ----------
    blocksize : int, frames
        Frames per block (per callback).
    samplerate : int, Hz
        The stream's rate.

    Returns
    -------
    int, blocks
        Output blocks of pre-filled silence, at least 2.
    """
    block_ms = 1e3 * blocksize / samplerate
    return max(2, 1 + math.ceil(PREFILL_MARGIN_MS / block_ms - 1e-9))


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
        Output blocks of pre-filled silence, 2 to 64 (default :func:`default_prefill`): the
        worker's time per block, in block periods.
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
        Scheduling of the Python threads (worker, guard, recorder, :func:`run_console`'s): see
        :func:`workbench.devices.thread_priority`.
    client_name : str
        Our JACK client's name, when PortAudio runs on JACK.

    Attributes
    ----------
    latency : Latency or None
        The stream's delay (:class:`live.report.Latency`), from :meth:`start` on.
    report : EngineReport or None
        What the stream reports (:class:`live.report.EngineReport`): its ``counts``, the per-block
        timings and the block log that :meth:`stats`, :meth:`status_line` and :meth:`block_log`
        read; a new one each :meth:`start`, kept after :meth:`stop`.
    realtime : RealtimeMode
        The interpreter's settings while streaming (``gc_mode``, ``switch_interval_ms``).

    Examples
    --------
    >>> fx = CepstralEffect(target="trumpet.wav", n_fft=512, hop_length=128)  # doctest: +SKIP
    >>> with LiveEngine(fx, blocksize=128, samplerate=44100) as eng:          # doctest: +SKIP
    ...     time.sleep(10); print(eng.status_line())
    """

    def __init__(self, effect: Effect, *, samplerate: int | None = None, blocksize: int = 128,
                 input_device: int | str | None = None, output_device: int | str | None = None, channels: int = 1,
                 latency: str | float = "low", mix: float | None = None, prefill: int | None = None,
                 record: str | os.PathLike | None = None, fade_ms: float = 10.0, recover_ms: float = 50.0,
                 gc_mode: str = "freeze",
                 switch_interval_ms: float | None = 0.5, worker_priority: str = "realtime",
                 client_name: str = "workbench"):
        if not isinstance(effect, Effect):
            raise ParameterError(f"effect={effect!r} is not an Effect; expected an instance of effects.base.Effect")
        self.effect = effect
        check_stream_settings(blocksize=blocksize, samplerate=samplerate, channels=channels, latency=latency)
        self.blocksize, self.samplerate, self.channels = int(blocksize), samplerate, int(channels)
        if samplerate is not None:  # before any device is opened; prepare() checks it again
            effect.check_sample_rate(samplerate, name="samplerate")
        self.latency_hint = latency
        # chosen in start() when None (the rate is known then); 2 at least: with one block the
        # worker would have to finish before the next callback, and the guard would always win
        self.prefill_blocks = None if prefill is None else check_int(prefill, "prefill", lo=2, hi=64, what=" blocks")
        if mix is not None:
            if "mix" not in effect.get_params():
                raise ParameterError(f"mix={mix!r}: {type(effect).__name__} has no mix parameter")
            effect.set_params(mix=mix)  # validates: a number in [0, 1]
        for name, v in (("fade_ms", fade_ms), ("recover_ms", recover_ms)):
            check_number(v, name, lo=0, hi=5000, what=" of milliseconds")
        self.fade_ms, self.recover_ms = float(fade_ms), float(recover_ms)
        self.realtime = RealtimeMode(gc_mode=gc_mode, switch_interval_ms=switch_interval_ms)  # validates both
        if worker_priority not in PRIORITIES:
            raise ParameterError(f"worker_priority={worker_priority!r} is not valid; expected one of "
                                 f"{', '.join(PRIORITIES)}")
        self.worker_priority = worker_priority
        self.worker_priority_got = None
        self.stop_error: str | None = None
        self.worker_error: str | None = None  # the effect raised in the worker: output stays dry
        self.device_error: str | None = None  # the device went away or changed under the stream
        self.record = None if record is None else Path(record)
        if self.record is not None and not self.record.parent.is_dir():
            raise ParameterError(f"record={str(self.record)!r}: folder {str(self.record.parent)!r} does not exist")
        self.input_device, self.output_device = input_device, output_device
        self.client_name = client_name
        self.stream = None
        self.latency: Latency | None = None
        self.report: EngineReport | None = None  # counts, timings and block log of the stream, from start()
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._bypass = False
        self.status_extra = None  # a callable returning text appended to the status line

    # -- public control -----------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while the stream runs and its device is still there."""
        return self.stream is not None and bool(self.stream.active) and self.device_error is None

    @property
    def bypass(self) -> bool:
        """True while bypassed: set it to crossfade (over ``fade_ms``) to the aligned dry input, or back."""
        return self._bypass

    @bypass.setter
    def bypass(self, on: bool) -> None:
        self._bypass = bool(on)  # the next block written crossfades to the aligned dry signal

    def params(self) -> dict:
        """The effect's parameters, with changes not yet applied by the processing thread.

        Returns
        -------
        dict
            Name -> value, as :meth:`Effect.get_params <effects.base.Effect.get_params>`, the pending
            changes from :meth:`set_params` applied over it.
        """
        with self._lock:
            return {**self.effect.get_params(), **self._pending}

    def set_params(self, **params: object) -> None:
        """Validate now; the processing thread applies them between two blocks.

        Before :meth:`start` (or after :meth:`stop`) they are applied at once. Raises
        ``ParameterError`` for an unknown or invalid one, and then changes nothing.

        Parameters
        ----------
        **params
            Names of the effect's parameters and their new values.
        """
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

        Returns
        -------
        LiveEngine
            ``self``, streaming: :attr:`latency` and :meth:`stats` are valid from now on.
        """
        if self.stream is not None:
            raise ParameterError("this LiveEngine is already started; stop() it first")
        sd = rescan(client_name=self.client_name)
        import rtmixer  # after rescan: it opens its stream through this sounddevice

        self._choose_devices()
        ch, B, sr = self.channels, self.blocksize, self.sr
        self.effect.prepare(sr, ch, B)
        L = self.effect.latency_samples
        P = self.prefill_blocks if self.prefill_blocks is not None else default_prefill(B, sr)
        self._L, self._P, self._D = L, P, L + P * B  # dry delay keeps the fall-back aligned
        self._allocate()
        self.warmup_load = self._warm_up()
        self.effect.reset()  # the stream starts from a fresh state, like offline processing
        self._stop = threading.Event()
        self._recorder = self._worker = self._guard = None
        self._started = False
        mixer = self._open_stream(sd, rtmixer)
        self.latency = Latency(sr, L, P * B, *(reported_latency(s) for s in mixer.latency))
        self.report = EngineReport(self.latency, blocksize=B, devices=self.devices, warmup_load=self.warmup_load)
        self.realtime.enter()
        self.__dict__.pop("_t_stop", None)
        self._t_start = time.monotonic()
        try:
            if self.record is not None:
                self._recorder = Recorder(self.record, samplerate=sr, channels=2 * ch, blocksize=B,
                                           priority=self.worker_priority)
            self._last_in = time.monotonic()
            self._worker = threading.Thread(target=self._work, name="live-effect", daemon=True)
            self._guard = threading.Thread(target=self._guard_loop, name="live-guard", daemon=True)
            mixer.start()
            self._started = True
            self._worker.start()
            self._guard.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _choose_devices(self) -> None:
        """Resolve and check the input and output device; sets ``devices``, ``sr`` (the stream's rate:
        asked for, else the effect's, else the input's default) and ``out_channels``."""
        devices = list_devices(refresh=False)
        ch = self.channels
        din = resolve_device(self.input_device, kind="input", channels=ch, devices=devices)
        dout = resolve_device(self.output_device, kind="output", channels=ch, devices=devices)
        sr = self.samplerate or self.effect.required_sample_rate or int(din["default_samplerate"])
        out_ch = ch if ch > 1 else min(2, dout["outputs"])
        check_stream_format(din, kind="input", channels=ch, samplerate=sr)
        check_stream_format(dout, kind="output", channels=out_ch, samplerate=sr)
        self.devices = (din, dout)
        self.sr, self.out_channels = sr, out_ch

    def _open_stream(self, sd, rtmixer):
        """Open rtmixer's duplex stream (not started yet) and its two rings, the output ring
        pre-filled; becomes ``self.stream``. Raises ``DeviceError`` when PortAudio refuses it."""
        (din, dout), sr, B, P = self.devices, self.sr, self.blocksize, self._P
        ch, out_ch = self.channels, self.out_channels
        try:
            mixer = rtmixer.MixerAndRecorder(device=(din["index"], dout["index"]), samplerate=sr, blocksize=B,
                                             channels=(ch, out_ch), latency=self.latency_hint)
        except sd.PortAudioError as err:
            release()
            raise DeviceError(f"could not open a stream on input {din['index']} ({din['name']}) and output "
                              f"{dout['index']} ({dout['name']}) at {sr} Hz, blocksize {B}: {err}") from None
        self.stream = mixer
        self._in_ring = rtmixer.RingBuffer(4 * ch, IN_RING_FRAMES)
        self._out_ring = rtmixer.RingBuffer(4 * out_ch, 1 << max(10, math.ceil(math.log2(4 * (P + 2) * B))))
        self._out_ring.write(np.zeros((P * B, out_ch), np.float32))
        # both actions are queued before the stream starts, so the callback starts them together:
        # input frame k and output frame k then always pass through the same callback
        self._rec_action = mixer.record_ringbuffer(self._in_ring)
        self._play_action = mixer.play_ringbuffer(self._out_ring)
        self._play_start = 0  # stream frame where the current play action began
        return mixer

    def stop(self) -> dict:
        """Stop and close the stream, join the threads, close the recording; returns :meth:`stats`.

        Returns
        -------
        dict
            The finished run's :meth:`stats` (kept: later calls of either return it; empty if the
            engine never started).
        """
        if self.stream is None:
            return getattr(self, "_final", {})
        self._stop.set()
        for t in (self._worker, self._guard):
            if t is not None and t.is_alive():
                t.join()
        self._t_stop = time.monotonic()
        with self._lock:
            self._pull()  # the last blocks into the recording
        if self._recorder is not None:
            self._recorder.close()  # first: whatever happens to the device, the recording is whole
        if self.device_error is None and self._started and not self.stream.active:
            self.device_error = LOST_STREAM  # it stopped before we stopped it
        lost = self.device_error is not None
        if not lost:
            try:
                self.stream.stop()
            except Exception as err:  # noqa: BLE001 - still clean up
                self.stop_error = str(err)
        self.realtime.leave()
        self._final = self.stats()
        if lost:
            # PortAudio cannot stop or close a stream whose JACK server is gone: it waits for a
            # callback that never comes, and terminating it aborts the process. The stream is
            # left as it is; a process that lost its device ends with os._exit (the CLI does).
            self.abandoned_stream = self.stream
        else:
            try:
                self.stream.close()
            except Exception as err:  # noqa: BLE001 - as above
                self.stop_error = str(err)
            release()  # closes our JACK client: PortAudio must not outlive a JACK server it used
        self.stream = None
        return self._final

    def __enter__(self) -> LiveEngine:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _allocate(self) -> None:
        B, ch, P, D = self.blocksize, self.channels, self._P, self._D
        # history of N blocks; the input is written twice (mirrored) so any window of up to N
        # blocks is one contiguous slice, whatever its start
        self._N = N = max(64, P + math.ceil((D + B) / B) + 8)
        self._C = N * B
        self._in = np.zeros((ch, 2 * self._C), np.float32)
        self._out_hist = np.zeros((N, ch, B), np.float32)  # output blocks as written, by stream block
        self._arrived = np.zeros(N, np.float64)  # perf_counter when each input block was read
        self._pull_buf = np.zeros((B, ch), np.float32)
        self._frames = np.zeros((B, self.out_channels), np.float32)
        self._rec_out = np.zeros((B, ch), np.float32)
        self._mix_buf = np.zeros((ch, B), np.float32)
        self._tmp = np.zeros((ch, B), np.float32)
        self._ramp = np.zeros(B, np.float32)
        self._frac = (np.arange(1, B + 1, dtype=np.float32) / B)
        self._n = 0  # input blocks read from the ring
        self._next = 0  # next input block the worker processes
        self._written = P  # output blocks written (the pre-fill counts)
        self._recorded = 0  # blocks pushed to the recorder
        self._valid_from = 0
        self._taint = math.ceil(2 * self._L / B) + 1
        self._g = 0.0  # wet gain now; 0 = dry (the pre-fill is silence: nothing to fade from)
        self._g_step = 1.0 if self.fade_ms <= 0 else min(1.0, B / (self.fade_ms * 1e-3 * self.sr))
        self._recover = max(1, math.ceil(self.recover_ms * 1e-3 * self.sr / B))
        self._healthy = 0
        self._behind = False
        self._restarting = False
        self._last_in = time.monotonic()
        self._block_s = B / self.sr
        self._poll_s = min(1e-3, max(1e-4, self._block_s / 4))

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

    # -- ring buffers (always under self._lock: each ring has one reader and one writer) --------
    def _pull(self) -> None:
        """Input blocks from the C ring into the history; finished blocks to the recorder."""
        B, C = self.blocksize, self._C
        while self._in_ring.read_available >= B:
            self._in_ring.readinto(self._pull_buf)
            c = self._n
            pos = (c % self._N) * B
            x = self._pull_buf.T
            self._in[:, pos:pos + B] = x
            self._in[:, C + pos:C + pos + B] = x
            self._arrived[c % self._N] = time.perf_counter()
            self._n = c + 1
            self._last_in = time.monotonic()
        # an output block that ran dry is silent: known once rtmixer has ended the play action
        if self._recorder is not None and not self._restarting and self._play_action in self.stream.actions:
            # a block is final once the callback played it; up to the newest input block
            while self._recorded < min(self._n, self._written):
                r = self._recorded
                pos = (r % self._N) * B
                self._rec_out[:] = self._out_hist[r % self._N].T
                self._recorder.push(self._in[:, pos:pos + B].T, self._rec_out)
                self._recorded = r + 1

    def _dry(self, m: int) -> np.ndarray:
        """The input aligned with output block ``m``: delayed by ``algorithmic + prefill``."""
        s = (m * self.blocksize - self._D) % self._C
        return self._in[:, s:s + self.blocksize]

    def _write(self, m: int, wet, *, behind: bool) -> None:
        """Output block ``m`` (``wet`` None: missing, the dry input) into the ring and the block log."""
        out = self._mix_buf
        if m * self.blocksize < self._D:  # before the first input sample reaches the output
            out.fill(0.0)
            g0 = g1 = self._g
        else:
            g0, g1 = self._blend(wet, self._dry(m), out, behind=behind)
        self.report.log_block(m, 0 if wet is not None else LATE, g0, g1)
        if not np.isfinite(out).all():  # effects guard their output; this guards the sum
            self.report.counts["nonfinite"] += 1
            np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        np.clip(out, -1.0, 1.0, out=out)
        self._out_hist[m % self._N] = out
        if self.out_channels == self.channels:
            self._frames[:] = out.T
        else:
            self._frames[:] = out[0][:, None]
        self._out_ring.write(self._frames)
        self._written = m + 1

    def _blend(self, wet, dry, out, *, behind: bool) -> tuple[float, float]:
        """``out`` = crossfade between ``wet`` (None: missing) and ``dry``, moving the wet gain
        toward 1 (healthy, not bypassed) or 0 by at most one fade step per block; returns the
        gains at the block's start and end (for the block log)."""
        if behind:
            self._healthy = 0
            if not self._behind:
                self._behind = True
                self.report.counts["fell_behind"] += 1
        else:
            self._healthy += 1
            if self._behind and self._healthy >= self._recover:
                self._behind = False
        target = 0.0 if (self._bypass or self._behind) else 1.0
        g0 = self._g
        if wet is None:  # nothing to fade from: the dry signal is aligned, so the cut is small
            self._g = 0.0
            np.copyto(out, dry)
            return 0.0, 0.0
        g1 = min(target, g0 + self._g_step) if target > g0 else max(target, g0 - self._g_step)
        self._g = g1
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
        return g0, g1

    # -- worker thread ------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            self._work_loop()
        except Exception as err:  # noqa: BLE001 - the guard keeps the output dry; the error is shown
            self.worker_error = f"{type(err).__name__}: {err}"

    def _work_loop(self) -> None:
        B, N, P, report = self.blocksize, self._N, self._P, self.report
        self.worker_priority_got = thread_priority(self.worker_priority)
        with torch.inference_mode():
            while not self._stop.is_set():
                with self._lock:
                    self._pull()
                    n, j, written = self._n, self._next, self._written
                if j >= n:  # nothing new: a good moment for the collector, then wait
                    pause = self.realtime.collect_if_due()
                    if pause is not None:
                        report.gc_pause(pause)
                    time.sleep(self._poll_s)
                    continue
                if j + P < written:  # the guard wrote its output already: skip to the first one it did not
                    skip_to = min(written - P, n)
                    report.counts["skipped_blocks"] += skip_to - j
                    self._next = skip_to
                    self._valid_from = skip_to + self._taint
                    continue
                if self._pending:
                    self._apply_pending()
                t = time.perf_counter()
                pos = (j % N) * B
                y = self.effect.process_block(self._in[:, pos:pos + B])
                done = time.perf_counter()
                delivered = None
                with self._lock:
                    self._pull()
                    if self._written == j + P and not self._restarting:
                        # written more than P - 1 periods after it came in, one block from the guard's
                        # deadline: start fading to dry before the guard has to cut
                        self._write(j + P, y if j >= self._valid_from else None, behind=self._n - j >= P)
                        delivered = time.perf_counter() - self._arrived[j % N]
                    else:
                        report.counts["late_blocks"] += 1
                report.block_processed(done - t, delivered)
                self._next = j + 1

    # -- guard thread -------------------------------------------------------------------------
    def _guard_loop(self) -> None:
        try:
            thread_priority(self.worker_priority)
            while not self._stop.wait(self._poll_s):
                self._guard_step()
        except DeviceError as err:
            self.device_error = str(err)
        except Exception as err:  # noqa: BLE001 - shown, and the face ends the stream
            self.device_error = f"{type(err).__name__}: {err}"

    def _guard_step(self) -> None:
        B = self.blocksize
        if not self.stream.active:
            raise DeviceError(LOST_STREAM)
        rec, play = self._rec_action, self._play_action
        xr = sum(getattr(rec.stats, f) for f in _XRUN_FIELDS)
        self.report.counts["callbacks"] = int(rec.stats.blocks)
        if xr != self.report.counts["xruns"]:  # mark the block the callback is at now
            self.report.xrun(xr, int(rec.done_frames) // B)
        try:
            self.report.callback_load(float(self.stream.cpu_load))
        except Exception:  # noqa: BLE001 - a stream whose device went away
            pass
        with self._lock:
            actions = self.stream.actions  # drains rtmixer's result queue: one reader at a time
        if rec not in actions:
            raise DeviceError(f"the input ring overflowed ({IN_RING_FRAMES} frames): no Python thread ran for "
                              f"{IN_RING_FRAMES / self.sr:.1f} s")
        if play not in actions:
            self._restart_output()
            return
        # the first callback may take a second or two (PulseAudio); after it, 20 blocks of silence from
        # the callback mean the device is gone
        if time.monotonic() - self._last_in > (5.0 if self._n == 0 else max(0.5, 20 * self._block_s)):
            raise DeviceError(f"no audio for {time.monotonic() - self._last_in:.1f} s: the device stopped "
                              f"calling back (for JACK: the server stopped, or changed its sample rate)")
        with self._lock:
            self._pull()
            if self._out_ring.read_available >= B or not self._n:
                return
            arrived = self._arrived[(self._n - 1) % self._N]
        # the ring is empty: the next callback needs a block. The worker may still finish it in
        # time, so wait until GUARD_AT of a period after the newest block arrived (seen within a
        # poll of the callback), then write the dry block if it has not
        wait = arrived + GUARD_AT * self._block_s - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        with self._lock:
            self._pull()
            if self._out_ring.read_available < B and not self._restarting:
                m = self._written
                if (m - self._P + 1) * B - self._L <= self._n * B:  # its dry input is here
                    self.report.counts["late_blocks"] += 1
                    self._write(m, None, behind=True)

    def _restart_output(self) -> None:
        """The output ring ran dry and rtmixer ended the play action: start a new one, aligned."""
        B, P, mixer = self.blocksize, self._P, self.stream
        dead = self._play_action
        silent_from = (self._play_start + int(dead.done_frames)) // B
        with self._lock:
            self._restarting = True
            self._out_ring.flush()  # no reader now: the callback dropped the action
            self._out_ring.write(np.zeros((P * B, self.out_channels), np.float32))
            self._play_action = play = mixer.play_ringbuffer(self._out_ring)
        t0 = time.monotonic()
        while int(play.done_frames) == 0:
            if time.monotonic() - t0 > 2.0:
                raise DeviceError("the audio device stopped calling back (output could not restart)")
            time.sleep(self._poll_s)
        # both actions count the same callbacks' frames: read until no callback ran in between
        while True:
            r1, p, r2 = int(self._rec_action.done_frames), int(play.done_frames), int(self._rec_action.done_frames)
            if r1 == r2:
                break
        start = r1 - p
        with self._lock:
            first = start // B
            for m in range(silent_from, first + P):  # what the callback played there: silence
                self._out_hist[m % self._N] = 0.0
                self.report.log_block(m, XRUN | LATE | SILENT, 0.0, 0.0)
            self._play_start = start
            self._written = first + P
            self._g = 0.0
            self._behind, self._healthy = True, 0
            self.report.counts["underruns"] += 1
            self._restarting = False

    # -- reporting (kept by self.report: live/report.py) ------------------------------------------
    def block_log(self) -> dict:
        """What reached the output at each block, oldest first (the last ``STATS_LEN`` blocks).

        Returns ``block`` (output block numbers: block ``k`` is frames ``k*B .. (k+1)*B - 1`` of
        the stream, in the same callback as the same input frames), ``g0`` and ``g1`` (the wet
        gain at the block's first and last sample: the output is ``dry + ramp * (wet - dry)``
        with ``ramp`` going linearly from ``g0`` to ``g1`` over samples ``1..B`` as
        ``g0 + (g1 - g0) * k / B``), and ``flags`` (``XRUN``: PortAudio reported an xrun near
        this block; ``LATE``: the wet block was missing; ``PREFILL``: silence before the first
        processed block; ``SILENT``: the output ring ran dry and the block played as silence,
        whatever the gains say; the flags are in :mod:`live.report`). ``wet`` is the
        effect's output and ``dry`` the input, both delayed by ``latency.internal`` samples.

        Valid once :meth:`start` has run (also after :meth:`stop`). Block numbers count from the
        stream's start; the first ``prefill_blocks`` are the pre-fill.

        Returns
        -------
        dict
            With ``m = min(blocks written, STATS_LEN)``:

            - ``block`` : np.ndarray [shape=(m,)], int64 -- output block numbers, ascending.
            - ``g0``, ``g1`` : np.ndarray [shape=(m,)], float32 -- wet gain in [0, 1] at the
              block's first and last sample.
            - ``flags`` : np.ndarray [shape=(m,)], uint8 -- ``XRUN | LATE | PREFILL | SILENT``
              bits (0: a wet block on time).
        """
        return self.report.block_log(self._written)

    @property
    def behind(self) -> bool:
        """True while the output is the dry fall-back because processing did not keep up."""
        return self._behind

    def stats(self, *, recent: int | None = None) -> dict:
        """Counts and loads so far (or of the finished run after :meth:`stop`).

        ``recent``: summarise only the last ``recent`` blocks' timings (the status line uses
        about a second).

        ``callback_wait_ms`` is 0 by construction: the audio callback is C and takes no lock.
        ``callback_load`` is PortAudio's measure of the callback's time over the block's,
        sampled by the guard thread. The counts themselves are :attr:`report`'s ``counts``.

        Parameters
        ----------
        recent : int, blocks, optional, keyword-only
            Summarise only the last ``recent`` entries of each timing ring (blocks; for
            ``callback_load``, the guard's samples) for the loads below but ``gc_pause_ms`` (None:
            all kept, up to ``STATS_LEN``). Ignored after :meth:`stop`, which returns the whole
            run's figures.

        Returns
        -------
        dict
            Empty before :meth:`start`. The keys that matter:

            - ``seconds`` (streamed so far), ``samplerate`` (Hz), ``blocksize`` (frames),
              ``prefill_blocks``.
            - counts: ``callbacks``, ``processed`` (blocks the effect ran on), ``xruns``
              (PortAudio's), ``underruns`` (the output ring ran dry: silent blocks), ``late_blocks``
              (the dry input went out instead of the wet block), ``fell_behind`` (episodes of the
              dry fall-back), ``skipped_blocks``, ``nonfinite``, ``gc_collections``;
              ``xruns_per_minute`` and ``fell_behind_per_minute``.
            - state: ``behind``, ``bypass`` (bool); ``worker_error``, ``device_error`` (str or
              None).
            - loads, each ``{"median", "p99", "max"}`` (values None before any block):
              ``callback_load`` and ``worker_load`` (time over the block period; 1.0 is a whole
              period), ``delivery_blocks`` (block periods from a block's arrival to its wet
              output being written; past ``prefill_blocks - 1`` the output falls back to dry),
              ``gc_pause_ms`` (ms; None without collections); ``warmup_load`` (median
              ``worker_load`` of the warm-up).
            - ``record_dropped_frames``, ``latency`` (:meth:`Latency.to_dict <live.report.Latency.to_dict>`),
              ``devices`` (``{"input", "output"}``: index and name), ``callback`` and
              ``callback_wait_ms`` (constants: ``"C (rtmixer)"`` and 0.0).
        """
        if self.stream is None:
            return getattr(self, "_final", {})
        state = {"behind": self._behind, "bypass": self._bypass, "worker_error": self.worker_error,
                 "device_error": self.device_error}
        return self.report.stats(seconds=getattr(self, "_t_stop", time.monotonic()) - self._t_start, state=state,
                                 record_dropped_frames=self._recorder.dropped_frames if self._recorder else 0,
                                 recent=recent)

    def status_line(self) -> str:
        """One line: latency, callback and effect load (over the last second or so), xruns, late
        blocks, state, parameters.

        Returns
        -------
        str
            E.g. ``"latency 8.8 ms (...) | callback 12% (max 30%) | effect 41% | xruns 0 | late 0 | ok | mix 1.00"``,
            loads over about the last second (``stats(recent=max(64, samplerate // blocksize))``);
            the state is ``ok``, ``BYPASS``, ``BEHIND (dry)``, ``EFFECT FAILED (dry): ...`` or
            ``DEVICE LOST: ...``; then ``mix`` and ``alpha`` when the effect has them, and
            ``status_extra()``'s text when set.
        """
        extra = self.status_extra() if self.status_extra is not None else ""  # e.g. MIDI/OSC control counts
        return self.report.status_line(self.stats(recent=self.report.status_window), params=self.params(), extra=extra)
