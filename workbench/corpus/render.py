"""Render an NSynth-format corpus of single notes from the General MIDI SoundFont.

Each GM program becomes one NSynth instrument (``brass_acoustic_056``). Notes are dry,
``hold`` seconds of note-on then release until ``seconds``, and level-normalised per
instrument (the loudest note of a program peaks at -1 dBFS), so velocity still changes the
level. Notes that are silent or whose pitch is far from the MIDI pitch are skipped and counted.
Programs are split instrument-disjointly into train / valid / test, as NSynth is.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from workbench.audio import save
from workbench.corpus.families import (
    FAMILIES,
    QUALITIES,
    SOURCES,
    instrument_str,
    playable_range,
    program_family,
    program_source,
    programs_for,
)
from workbench.corpus.synth import GMSynth, find_soundfont
from workbench.errors import ParameterError
from workbench.pitch import cents, midi_to_hz, pyin_f0
from workbench.validate import check_int

__all__ = ["RenderConfig", "render_corpus", "assign_splits", "note_qualities", "pitch_check", "SPLITS"]

SPLITS = ("train", "valid", "test")
PEAK = 10 ** (-1 / 20)  # -1 dBFS
SILENCE_DB = -60.0
_STAGING = ".staging"  # workers write here; files move to their split once splits are known
MAX_CENTS = 100.0  # a note further than a semitone from its MIDI pitch is not that note


@dataclass(frozen=True)
class RenderConfig:
    """What to render. Defaults follow NSynth: 16 kHz, 4 s notes, 3 s hold, 5 velocities."""

    programs: tuple[int, ...] = field(default_factory=lambda: tuple(programs_for()))
    pitches: tuple[int, ...] = tuple(range(21, 109))
    velocities: tuple[int, ...] = (25, 50, 75, 100, 127)
    sr: int = 16000
    seconds: float = 4.0
    hold: float = 3.0
    max_notes_per_program: int | None = None
    limit_to_range: bool = True
    seed: int = 0

    def validate(self) -> None:
        """Raise ParameterError naming the first bad field (no program, a pitch or velocity out of
        MIDI range, a hold outside ``(0, seconds)``, a non-positive note cap)."""
        if not self.programs:
            raise ParameterError("programs=() selects no instrument; expected at least one GM program")
        for p in self.pitches:
            if not 0 <= p <= 127:
                raise ParameterError(f"pitch={p} must be a MIDI note in [0, 127]")
        for v in self.velocities:
            if not 1 <= v <= 127:
                raise ParameterError(f"velocity={v} must be in [1, 127]")
        if not 0 < self.hold < self.seconds:
            raise ParameterError(f"hold={self.hold} must be in (0, seconds={self.seconds}) seconds")
        if self.max_notes_per_program is not None and self.max_notes_per_program <= 0:
            raise ParameterError(f"max_notes_per_program={self.max_notes_per_program} must be positive")


def assign_splits(programs: Iterable[int], *, seed: int = 0) -> dict[int, str]:
    """Instrument-disjoint split: every program goes to exactly one of train / valid / test.

    Within each family the programs are shuffled with ``seed``; one family member goes to
    train only, two to train and test, three or more give valid and test at least one each
    (about 15 % each) and the rest to train.

    Parameters
    ----------
    programs : iterable of int
        Mapped General MIDI programs.
    seed : int, keyword-only
        Seed of the shuffle.

    Returns
    -------
    dict of int to str
        Program -> ``"train"``, ``"valid"`` or ``"test"``.
    """
    rng = np.random.default_rng(seed)
    by_family: dict[str, list[int]] = {}
    for p in sorted(programs):
        by_family.setdefault(program_family(p), []).append(p)
    out: dict[int, str] = {}
    for fam in FAMILIES:
        ps = by_family.get(fam, [])
        ps = [ps[i] for i in rng.permutation(len(ps))]
        n = len(ps)
        n_test = 0 if n < 2 else max(1, round(0.15 * n))
        n_valid = 0 if n < 3 else max(1, round(0.15 * n))
        for i, p in enumerate(ps):
            out[p] = "test" if i < n_test else "valid" if i < n_test + n_valid else "train"
    return out


def pitch_check(y: np.ndarray, *, sr: int, pitch: int, hold: float) -> float:
    """Median f0 deviation in cents from ``pitch`` over the steady part of a note.

    YIN (70 times faster than pYIN here) looks first, over 0.1 s to half the hold; only a note
    it finds off pitch is looked at again with pYIN, whose answer stands, because YIN jumps an
    octave on some strong-second-harmonic notes (trumpet E4). The search range is a minor ninth
    below to two octaves and a semitone above the note, so a sample mapped an octave off is
    still caught.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The rendered note, mono, note-on at sample 0.
    sr : int, Hz, keyword-only
        Its sample rate.
    pitch : int, MIDI, keyword-only
        The note it should be.
    hold : float, seconds, keyword-only
        Time from note-on to note-off.

    Returns
    -------
    float, cents
        The absolute deviation of the median f0; ``inf`` when no pitch is found or the segment
        is shorter than one analysis frame.
    """
    import librosa

    seg = y[int(0.1 * sr): int(max(0.6, hold / 2) * sr)]
    f_ref = midi_to_hz(pitch)
    fmin = max(f_ref / 2 ** (13 / 12), 25.0)
    fmax = min(f_ref * 2 ** (25 / 12), sr / 2.5)
    frame = int(2 ** np.ceil(np.log2(max(4 * sr / fmin, 512))))
    if len(seg) < frame or fmin >= fmax:
        return float("inf")

    def off(f0: np.ndarray) -> float:
        f0 = f0[np.isfinite(f0)]
        return float(abs(cents(np.median(f0), f_ref))) if f0.size else float("inf")

    dev = off(librosa.yin(seg, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame, hop_length=frame // 4,
                            center=False))
    if dev <= MAX_CENTS:
        return dev
    _, f0, _ = pyin_f0(seg, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame, hop_length=frame // 4, center=False)
    return off(f0)


def _db(x: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))), 1e-12)))


def note_qualities(y: np.ndarray, *, sr: int, hold: float) -> list[int]:
    """NSynth quality flags measurable from the envelope of a dry note.

    ``fast_decay`` (the note has faded by 40 dB before note-off), ``percussive`` (loudest in the
    first 60 ms and 12 dB down after 0.5 s) and ``long_release`` (still within 30 dB of its
    note-off level 0.5 s after note-off) are measured; ``reverb`` is 0 because rendering is dry.
    The timbral labels (bright, dark, distortion, multiphonic, nonlinear_env, tempo-synced) come
    from human raters in NSynth and are left 0 here.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The note, mono, note-on at sample 0, at least 0.5 s plus one 10 ms frame long.
    sr : int, Hz, keyword-only
        Its sample rate.
    hold : float, seconds, keyword-only
        Time from note-on to note-off.

    Returns
    -------
    list of int
        One 0/1 flag per quality, in the order of ``QUALITIES``.
    """
    hop = sr // 100
    frames = y[: len(y) // hop * hop].reshape(-1, hop)
    env = 20 * np.log10(np.sqrt((frames.astype(np.float64) ** 2).mean(1)) + 1e-12)
    peak_i = int(env.argmax())
    peak = env[peak_i]
    off = int(hold * 100) - 1
    q = dict.fromkeys(QUALITIES, 0)
    q["fast_decay"] = int(env[max(off - 5, 0): off].mean() < peak - 40)
    q["percussive"] = int(peak_i < 6 and env[50] < peak - 12)
    if off + 50 < len(env):
        q["long_release"] = int(env[off + 45: off + 55].mean() > env[off - 5: off].mean() - 30)
    return [q[k] for k in QUALITIES]


def _render_program(args) -> dict:
    """Worker: render, check and write one program's notes. Returns metadata and skip counts."""
    program, notes, cfg, out_dir, soundfont = args
    inst = instrument_str(program)
    fam, src = program_family(program), program_source(program)
    audio, kept, skipped = [], [], {"silent": 0, "off_pitch": 0}
    with GMSynth(sr=cfg["sr"], soundfont=soundfont) as synth:
        for pitch, vel in notes:
            y = synth.note(program, pitch, vel, hold=cfg["hold"], seconds=cfg["seconds"])
            if _db(y[: int(cfg["hold"] * cfg["sr"])]) < SILENCE_DB:
                skipped["silent"] += 1
                continue
            if pitch_check(y, sr=cfg["sr"], pitch=pitch, hold=cfg["hold"]) > MAX_CENTS:
                skipped["off_pitch"] += 1
                continue
            audio.append(y)
            kept.append((pitch, vel))
    examples = {}
    if audio:
        gain = PEAK / max(float(np.abs(a).max()) for a in audio)
        folder = Path(out_dir) / _STAGING
        for y, (pitch, vel) in zip(audio, kept):
            y = (y * gain).astype(np.float32)
            note_str = f"{inst}-{pitch:03d}-{vel:03d}"
            save(folder / f"{note_str}.wav", y, cfg["sr"], subtype="PCM_16")
            quals = note_qualities(y, sr=cfg["sr"], hold=cfg["hold"])
            examples[note_str] = {
                "note": 0,
                "note_str": note_str,
                "instrument": program,
                "instrument_str": inst,
                "pitch": pitch,
                "velocity": vel,
                "sample_rate": cfg["sr"],
                "instrument_family": FAMILIES.index(fam),
                "instrument_family_str": fam,
                "instrument_source": SOURCES.index(src),
                "instrument_source_str": src,
                "qualities": quals,
                "qualities_str": [k for k, v in zip(QUALITIES, quals) if v],
                "program": program,
            }
    return {"program": program, "examples": examples, "skipped": skipped, "requested": len(notes)}


def _plan(cfg: RenderConfig) -> tuple[dict[int, list[tuple[int, int]]], int]:
    rng = np.random.default_rng(cfg.seed)
    plan, out_of_range = {}, 0
    for program in cfg.programs:
        lo, hi = playable_range(program) if cfg.limit_to_range else (0, 127)
        pitches = [p for p in cfg.pitches if lo <= p <= hi]
        out_of_range += (len(cfg.pitches) - len(pitches)) * len(cfg.velocities)
        notes = [(p, v) for p in pitches for v in cfg.velocities]
        if cfg.max_notes_per_program and len(notes) > cfg.max_notes_per_program:
            idx = np.sort(rng.choice(len(notes), cfg.max_notes_per_program, replace=False))
            notes = [notes[i] for i in idx]
        if notes:
            plan[program] = notes
    return plan, out_of_range


def render_corpus(out: str | Path, config: RenderConfig | None = None, *, workers: int | None = None,
                  soundfont: str | os.PathLike | None = None, progress: bool = True) -> dict:
    """Render an NSynth-layout corpus into ``out`` (``nsynth-{train,valid,test}/``).

    Parameters
    ----------
    out : str or Path
        Output folder; ``examples.json`` of every split is rewritten, other files are kept.
    config : RenderConfig, optional
        What to render (NSynth's defaults when None).
    workers : int, optional, keyword-only
        Worker processes (default: all cores). Work is split by program.
    soundfont : str or PathLike, optional, keyword-only
        See :func:`~workbench.corpus.synth.find_soundfont`.
    progress : bool, keyword-only
        Show a progress bar on stderr.

    Returns
    -------
    dict
        Summary also written to ``out/render.json``: notes written per split, skipped notes
        by reason, seconds and notes per second.
    """
    from tqdm import tqdm

    cfg = config or RenderConfig()
    cfg.validate()
    sf2 = str(find_soundfont(soundfont))
    workers = workers or os.cpu_count() or 1
    workers = check_int(workers, "workers")
    out = Path(out)
    plan, out_of_range = _plan(cfg)
    if not plan:
        raise ParameterError(
            f"pitches {cfg.pitches[0]}..{cfg.pitches[-1]} are outside the playable range of every selected "
            f"program; expected pitches inside e.g. {playable_range(cfg.programs[0])}"
        )
    cfgd = {"sr": cfg.sr, "hold": cfg.hold, "seconds": cfg.seconds}
    tasks = [(p, notes, cfgd, str(out), sf2) for p, notes in plan.items()]
    total = sum(len(n) for n in plan.values())
    t0 = time.perf_counter()
    results = []
    bar = tqdm(total=total, unit="note", desc="render", disable=not progress)
    if workers == 1:
        for t in tasks:
            results.append(_render_program(t))
            bar.update(len(t[1]))
    else:
        # spawn, not fork: a process that has run FluidSynth (or numba) holds threads and locks a
        # forked child would inherit mid-state and deadlock on.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as ex:
            futs = {ex.submit(_render_program, t): len(t[1]) for t in tasks}
            for f in as_completed(futs):
                results.append(f.result())
                bar.update(futs[f])
    bar.close()
    elapsed = time.perf_counter() - t0
    # Splits are drawn among the programs that kept notes, so a family whose members are
    # partly skipped (FluidR3's drawbar organs sound an octave low) still reaches every split.
    results.sort(key=lambda r: r["program"])
    splits = assign_splits([r["program"] for r in results if r["examples"]], seed=cfg.seed)
    per_split: dict[str, dict] = {s: {} for s in SPLITS}
    skipped = {"out_of_range": out_of_range, "silent": 0, "off_pitch": 0}
    by_program = {}
    for r in results:
        for k, v in r["skipped"].items():
            skipped[k] += v
        if any(r["skipped"].values()):
            by_program[instrument_str(r["program"])] = {**r["skipped"], "kept": len(r["examples"])}
        if not r["examples"]:
            continue
        split = splits[r["program"]]
        audio_dir = out / f"nsynth-{split}" / "audio"
        audio_dir.mkdir(parents=True, exist_ok=True)
        for key in r["examples"]:
            os.replace(out / _STAGING / f"{key}.wav", audio_dir / f"{key}.wav")
        per_split[split].update(r["examples"])
    shutil.rmtree(out / _STAGING, ignore_errors=True)
    for split, examples in per_split.items():
        d = out / f"nsynth-{split}"
        d.mkdir(parents=True, exist_ok=True)
        for i, key in enumerate(sorted(examples)):
            examples[key]["note"] = i
        (d / "examples.json").write_text(json.dumps(dict(sorted(examples.items())), indent=1))
    summary = {
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()},
        "soundfont": sf2,
        "splits": {s: {"notes": len(e), "programs": sorted({v["program"] for v in e.values()})} for s, e in per_split.items()},
        "rendered": total,
        "written": sum(len(e) for e in per_split.values()),
        "skipped": skipped,
        "skipped_by_instrument": by_program,
        "seconds": round(elapsed, 3),
        "notes_per_second": round(total / elapsed, 2) if elapsed > 0 else None,
        "workers": workers,
    }
    (out / "render.json").write_text(json.dumps(summary, indent=1))
    return summary
