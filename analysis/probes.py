"""Classifier probes of note features, evaluated instrument-disjointly.

For each feature set and classifier (StandardScaler pipelines): grouped K-fold by instrument on
the train+valid notes (mean and std of accuracy) and a fit on them scored on the held-out test
split; per-class precision / recall / F1 and confusion matrices (CSV and PNG) for the test
split; ``results.json`` and ``results.md``. No instrument is ever on both sides of a split:
this is asserted, not assumed.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from analysis.parallel import Compute, collect
from workbench.errors import ParameterError
from workbench.report_io import read_json

__all__ = [
    "CLASSIFIERS", "LABELS", "make_classifier", "grouped_folds", "run_probes", "label_of",
    "load_probe_report", "read_confusion_csv",
]

CLASSIFIERS = ("logreg", "svm", "knn", "rf", "mlp")
LABELS = ("family", "pitch_class", "velocity", "source")


def make_classifier(name: str, *, seed: int = 0) -> Pipeline:
    """A StandardScaler pipeline for one of :data:`CLASSIFIERS`.

    Parameters
    ----------
    name : str
        ``logreg``, ``svm``, ``knn`` (5 neighbours), ``rf`` (200 trees) or ``mlp`` (3 x 250
        units with early stopping, as seed 000).
    seed : int, keyword-only
        Seed of the random forest and the MLP.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted: scaler, then the classifier.
    """
    models = {
        "logreg": lambda: LogisticRegression(max_iter=3000),
        "svm": lambda: SVC(),
        "knn": lambda: KNeighborsClassifier(n_neighbors=5),
        "rf": lambda: RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=-1),
        "mlp": lambda: MLPClassifier(hidden_layer_sizes=(250, 250, 250), max_iter=500, early_stopping=True,
                                     random_state=seed),
    }
    if name not in models:
        raise ParameterError(f"classifier={name!r} is not valid; expected one of {', '.join(CLASSIFIERS)}")
    return make_pipeline(StandardScaler(), models[name]())


def label_of(meta: dict, label: str) -> str | int:
    """The probe label of a note.

    Parameters
    ----------
    meta : dict
        The note's NSynth metadata.
    label : str
        One of :data:`LABELS`.

    Returns
    -------
    str or int
        Family name, pitch class (0-11), velocity or source name.
    """
    if label == "family":
        return meta["instrument_family_str"]
    if label == "pitch_class":
        return int(meta["pitch"]) % 12
    if label == "velocity":
        return int(meta["velocity"])
    if label == "source":
        return meta["instrument_source_str"]
    raise ParameterError(f"label={label!r} is not valid; expected one of {', '.join(LABELS)}")


def grouped_folds(groups: np.ndarray, *, n_splits: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped K-fold indices; asserts that no fold shares an instrument between train and test.

    Parameters
    ----------
    groups : np.ndarray [shape=(n,)]
        Each note's instrument.
    n_splits : int, keyword-only
        Folds wanted (fewer when there are fewer instruments).

    Returns
    -------
    list of (train, test)
        Index arrays into ``groups``, one pair per fold.

    Raises
    ------
    ParameterError
        Fewer than two instruments.
    """
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ParameterError(f"{n_groups} instrument(s) cannot be split into folds; expected at least 2")
    folds = list(GroupKFold(n_splits=min(n_splits, n_groups)).split(np.zeros(len(groups)), groups=groups))
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te]), "an instrument is on both sides of a fold"
    return folds


def _confusion_png(cm: np.ndarray, classes, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.0 + 0.5 * len(classes), 0.8 + 0.5 * len(classes)))
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), [str(c) for c in classes], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), [str(c) for c in classes], fontsize=8)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


NOTE_SPLIT_CLASSIFIERS = ("svm", "mlp")  # seed 000's two
NOTE_SPLIT_TEST = 0.2


def _probe_task(task: tuple) -> tuple[dict, np.ndarray]:
    """One feature set x classifier: grouped-fold CV, then a fit on all training notes scored on the test notes."""
    clf_name, F_tr, F_te, y_tr, y_te, folds, classes, seed = task
    t = time.perf_counter()
    fold_acc = []
    for tr, te in folds:
        model = make_classifier(clf_name, seed=seed).fit(F_tr[tr], y_tr[tr])
        fold_acc.append(float((model.predict(F_tr[te]) == y_tr[te]).mean()))
    model = make_classifier(clf_name, seed=seed).fit(F_tr, y_tr)
    pred = model.predict(F_te)
    p, r, f1, support = precision_recall_fscore_support(y_te, pred, labels=classes, zero_division=0)
    return {
        "cv_accuracy_mean": float(np.mean(fold_acc)), "cv_accuracy_std": float(np.std(fold_acc)),
        "test_accuracy": float((pred == y_te).mean()),
        "chance": float(max(np.mean(y_te == c) for c in classes)),
        "per_class": {str(c): {"precision": float(a), "recall": float(b), "f1": float(d), "support": int(s)}
                      for c, a, b, d, s in zip(classes, p, r, f1, support)},
        "seconds": round(time.perf_counter() - t, 2),
    }, confusion_matrix(y_te, pred, labels=classes)


def _note_split_task(task: tuple) -> dict:
    """Seed 000's protocol: a random, class-stratified note-level split of all notes."""
    from sklearn.model_selection import train_test_split

    clf_name, F, y, seed = task
    counts = {c: int(np.sum(y == c)) for c in set(y.tolist())}
    strat = y if min(counts.values()) >= 2 else None
    tr, te = train_test_split(np.arange(len(y)), test_size=NOTE_SPLIT_TEST, random_state=seed, stratify=strat)
    pred = make_classifier(clf_name, seed=seed).fit(F[tr], y[tr]).predict(F[te])
    return {"test_accuracy": float((pred == y[te]).mean()), "train_notes": int(len(tr)), "test_notes": int(len(te))}


def run_probes(features: dict[str, tuple[np.ndarray, np.ndarray]], *, train_meta: list[dict], test_meta: list[dict],
               label: str, classifiers: Sequence[str] = CLASSIFIERS, out: str | Path, seed: int = 0, n_splits: int = 5,
               extract_seconds: dict | None = None, progress: bool = True, compute: Compute | None = None) -> dict:
    """Probe every feature set with every classifier; write reports into ``out``.

    Parameters
    ----------
    features : dict
        ``name -> (train features [shape=(n, d)], test features [shape=(m, d)])``.
    train_meta, test_meta : list of dict, keyword-only
        NSynth metadata of the train (+ valid) and test notes, in the same order.
    label : str, keyword-only
        What to predict, one of :data:`LABELS`.
    classifiers : sequence of str, keyword-only
        Names of :func:`make_classifier`.
    out : str or Path, keyword-only
        The report folder (created): ``results.json``, ``results.md`` and a confusion CSV and
        PNG per probe.
    seed : int, keyword-only
        Classifier seed.
    n_splits : int, keyword-only
        Cross-validation folds (:func:`grouped_folds`).
    extract_seconds : dict, optional, keyword-only
        Feature set -> seconds its extraction took, for the report.
    progress : bool, keyword-only
        Show a progress bar.
    compute : Compute, optional, keyword-only
        Where the fits run (:mod:`analysis.parallel`; default this process).

    Returns
    -------
    dict
        What ``results.json`` holds: ``label``, ``classes``, note and fold counts,
        ``extract_seconds``, ``note_split`` (seed 000's random note-level split, SVM and MLP) and
        ``probes`` (per feature set and classifier: CV accuracy mean and std, test accuracy,
        majority-class chance, per-class precision/recall/F1, seconds).
    """

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    y_tr = np.array([label_of(m, label) for m in train_meta])
    y_te = np.array([label_of(m, label) for m in test_meta])
    g_tr = np.array([m["instrument"] for m in train_meta])
    g_te = np.array([m["instrument"] for m in test_meta])
    assert not set(g_tr) & set(g_te), "an instrument is in both the training and the test notes"
    folds = grouped_folds(g_tr, n_splits=n_splits)
    classes = sorted(set(y_tr) | set(y_te), key=str)
    results = {"label": label, "classes": [str(c) for c in classes], "train_notes": len(y_tr),
               "test_notes": len(y_te), "folds": len(folds), "extract_seconds": extract_seconds or {}, "probes": []}
    jobs = [(f, c) for f in features for c in classifiers]
    tasks = [(clf_name, *features[feat], y_tr, y_te, folds, classes, seed) for feat, clf_name in jobs]
    done = collect(_probe_task, tasks, compute=compute, desc="probe", progress=progress)
    for (feat, clf_name), (r, cm) in zip(jobs, done):
        stem = f"confusion_{feat.replace(':', '_').replace('/', '_')}_{clf_name}"
        with (out / f"{stem}.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["true \\ predicted", *classes])
            for c, row in zip(classes, cm):
                w.writerow([c, *row.tolist()])
        _confusion_png(cm, classes, out / f"{stem}.png", f"{label}: {feat} + {clf_name}")
        results["probes"].append({"features": feat, "classifier": clf_name, **r})
    # seed 000's protocol beside it: one random note-level split of all notes, SVM and MLP; an
    # instrument's other notes are then in training, which is why it reads higher
    results["note_split"] = []
    note_jobs = [(f, c) for f in features for c in NOTE_SPLIT_CLASSIFIERS]
    tasks = [(c, np.vstack(features[f]), np.concatenate([y_tr, y_te]), seed) for f, c in note_jobs]
    for (feat, clf_name), r in zip(note_jobs, collect(_note_split_task, tasks, compute=compute, desc="note split",
                                                      progress=progress)):
        results["note_split"].append({"features": feat, "classifier": clf_name, **r})
    (out / "results.json").write_text(json.dumps(results, indent=1))
    lines = [f"# Probe: {label}", "",
             f"{len(y_tr)} train+valid notes in {len(folds)} instrument-grouped folds; {len(y_te)} held-out test "
             f"notes (instrument-disjoint).", "",
             "| features | classifier | CV accuracy (mean +- std) | test accuracy | majority class |",
             "|---|---|---|---|---|"]
    for r in results["probes"]:
        lines.append(f"| {r['features']} | {r['classifier']} | {r['cv_accuracy_mean']:.3f} +- "
                     f"{r['cv_accuracy_std']:.3f} | {r['test_accuracy']:.3f} | {r['chance']:.3f} |")
    lines += ["", f"Seed 000's protocol for comparison: one random note-level split ({NOTE_SPLIT_TEST:.0%} of all "
              f"notes held out; instruments shared between train and test).", "",
              "| features | classifier | test accuracy (note split) | test accuracy (instrument-disjoint) |",
              "|---|---|---|---|"]
    disjoint = {(r["features"], r["classifier"]): r["test_accuracy"] for r in results["probes"]}
    for r in results["note_split"]:
        d = disjoint.get((r["features"], r["classifier"]))
        lines.append(f"| {r['features']} | {r['classifier']} | {r['test_accuracy']:.3f} | "
                     f"{'-' if d is None else f'{d:.3f}'} |")
    if extract_seconds:
        lines += ["", "Feature extraction (s): " + ", ".join(f"{k} {v:.1f}" for k, v in extract_seconds.items())]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    return results


def probe_corpus(corpus: str | Path, *, features: str = "mfcc,scattering", label: str = "family",
                 classifiers: Iterable[str] = CLASSIFIERS, folds: int = 5, cache: str | Path = "reports/cache",
                 out: str | Path, seed: int = 0, progress: bool = True, compute: Compute | None = None) -> dict:
    """Probe a rendered corpus: fit on its train + valid notes, test on its test notes.

    Parameters
    ----------
    corpus : str or Path
        An NSynth-format corpus with train/valid and test notes.
    features : str, keyword-only
        Comma list of ``mfcc``, ``scattering`` and ``latent:RUN_DIR``
        (:func:`analysis.feature_cache.feature_matrix`).
    label, classifiers, out, seed, progress : keyword-only
        As :func:`run_probes`.
    folds : int, keyword-only
        Cross-validation folds.
    cache : str or Path, keyword-only
        Feature cache folder.
    compute : Compute, optional, keyword-only
        Where feature shards and fits run, and the features' device (default this process, CPU).

    Returns
    -------
    dict
        :func:`run_probes`' results (also written to ``out``).

    Raises
    ------
    ParameterError
        A corpus without notes in train/valid or in test.
    """
    from analysis.feature_cache import feature_matrix
    from workbench.corpus.nsynth import NSynth

    train = NSynth(corpus, split=["train", "valid"])
    test = NSynth(corpus, split="test")
    if not len(train) or not len(test):
        raise ParameterError(f"corpus={str(corpus)!r} needs notes in train/valid and in test; it has "
                             f"{len(train)} and {len(test)}")
    sr = int(train.examples[0]["sample_rate"])
    feats, seconds = {}, {}
    for spec in [f.strip() for f in features.split(",") if f.strip()]:
        a, sa = feature_matrix(spec, train.paths(), cache_dir=cache, sr=sr, compute=compute or Compute(),
                               progress=progress)
        b, sb = feature_matrix(spec, test.paths(), cache_dir=cache, sr=sr, compute=compute or Compute(),
                               progress=progress)
        feats[spec], seconds[spec] = (a, b), sa + sb
    return run_probes(feats, train_meta=train.examples, test_meta=test.examples, label=label,
                      classifiers=list(classifiers), out=out, seed=seed, n_splits=folds, extract_seconds=seconds,
                      progress=progress, compute=compute)


def load_probe_report(folder: str | Path) -> dict:
    """Read a probe report (``workbench probe``, :func:`run_probes`).

    Parameters
    ----------
    folder : str or Path
        A folder written by ``workbench probe``.

    Returns
    -------
    dict
        ``results`` (results.json), ``table`` (one display row per probe) and ``confusions``:
        name -> ``{"png": Path or None, "csv": Path or None}``.

    Raises
    ------
    ParameterError
        The folder has no results.json with probes.
    """
    folder = Path(folder)
    res = read_json(folder / "results.json")
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



def read_confusion_csv(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read a confusion CSV written by :func:`run_probes`.

    Parameters
    ----------
    path : str or Path
        The CSV (rows true, columns predicted).

    Returns
    -------
    classes : list of str
        The class names, in the order of rows and columns.
    counts : np.ndarray [shape=(n, n), dtype=int]
        Notes per true (row) and predicted (column) class.
    """
    with Path(path).open(newline="") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise ParameterError(f"confusion={str(path)!r} is empty; expected a CSV from `workbench probe`")
    return rows[0][1:], np.array([[int(v) for v in r[1:]] for r in rows[1:]], dtype=int)
