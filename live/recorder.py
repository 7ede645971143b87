"""The live engine's recorder: blocks from the audio callback to a float WAV, off the callback."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np

from workbench.devices import thread_priority

__all__ = ["Recorder"]


class Recorder:
    """Input and output blocks from the callback into a ring; a thread writes them to a WAV.

    The callback never blocks: when the ring is full (the disk stalls) the block is dropped
    and counted.

    Parameters
    ----------
    path : Path
        The WAV file to write (32-bit float); created, or overwritten.
    samplerate : int, Hz, keyword-only
        Rate of the file.
    channels : int, keyword-only
        Channels of the file: input channels plus output channels of each :meth:`push`.
    blocksize : int, frames, keyword-only
        Frames per block; the writer thread writes whole blocks of this length.
    seconds : float, keyword-only
        Length of the ring in seconds of audio (at least 4 blocks): how long the disk may stall
        before blocks are dropped.
    priority : {"realtime", "nice", "normal"}, keyword-only
        Scheduling of the writer thread (:func:`workbench.devices.thread_priority`).

    Attributes
    ----------
    dropped_frames : int
        Input frames of the blocks dropped because the ring was full.
    """

    def __init__(self, path: Path, *, samplerate: int, channels: int, blocksize: int, seconds: float = 8.0,
                 priority: str = "realtime"):
        import soundfile as sf

        self.path, self.priority = path, priority
        blocks = max(4, math.ceil(seconds * samplerate / blocksize))
        self._buf = np.zeros((blocks, blocksize, channels), np.float32)
        self._w = self._r = 0  # blocks written by the callback / by the writer thread
        self.dropped_frames = 0
        self._file = sf.SoundFile(str(path), "w", samplerate=samplerate, channels=channels, subtype="FLOAT")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-recorder", daemon=True)
        self._thread.start()

    def push(self, indata: np.ndarray, outdata: np.ndarray) -> None:
        """Callback side: copy one block of input ``(n, cin)`` and output ``(n, cout)`` frames.

        Parameters
        ----------
        indata : np.ndarray [shape=(n, cin)], float32
            Input frames, ``n <= blocksize`` (the live engine pushes whole blocks: the writer
            writes ``blocksize`` frames per block).
        outdata : np.ndarray [shape=(n, cout)], float32
            Output frames of the same callback, ``cin + cout == channels``; written after the
            input channels.
        """
        if self._w - self._r >= len(self._buf):
            self.dropped_frames += indata.shape[0]
            return
        slot = self._buf[self._w % len(self._buf)]
        n, cin = indata.shape
        slot[:n, :cin] = indata
        slot[:n, cin:] = outdata
        self._w += 1

    def _drain(self) -> None:
        while self._r < self._w:
            self._file.write(self._buf[self._r % len(self._buf)])
            self._r += 1

    def _run(self) -> None:
        thread_priority(self.priority)  # it takes the GIL too: see thread_priority
        while not self._stop.wait(0.05):
            self._drain()

    def close(self) -> None:
        """Stop the writer thread, write the blocks still in the ring and close the file."""
        self._stop.set()
        self._thread.join()
        self._drain()
        self._file.close()
