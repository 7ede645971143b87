"""Render audio through an effect: files in bounded memory in the user's format, a batch of
files, or an array in memory, each at the rate the effect processes at.

The file is read, resampled to the processing rate, processed, resampled to the output rate and
written block by block (soxr streams, the Effect contract's blocks), so a 30-minute 48 kHz
stereo file never sits in memory. The result equals loading the whole file, resampling it,
``effect.process`` and resampling back, because soxr's stream and the effect's blocks both
equal their one-shot forms. The output goes to a hidden partial file beside ``dst`` that is
renamed only when complete: an interruption leaves nothing under the output name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from effects.base import OFFLINE_BLOCK, Effect
from workbench.audio import info, resample, validate_audio
from workbench.errors import ParameterError
from workbench.validate import check_int, is_number

__all__ = ["render_file", "render_files", "render_audio", "Rendered", "parse_channels", "processing_rate",
           "render_schedule"]

log = logging.getLogger(__name__)

READ_BLOCK = 1 << 16  # input frames read per step


@dataclass(frozen=True)
class Rendered:
    """What :func:`render_file` wrote: the path, its rate (Hz), channels and length (samples),
    and the rate the effect processed at (Hz)."""

    path: Path
    sr: int
    channels: int
    samples: int
    processing_sr: int


def parse_channels(value: str | int) -> str | int:
    """The output channel setting, from a CLI string or a value.

    Parameters
    ----------
    value : str or int
        ``"keep"``, ``"mono"``, or a positive channel count (an int or its digits).

    Returns
    -------
    str or int
        ``"keep"``, ``"mono"`` or the count as an int.

    Raises
    ------
    ParameterError
        Anything else (``bool`` included).
    """
    if value in ("keep", "mono"):
        return value
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if isinstance(value, bool) or n <= 0 or str(n) != str(value).strip():
        raise ParameterError(f"channels={value!r} is not valid; expected keep, mono or a positive number of channels")
    return n


def processing_rate(effect: Effect, *, file_sr: int, sr: int | None = None) -> tuple[int, str]:
    """The rate a file is processed at by ``effect``, and whose rate that is.

    A model-bound effect needs its model's rate whatever is asked; otherwise an asked-for
    ``sr`` wins, then the rate a fitted mosaic index was built at (a loaded or already fitted
    index fixes its grains' rate), then the file's own.

    Parameters
    ----------
    effect : Effect
        The effect the file goes through (before or after a previous ``prepare``).
    file_sr : int
        The input file's rate in Hz.
    sr : int, optional
        An asked-for processing rate in Hz (the CLI's ``--sr``).

    Returns
    -------
    sr : int
        Processing rate in Hz.
    source : {"model", "sr", "index", "file"}
        Whose rate it is (for the resampling notice).
    """
    index = getattr(effect, "index", None)  # only a mosaic effect holds an index
    if effect.required_sample_rate:
        return effect.required_sample_rate, "model"
    if sr:
        return sr, "sr"
    if index is not None:
        return index.params["sr"], "index"
    return file_sr, "file"


def _stream(rate_in: int, rate_out: int, channels: int):
    return None if rate_in == rate_out else soxr.ResampleStream(rate_in, rate_out, channels, dtype="float32")


def _resample(stream, x: np.ndarray, *, last: bool = False) -> np.ndarray:
    """``x`` is ``(channels, n)``; soxr wants ``(n, channels)``."""
    if stream is None:
        return x
    return np.ascontiguousarray(stream.resample_chunk(np.ascontiguousarray(x.T), last=last).T)


def render_file(
    effect: Effect,
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    sr: int | None = None,
    out_sr: int | None = None,
    channels: str | int = "keep",
    subtype: str | None = None,
    progress: bool = False,
) -> Rendered:
    """Process the file ``src`` with ``effect`` and write ``dst``.

    Parameters
    ----------
    effect : Effect
        Any effect; it is prepared here for the processing rate and channel count.
    src, dst : str or PathLike
        Input audio file; output file (format from its extension, parent folders created). The
        output lasts as long as the input, or less where the effect's
        :meth:`~effects.base.Effect.output_length` says its output ends.
    sr : int, Hz, optional, keyword-only
        Processing rate (an autoencoder's model rate); default the file's rate.
    out_sr : int, Hz, optional, keyword-only
        Output rate; default the file's rate.
    channels : {"keep", "mono"} or int, keyword-only
        ``keep`` processes and writes every channel; ``mono`` mixes down first; ``N`` writes N
        channels (the input's own when it has N, else its mono mix copied N times).
    subtype : str, optional, keyword-only
        libsndfile subtype (``"PCM_24"``, ``"FLOAT"``...); default the format's default.
    progress : bool, keyword-only
        Show a progress bar (seconds of input) on stderr.

    Returns
    -------
    Rendered
        What was written and at which rates.

    Raises
    ------
    ParameterError
        Unreadable input, bad rates or channels, an output the format cannot hold.
    """
    src, dst = Path(src), Path(dst)
    meta = info(src)  # existence, readability and truncation checks, before anything is written
    file_sr, in_ch, n_in = int(meta.samplerate), int(meta.channels), int(meta.frames)
    chans = parse_channels(channels)
    sr = int(sr or file_sr)
    out_sr = int(out_sr or file_sr)
    for name, v in (("sr", sr), ("out_sr", out_sr)):
        if v <= 0:
            raise ParameterError(f"{name}={v} must be a positive sample rate in Hz")
    mix_down = chans == "mono" or (isinstance(chans, int) and chans != in_ch)
    proc_ch = 1 if mix_down else in_ch
    out_ch = in_ch if chans == "keep" else 1 if chans == "mono" else chans
    if dst.resolve() == src.resolve():
        raise ParameterError(f"output {str(dst)!r} is the input file; expected another path")

    n_proc = len(soxr.resample(np.zeros((n_in, 1), np.float32), file_sr, sr)) if sr != file_sr else n_in
    effect.prepare(sr, proc_ch, OFFLINE_BLOCK, input_length=n_proc)
    latency = effect.latency_samples
    keep = min(n_proc, effect.output_length(n_proc))
    if subtype is None and dst.suffix.lower() == src.suffix.lower() and sf.check_format(meta.format, meta.subtype):
        subtype = meta.subtype  # the user's bit depth, when the format is the same
    up, down = _stream(file_sr, sr, proc_ch), _stream(sr, out_sr, proc_ch)

    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(f".{dst.stem}.partial{dst.suffix}")
    ext = dst.suffix.lstrip(".").upper()
    if ext not in sf.available_formats():
        raise ParameterError(f"output {str(dst)!r}: cannot write {dst.suffix or 'files without an extension'}; "
                             f"expected one of {', '.join('.' + f.lower() for f in sorted(sf.available_formats()))}")
    # the output lasts as long as the input (two resamplings can round one sample either way)
    n_out = n_in * out_sr // file_sr if keep == n_proc else min(n_in * out_sr // file_sr, keep * out_sr // sr)
    state = {"skip": latency, "left": keep, "written": 0}

    def write(z: np.ndarray, out: sf.SoundFile) -> None:
        z = z[:, : n_out - state["written"]]
        if z.shape[1]:
            out.write((np.repeat(z, out_ch, axis=0) if out_ch != proc_ch else z).T)
            state["written"] += z.shape[1]

    def run(x: np.ndarray, out: sf.SoundFile) -> None:
        for i in range(0, x.shape[1], OFFLINE_BLOCK):
            y = effect.process_block(x[:, i: i + OFFLINE_BLOCK])
            drop = min(state["skip"], y.shape[1])
            state["skip"] -= drop
            y = y[:, drop: drop + state["left"]]
            state["left"] -= y.shape[1]
            write(_resample(down, y), out)

    from tqdm import tqdm

    bar = tqdm(total=n_in / file_sr, unit="s", desc=src.name, bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s",
               disable=not progress, leave=False)
    try:
        with sf.SoundFile(str(partial), "w", samplerate=out_sr, channels=out_ch, subtype=subtype) as out, \
                sf.SoundFile(str(src)) as f:
            for data in f.blocks(blocksize=READ_BLOCK, dtype="float32", always_2d=True):
                x = np.ascontiguousarray(data.T)
                if not np.isfinite(x).all():
                    raise ParameterError(f"{str(src)!r} contains NaN or Inf samples; expected finite audio")
                run(_resample(up, x.mean(axis=0, keepdims=True) if mix_down else x), out)
                bar.update(x.shape[1] / file_sr)
            tail = _resample(up, np.zeros((proc_ch, 0), np.float32), last=True)
            run(np.concatenate([tail, np.zeros((proc_ch, latency), np.float32)], axis=1), out)
            if down is not None:
                write(_resample(down, np.zeros((proc_ch, 0), np.float32), last=True), out)
            write(np.zeros((proc_ch, n_out - state["written"]), np.float32), out)
        os.replace(partial, dst)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    log.debug("rendered %s -> %s (%d samples at %d Hz)", src, dst, state["written"], out_sr)
    return Rendered(dst, out_sr, out_ch, state["written"], sr)


def render_files(
    effect: Effect,
    pairs: Sequence[tuple[str | os.PathLike, str | os.PathLike]],
    *,
    sr: int | None = None,
    out_sr: int | None = None,
    channels: str | int = "keep",
    progress: bool = False,
    notify: Callable[[str], None] | None = None,
) -> tuple[list[Rendered], list[tuple[Path, str]]]:
    """Render each ``(src, dst)`` pair through one effect, loaded once.

    Each file is processed at :func:`processing_rate` (a notice once per cause when that is not
    the file's rate); the effect adapts to each whole file first where it does
    (:meth:`~effects.base.Effect.before_file`) and may leave a note after it
    (:meth:`~effects.base.Effect.notice`).

    Parameters
    ----------
    effect : Effect
        Any effect.
    pairs : sequence of (src, dst)
        Input and output paths.
    sr : int, Hz, optional, keyword-only
        An asked-for processing rate (a model-bound effect keeps its model's).
    out_sr : int, Hz, optional, keyword-only
        Output rate; default each file's own.
    channels : {"keep", "mono"} or int, keyword-only
        As for :func:`render_file`.
    progress : bool, keyword-only
        A bar over the files (several), or over the seconds of the one file.
    notify : callable, optional, keyword-only
        Called with each line for the user (notices, notes, skipped files); default the log.

    Returns
    -------
    rendered : list of Rendered
        What was written, in order.
    failed : list of (Path, str)
        Files skipped with the reason (several files only).

    Raises
    ------
    ParameterError
        With one file, whatever keeps it from being written; with several, nothing (each
        failure is listed and the rest go on).
    """
    from tqdm import tqdm

    say = notify or log.info
    batch = len(pairs) > 1
    noticed, rendered, failed = set(), [], []
    for src, dst in tqdm(pairs, desc="render", unit="file", disable=not (batch and progress)):
        src, dst = Path(src), Path(dst)
        try:
            file_sr = info(src).samplerate
            rate, source = processing_rate(effect, file_sr=file_sr, sr=sr)
            rate_out = out_sr or file_sr
            cause = (file_sr, rate, rate_out)
            if file_sr != rate and cause not in noticed:  # one notice per cause, not per file
                noticed.add(cause)
                band = f"; the output has nothing above {rate // 2} Hz" if rate_out > rate else ""
                say(f"note: processing at {_WHOSE[source]}{rate} Hz (input {file_sr} Hz), writing {rate_out} Hz{band}")
            note = effect.before_file(src)
            if note:
                say(note)
            rendered.append(render_file(effect, src, dst, sr=rate, out_sr=rate_out, channels=channels,
                                        progress=progress and not batch))
            note = effect.notice()
            if note:
                say(f"note: {src.name}: {note}")
        except ParameterError as err:
            if not batch:
                raise
            failed.append((src, str(err)))
            say(f"skipped {src}: {err}")
    return rendered, failed


_WHOSE = {"model": "the model's ", "sr": "the asked-for ", "index": "the index's ", "file": ""}  # processing_rate's sources


def render_audio(effect: Effect, audio: np.ndarray, *, sr: int, processing_sr: int | None = None,
                 out_sr: int | None = None) -> tuple[np.ndarray, int]:
    """:func:`render_file`'s in-memory twin: ``audio`` through ``effect`` at its processing rate.

    Parameters
    ----------
    effect : Effect
        Any effect (prepared here, for the processing rate and ``audio``'s channels and length).
    audio : np.ndarray [shape=(channels, n) or (n,)]
        The input (:func:`workbench.audio.validate_audio`).
    sr : int, Hz, keyword-only
        Its rate.
    processing_sr : int, Hz, optional, keyword-only
        An asked-for processing rate (:func:`processing_rate`; a model-bound effect keeps its model's).
    out_sr : int, Hz, optional, keyword-only
        The output's rate; default ``sr``.

    Returns
    -------
    y : np.ndarray [shape=(channels, m) or (m,), dtype=float32]
        The output, aligned with the input, in its shape; ``m`` is the input's length at
        ``out_sr``, or less where :meth:`~effects.base.Effect.output_length` ends it.
    processing_sr : int, Hz
        The rate it was processed at.
    """
    x = validate_audio(audio, sr=sr)
    rate, _ = processing_rate(effect, file_sr=sr, sr=processing_sr)
    out_sr = int(out_sr or sr)
    n_out = x.shape[1] * out_sr // sr
    xp = resample(x, sr, rate) if rate != sr else x
    y = effect.process(xp, rate)
    y = y[:, : effect.output_length(xp.shape[1])]
    if out_sr != rate:
        y = resample(y, rate, out_sr)
    y = y[:, :n_out]
    return (y[0] if np.asarray(audio).ndim == 1 else y), rate


def render_schedule(effect: Effect, seconds: float, *, schedule: Sequence[tuple[float, dict]] = (),
                    blocksize: int = 128, channels: int = 1) -> np.ndarray:
    """Play a source effect offline for ``seconds`` with parameter changes at given times, as live.

    Parameters
    ----------
    effect : Effect
        A source (its input is silence) with a ``required_sample_rate``.
    seconds : float, s
        Length to render, in (0, 600].
    schedule : sequence of (time_s, dict), keyword-only
        ``set_params`` calls, applied before the first block that starts at or after ``time_s``.
    blocksize : int, keyword-only
        Block length (changes land on block boundaries, as live).
    channels : int, keyword-only
        Channels of the output.

    Returns
    -------
    np.ndarray [shape=(channels, round(seconds * sr))], float32
        The rendered audio at the effect's rate ``sr``. Its parameters are as before the call
        afterwards (the schedule starts from them).
    """
    if not (is_number(seconds) and 0 < seconds <= 600):
        raise ParameterError(f"seconds={seconds!r} must be in (0, 600]")
    check_int(blocksize, "blocksize", lo=1)
    sr = effect.required_sample_rate
    n = int(round(seconds * sr))
    events = sorted(((float(t), dict(p)) for t, p in schedule), key=lambda e: e[0])
    saved = effect.get_params()
    effect.prepare(sr, channels, blocksize)
    silence = np.zeros((channels, blocksize), np.float32)
    out = np.zeros((channels, n), np.float32)
    k = 0
    for start in range(0, n, blocksize):
        while k < len(events) and events[k][0] * sr <= start + 1e-9:
            effect.set_params(**events[k][1])
            k += 1
        m = min(blocksize, n - start)
        out[:, start:start + m] = effect.process_block(silence[:, :m])
    effect.set_params(**saved)
    return out
