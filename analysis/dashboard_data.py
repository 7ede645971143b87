"""What the dashboard pages compute and read, as plain functions (no Streamlit here).

``streamlit_app.py`` and ``dashboard/`` arrange widgets; everything they show comes from this
module: the data/runs/reports roots, reading uploads with limits, finding runs and reports,
rendering one method on one input with its measures, per-note f0 views of an evaluation
report, embedding maps with their notes' audio, probe and pitch-CNN reports, and the latent
mixing effect when a multi-instrument model exists.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.audio import load, resample, validate_audio
from workbench.corpus.families import FAMILIES, program_family
from workbench.errors import ParameterError

__all__ = [
    "ROOT_ENV", "Roots", "resolve_roots", "UPLOAD_FORMATS", "MAX_UPLOAD_BYTES", "MIN_INPUT_SAMPLES", "read_upload",
    "excerpt", "ground_truth_notes", "demo_inputs", "list_corpora", "corpus_notes", "corpus_note_truth",
    "embedding_files", "save_outputs", "list_runs", "run_info",
    "guess_family", "target_choices", "COMPARE_METHODS", "make_effect", "spectrogram_db", "compare_method",
    "scan_reports", "load_eval_report", "filter_notes", "eval_audio_paths", "track_file", "note_window",
    "load_embedding", "note_audio_path", "load_probe_report", "read_confusion_csv", "load_pitch_cnn_report",
    "load_mesh", "multi_instrument_runs", "latent_mix_shape", "render_latent_mix", "COMMANDS",
    "synth_runs", "synth_shape", "synth_map", "render_synth_point", "play_command",
]

ROOT_ENV = {"data": "WORKBENCH_DATA", "runs": "WORKBENCH_RUNS", "reports": "WORKBENCH_REPORTS"}
UPLOAD_FORMATS = ("wav", "flac", "ogg", "mp3")
MAX_UPLOAD_BYTES = 20 * 2 ** 20
MIN_INPUT_SAMPLES = 2048  # two analysis frames at n_fft 1024: shorter clips give no f0 or timbre
COMPARE_METHODS = ("autoencoder", "ddsp", "cepstral", "mosaic")
MODEL_METHODS = ("autoencoder", "ddsp")  # the methods that play a trained run

# The command that creates what a page needs, shown in its empty state.
COMMANDS = {
    "demo": "make demo",
    "corpus": "workbench corpus render --out data/gm",
    "train": "workbench train --target data/trumpet --out runs/trumpet",
    "evaluation": "workbench evaluate scoreboard --out reports/eval",
    "embedding": "workbench embed --corpus data/gm --features mfcc --methods pca,tsne,tsne3d,umap --out reports/embed",
    "probe": "workbench probe --corpus data/gm --features mfcc,scattering --out reports/probe",
    "pitchcnn": "workbench pitchcnn --corpus data/gm --out reports/pitchcnn",
    "mesh": "workbench mesh --model runs/chroma --points 50 --out reports/mesh",
    "synth": 'workbench train --target "data/gm:family=brass,split=train" --preset low-latency '
             "--set model.chroma=true --set model.output=spectrum --set model.latent=8 --out runs/synth",
    "multi": 'workbench train --target "data/gm:family=brass+flute,split=train" --set model.condition=onehot '
             "--set model.harmonics=0 --out runs/multi",
}


# ---------------------------------------------------------------------------------------------
# roots and inputs


@dataclass(frozen=True)
class Roots:
    """Folders the dashboard reads: generated ``data``, training ``runs`` and ``reports``."""

    data: Path
    runs: Path
    reports: Path


def resolve_roots(argv: Sequence[str] = (), *, environ: Mapping[str, str] | None = None) -> Roots:
    """The roots from ``--data/--runs/--reports DIR`` in ``argv``, else ``WORKBENCH_DATA`` /
    ``WORKBENCH_RUNS`` / ``WORKBENCH_REPORTS``, else ``data``, ``runs``, ``reports``.

    Other arguments are ignored (Streamlit and pytest pass their own).

    Examples
    --------
    >>> resolve_roots(["--runs", "/tmp/r"], environ={}).runs
    PosixPath('/tmp/r')
    """
    environ = os.environ if environ is None else environ
    found = {}
    args = list(argv)
    for i, a in enumerate(args):
        for key in ROOT_ENV:
            if a == f"--{key}" and i + 1 < len(args):
                found[key] = args[i + 1]
            elif a.startswith(f"--{key}="):
                found[key] = a.split("=", 1)[1]
    return Roots(**{k: Path(found.get(k) or environ.get(env) or k) for k, env in ROOT_ENV.items()})


def read_upload(name: str, data: bytes, *, sr: int = 16000, max_bytes: int = MAX_UPLOAD_BYTES,
                formats: Sequence[str] = UPLOAD_FORMATS, min_samples: int = MIN_INPUT_SAMPLES) -> np.ndarray:
    """Decode uploaded audio bytes into mono float32 ``(1, samples)`` at ``sr``.

    Parameters
    ----------
    name : str
        The uploaded file's name; its extension must be one of ``formats``.
    data : bytes
        The file's contents, at most ``max_bytes``.
    sr : int
        Rate of the returned audio in Hz (resampled with soxr).
    min_samples : int
        Fewest samples accepted at ``sr``.

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
    """``audio[:, start:start+seconds]`` in seconds (the whole rest when ``seconds`` is None)."""
    a = validate_audio(audio, sr=sr, name="input")
    i = int(round(max(start, 0.0) * sr))
    j = a.shape[1] if seconds is None else i + int(round(seconds * sr))
    out = a[:, i:j]
    if out.shape[1] == 0:
        raise ParameterError(f"start={start} s is past the end of the input ({a.shape[1] / sr:.2f} s)")
    return out


def ground_truth_notes(path) -> list[dict] | None:
    """The notes (onset, offset in s, MIDI pitch) stored beside rendered material as ``<stem>.json``,
    or None when the file has none (uploads, corpus notes, spoken phrases)."""
    meta = Path(path).with_suffix(".json")
    if not meta.is_file():
        return None
    try:
        notes = json.loads(meta.read_text()).get("notes")
    except (json.JSONDecodeError, AttributeError):
        return None
    return notes or None


def demo_inputs(roots: Roots, *, limit: int = 12) -> dict[str, Path]:
    """Label -> audio file of the material ``make demo`` renders: sung and spoken voice, the demo's
    input phrase and a few trumpet melodies."""
    out: dict[str, Path] = {}
    groups = [(roots.data / "voice", "sung_*.wav", "voice"), (roots.data / "voice", "spoken_*.wav", "voice"),
              (roots.reports / "demo", "input.wav", "demo report"), (roots.data / "trumpet", "melody_*.wav", "trumpet")]
    for folder, pattern, label in groups:
        for p in sorted(folder.glob(pattern))[:limit]:
            out[f"{label}: {p.name}"] = p
    return out


def _is_corpus(p: Path) -> bool:
    return (p / "examples.json").is_file() or any((p / f"nsynth-{s}" / "examples.json").is_file()
                                                  for s in ("train", "valid", "test"))


def list_corpora(data) -> list[Path]:
    """NSynth-format corpus folders directly under ``data`` (``data/gm``...), sorted."""
    data = Path(data)
    if not data.is_dir():
        return []
    return sorted(p for p in data.iterdir() if p.is_dir() and _is_corpus(p))


def corpus_notes(corpus) -> list[dict]:
    """Every note of a corpus: its NSynth metadata plus ``split`` and ``path``."""
    from workbench.corpus.nsynth import NSynth

    return NSynth(corpus).examples


def corpus_note_truth(corpus, note: dict) -> list[dict] | None:
    """A rendered corpus note as one ground-truth note: its pitch, held from 0 s for the
    corpus's ``hold`` (``render.json``); None for corpora without it (a real NSynth download)."""
    hold = _read_json(Path(corpus) / "render.json").get("config", {}).get("hold")
    if not hold:
        return None
    return [{"onset": 0.0, "offset": float(hold), "pitch": int(note["pitch"])}]


# ---------------------------------------------------------------------------------------------
# runs


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}


def list_runs(runs) -> list[Path]:
    """Run folders under ``runs`` (those with ``config.json``), sorted by name."""
    runs = Path(runs)
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if (p / "config.json").is_file())


def run_info(run) -> dict:
    """A run folder's description for display.

    Returns
    -------
    dict
        ``path``, ``config`` (config.json), ``meta`` (meta.json), ``loss`` (columns of loss.csv as
        lists of floats, empty when missing), ``loss_png`` (path or None), ``has_weights``,
        ``codes`` (instrument names of a multi-instrument run, or None), ``sr`` and ``method``
        (``"autoencoder"`` or ``"ddsp"``: what plays the run).
    """
    from models.checkpoint import run_method

    run = Path(run)
    cfg, meta = _read_json(run / "config.json"), _read_json(run / "meta.json")
    loss: dict[str, list] = {}
    if (run / "loss.csv").is_file():
        with (run / "loss.csv").open(newline="") as fh:
            for row in csv.DictReader(fh):
                for k, v in row.items():
                    try:
                        loss.setdefault(k, []).append(float(v))
                    except (TypeError, ValueError):
                        loss.setdefault(k, []).append(float("nan"))
    codes = meta.get("codes")
    return {"path": run, "config": cfg, "meta": meta, "loss": loss,
            "loss_png": run / "loss.png" if (run / "loss.png").is_file() else None,
            "has_weights": (run / "model.safetensors").is_file(),
            "codes": list(codes) if isinstance(codes, list) and codes and all(isinstance(c, str) for c in codes) else None,
            "sr": cfg.get("config", {}).get("audio", {}).get("sr"),
            "method": run_method(run)}


def guess_family(target) -> str | None:
    """The NSynth family a target's material belongs to, when it says: ``...family=brass...``,
    ``...program=56...``, a melody folder whose ``index.json`` names its GM program, or a run
    folder whose ``meta.json`` names such a target. None when it cannot tell."""
    text = str(target)
    if "family=" in text:
        fam = text.split("family=", 1)[1].split(",")[0].split("+")[0]
        return fam if fam in FAMILIES else None
    if "program=" in text:
        try:
            return program_family(int(text.split("program=", 1)[1].split(",")[0].split("+")[0]))
        except (ValueError, ParameterError):
            return None
    p = Path(text)
    meta = _read_json(p / "meta.json")
    if meta.get("target") and str(meta["target"]) != text:
        t = Path(meta["target"])
        # run folders record the target relative to where training ran: try it beside the run too
        for cand in (str(t), str(p.parent.parent / t)):
            fam = guess_family(cand)
            if fam:
                return fam
    program = _read_json(p / "index.json").get("program")
    if isinstance(program, int):
        try:
            return program_family(program)
        except ParameterError:
            return None
    return None


def target_choices(roots: Roots) -> list[str]:
    """Target materials for cepstral and mosaic: rendered melody folders under ``data`` and each
    family's train split of each corpus (``data/gm:family=brass,split=train``)."""
    out = []
    data = Path(roots.data)
    if data.is_dir():
        out += [str(p) for p in sorted(data.iterdir()) if (p / "index.json").is_file() and any(p.glob("melody_*.wav"))]
    for corpus in list_corpora(data):
        fams = sorted({e["instrument_family_str"] for e in corpus_notes(corpus) if e["split"] == "train"})
        out += [f"{corpus}:family={f},split=train" for f in fams]
    return out


# ---------------------------------------------------------------------------------------------
# the compare page: one method on one input, with its measures


def make_effect(method: str, *, model=None, target=None, mix: float = 1.0):
    """The effect of ``method`` on the Compare page: a run's methods take ``model``, the baselines ``target``."""
    from effects.registry import MODEL_METHODS
    from effects.registry import make_effect as build

    if method not in COMPARE_METHODS:
        raise ParameterError(f"method={method!r} is not valid; expected one of {', '.join(COMPARE_METHODS)}")
    return build(method, model=model, mix=mix) if method in MODEL_METHODS else build(method, target=target, mix=mix)


def spectrogram_db(y: np.ndarray, *, sr: int, n_fft: int = 1024, hop_length: int = 256, floor_db: float = -80.0,
                   max_frames: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Magnitude spectrogram in dB relative to its peak, for display.

    Returns ``(times (T,) in s, freqs (F,) in Hz, db (F, T))`` with values in ``[floor_db, 0]``;
    frames are max-pooled down to at most ``max_frames`` so a long input stays light in the browser.
    """
    from workbench.spectral import stft

    y = np.asarray(y, np.float32).reshape(-1)
    S = stft(y, n_fft=n_fft, hop_length=hop_length).abs().numpy().reshape(n_fft // 2 + 1, -1)
    db = 20 * np.log10(S / max(float(S.max()), 1e-9) + 1e-9)
    step = max(1, int(np.ceil(db.shape[1] / max_frames)))
    if step > 1:
        pad = (-db.shape[1]) % step
        db = np.pad(db, ((0, 0), (0, pad)), constant_values=floor_db).reshape(db.shape[0], -1, step).max(axis=2)
    times = np.arange(db.shape[1]) * step * hop_length / sr
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    return times, freqs, np.maximum(db, floor_db).astype(np.float32)


def _timbre_segments(y: np.ndarray, sr: int, notes: list[dict] | None, *, seconds: float = 1.0,
                     range_db: float = 40.0) -> list[np.ndarray]:
    """Note segments when the notes are known, else 1-s windows within ``range_db`` of the loudest."""
    if notes:
        return [y[int(n["onset"] * sr): max(int(n["offset"] * sr), int(n["onset"] * sr) + MIN_INPUT_SAMPLES)]
                for n in notes]
    n = int(seconds * sr)
    wins = [y[i:i + n] for i in range(0, max(len(y) - n // 2, 1), n)]
    wins = [w for w in wins if len(w) >= MIN_INPUT_SAMPLES]
    rms = np.array([np.sqrt(np.mean(w.astype(np.float64) ** 2)) + 1e-12 for w in wins])
    if not len(wins):
        return [y]
    keep = 20 * np.log10(rms / rms.max()) > -range_db
    return [w for w, k in zip(wins, keep) if k]


def save_outputs(folder, outputs: Mapping[str, np.ndarray], *, sr: int, metrics: Mapping[str, dict] | None = None) -> list[Path]:
    """Write each named signal as ``<folder>/<name>.wav`` (and ``metrics.json``); returns the files."""
    from workbench.audio import save

    folder = Path(folder)
    written = []
    for name, y in outputs.items():
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        written.append(save(folder / f"{slug}.wav", np.asarray(y, np.float32), sr))
    if metrics is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float))
        written.append(folder / "metrics.json")
    return written


def compare_method(effect, audio: np.ndarray, sr: int, *, notes: list[dict] | None = None, probe=None,
                   family: str | None = None, tracker: str = "pyin", input_track=None, reference=None) -> dict:
    """Play mono ``audio`` through ``effect`` and measure the result against the input.

    Parameters
    ----------
    effect : Effect
        Any Effect; its ``required_sample_rate`` (a trained model's) sets the processing rate.
    audio : np.ndarray, shape ``(1, samples)``
    sr : int
        Rate of ``audio`` in Hz.
    notes : list of dict, optional
        The input's notes (onset, offset, pitch): then pitch kept is the share of notes whose
        output median f0 stays within 50 cents, and timbre is judged per note.
    probe : TimbreProbe, optional
        A fitted family probe (:class:`analysis.scoreboard.TimbreProbe`) for target-timbre accuracy.
    family : str, optional
        The target's family; the accuracy is the share of segments the probe labels so.
    input_track : (times, f0), optional
        The input's f0 track, when already computed.
    reference : (HarmonicReference, float), optional
        The target material's matched-pitch reference and its held-out distance
        (:func:`analysis.harmonic_timbre.target_reference`): adds ``timbre_distance_db`` and
        ``timbre_gap_closed`` (None, with ``timbre_status`` "no pitched frames", when there are none).

    Returns
    -------
    dict
        ``sr``, ``output (samples,)``, ``input_track`` and ``output_track`` (times, f0 in Hz, 0 when
        unvoiced), ``metrics`` (``pitch_kept`` share or None, ``raw_pitch_accuracy``,
        ``voicing_recall``, ``loudness_correlation``, ``loudness_l1_db``, ``timbre_accuracy`` or None,
        ``labelled_as``, ``rtf``) and ``notes`` (per-note records or None).
    """
    from analysis.pitch_eval import measure_notes, melody_scores, track_f0
    from analysis.scoreboard import loudness_match
    from effects.base import OFFLINE_BLOCK

    x = validate_audio(audio, sr=sr, min_samples=MIN_INPUT_SAMPLES, name="input")[:1]
    proc_sr = int(effect.required_sample_rate or sr)
    xp = resample(x, sr, proc_sr) if proc_sr != sr else x
    effect.prepare(proc_sr, 1, OFFLINE_BLOCK)  # loading targets and fitting indexes is set-up, not processing time
    t0 = time.perf_counter()
    y = effect.process(xp, proc_sr)
    spent = time.perf_counter() - t0
    y = resample(np.asarray(y, np.float32), proc_sr, sr)[0][: x.shape[1]] if proc_sr != sr else np.asarray(y)[0]
    in_track = input_track if input_track is not None else track_f0(x[0], sr=sr, tracker=tracker)
    out_track = track_f0(y, sr=sr, tracker=tracker)
    scores = melody_scores(in_track, out_track)
    loud = loudness_match(x[0], y, sr=sr)
    rows = measure_notes(notes, in_track, out_track) if notes else None
    metrics = {
        "pitch_kept": float(np.mean([r["kept"] for r in rows])) if rows else None,
        "raw_pitch_accuracy": scores["raw_pitch_accuracy"], "voicing_recall": scores["voicing_recall"],
        **loud, "timbre_accuracy": None, "labelled_as": None, "rtf": float(x.shape[1] / sr / max(spent, 1e-9)),
    }
    if probe is not None:
        labels = list(probe.predict(_timbre_segments(y, sr, notes), sr=sr))
        if labels:
            metrics["labelled_as"] = str(max(set(labels), key=labels.count))
            if family:
                metrics["timbre_accuracy"] = float(np.mean([lab == family for lab in labels]))
    metrics.update(timbre_distance_db=None, timbre_gap_closed=None, timbre_status=None)
    if reference is not None:
        from analysis.harmonic_timbre import score_methods

        ref, held = reference
        row = score_methods(ref, inputs={"x": x[0]}, outputs={"y": {"x": y}}, target_db=held, sr=sr)[1]
        metrics.update(timbre_distance_db=row["distance_db"], timbre_gap_closed=row["gap_closed"],
                       timbre_status=row["status"])
    return {"sr": sr, "output": y.astype(np.float32), "input_track": in_track, "output_track": out_track,
            "metrics": metrics, "notes": rows}


# ---------------------------------------------------------------------------------------------
# reports


_SKIP_DIRS = {"inputs", "outputs", "tracks", "cache", "screenshots", "audio"}


def scan_reports(reports, *, depth: int = 3) -> dict[str, list[Path]]:
    """Report folders under ``reports`` by kind, each list sorted.

    Kinds: ``evaluation`` (``results.json`` with a ``scoreboard``, or ``pitch.json``), ``probe``
    (``results.json`` with ``probes``), ``pitchcnn`` (``results.json`` with ``history`` and
    ``within_semitone``), ``embedding`` (``<method>.csv`` with ``<method>_1`` coordinates) and
    ``mesh`` (``mesh.json``). Symbolic links are followed; audio and cache folders are not entered.
    """
    found: dict[str, list[Path]] = {k: [] for k in ("evaluation", "probe", "pitchcnn", "embedding", "mesh")}
    root = Path(reports)
    if not root.is_dir():
        return found

    def visit(folder: Path, level: int) -> None:
        res = _read_json(folder / "results.json") if (folder / "results.json").is_file() else {}
        if "scoreboard" in res or (folder / "pitch.json").is_file():
            found["evaluation"].append(folder)
        if "probes" in res:
            found["probe"].append(folder)
        if "history" in res and "within_semitone" in res:
            found["pitchcnn"].append(folder)
        if (folder / "mesh.json").is_file():
            found["mesh"].append(folder)
        if _embedding_csvs(folder):
            found["embedding"].append(folder)
        if level < depth:
            try:
                subs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in _SKIP_DIRS)
            except OSError:
                subs = []
            for sub in subs:
                visit(sub, level + 1)

    visit(root, 0)
    return {k: sorted(v) for k, v in found.items()}


def _embedding_csvs(folder: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(folder.glob("*.csv")):
        try:
            with p.open(newline="") as fh:
                head = fh.readline()
        except OSError:
            continue
        if head.startswith(f"{p.stem}_1,"):
            out[p.stem] = p
    return out


def _typed(v: str):
    if v in ("True", "False"):
        return v == "True"
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return [{k: _typed(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def load_eval_report(folder) -> dict:
    """An evaluation report folder (``workbench evaluate pitch|scoreboard``) for display.

    Returns
    -------
    dict
        ``folder``, ``protocol``, ``methods``, ``classes``, ``scoreboard`` (rows, with the
        target reference row last; empty for a pitch-only report), ``per_class`` rows,
        ``by_method`` (pitch summaries), ``notes`` (notes.csv rows, typed), ``melodies``
        (name -> notes of each input) and ``markdown`` (scoreboard.md or pitch.md).
    """
    folder = Path(folder)
    res, pitch = _read_json(folder / "results.json"), _read_json(folder / "pitch.json")
    if "scoreboard" not in res and not pitch:
        raise ParameterError(f"report={str(folder)!r} has no results.json with a scoreboard nor pitch.json; "
                             f"expected a folder written by `workbench evaluate`")
    index = _read_json(folder / "inputs" / "index.json")
    board = list(res.get("scoreboard", []))
    if res.get("reference"):
        board.append(res["reference"])
    md = folder / ("scoreboard.md" if (folder / "scoreboard.md").is_file() else "pitch.md")
    return {
        "folder": folder, "protocol": res.get("protocol") or pitch.get("protocol") or index.get("protocol") or {},
        "methods": res.get("methods") or pitch.get("methods") or [],
        "classes": res.get("classes") or pitch.get("classes") or [],
        "scoreboard": board, "per_class": res.get("per_class", []),
        "by_method": pitch.get("by_method") or res.get("pitch", {}).get("by_method", {}),
        "notes": _read_csv(folder / "notes.csv"),
        "melodies": {m["name"]: m["notes"] for m in index.get("melodies", [])},
        "markdown": md.read_text() if md.is_file() else "",
    }


def filter_notes(rows: list[dict], *, method: str | None = None, cls: str | None = None,
                 lost_only: bool = False) -> list[dict]:
    """Rows of ``notes.csv`` for one method and class (None = all), optionally only lost notes."""
    return [r for r in rows if (method is None or r["method"] == method) and (cls is None or r["class"] == cls)
            and (not lost_only or not r["kept"])]


def eval_audio_paths(report: dict, *, method: str, cls: str, melody: str) -> tuple[Path, Path]:
    """``(input wav, output wav)`` of one melody through one method and class of a report."""
    folder = Path(report["folder"])
    inp, out = folder / "inputs" / f"{melody}.wav", folder / "outputs" / method / cls / f"{melody}.wav"
    for p in (inp, out):
        if not p.is_file():
            raise ParameterError(f"{str(p)!r} is missing; the report's audio was moved or deleted "
                                 f"(re-run `workbench evaluate` to write it)")
    return inp, out


def track_file(path, *, sr: int = 16000, tracker: str = "pyin") -> tuple[np.ndarray, np.ndarray]:
    """f0 track ``(times, f0 Hz, 0 when unvoiced)`` of a mono-mixed audio file at ``sr``
    (:func:`analysis.pitch_eval.track_f0`)."""
    from analysis.pitch_eval import track_f0

    y, _ = load(path, sr=sr, mono=True)
    return track_f0(y[0], sr=sr, tracker=tracker)


def note_window(notes: list[dict], rows: list[dict], in_track, out_track, *, note: int,
                pad: float = 1.0) -> dict:
    """The f0 tracks around note ``note`` of a melody, with every note's target pitch in view.

    Parameters
    ----------
    notes : list of dict
        The melody's notes (onset, offset, pitch).
    rows : list of dict
        notes.csv rows of this melody, method and class (``note``, ``kept``...).
    in_track, out_track : (times, f0)
    pad : float
        Seconds shown before the note's onset and after its offset.

    Returns
    -------
    dict
        ``start``, ``end`` (s), ``times``, ``input_midi``, ``output_midi`` (NaN when unvoiced),
        ``targets`` (one dict per note in view: ``note``, ``onset``, ``offset``, ``pitch``,
        ``kept``, ``chosen``).
    """
    if not 0 <= note < len(notes):
        raise ParameterError(f"note={note} is not valid; the melody has {len(notes)} notes")
    n = notes[note]
    start, end = max(n["onset"] - pad, 0.0), n["offset"] + pad
    kept = {int(r["note"]): bool(r["kept"]) for r in rows}
    t, f_in = in_track
    f_out = out_track[1]
    m = min(len(t), len(f_out))
    t, f_in, f_out = np.asarray(t[:m]), np.asarray(f_in[:m]), np.asarray(f_out[:m])
    sel = (t >= start) & (t <= end)

    def midi(f):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(f > 0, 69 + 12 * np.log2(np.where(f > 0, f, 1.0) / 440.0), np.nan)

    targets = [{"note": i, "onset": float(x["onset"]), "offset": float(x["offset"]), "pitch": int(x["pitch"]),
                "kept": kept.get(i), "chosen": i == note}
               for i, x in enumerate(notes) if x["offset"] > start and x["onset"] < end]
    return {"start": start, "end": end, "times": t[sel], "input_midi": midi(f_in[sel]),
            "output_midi": midi(f_out[sel]), "targets": targets}


def embedding_files(folder) -> dict[str, Path]:
    """Method -> coordinates CSV of an embedding folder (``pca.csv``, ``tsne3d.csv``...)."""
    return _embedding_csvs(Path(folder))


def load_embedding(path) -> dict:
    """An embedding CSV from ``workbench embed``.

    Returns
    -------
    dict
        ``method`` (the file's stem), ``axes`` (coordinate column names, 2 or 3) and
        ``columns``: name -> list of values (coordinates as floats, pitch/velocity as ints).
    """
    path = Path(path)
    rows = _read_csv(path)
    if not rows:
        raise ParameterError(f"embedding={str(path)!r} has no rows; expected a CSV from `workbench embed`")
    axes = [k for k in rows[0] if k.startswith(f"{path.stem}_")]
    if len(axes) not in (2, 3):
        raise ParameterError(f"embedding={str(path)!r} has coordinate columns {axes}; expected "
                             f"{path.stem}_1, {path.stem}_2 (and _3)")
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    for k in ("note_str", "instrument_str", "instrument_family_str", "instrument_source_str", "split"):
        if k in cols:
            cols[k] = [str(v) for v in cols[k]]
    return {"method": path.stem, "axes": axes, "columns": cols}


def note_audio_path(note_str: str, split: str, *, corpora: Sequence) -> Path | None:
    """The audio file of a corpus note, looked up in each corpus of ``corpora`` in turn."""
    for c in corpora:
        c = Path(c)
        for cand in (c / f"nsynth-{split}" / "audio" / f"{note_str}.wav", c / "audio" / f"{note_str}.wav"):
            if cand.is_file():
                return cand
    return None


def load_probe_report(folder) -> dict:
    """A probe report (``workbench probe``): ``results`` (results.json), ``table`` rows for
    display and ``confusions``: name -> ``{"png": path or None, "csv": path or None}``."""
    folder = Path(folder)
    res = _read_json(folder / "results.json")
    if "probes" not in res:
        raise ParameterError(f"report={str(folder)!r} has no results.json with probes; expected a folder "
                             f"written by `workbench probe`")
    table = [{"features": r["features"], "classifier": r["classifier"],
              "cv accuracy": r["cv_accuracy_mean"], "cv std": r["cv_accuracy_std"],
              "test accuracy": r["test_accuracy"], "majority class": r["chance"]} for r in res["probes"]]
    conf: dict[str, dict] = {}
    for p in sorted(folder.glob("confusion_*")):
        if p.suffix in (".png", ".csv"):
            conf.setdefault(p.stem.removeprefix("confusion_"), {"png": None, "csv": None})[p.suffix[1:]] = p
    return {"results": res, "table": table, "confusions": conf}


def read_confusion_csv(path) -> tuple[list[str], np.ndarray]:
    """``(classes, counts (n, n))`` of a confusion CSV (rows true, columns predicted)."""
    with Path(path).open(newline="") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise ParameterError(f"confusion={str(path)!r} is empty; expected a CSV from `workbench probe`")
    return rows[0][1:], np.array([[int(v) for v in r[1:]] for r in rows[1:]], dtype=int)


def load_pitch_cnn_report(folder) -> dict:
    """A pitch-CNN report (``workbench pitchcnn``): its results.json, and ``accuracy_png`` when present."""
    folder = Path(folder)
    res = _read_json(folder / "results.json")
    if "history" not in res:
        raise ParameterError(f"report={str(folder)!r} has no results.json with a history; expected a folder "
                             f"written by `workbench pitchcnn`")
    png = folder / "accuracy.png"
    return {"results": res, "accuracy_png": png if png.is_file() else None}


def load_mesh(folder) -> dict:
    """A chroma mesh folder: ``meta`` (mesh.json) and its ``images`` (PNG paths, sorted)."""
    folder = Path(folder)
    if not (folder / "mesh.json").is_file():
        raise ParameterError(f"mesh={str(folder)!r} has no mesh.json; expected a folder written by `workbench mesh`")
    return {"meta": _read_json(folder / "mesh.json"), "images": sorted(folder.glob("*.png"))}


# ---------------------------------------------------------------------------------------------
# latent mixing


def multi_instrument_runs(runs) -> list[Path]:
    """Run folders of multi-instrument autoencoders: weights present and instrument ``codes`` in meta.json."""
    return [r for r in list_runs(runs) if (info := run_info(r))["codes"] and info["has_weights"]]


def latent_mix_shape(model) -> tuple[list[str], int]:
    """``(codes, latent_dim)`` of a multi-instrument run, as the latent mixing effect reads them."""
    from effects.latent_mix import LatentMixEffect

    fx = LatentMixEffect(model=str(model))
    return list(fx.codes), int(fx.latent_dim)


def render_latent_mix(audio: np.ndarray, sr: int, *, model, morph: np.ndarray | None = None, **params) -> dict:
    """Play mono ``audio`` through :class:`effects.latent_mix.LatentMixEffect`.

    Parameters
    ----------
    audio : np.ndarray, shape ``(1, samples)``
    sr : int
        Rate of ``audio`` (and of ``morph``); both are resampled to the model's rate, the output back.
    model : path
        A multi-instrument run folder (see :func:`multi_instrument_runs`).
    morph : np.ndarray, optional
        The second input of the ``morph`` mode, mono at ``sr``.
    **params
        The effect's other keyword parameters: ``mode``, ``source``, ``target``, ``alpha``,
        ``scale``, ``offset``, ``faders``, ``mix``...

    Returns
    -------
    dict
        ``output (samples,)`` at ``sr``, ``trajectory (frames, latent_dim)``, ``frame_seconds``
        (time between latent frames), ``codes`` and ``latent_dim``.
    """
    from effects.latent_mix import LatentMixEffect

    info = run_info(model)
    if not info["codes"]:
        raise ParameterError(f"model={str(model)!r} has no instrument codes in meta.json; expected a "
                             f"multi-instrument run ({COMMANDS['multi']})")
    x = validate_audio(audio, sr=sr, min_samples=MIN_INPUT_SAMPLES, name="input")[:1]
    msr = int(info["sr"] or sr)
    if morph is not None:
        m = validate_audio(morph, sr=sr, min_samples=MIN_INPUT_SAMPLES, name="morph input")[:1]
        params["morph"] = np.ascontiguousarray((resample(m, sr, msr) if msr != sr else m)[0])
    fx = LatentMixEffect(model=str(model), **params)
    y = fx.process(resample(x, sr, msr) if msr != sr else x, msr)
    y = resample(np.asarray(y, np.float32), msr, sr) if msr != sr else np.asarray(y, np.float32)
    traj = np.asarray(fx.latent_trajectory, np.float32)
    hop = info["config"].get("config", {}).get("audio", {}).get("hop_length") or 256
    return {"output": y[0][: x.shape[1]], "trajectory": traj, "frame_seconds": hop / msr,
            "codes": list(fx.codes), "latent_dim": int(fx.latent_dim)}


# -- the latent synthesizer (issue 15) ------------------------------------------------------------
def synth_runs(runs) -> list[Path]:
    """Run folders a latent synthesizer can play: weights present and ``model.output = spectrum``."""
    out = []
    for r in list_runs(runs):
        info = run_info(r)
        if info["has_weights"] and info["config"].get("config", {}).get("model", {}).get("output") == "spectrum":
            out.append(r)
    return out


def synth_shape(model) -> tuple[int, bool]:
    """``(latent units, has chroma)`` of a synth run."""
    cfg = run_info(model)["config"].get("config", {}).get("model", {})
    return int(cfg.get("latent", 0)), bool(cfg.get("chroma", False))


def synth_map(model, *, latent, chroma=None, points: int = 11) -> dict:
    """Spectral centroid (Hz) of the decoded frame over a ``points x points`` grid of units 1 and 2
    in [0, 1], the other units held at ``latent``: ``{"u1", "u2", "centroid_hz"}`` (flat lists)."""
    import torch

    from effects.play import decode_frames
    from models.checkpoint import load_run

    run = load_run(model)
    a = run.config.audio
    g = np.linspace(0.0, 1.0, points, dtype=np.float32)
    u1, u2 = (v.reshape(-1) for v in np.meshgrid(g, g, indexing="xy"))
    z = np.repeat(np.asarray(latent, np.float32)[None], len(u1), 0)
    z[:, 0], z[:, 1] = u1, u2
    mag = decode_frames(run, torch.from_numpy(z), chroma=chroma).numpy()
    freqs = np.arange(mag.shape[1]) * a.sr / a.n_fft
    centroid = (mag * freqs).sum(1) / np.maximum(mag.sum(1), 1e-12)
    return {"u1": u1.tolist(), "u2": u2.tolist(), "centroid_hz": centroid.tolist()}


def render_synth_point(model, *, latent, chroma=None, seconds: float = 2.0, phase: str = "pghi",
                       release_ms: float = 150.0) -> tuple[np.ndarray, int]:
    """One note of the latent synthesizer, offline, through the very code ``workbench play`` streams
    (:meth:`effects.play.LatentSynth.render`): gate on at 0, off ``release_ms`` before the end.

    Returns ``(audio (samples,), sample rate)``.
    """
    from effects.play import LatentSynth

    synth = LatentSynth(model=str(model), latent=latent, chroma=0 if chroma is None else int(chroma),
                        phase=phase, release_ms=release_ms)
    off = max(0.0, seconds - release_ms / 1000 - 0.02)
    y = synth.render(seconds, schedule=[(off, {"gate": False})])
    return y[0], synth.model_sr


def play_command(model, *, latent, chroma=None, phase: str = "pghi") -> str:
    """The command line that plays this point live."""
    from analysis.latent_space import PITCH_CLASSES

    z = ",".join(f"{float(v):.3g}" for v in latent)
    ch = f" --chroma {PITCH_CLASSES[int(chroma)]}" if chroma is not None else ""
    return f"workbench play --model {model} --latent {z}{ch} --phase {phase}"
