"""One scoreboard of every method on the same inputs: pitch kept, target timbre reached,
loudness followed, distance to the target material, speed.

Builds on :mod:`analysis.pitch_eval` (same inputs, outputs and pitch judgement, including DDSP's
f0 L1 in semitones and f0 outlier share over the frames where the input's tracker is confident,
:func:`analysis.pitch_notes.f0_match`) and adds:

- timbre at the input's pitch (:mod:`analysis.harmonic_timbre`): each output's harmonic levels, read
  at its input's pitch, against the target family's train notes at that pitch; the output's and the
  dry input's distance in dB on the same frames, and the share of the gap closed (0 unchanged, 1 as
  close as the family's held-out test notes, never more; no score when the output sounds in less
  than half of the input's pitched frames);
- target-timbre accuracy: the phrase-level instrument judge (:mod:`analysis.instrument_judge`:
  corpus families plus a voice class) labels every 2 s window of every output; the share
  labelled as the target's family;
- loudness: A-weighted frame level of input and output, correlation and mean |difference| in dB;
- Fréchet distance between Gaussians fitted to frame MFCCs of the outputs and of the target
  material (FAD-style, with MFCCs instead of a network embedding).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from analysis.pitch_eval import run_pitch_protocol
from analysis.pitch_protocol import Protocol
from analysis.transfer_eval import mfcc_frames
from workbench.audio import load
from workbench.errors import ParameterError
from workbench.report_io import read_csv_rows, read_json

__all__ = [
    "a_weighted_level", "loudness_match", "frechet_distance", "run_scoreboard", "METRICS",
    "load_eval_report", "filter_notes", "eval_audio_paths",
]

# (key, label, higher is better)
METRICS = (
    ("kept_percent", "pitch kept %", True),
    ("raw_pitch_accuracy", "raw pitch accuracy", True),
    ("f0_l1_semitones", "f0 L1 (semitones)", False),
    ("f0_outlier_share", "f0 outliers (>12 semitones)", False),
    ("gap_closed", "timbre gap closed (at the input's pitch, at most 1)", True),
    ("timbre_distance_db", "matched-pitch distance (dB)", False),
    ("timbre_input_db", "input's distance, same frames (dB)", False),
    ("timbre_accuracy", "judged as target", True),
    ("loudness_correlation", "loudness correlation", True),
    ("loudness_l1_db", "loudness L1 (dB)", False),
    ("frechet_mfcc", "Fréchet distance to target (MFCC)", False),
    ("rtf", "real-time factor", True),
)


def a_weighted_level(y: np.ndarray, *, sr: int, n_fft: int = 1024, hop_length: int = 256) -> np.ndarray:
    """A-weighted frame level (power summed over bins with IEC 61672 A-weighting).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (1, n)]
        Mono audio whose level is measured.
    sr : int, Hz, keyword-only
        Its sample rate.
    n_fft, hop_length : int, samples, keyword-only
        STFT frame and hop (centred frames, so frame ``t`` is at ``t * hop_length / sr`` s).

    Returns
    -------
    np.ndarray [shape=(1 + n // hop_length,)], dB
        Floored at -120 dB.
    """
    import librosa
    import torch

    from workbench.spectral import a_weighting

    y = np.asarray(y, np.float32).reshape(-1)
    P = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length, window="hann")) ** 2
    w = a_weighting(sr=sr, n_fft=n_fft, power=True, dtype=torch.float64).numpy()
    return 10 * np.log10(np.maximum((w[:, None] * P).sum(0) / n_fft, 1e-12))


def loudness_match(x: np.ndarray, y: np.ndarray, *, sr: int, range_db: float = 40.0) -> dict:
    """How well ``y``'s loudness envelope follows ``x``'s.

    Parameters
    ----------
    x, y : np.ndarray [shape=(n,) or (1, n)]
        Input and output, mono, at one rate (the longer is cut to the shorter's frames).
    sr : int, Hz, keyword-only
        Their sample rate.
    range_db : float, dB, keyword-only
        Frames count where ``x`` is within this of its loudest frame.

    Returns
    -------
    dict
        ``loudness_correlation`` (Pearson, of the A-weighted levels) and ``loudness_l1_db``
        (their mean absolute difference, dB); NaN with fewer than 3 frames (the correlation
        also when either level is constant).
    """
    a, b = a_weighted_level(x, sr=sr), a_weighted_level(y, sr=sr)
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    keep = a > a.max() - range_db
    if keep.sum() < 3:
        return {"loudness_correlation": float("nan"), "loudness_l1_db": float("nan")}
    a, b = a[keep], b[keep]
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    return {"loudness_correlation": corr, "loudness_l1_db": float(np.mean(np.abs(a - b)))}


def frechet_distance(A: np.ndarray, B: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of two sets:
    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``.

    Parameters
    ----------
    A : np.ndarray [shape=(n, d)]
        One set, ``n >= 2``.
    B : np.ndarray [shape=(m, d)]
        The other, ``m >= 2``.

    Returns
    -------
    float
        The distance, at least 0 (a near-singular product is regularised as FID implementations do).

    Raises
    ------
    ParameterError
        Not two 2-D arrays of at least two rows with the same width.
    """
    from scipy import linalg

    A, B = np.asarray(A, np.float64), np.asarray(B, np.float64)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1] or min(len(A), len(B)) < 2:
        raise ParameterError(f"frechet_distance needs two (n>=2, d) arrays with the same d; got {A.shape} and {B.shape}")
    mu_a, mu_b = A.mean(0), B.mean(0)
    sa, sb = np.cov(A, rowvar=False), np.cov(B, rowvar=False)
    covmean = linalg.sqrtm(sa @ sb)
    if not np.isfinite(covmean).all():  # near-singular product: regularise as FID implementations do
        eps = 1e-6 * np.eye(sa.shape[0])
        covmean = linalg.sqrtm((sa + eps) @ (sb + eps))
    d = float(np.sum((mu_a - mu_b) ** 2) + np.trace(sa + sb - 2 * np.real(covmean)))
    return max(d, 0.0)


def _target_material(corpus, family: str, split: str, sr: int, limit: int = 60) -> list[np.ndarray]:
    from workbench.corpus.nsynth import NSynth

    ds = NSynth(corpus, family=family, split=split)
    paths = ds.paths()
    if len(paths) > limit:  # evenly spaced: the same notes every run
        paths = [paths[i] for i in np.linspace(0, len(paths) - 1, limit).astype(int)]
    return [load(p, sr=sr, mono=True)[0][0] for p in paths]


def run_scoreboard(protocol: Protocol, factories: Mapping[str, Callable], *, corpus: str | Path, out: str | Path,
                   judge_voices: int = 8, progress: bool = True) -> dict:
    """The pitch protocol (with DDSP's f0 L1 and outlier share) plus timbre, loudness and distance
    measures for every method.

    Writes into ``out``: the pitch protocol's files, ``results.json``, ``scoreboard.md``,
    ``scoreboard.csv`` (one row per method), ``per_class.csv`` (per method and class) and
    ``bar_<metric>.png``. A ``target`` reference row scores the target families' held-out
    test notes with the same judge and distances (pitch measures do not apply to it).
    ``judge_voices`` sung and spoken phrases are rendered for the judge's voice class.

    Parameters
    ----------
    protocol : Protocol
        The pitch protocol's settings.
    factories : mapping
        :func:`analysis.pitch_eval.method_factories`'s.
    corpus : str or Path, keyword-only
        The corpus of the target families (train notes: material; test notes: the reference row).
    out : str or Path, keyword-only
        Where the pitch protocol's files and the scoreboard go.
    judge_voices : int, keyword-only
        Sung and spoken phrases rendered for the judge's voice class.
    progress : bool, keyword-only
        Show progress bars.

    Returns
    -------
    dict
        What ``results.json`` holds: ``protocol``, ``corpus``, ``methods``, ``classes``,
        ``scoreboard`` (one row per method, with every key of :data:`METRICS` and
        ``labelled_as``), ``reference`` (the target row), ``per_class`` rows, the ``pitch``
        summaries, ``judge_classes``, ``f0_confidence`` and wall times.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    out = Path(out)
    pitch = run_pitch_protocol(protocol, factories, out=out, progress=progress)
    sr = protocol.sr
    from analysis.harmonic_timbre import HarmonicReference
    from analysis.instrument_judge import fitted_judge

    judge = fitted_judge(corpus, work=out / "judge", voices=judge_voices, progress=progress)
    inputs = {m["name"]: m for m in pitch["inputs"]}
    dry = {name: load(m["path"], sr=sr, mono=True)[0][0] for name, m in inputs.items()}
    train_notes = {c: _target_material(corpus, c, "train", sr) for c in protocol.classes}
    target_frames = {c: mfcc_frames(train_notes[c], sr=sr) for c in protocol.classes}
    refs = {c: HarmonicReference().fit(train_notes[c], sr=sr, name=f"{corpus}:family={c},split=train")
            for c in protocol.classes}
    test_notes = {c: _target_material(corpus, c, "test", sr, limit=20) for c in protocol.classes}
    held_db = {c: refs[c].distance(test_notes[c], sr=sr).distance_db if test_notes[c] else None
               for c in protocol.classes}
    per_class = []
    for method in tqdm(pitch["methods"], desc="scoreboard", unit="method", disable=not progress):
        for c in protocol.classes:
            hits, total, loud, frames, labels, ys = 0, 0, [], [], [], []
            for name in inputs:
                y = load(pitch["outputs"][f"{method}|{c}|{name}"], sr=sr, mono=True)[0][0]
                pred = judge.predict(y, sr=sr)
                hits += int(np.sum(pred == c))
                labels += list(pred)
                total += len(pred)
                loud.append(loudness_match(dry[name], y, sr=sr))
                frames.append(mfcc_frames([y], sr=sr))
                ys.append(y)
            # judged at the inputs' pitch, the input on the same frames (analysis.harmonic_timbre)
            score = refs[c].compare([dry[name] for name in inputs], ys, sr=sr, target_db=held_db[c])
            d, g = score.output_db, score.gap_closed
            s = pitch["by_method_class"][method][c]
            per_class.append({
                "method": method, "class": c, "kept_percent": 100 - s["lost_percent"],
                "raw_pitch_accuracy": s["raw_pitch_accuracy"], "f0_l1_semitones": s["f0_l1_semitones"],
                "f0_outlier_share": s["f0_outlier_share"], "timbre_accuracy": hits / max(total, 1),
                "timbre_distance_db": float("nan") if d is None else d,
                "timbre_input_db": float("nan") if score.input_db is None else score.input_db,
                "gap_closed": float("nan") if g is None else (0.0 if method == "dry" else g),
                "loudness_correlation": float(np.nanmean([v["loudness_correlation"] for v in loud])),
                "loudness_l1_db": float(np.nanmean([v["loudness_l1_db"] for v in loud])),
                "frechet_mfcc": frechet_distance(np.concatenate(frames), target_frames[c]),
                "labelled_as": max(set(labels), key=labels.count) if labels else "-",
            })
    rows = []
    for method in pitch["methods"]:
        sel = [r for r in per_class if r["method"] == method]
        row = {"method": method, **{k: float(np.nanmean([r[k] for r in sel])) for k, _, _ in METRICS if k != "rtf"}}
        labels = [r["labelled_as"] for r in sel]
        row["kept_percent"] = 100 - pitch["by_method"][method]["lost_percent"]
        for k in ("raw_pitch_accuracy", "f0_l1_semitones", "f0_outlier_share"):  # over melodies, as the pitch report
            row[k] = pitch["by_method"][method][k]
        row["rtf"] = pitch["rtf"][method]
        row["labelled_as"] = max(set(labels), key=labels.count)  # the judge's most frequent verdict
        rows.append(row)
    ref = {"method": "target (held-out notes)", "kept_percent": float("nan"), "raw_pitch_accuracy": float("nan"),
           "f0_l1_semitones": float("nan"), "f0_outlier_share": float("nan"), "timbre_input_db": float("nan"),
           "loudness_correlation": float("nan"), "loudness_l1_db": float("nan"), "rtf": float("nan"),
           "labelled_as": "-"}
    accs, fds, dbs = [], [], []
    for c in protocol.classes:
        notes = test_notes[c]
        if not notes:
            continue
        accs.append(float(np.mean(judge.predict(notes, sr=sr) == c)))
        fds.append(frechet_distance(mfcc_frames(notes, sr=sr), target_frames[c]))
        if held_db[c] is not None:
            dbs.append(held_db[c])
    ref["timbre_accuracy"] = float(np.mean(accs)) if accs else float("nan")
    ref["frechet_mfcc"] = float(np.mean(fds)) if fds else float("nan")
    ref["timbre_distance_db"] = float(np.mean(dbs)) if dbs else float("nan")
    ref["gap_closed"] = 1.0 if dbs else float("nan")
    res = {"protocol": pitch["protocol"], "corpus": str(corpus), "methods": pitch["methods"],
           "classes": list(protocol.classes), "scoreboard": rows, "reference": ref, "per_class": per_class,
           "pitch": {k: pitch[k] for k in ("by_method", "by_method_class", "rtf", "note_evaluations_per_method")},
           "judge_classes": list(judge.classes_), "pitch_seconds": pitch["seconds"],
           "f0_confidence": pitch["f0_confidence"]}
    res["seconds"] = round(time.perf_counter() - t0, 1)
    _write(res, out)
    return res


def _fmt(v, key) -> str:
    if not np.isfinite(v):
        return "-"
    if key == "rtf":
        return f"{v:.0f}x"
    return f"{v:.1f}" if key in ("kept_percent", "loudness_l1_db", "frechet_mfcc") else f"{v:.3f}"


def _write(res: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(res, indent=1, default=float))
    for name, rows in (("scoreboard.csv", res["scoreboard"] + [res["reference"]]), ("per_class.csv", res["per_class"])):
        with (out / name).open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    p = res["protocol"]
    head = "| method | " + " | ".join(label for _, label, _ in METRICS) + " | judge's usual verdict |"
    lines = ["# Scoreboard", "",
             f"Inputs: {p['melodies']} melodies x {p['notes']} notes ({p['source']}), {len(res['classes'])} target "
             f"classes ({', '.join(res['classes'])}); pitch by {p['tracker']} at {p['tolerance']:g} cents. "
             "Higher is better except f0 L1, f0 outliers, loudness L1, matched-pitch and Fréchet distances. "
             "f0 L1 and f0 outliers (DDSP's) count the frames where the input's tracker is confident (voiced, "
             f"confidence >= {res['f0_confidence']:g}); an output frame unvoiced there is an outlier. `dry` is "
             "the unprocessed input; the "
             "target row scores held-out notes of the target families themselves.", "",
             head, "|---" * (len(METRICS) + 2) + "|"]
    for r in res["scoreboard"] + [res["reference"]]:
        lines.append(f"| {r['method']} | " + " | ".join(_fmt(r[k], k) for k, _, _ in METRICS) + f" | {r['labelled_as']} |")
    lines += ["", f"Wall time {res['seconds']} s (pitch protocol {res['pitch_seconds']} s)."]
    (out / "scoreboard.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for key, label, higher in METRICS:
        rows = res["scoreboard"] + ([res["reference"]] if np.isfinite(res["reference"][key]) else [])
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.bar([r["method"] for r in rows], [r[key] for r in rows], color="tab:blue")
        ax.set(title=f"{label} ({'higher' if higher else 'lower'} is better)")
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
        fig.tight_layout()
        fig.savefig(out / f"bar_{key}.png", dpi=90)
        plt.close(fig)


def load_eval_report(folder: str | Path) -> dict:
    """An evaluation report folder (``workbench evaluate pitch|scoreboard``) for display.

    Parameters
    ----------
    folder : str or Path
        A folder written by ``workbench evaluate``.

    Returns
    -------
    dict
        ``folder``, ``protocol``, ``methods``, ``classes``, ``scoreboard`` (rows, with the
        target reference row last; empty for a pitch-only report), ``per_class`` rows,
        ``by_method`` (pitch summaries), ``notes`` (notes.csv rows, typed), ``melodies``
        (name -> notes of each input) and ``markdown`` (scoreboard.md or pitch.md).

    Raises
    ------
    ParameterError
        The folder has neither a results.json with a scoreboard nor a pitch.json.
    """
    folder = Path(folder)
    res, pitch = read_json(folder / "results.json"), read_json(folder / "pitch.json")
    if "scoreboard" not in res and not pitch:
        raise ParameterError(f"report={str(folder)!r} has no results.json with a scoreboard nor pitch.json; "
                             f"expected a folder written by `workbench evaluate`")
    index = read_json(folder / "inputs" / "index.json")
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
        "notes": read_csv_rows(folder / "notes.csv"),
        "melodies": {m["name"]: m["notes"] for m in index.get("melodies", [])},
        "markdown": md.read_text() if md.is_file() else "",
    }



def filter_notes(rows: list[dict], *, method: str | None = None, cls: str | None = None,
                 lost_only: bool = False) -> list[dict]:
    """Rows of ``notes.csv`` for one method and class, optionally only lost notes.

    Parameters
    ----------
    rows : list of dict
        ``notes`` of :func:`load_eval_report`.
    method, cls : str or None, keyword-only
        Keep these (None: all).
    lost_only : bool, keyword-only
        Keep only the notes not kept.

    Returns
    -------
    list of dict
        The rows that pass, in order.
    """
    return [r for r in rows if (method is None or r["method"] == method) and (cls is None or r["class"] == cls)
            and (not lost_only or not r["kept"])]



def eval_audio_paths(report: dict, *, method: str, cls: str, melody: str) -> tuple[Path, Path]:
    """The audio of one melody through one method and class of a report.

    Parameters
    ----------
    report : dict
        :func:`load_eval_report`'s.
    method, cls, melody : str, keyword-only
        Which output.

    Returns
    -------
    input, output : Path
        The two wav files.

    Raises
    ------
    ParameterError
        Either file is missing.
    """
    folder = Path(report["folder"])
    inp, out = folder / "inputs" / f"{melody}.wav", folder / "outputs" / method / cls / f"{melody}.wav"
    for p in (inp, out):
        if not p.is_file():
            raise ParameterError(f"{str(p)!r} is missing; the report's audio was moved or deleted "
                                 f"(re-run `workbench evaluate` to write it)")
    return inp, out
