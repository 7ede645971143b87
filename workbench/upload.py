"""Audio a user hands over: an upload decoded within limits, and the part of it chosen by time.

The limits are what every measure downstream needs: a known format, a size a browser sends in
one piece, and at least :data:`MIN_INPUT_SAMPLES` samples (two analysis frames), below which
no f0 or timbre can be read.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workbench.audio import load, validate_audio
from workbench.errors import ParameterError

__all__ = ["UPLOAD_FORMATS", "MAX_UPLOAD_BYTES", "MIN_INPUT_SAMPLES", "read_upload", "excerpt"]

UPLOAD_FORMATS = ("wav", "flac", "ogg", "mp3")
MAX_UPLOAD_BYTES = 20 * 2 ** 20
MIN_INPUT_SAMPLES = 2048  # two analysis frames at n_fft 1024: shorter clips give no f0 or timbre


def read_upload(name: str, data: bytes, *, sr: int = 16000, max_bytes: int = MAX_UPLOAD_BYTES,
                formats: Sequence[str] = UPLOAD_FORMATS, min_samples: int = MIN_INPUT_SAMPLES) -> np.ndarray:
    """Decode uploaded audio bytes into mono float32 ``(1, samples)`` at ``sr``.

    Parameters
    ----------
    name : str
        The uploaded file's name; its extension must be one of ``formats``.
    data : bytes
        The file's contents, at most ``max_bytes``.
    sr : int, Hz, keyword-only
        Rate of the returned audio (resampled with soxr).
    max_bytes : int, keyword-only
        Largest upload accepted.
    formats : sequence of str, keyword-only
        Extensions accepted.
    min_samples : int, samples, keyword-only
        Fewest samples accepted at ``sr``.

    Returns
    -------
    np.ndarray [shape=(1, n), dtype=float32]
        The audio, mono.

    Raises
    ------
    ParameterError
        Wrong format, empty or too large, not decodable as audio, NaN/Inf samples, too short;
        one line naming the upload.

    Examples
    --------
    >>> read_upload("notes.txt", b"hello")
    Traceback (most recent call last):
    ...
    workbench.errors.ParameterError: upload 'notes.txt' has format 'txt'; expected one of wav, flac, ogg, mp3
    """
    ext = Path(name).suffix.lower().lstrip(".")
    if ext not in formats:
        raise ParameterError(f"upload {name!r} has format {ext or 'none'!r}; expected one of {', '.join(formats)}")
    if not data:
        raise ParameterError(f"upload {name!r} is empty (0 bytes); expected audio")
    if len(data) > max_bytes:
        raise ParameterError(f"upload {name!r} is {len(data) / 2 ** 20:.1f} MB; expected at most "
                             f"{max_bytes / 2 ** 20:.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload.{ext}"
        path.write_bytes(data)
        try:
            audio, _ = load(path, sr=sr, mono=True, min_samples=min_samples)
        except ParameterError as err:  # name the upload, not the temporary file
            raise ParameterError(str(err).replace(f"path={str(path)!r}", f"upload {name!r}")
                                 .replace(str(path), name)) from None
    return audio


def excerpt(audio: np.ndarray, sr: int, *, start: float = 0.0, seconds: float | None = None) -> np.ndarray:
    """A part of the input, by time.

    Parameters
    ----------
    audio : np.ndarray [shape=(channels, n)]
        The input.
    sr : int, Hz
        Its sample rate.
    start : float, seconds, keyword-only
        Where the part begins (negative: 0).
    seconds : float or None, seconds, keyword-only
        Its length (None: the whole rest).

    Returns
    -------
    np.ndarray [shape=(channels, m), dtype=float32]
        ``audio[:, start:start+seconds]`` in samples (a view), cut at the input's end.

    Raises
    ------
    ParameterError
        A bad input, or a part that starts past its end.
    """
    a = validate_audio(audio, sr=sr, name="input")
    i = int(round(max(start, 0.0) * sr))
    j = a.shape[1] if seconds is None else i + int(round(seconds * sr))
    out = a[:, i:j]
    if out.shape[1] == 0:
        raise ParameterError(f"start={start} s is past the end of the input ({a.shape[1] / sr:.2f} s)")
    return out
