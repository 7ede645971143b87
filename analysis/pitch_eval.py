"""The pitch-tracking protocol of seed 003: how often does a method lose the input's pitch?

This module runs it (class models, outputs, cached tracks, the report); the settings and the
input material are in :mod:`analysis.pitch_protocol`, the note judgement in
:mod:`analysis.pitch_notes`.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis.pitch_notes import f0_match, measure_notes, summarise
from analysis.pitch_protocol import F0_CONFIDENCE, METHODS, Protocol, make_inputs
from effects.base import OFFLINE_BLOCK
from effects.registry import make_effect
from models.checkpoint import RunFolder, run_method
from workbench.audio import load, save
from workbench.errors import ParameterError
from workbench.pitch import hz_to_midi, melody_scores, track_f0

if TYPE_CHECKING:
    from analysis.parallel import Compute

__all__ = ["method_factories", "class_run", "train_class_runs", "process_all", "run_pitch_protocol", "write_pitch_report"]


# ---------------------------------------------------------------------------------------------
# methods and class models


def class_run(family: str, *, corpus: str | Path, runs: str | Path = "runs", train_seconds: float = 60.0,
              seed: int = 0, overrides: Iterable[str] = (), progress: bool = True, method: str = "autoencoder",
              device: str = "cpu") -> Path:
    """The ``method`` run for ``family``, trained on the corpus's train-split notes of that family
    if it is not there yet (reused afterwards).

    Parameters
    ----------
    family : str
        An NSynth family, the target class.
    corpus : str or Path, keyword-only
        The corpus folder.
    runs : str or Path, keyword-only
        Where the class runs live.
    train_seconds : float, seconds, keyword-only
        Training's wall-clock cap (``train.max_seconds``).
    seed : int, keyword-only
        The config's seed.
    overrides : iterable of str, keyword-only
        More ``section.key=value`` settings (:func:`workbench.config.make_config`).
    progress : bool, keyword-only
        Show training's progress.
    method : {"autoencoder", "ddsp"}, keyword-only
        Which model.
    device : str, keyword-only
        Where it trains (``cpu``, ``cuda``, ``cuda:N``).

    Returns
    -------
    Path
        ``runs/eval-FAMILY`` (autoencoder) or ``runs/eval-ddsp-FAMILY``.
    """
    from models.training import train_or_reuse
    from workbench.config import make_config

    run = Path(runs) / (f"eval-{family}" if method == "autoencoder" else f"eval-{method}-{family}")
    cfg = make_config(overrides=[f"train.max_seconds={train_seconds}", *overrides], seed=seed, method=method)
    # any finished run there is the class's model (a user may have trained it otherwise)
    train_or_reuse(f"{corpus}:family={family},split=train", cfg, run, match_config=False, progress=progress,
                   describe={"protocol_class": family}, device=device)
    return run


def _class_run_task(task: tuple) -> str:
    family, kw = task
    return str(class_run(family, **kw))


def train_class_runs(classes: Iterable[str], methods: Iterable[str], *, corpus: str | Path, runs: str | Path = "runs",
                     train_seconds: float = 60.0, ddsp_seconds: float = 300.0, seed: int = 0,
                     overrides: Iterable[str] = (), compute: Compute | None = None,
                     progress: bool = True) -> dict[tuple[str, str], Path]:
    """Train the missing class runs of the model-bound ``methods``, each class one task where
    ``compute`` says (a local Ray trains them side by side: these models are too small for one to
    fill a machine). Runs already there are reused, as :func:`class_run` does.

    Parameters
    ----------
    classes : iterable of str
        The protocol's families.
    methods : iterable of str
        Methods; ``autoencoder`` and ``ddsp`` have class runs, the others are skipped.
    corpus, runs, train_seconds, ddsp_seconds, seed, overrides : keyword-only
        As for :func:`class_run` (``overrides`` apply to the autoencoder).
    compute : Compute, optional, keyword-only
        Where (default this process) and on which device.
    progress : bool, keyword-only
        A progress bar over the runs.

    Returns
    -------
    dict
        ``(family, method) -> run folder``.
    """
    from analysis.parallel import Compute, collect

    compute = compute or Compute()
    jobs = [(f, m) for m in methods if m in ("autoencoder", "ddsp") for f in classes]
    tasks = [(f, {"corpus": str(corpus), "runs": str(runs), "seed": seed, "method": m, "progress": False,
                  "train_seconds": train_seconds if m == "autoencoder" else ddsp_seconds, "device": compute.device,
                  "overrides": tuple(overrides) if m == "autoencoder" else ()}) for f, m in jobs]
    done = collect(_class_run_task, tasks, compute=compute, gpu=True, desc="class models", progress=progress)
    return {job: Path(r) for job, r in zip(jobs, done)}


def method_factories(names: Iterable[str], *, corpus: str | Path,
                     models: Mapping[str, str | Path | Sequence[str | Path]] | None = None,
                     runs: str | Path = "runs", train_seconds: float = 60.0,
                     ddsp_seconds: float = 300.0, train_overrides: Iterable[str] = (), seed: int = 0,
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

    Parameters
    ----------
    names : iterable of str
        Methods, each one of :data:`~analysis.pitch_protocol.METHODS`.
    corpus : str or Path, keyword-only
        The corpus the target materials and class models come from.
    models : mapping, optional, keyword-only
        Family -> a run folder or a list of them.
    runs : str or Path, keyword-only
        Where missing class runs are trained (:func:`class_run`).
    train_seconds, ddsp_seconds : float, seconds, keyword-only
        Training caps of the autoencoder and the ddsp model.
    train_overrides : iterable of str, keyword-only
        Config settings of the autoencoder's training.
    seed : int, keyword-only
        Training seed.
    window : str, optional, keyword-only
        STFT window pair (:func:`workbench.spectral.frame_windows`).
    synthesis_length : int, samples, optional, keyword-only
        The low-delay synthesis window's length.
    progress : bool, keyword-only
        Show training's progress.

    Returns
    -------
    dict of str to callable
        Method name -> ``factory(family) -> (Effect, signature)``; a model is trained when a
        factory first asks for it.

    Raises
    ------
    ParameterError
        An unknown method, or a given model that is not a run folder.
    """
    win = {k: v for k, v in (("window", window), ("synthesis_length", synthesis_length)) if v is not None}
    tag = "".join(f"|{k}={v}" for k, v in win.items())
    given: dict[tuple[str, str], str] = {}
    for fam, item in dict(models or {}).items():
        for run in ([item] if isinstance(item, (str, Path)) else item):
            if not RunFolder(run).weights.is_file():
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
            f"autoencoder|{Path(run).resolve()}|{RunFolder(run).weights_token()}{tag}"

    def ddsp(family):
        # no octave shift: the protocol asks every method to keep the input's pitch
        run = trained(family, "ddsp", ddsp_seconds)
        return make_effect("ddsp", model=str(run)), f"ddsp|{Path(run).resolve()}|{RunFolder(run).weights_token()}"

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


def process_all(protocol: Protocol, inputs: list[dict], factories: Mapping[str, Callable], out: str | Path, *,
                progress: bool = True) -> Outputs:
    """Play every input through every method and class; reuse outputs whose signature matches.

    Parameters
    ----------
    protocol : Protocol
        The settings (classes, rate, input key).
    inputs : list of dict
        :func:`~analysis.pitch_protocol.make_inputs`'s melodies.
    factories : mapping
        :func:`method_factories`'s.
    out : str or Path
        The report folder; outputs go to ``outputs/METHOD/FAMILY/`` (32-bit float wav) with an
        ``outputs.json`` of their key and timings.
    progress : bool, keyword-only
        Show a progress bar.

    Returns
    -------
    Outputs
        Every output's path and each method and class's processing and audio seconds (set-up in
        ``prepare`` not counted).
    """
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


def run_pitch_protocol(protocol: Protocol, factories: Mapping[str, Callable], *, out: str | Path, progress: bool = True,
                       write: bool = True, workers: int | None = None) -> dict:
    """Run the protocol: inputs, every method x class, pitch tracking, per-note judgement.

    Parameters
    ----------
    protocol : Protocol
        The settings.
    factories : mapping
        ``method name -> factory(family) -> (processor, signature)``; see :func:`method_factories`.
    out : str or Path, keyword-only
        Report folder: ``inputs/``, ``outputs/``, ``tracks/`` (cached f0), and with ``write``
        ``pitch.json``, ``pitch.md``, ``notes.csv`` and ``f0_<method>.png``.
    progress : bool, keyword-only
        Show progress bars.
    write : bool, keyword-only
        Write the report (:func:`write_pitch_report`).
    workers : int, optional, keyword-only
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


def write_pitch_report(res: dict, out: str | Path) -> None:
    """Write the protocol's report: ``pitch.json`` (without the per-note rows, melodies, inputs and
    outputs), ``notes.csv``, ``pitch.md`` and ``f0_<method>.png``.

    Parameters
    ----------
    res : dict
        :func:`run_pitch_protocol`'s result, with at least one note.
    out : str or Path
        The folder (created).
    """
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
