"""Reading the material: which files, their headers, and one streamed pass of level statistics.

Every file is read in blocks through soundfile, so memory is bounded by the block and by the
per-frame levels kept (one float per 10 ms). A file longer than its share of the analysis budget
is read as evenly spaced excerpts instead of whole, and the report says so.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from workbench.audio import audio_files, info
from workbench.errors import ParameterError

__all__ = ["FRAME_SECONDS", "CLIP_LEVEL", "FileScan", "list_material", "scan_file", "read_excerpt"]

log = logging.getLogger(__name__)

FRAME_SECONDS = 0.01  # level frames: fine enough for note-offset decays, 100 floats per second
CLIP_LEVEL = 0.999  # |x| at or above this, two samples in a row, counts as clipped
_BLOCK_SECONDS = 10.0
_EXCERPT_SECONDS = 60.0  # length of each excerpt of a sampled long file


@dataclass
class FileScan:
    """What one streamed pass over a file found.

    Attributes
    ----------
    path : Path
    sr : int, Hz
    channels : int
    subtype : str
        libsndfile's sample format (``PCM_16``, ``PCM_24``, ``FLOAT``, ``VORBIS``...).
    seconds : float, s
        The file's duration from its header.
    analysed_seconds : float, s
        How much of it was read (less than ``seconds`` for a sampled long file).
    peak : ndarray, shape ``(channels,)``
        Largest absolute sample per channel.
    dc : ndarray, shape ``(channels,)``
        Mean per channel (full scale = 1).
    clipped : int
        Samples (any channel) at or above :data:`CLIP_LEVEL` next to another such sample.
    samples : int
        Samples per channel read.
    segments : list of (start_s, ndarray)
        Contiguous runs of frame levels in dBFS (mono mix, RMS over :data:`FRAME_SECONDS`; a
        full-scale sine reads -3 dBFS, digital zero -inf), each with its start time in the file.
    digest : str
        SHA-1 of the decoded samples read, with rate and channel count: equal digests are the
        same audio, whatever the container or name.
    """

    path: Path
    sr: int
    channels: int
    subtype: str
    seconds: float
    analysed_seconds: float = 0.0
    peak: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dc: np.ndarray = field(default_factory=lambda: np.zeros(0))
    clipped: int = 0
    samples: int = 0
    segments: list = field(default_factory=list)
    digest: str = ""

    @property
    def levels(self) -> np.ndarray:
        """All frame levels in dBFS, shape ``(frames,)``."""
        return np.concatenate([s for _, s in self.segments]) if self.segments else np.zeros(0, np.float32)

    @property
    def sampled(self) -> bool:
        """Whether only excerpts of the file were read."""
        return self.analysed_seconds < self.seconds - 1e-6


def list_material(path: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """The audio files of a folder (or the one file) and the other files beside them.

    Parameters
    ----------
    path : str or PathLike
        A folder (its own files, as :func:`workbench.audio.audio_files`) or one audio file.

    Returns
    -------
    audio : list of Path
        Files with an audio extension, sorted.
    other : list of Path
        The folder's other visible files (not audio by their extension).

    Raises
    ------
    ParameterError
        A missing path, an empty folder, or a folder with no audio files.
    """
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"path={str(p)!r} does not exist; expected a folder of audio files or an audio file")
    if p.is_file():
        return [p], []
    audio = audio_files(p)
    other = sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith(".") and q not in audio)
    if not audio and not other:
        raise ParameterError(f"{str(p)!r} is an empty folder; expected audio files (wav, flac, ogg, mp3, aiff...)")
    if not audio:
        names = ", ".join(q.name for q in other[:3]) + (", ..." if len(other) > 3 else "")
        raise ParameterError(f"{str(p)!r} holds no audio files ({len(other)} other files: {names}); expected wav, "
                             f"flac, ogg, mp3, aiff...")
    return audio, other


def _spans(seconds: float, budget: float) -> list[tuple[float, float]]:
    """``(start, length)`` in s of what to read: the whole file, or excerpts evenly spread over it."""
    if seconds <= budget:
        return [(0.0, seconds)]
    n = max(1, int(np.ceil(budget / _EXCERPT_SECONDS)))
    length = budget / n
    starts = np.linspace(0.0, seconds - length, n)
    return [(float(s), length) for s in starts]


def scan_file(path: str | os.PathLike, *, budget_seconds: float = 1800.0) -> FileScan:
    """Stream a file once: peak, DC, clipping, 10 ms frame levels and a content digest.

    Parameters
    ----------
    path : str or PathLike
        An audio file.
    budget_seconds : float, s, keyword-only
        At most this much of the file is read; a longer file is read as evenly spaced excerpts
        of about a minute each.

    Returns
    -------
    FileScan

    Raises
    ------
    ParameterError
        A file libsndfile cannot read (missing, empty, truncated, not audio, NaN samples).
    """
    hdr = info(path)
    sr, ch = int(hdr.samplerate), int(hdr.channels)
    out = FileScan(Path(path), sr, ch, str(hdr.subtype), float(hdr.frames) / sr)
    hop = max(1, int(round(FRAME_SECONDS * sr)))
    block = hop * int(_BLOCK_SECONDS / FRAME_SECONDS)
    peak, total, clipped, n = np.zeros(ch), np.zeros(ch), 0, 0
    digest = hashlib.sha1(f"{sr}|{ch}|".encode())
    try:
        with sf.SoundFile(str(path)) as f:
            for start_s, length_s in _spans(out.seconds, budget_seconds):
                f.seek(int(start_s * sr))
                left, levels, carry = int(length_s * sr), [], np.zeros(0, np.float32)
                while left > 0:
                    x = f.read(min(block, left), dtype="float32", always_2d=True)
                    if not len(x):
                        break
                    left -= len(x)
                    if not np.isfinite(x).all():
                        raise ParameterError(f"{str(path)!r} contains NaN or Inf samples; expected finite audio")
                    digest.update(x.tobytes())
                    a = np.abs(x)
                    peak = np.maximum(peak, a.max(0))
                    total += x.sum(0, dtype=np.float64)
                    hot = a >= CLIP_LEVEL
                    if hot.any():  # a run of two or more: a lone full-scale sample is not clipping
                        clipped += int((hot[1:] & hot[:-1]).sum())
                    n += len(x)
                    mono = x.mean(1) if ch > 1 else x[:, 0]
                    if carry.size:
                        mono = np.concatenate([carry, mono])
                    whole = len(mono) // hop * hop
                    if whole:
                        ms = np.square(mono[:whole]).reshape(-1, hop).mean(1)
                        with np.errstate(divide="ignore"):
                            levels.append((10 * np.log10(ms)).astype(np.float32))
                    carry = mono[whole:]
                if levels:
                    out.segments.append((start_s, np.concatenate(levels)))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise ParameterError(f"path={str(path)!r} could not be read as audio ({str(err).splitlines()[0]})") from None
    out.analysed_seconds, out.samples = n / sr, n
    out.peak, out.dc, out.clipped = peak, total / max(n, 1), clipped
    out.digest = digest.hexdigest()
    log.debug("scanned %s: %.1f of %.1f s", path, out.analysed_seconds, out.seconds)
    return out


def read_excerpt(path: str | os.PathLike, *, start: float, seconds: float, sr: int) -> np.ndarray:
    """Mono excerpt of a file at rate ``sr``, read by seeking (the rest of the file is not loaded).

    Parameters
    ----------
    path : str or PathLike
        An audio file (already scanned: it reads).
    start, seconds : float, s, keyword-only
        Where the excerpt starts in the file and how long it is (cut at the file's end).
    sr : int, Hz, keyword-only
        The rate wanted (resampled with soxr).

    Returns
    -------
    ndarray, float32, shape ``(samples,)``
    """
    from workbench.audio import resample

    with sf.SoundFile(str(path)) as f:
        f.seek(int(start * f.samplerate))
        x = f.read(int(seconds * f.samplerate), dtype="float32", always_2d=True)
        file_sr = f.samplerate
    return resample(x.mean(1)[None], file_sr, sr)[0]
