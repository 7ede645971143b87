"""Voice material with known notes: Festival's singing mode and espeak-ng speech.

Festival writes an empty file and still exits 0 when its XML is off, so every output is
checked to be non-empty and pitched before it is kept.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from workbench.audio import load, resample, save
from workbench.corpus.truth import write_truth
from workbench.errors import ParameterError
from workbench.pitch import midi_to_hz, pyin_f0
from workbench.validate import check_int

__all__ = ["sing", "speak", "random_phrase", "random_phrases", "fast_phrase", "render_fast_voice", "render_voice",
           "add_vibrato", "render_vibrato_voice",
           "SYLLABLES", "SENTENCES"]

SYLLABLES = ("la", "na", "ma", "loo", "noo", "mee", "lay", "no")
SENTENCES = (
    "the quick brown fox jumps over the lazy dog",
    "sing me a song of the sea and the sky",
    "every note you hold becomes a trumpet",
    "listen to the sound of my voice",
    "one two three four five six seven eight",
    "a small network learned to play the horn",
)
_DOCTYPE = '<!DOCTYPE SINGING PUBLIC "-//SINGING//DTD SINGING mark up//EN" "Singing.v0_1.dtd" []>'
FESTIVAL_SR = 16000  # festvox-kallpc16k


def _need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ParameterError(f"{tool} not found; expected it on PATH (apt-get install {package}, or `make setup`)")
    return path


def random_phrase(rng: np.random.Generator, *, low: int = 45, high: int = 60, notes: tuple[int, int] = (4, 8)) -> dict:
    """A random sung phrase: tempo, syllables, pitches, beats, rests.

    A random walk of steps up to a major third, clipped to ``[low, high]``, with a rest before a
    note now and then (15 %).

    Parameters
    ----------
    rng : np.random.Generator
        Where every choice is drawn from.
    low, high : int, MIDI, keyword-only
        Inclusive pitch range (the first note lies at least 3 semitones inside it).
    notes : tuple of int (fewest, most), keyword-only
        How many notes, drawn inclusive.

    Returns
    -------
    dict
        ``{"bpm": 60-100, "items": [...]}``; each item is ``{"syllable", "pitch" (MIDI),
        "beats"}`` or ``{"rest": beats}``.
    """
    bpm = int(rng.integers(60, 101))
    n = int(rng.integers(notes[0], notes[1] + 1))
    items, pitch = [], int(rng.integers(low + 3, high - 2))
    for i in range(n):
        if i and rng.random() < 0.15:
            items.append({"rest": float(rng.choice([0.5, 1.0]))})
        step = int(rng.integers(-4, 5))
        pitch = min(max(pitch + step, low), high)
        items.append({"syllable": str(rng.choice(SYLLABLES)), "pitch": pitch,
                      "beats": float(rng.choice([0.5, 1.0, 1.0, 1.5, 2.0]))})
    return {"bpm": bpm, "items": items}


def fast_phrase(rng: np.random.Generator, *, low: int = 45, high: int = 60, notes: int = 16) -> dict:
    """A fast sung line: ``notes`` eighth notes at 120 bpm (0.25 s each), no rests.

    Pitches walk as in :func:`random_phrase` (steps up to a major third, clipped to the range).

    Parameters
    ----------
    rng : np.random.Generator
        Where every choice is drawn from.
    low, high : int, MIDI, keyword-only
        Inclusive pitch range.
    notes : int, keyword-only
        How many eighth notes.

    Returns
    -------
    dict
        As :func:`random_phrase`: ``{"bpm", "items"}``, for :func:`sing`.
    """
    check_int(notes, "notes")
    if not 30 <= low < high <= 84:
        raise ParameterError(f"voice range low={low}, high={high} must satisfy 30 <= low < high <= 84 (MIDI)")
    # Festival's singing mode lasts 50/BPM s a beat: BPM 100 and half beats give 0.25 s notes,
    # eighth notes at a real 120 bpm
    items, pitch = [], int(rng.integers(low + 3, high - 2))
    for _ in range(notes):
        pitch = min(max(pitch + int(rng.integers(-4, 5)), low), high)
        items.append({"syllable": str(rng.choice(SYLLABLES)), "pitch": pitch, "beats": 0.5})
    return {"bpm": 100, "items": items}


def render_fast_voice(out: str | Path, *, count: int = 1, seed: int = 0, sr: int = 16000, low: int = 45,
                      high: int = 60, notes: int = 16) -> dict:
    """Write fast sung lines (:func:`fast_phrase`) with ground truth: ``fast_###.wav`` + ``.json`` + ``.xml``.

    Parameters
    ----------
    out : str or Path
        The folder (created).
    count : int, keyword-only
        How many lines.
    seed : int, keyword-only
        Generator seed.
    sr : int, Hz, keyword-only
        Sample rate.
    low, high : int, MIDI, keyword-only
        Pitch range.
    notes : int, keyword-only
        Eighth notes per line.

    Returns
    -------
    dict
        What ``index.json`` holds (count, seed, sr, range and the items).
    """
    check_int(count, "count")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    items = []
    for i in range(count):
        phrase = fast_phrase(rng, low=low, high=high, notes=notes)
        name = f"fast_{i:03d}"
        y, truth = sing(phrase, out / f"{name}.wav", sr=sr)
        (out / f"{name}.xml").write_text(_phrase_xml(phrase))
        write_truth(out / f"{name}.json", audio=f"{name}.wav", sr=sr, seconds=len(y) / sr,
                    source="festival:kal_diphone", notes=truth, kind="fast", bpm=120)
        items.append({"name": name, "kind": "fast"})
    summary = {"count": count, "seed": seed, "sr": sr, "range": [low, high], "items": items}
    (out / "index.json").write_text(json.dumps(summary, indent=1))
    return summary


def add_vibrato(y: np.ndarray, *, sr: int, rate_hz: float = 5.5, depth_cents: float = 50.0) -> np.ndarray:
    """Frequency vibrato by a modulated read position, so every partial moves by the same cents.

    The output reads ``y`` at ``p(t) = integral of r``, ``r(t) = 2 ** (depth_cents / 1200 *
    sin(2 pi rate_hz t))`` (cubic interpolation), so its f0 is the input's times ``r(t)``: the
    pitch truth of the input holds, with a known vibrato on top. The read position stays within
    a millisecond of ``t`` at these depths; samples read past the end are zero.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    sr : int, Hz, keyword-only
        Its rate.
    rate_hz : float, Hz, keyword-only
        Vibrato rate, in (0, 20].
    depth_cents : float, cents, keyword-only
        Peak deviation, in [0, 200].

    Returns
    -------
    np.ndarray [shape=(n,)], float32
    """
    from scipy.interpolate import CubicSpline

    if not 0 < rate_hz <= 20 or not 0 <= depth_cents <= 200:
        raise ParameterError(f"vibrato rate_hz={rate_hz}, depth_cents={depth_cents}: expected a rate in (0, 20] Hz "
                             "and a depth in [0, 200] cents")
    y = np.asarray(y, np.float64).reshape(-1)
    t = np.arange(y.size) / sr
    r = 2.0 ** (depth_cents / 1200.0 * np.sin(2 * np.pi * rate_hz * t))
    pos = np.concatenate([[0.0], np.cumsum(r[:-1])])
    out = CubicSpline(np.arange(y.size), y, extrapolate=False)(pos)
    return np.nan_to_num(out).astype(np.float32)


def render_vibrato_voice(out: str | Path, *, count: int = 1, seed: int = 0, sr: int = 16000, low: int = 45,
                         high: int = 60, rate_hz: float = 5.5, depth_cents: float = 50.0) -> dict:
    """Write sung phrases with vibrato (:func:`add_vibrato`) and their note truth: ``vibrato_###``.

    The phrases are drawn as :func:`render_voice` draws its sung ones (another generator stream:
    ``seed + 1000``), sung by Festival, then given the vibrato; the truth json records its rate
    and depth.

    Parameters
    ----------
    out : str or Path
        The folder (created).
    count : int, keyword-only
        How many phrases.
    seed : int, keyword-only
        Generator seed.
    sr : int, Hz, keyword-only
        Sample rate.
    low, high : int, MIDI, keyword-only
        Pitch range.
    rate_hz, depth_cents : float, keyword-only
        The vibrato (:func:`add_vibrato`).

    Returns
    -------
    dict
        What ``index.json`` holds.
    """
    check_int(count, "count")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1000)
    items = []
    for i in range(count):
        phrase = random_phrase(rng, low=low, high=high)
        name = f"vibrato_{i:03d}"
        y, truth = sing(phrase, out / f"{name}.wav", sr=sr)
        save(out / f"{name}.wav", add_vibrato(y, sr=sr, rate_hz=rate_hz, depth_cents=depth_cents), sr,
             subtype="PCM_16")
        (out / f"{name}.xml").write_text(_phrase_xml(phrase))
        write_truth(out / f"{name}.json", audio=f"{name}.wav", sr=sr, seconds=len(y) / sr,
                    source="festival:kal_diphone", notes=truth, kind="vibrato", bpm=phrase["bpm"],
                    vibrato_hz=rate_hz, vibrato_cents=depth_cents)
        items.append({"name": name, "kind": "vibrato"})
    summary = {"count": count, "seed": seed, "sr": sr, "range": [low, high], "items": items,
               "vibrato": {"rate_hz": rate_hz, "depth_cents": depth_cents}}
    (out / "index.json").write_text(json.dumps(summary, indent=1))
    return summary


def random_phrases(rng: np.random.Generator, count: int, *, low: int = 45, high: int = 60, desc: str = "sung",
                   progress: bool = True) -> Iterator[tuple[int, dict]]:
    """``count`` phrases of :func:`random_phrase` with their index, under a progress bar.

    Each phrase is drawn from ``rng`` when the loop reaches it, so a caller that skips rendering
    one still draws it and the stream (what ``rng`` gives after it) stays the same.

    Parameters
    ----------
    rng : np.random.Generator
        The generator the phrases are drawn from, in turn.
    count : int
        How many phrases.
    low, high : int, MIDI
        Pitch range of the phrases (see :func:`random_phrase`).
    desc : str
        Label of the progress bar.
    progress : bool
        Show the progress bar.

    Yields
    ------
    i : int
        The phrase's index, from 0.
    phrase : dict
        The phrase, as :func:`random_phrase` returns it.
    """
    from tqdm import tqdm

    for i in tqdm(range(count), desc=desc, unit="phrase", disable=not progress):
        yield i, random_phrase(rng, low=low, high=high)


def _phrase_xml(phrase: dict) -> str:
    body = []
    for it in phrase["items"]:
        if "rest" in it:
            body.append(f'<REST BEATS="{it["rest"]}"></REST>')
        else:
            hz = midi_to_hz(it["pitch"])  # FREQ is unambiguous; NOTE names are an octave off
            body.append(f'<PITCH FREQ="{hz:.2f}"><DURATION BEATS="{it["beats"]}">{it["syllable"]}</DURATION></PITCH>')
    return f'<?xml version="1.0"?>\n{_DOCTYPE}\n<SINGING BPM="{phrase["bpm"]}">\n' + "\n".join(body) + "\n</SINGING>\n"


def _phrase_notes(phrase: dict) -> list[dict]:
    beat = 50.0 / phrase["bpm"]  # Festival's singing mode: one beat lasts 50/BPM s
    t, notes = 0.0, []
    for it in phrase["items"]:
        if "rest" in it:
            t += it["rest"] * beat
            continue
        d = it["beats"] * beat
        notes.append({"onset": t, "offset": t + d, "pitch": it["pitch"], "velocity": 100, "syllable": it["syllable"]})
        t += d
    return notes


def _check_pitched(y: np.ndarray, sr: int, what: str, min_voiced: float) -> float:
    if y.size == 0 or float(np.sqrt(np.mean(y**2))) < 1e-4:
        raise ParameterError(f"{what} produced an empty or silent file; expected pitched audio")
    _, f0, voiced = pyin_f0(y, sr=sr, fmin=60.0, fmax=500.0)
    share = float(voiced.mean())
    if share < min_voiced:
        raise ParameterError(f"{what} is only {share:.0%} voiced; expected at least {min_voiced:.0%} pitched frames")
    return share


def sing(phrase: dict, out_wav: str | Path, *, sr: int = 16000) -> tuple[np.ndarray, list[dict]]:
    """Sing a phrase with Festival's singing mode and write it (16-bit, peak -1 dBFS).

    Parameters
    ----------
    phrase : dict
        As :func:`random_phrase` returns.
    out_wav : str or Path
        The file to write.
    sr : int, Hz, keyword-only
        Sample rate of the output.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        The mono audio written.
    notes : list of dict
        Its ground truth: ``onset``, ``offset`` (seconds), ``pitch`` (MIDI), ``velocity`` (100)
        and ``syllable`` of each note.

    Raises
    ------
    ParameterError
        Festival is missing, fails, or writes an empty, silent or mostly unvoiced file.
    """
    text2wave = _need("text2wave", "festival festvox-kallpc16k")
    with tempfile.TemporaryDirectory() as tmp:
        xml, raw = Path(tmp) / "song.xml", Path(tmp) / "song.wav"
        xml.write_text(_phrase_xml(phrase))
        proc = subprocess.run([text2wave, "-mode", "singing", str(xml), "-o", str(raw)],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0 or not raw.exists() or raw.stat().st_size <= 44:
            raise ParameterError(f"festival singing failed (exit {proc.returncode}): {proc.stderr.strip()[:200]}")
        y, _ = load(raw, sr=sr, mono=True)
    y = y[0]
    notes = _phrase_notes(phrase)
    _check_pitched(y, sr, "festival singing", min_voiced=0.5)
    y = y * (10 ** (-1 / 20) / max(float(np.abs(y).max()), 1e-9))
    save(out_wav, y, sr, subtype="PCM_16")
    return y, notes


def speak(text: str, out_wav: str | Path, *, sr: int = 16000, pitch: int = 50, speed: int = 150) -> np.ndarray:
    """Speak text with espeak-ng (English) and write it (16-bit, peak -1 dBFS).

    Parameters
    ----------
    text : str
        What to say.
    out_wav : str or Path
        The file to write.
    sr : int, Hz, keyword-only
        Sample rate of the output.
    pitch : int, keyword-only
        espeak-ng's pitch, 0-99.
    speed : int, words per minute, keyword-only
        espeak-ng's speed.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        The mono audio written.

    Raises
    ------
    ParameterError
        espeak-ng is missing, fails, or writes a silent or mostly unvoiced file.
    """
    espeak = _need("espeak-ng", "espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "speech.wav"
        proc = subprocess.run([espeak, "-v", "en", "-p", str(pitch), "-s", str(speed), "-w", str(raw), text],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0 or not raw.exists():
            raise ParameterError(f"espeak-ng failed (exit {proc.returncode}): {proc.stderr.strip()[:200]}")
        y, file_sr = load(raw, mono=True)
    y = resample(y, file_sr, sr)[0] if file_sr != sr else y[0]
    _check_pitched(y, sr, "espeak-ng speech", min_voiced=0.2)
    y = y * (10 ** (-1 / 20) / max(float(np.abs(y).max()), 1e-9))
    save(out_wav, y, sr, subtype="PCM_16")
    return y


def render_voice(out: str | Path, *, count: int = 8, spoken: int = 3, seed: int = 0, sr: int = 16000,
                 low: int = 45, high: int = 60, progress: bool = True) -> dict:
    """Write sung phrases and spoken sentences with ground truth into a folder.

    Sung: ``sung_###.wav`` + ``.json`` (notes) + ``.xml`` (the score Festival sang).
    Spoken: ``spoken_###.wav`` + ``.json`` (text, no notes). Plus ``index.json``.

    Parameters
    ----------
    out : str or Path
        The folder (created).
    count : int, keyword-only
        Sung phrases (:func:`random_phrases`).
    spoken : int, keyword-only
        Spoken sentences, in the order of :data:`SENTENCES` (repeating past its end), at pitches
        30-70 and speeds 130-170 drawn from the same generator.
    seed : int, keyword-only
        Generator seed.
    sr : int, Hz, keyword-only
        Sample rate of the audio.
    low, high : int, MIDI, keyword-only
        Pitch range of the sung phrases, ``30 <= low < high <= 84``.
    progress : bool, keyword-only
        Show progress bars.

    Returns
    -------
    dict
        What ``index.json`` holds: count, spoken, seed, sr, range and ``items`` (name and kind
        of each file).
    """
    from tqdm import tqdm

    for name, v in (("count", count), ("spoken", spoken)):
        check_int(v, name, lo=0)
    if not 30 <= low < high <= 84:
        raise ParameterError(f"voice range low={low}, high={high} must satisfy 30 <= low < high <= 84 (MIDI)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    items = []
    for i, phrase in random_phrases(rng, count, low=low, high=high, desc="sung", progress=progress):
        name = f"sung_{i:03d}"
        y, notes = sing(phrase, out / f"{name}.wav", sr=sr)
        (out / f"{name}.xml").write_text(_phrase_xml(phrase))
        write_truth(out / f"{name}.json", audio=f"{name}.wav", sr=sr, seconds=len(y) / sr,
                    source="festival:kal_diphone", notes=notes, kind="sung", bpm=phrase["bpm"])
        items.append({"name": name, "kind": "sung"})
    for i in tqdm(range(spoken), desc="spoken", unit="phrase", disable=not progress):
        text = SENTENCES[i % len(SENTENCES)]
        pitch, speed = int(rng.integers(30, 71)), int(rng.integers(130, 171))
        name = f"spoken_{i:03d}"
        y = speak(text, out / f"{name}.wav", sr=sr, pitch=pitch, speed=speed)
        write_truth(out / f"{name}.json", audio=f"{name}.wav", sr=sr, seconds=len(y) / sr,
                    source="espeak-ng:en", notes=[], kind="spoken", text=text, espeak_pitch=pitch, speed=speed)
        items.append({"name": name, "kind": "spoken"})
    summary = {"count": count, "spoken": spoken, "seed": seed, "sr": sr, "range": [low, high], "items": items}
    (out / "index.json").write_text(json.dumps(summary, indent=1))
    return summary
