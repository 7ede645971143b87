"""Audio I/O and validation: float32 ``(channels, samples)`` arrays plus a sample rate.

Everything the workbench reads goes through :func:`load` (or :func:`stream_blocks` for long
files) and everything it checks goes through :func:`validate_audio`, so a bad file or a bad
array fails in one place with one clear line.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from workbench.errors import ParameterError
from workbench.validate import check_int

__all__ = ["load", "save", "stream_blocks", "resample", "validate_audio", "to_mono", "info", "audio_files",
           "describe_conversion"]


def _check_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"path={str(p)!r} does not exist; expected an audio file")
    if p.is_dir():
        raise ParameterError(f"path={str(p)!r} is a directory; expected an audio file")
    if p.stat().st_size == 0:
        raise ParameterError(f"path={str(p)!r} is an empty file (0 bytes); expected audio")
    return p


def _check_wav_complete(p: Path) -> None:
    """Raise if a RIFF/WAVE file declares more sample data than it holds.

    libsndfile quietly reads a truncated WAV up to where the bytes stop, so a half-copied
    file would otherwise pass as a shorter recording.
    """
    with p.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        size = p.stat().st_size
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            cid, clen = struct.unpack("<4sI", f.read(8))
            if cid == b"data":
                if clen in (0, 0xFFFFFFFF):  # streaming writers leave the size open
                    return
                have = size - (pos + 8)
                if have < clen:
                    raise ParameterError(
                        f"path={str(p)!r} is a truncated WAV: its data chunk declares {clen} "
                        f"bytes but only {have} are present; expected a complete file"
                    )
                return
            pos += 8 + clen + (clen & 1)
        raise ParameterError(f"path={str(p)!r} is a WAV with no data chunk; expected audio data")


def info(path: str | os.PathLike) -> sf._SoundFileInfo:
    """libsndfile's header information for an audio file, after the same checks as :func:`load`.

    Parameters
    ----------
    path : str or PathLike
        The audio file.

    Returns
    -------
    soundfile._SoundFileInfo
        Its rate (``samplerate``, Hz), ``channels``, ``frames``, ``duration`` (seconds), format.

    Raises
    ------
    ParameterError
        Missing path, directory, empty, truncated or non-audio file.
    """
    p = _check_path(path)
    _check_wav_complete(p)
    try:
        return sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise ParameterError(
            f"path={str(p)!r} could not be read as audio ({_short(err)}); expected a file "
            f"libsndfile reads (wav, flac, ogg, mp3, aiff...)"
        ) from None


def audio_files(folder: str | os.PathLike) -> list[Path]:
    """Audio files directly in ``folder`` that libsndfile can read, sorted by name.

    Only the folder itself is listed (no sub-folders), and hidden files are left out, so a
    batch never picks up another run's partial output.

    Parameters
    ----------
    folder : path
        An existing folder.

    Returns
    -------
    list of Path
        Files whose extension is a libsndfile format (plus ``.aif``, ``.oga``, ``.opus``).
    """
    exts = {"." + f.lower() for f in sf.available_formats()} | {".aif", ".oga", ".opus"}
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.suffix.lower() in exts and not p.name.startswith("."))


def describe_conversion(paths, *, sr: int) -> str | None:
    """One line on what loading ``paths`` mono at ``sr`` changes, or None when nothing changes.

    Training material of mixed rates or channel counts is loaded correctly (resampled, mixed
    down), but a user should hear that it was: a 44.1 kHz stereo take among 16 kHz mono files is
    often the wrong file.

    Parameters
    ----------
    paths : sequence of path
        Audio files.
    sr : int, Hz, keyword-only
        The rate they are loaded at.

    Returns
    -------
    str or None
        E.g. ``"3 of 40 files resampled to 16000 Hz (44100 Hz: 3); 2 of 40 mixed to mono (2 channels: 2)"``.
    """
    from collections import Counter

    infos = [info(p) for p in paths]
    n = len(infos)
    rates = Counter(i.samplerate for i in infos if i.samplerate != sr)
    chans = Counter(i.channels for i in infos if i.channels != 1)
    parts = []
    if rates:
        parts.append(f"{sum(rates.values())} of {n} files resampled to {sr} Hz ("
                     + ", ".join(f"{r} Hz: {c}" for r, c in sorted(rates.items())) + ")")
    if chans:
        parts.append(f"{sum(chans.values())} of {n} mixed to mono ("
                     + ", ".join(f"{k} channels: {c}" for k, c in sorted(chans.items())) + ")")
    return "; ".join(parts) or None


def _short(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def resample(audio: np.ndarray, orig_sr: int, target_sr: int, *, quality: str = "HQ") -> np.ndarray:
    """Resample audio with soxr (band-limited, linear phase).

    Parameters
    ----------
    audio : np.ndarray [shape=(channels, n)]
        The audio.
    orig_sr, target_sr : int, Hz
        Its rate and the rate wanted.
    quality : str, keyword-only
        soxr's quality recipe (``"HQ"``, ``"VHQ"``, ``"MQ"``, ``"LQ"``, ``"QQ"``).

    Returns
    -------
    np.ndarray [shape=(channels, ceil(n * target_sr / orig_sr)), dtype=float32]
        The audio at ``target_sr`` (``audio`` itself as float32 when the rates are equal).
    """
    _check_rate(orig_sr, "orig_sr")
    _check_rate(target_sr, "target_sr")
    audio = np.asarray(audio, dtype=np.float32)
    if orig_sr == target_sr:
        return audio
    out = soxr.resample(np.ascontiguousarray(audio.T), orig_sr, target_sr, quality=quality)
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(-1, audio.shape[0]).T)


def _check_rate(sr, name: str = "sr") -> int:
    return check_int(sr, name, what=" sample rate in Hz")


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average the channels.

    Parameters
    ----------
    audio : np.ndarray [shape=(channels, n)]
        The audio.

    Returns
    -------
    np.ndarray [shape=(1, n), dtype=float32]
        The mean of the channels.
    """
    return np.asarray(audio, dtype=np.float32).mean(axis=0, keepdims=True)


def load(
    path: str | os.PathLike,
    *,
    sr: int | None = None,
    mono: bool = False,
    min_samples: int = 1,
) -> tuple[np.ndarray, int]:
    """Read an audio file into a float32 array.

    Parameters
    ----------
    path : str or PathLike
        Any file libsndfile reads (wav, flac, ogg/vorbis, mp3, aiff, ...).
    sr : int, optional
        Target sample rate in Hz; the file is resampled with soxr when it differs.
        ``None`` keeps the file's rate.
    mono : bool
        Average the channels into one.
    min_samples : int
        Fewest samples accepted (for example one analysis frame, ``n_fft``).

    Returns
    -------
    audio : np.ndarray [shape=(channels, n), dtype=float32]
    sr : int, Hz
        Sample rate of ``audio``.

    Raises
    ------
    ParameterError
        Missing path, directory, non-audio or truncated file, zero samples, non-finite
        samples, or fewer than ``min_samples`` samples.

    Examples
    --------
    >>> y, sr = load("voice.wav", sr=16000, mono=True)  # doctest: +SKIP
    >>> y.shape  # doctest: +SKIP
    (1, 48000)
    """
    p = _check_path(path)
    _check_wav_complete(p)
    if sr is not None:
        _check_rate(sr)
    try:
        data, file_sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise ParameterError(
            f"path={str(p)!r} could not be read as audio ({_short(err)}); expected a file "
            f"libsndfile reads (wav, flac, ogg, mp3, aiff...)"
        ) from None
    audio = np.ascontiguousarray(data.T)
    if mono:
        audio = to_mono(audio)
    if sr is not None and sr != file_sr:
        audio = resample(audio, file_sr, sr)
        file_sr = sr
    validate_audio(audio, sr=file_sr, min_samples=min_samples, name=str(p))
    return audio, int(file_sr)


def save(
    path: str | os.PathLike,
    audio: np.ndarray,
    sr: int,
    *,
    subtype: str | None = None,
) -> Path:
    """Write audio to a file, creating its parent folders.

    Parameters
    ----------
    path : str or PathLike
        The file; its extension picks the format (``.wav``, ``.flac``, ``.ogg``...).
    audio : np.ndarray [shape=(channels, n) or (n,)]
        Finite samples, nominally in [-1, 1].
    sr : int, Hz
        Sample rate.
    subtype : str or None, keyword-only
        A libsndfile subtype such as ``"PCM_16"`` or ``"FLOAT"``; None uses the format's default.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ParameterError
        A bad rate or array, or a format/subtype libsndfile cannot write.
    """
    _check_rate(sr)
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[None]
    validate_audio(a, sr=sr, name="audio")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        sf.write(str(p), a.T, sr, subtype=subtype)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        raise ParameterError(f"could not write {str(p)!r} with subtype={subtype!r}: {_short(err)}") from None
    return p


def stream_blocks(
    path: str | os.PathLike,
    block: int,
    *,
    mono: bool = False,
) -> Iterator[np.ndarray]:
    """Consecutive blocks of a file, without loading it whole.

    The file's own sample rate is kept (see :func:`info`).

    Parameters
    ----------
    path : str or PathLike
        The audio file.
    block : int, samples
        Block length.
    mono : bool, keyword-only
        Average the channels of each block into one.

    Yields
    ------
    np.ndarray [shape=(channels, <= block), dtype=float32]
        The next block; the last may be shorter.

    Raises
    ------
    ParameterError
        A bad file (as :func:`load`) or a block with NaN or Inf samples.
    """
    block = check_int(block, "block", what=" number of samples")
    info(path)  # same checks as load, before any block is yielded
    with sf.SoundFile(str(path)) as f:
        for data in f.blocks(blocksize=int(block), dtype="float32", always_2d=True):
            out = np.ascontiguousarray(data.T)
            if mono:
                out = to_mono(out)
            if not np.isfinite(out).all():
                raise ParameterError(f"{str(path)!r} contains NaN or Inf samples; expected finite audio")
            yield out


def validate_audio(
    audio: np.ndarray,
    *,
    sr: int | None = None,
    min_samples: int = 1,
    name: str = "audio",
) -> np.ndarray:
    """Check an audio array and return it as float32 ``(channels, samples)``.

    Parameters
    ----------
    audio : np.ndarray or array_like [shape=(channels, n) or (n,)]
        The samples, channels first (1 to 64 channels).
    sr : int, Hz, optional
        Checked to be a positive integer when given.
    min_samples : int
        Fewest samples accepted, e.g. one analysis frame (``n_fft``).
    name : str
        How the array is named in error messages (a path, "input"...).

    Returns
    -------
    np.ndarray [shape=(channels, n), dtype=float32]
        The samples, a one-dimensional array as one channel.

    Raises
    ------
    ParameterError
        Not numeric, wrong number of dimensions, zero samples, NaN/Inf samples, or shorter
        than ``min_samples``.
    """
    if sr is not None:
        _check_rate(sr)
    try:
        a = np.asarray(audio)
    except Exception as err:  # noqa: BLE001 - anything unconvertible is a user error here
        raise ParameterError(f"{name} could not be converted to an array ({_short(err)})") from None
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise ParameterError(f"{name} has dtype={a.dtype}; expected real floating-point samples")
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2:
        raise ParameterError(f"{name} has shape={a.shape}; expected (channels, samples) or (samples,)")
    if a.shape[0] == 0 or a.shape[0] > 64:
        raise ParameterError(f"{name} has shape={a.shape}: {a.shape[0]} channels; expected 1 to 64 (channels first)")
    if a.shape[1] == 0:
        raise ParameterError(f"{name} has zero samples; expected at least {max(1, min_samples)}")
    bad = ~np.isfinite(a)
    if bad.any():
        first = int(np.argwhere(bad)[0][1])
        raise ParameterError(
            f"{name} contains {int(bad.sum())} NaN or Inf samples (first at sample {first}); "
            f"expected finite audio"
        )
    if a.shape[1] < min_samples:
        raise ParameterError(
            f"{name} has {a.shape[1]} samples, shorter than one analysis frame of {min_samples}; "
            f"expected at least {min_samples} samples"
        )
    return a.astype(np.float32, copy=False)
