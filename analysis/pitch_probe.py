"""The raw-audio pitch CNN (seed 001) as a probe: trained on a corpus's train+valid notes, scored
on the instrument-disjoint test split, reported like the feature probes."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workbench.errors import ParameterError
from workbench.report_io import read_json

__all__ = ["load_waveforms", "run_pitch_cnn", "load_pitch_cnn_report"]


def load_waveforms(paths: Sequence[str | Path], *, sr: int, n_samples: int, progress: bool = False) -> np.ndarray:
    """Mono waveforms cut or zero-padded to ``n_samples``.

    Parameters
    ----------
    paths : sequence of str or Path
        Audio files.
    sr : int, Hz, keyword-only
        Rate they are loaded (resampled) at.
    n_samples : int, samples, keyword-only
        Length of every row.
    progress : bool, keyword-only
        Show a progress bar.

    Returns
    -------
    np.ndarray [shape=(len(paths), n_samples), dtype=float32]
    """
    from tqdm import tqdm

    from workbench.audio import load, to_mono

    X = np.zeros((len(paths), n_samples), np.float32)
    for i, p in enumerate(tqdm(paths, desc="load notes", unit="note", disable=not progress)):
        y = to_mono(load(p, sr=sr)[0])[0]
        X[i, : min(n_samples, y.size)] = y[:n_samples]
    return X


def run_pitch_cnn(corpus: str | Path, *, out: str | Path, epochs: int = 15, seconds: float = 4.0, lr: float = 1e-3,
                  batch_size: int = 32, seed: int = 0, progress: bool = True, device: str = "cpu") -> dict:
    """Train :class:`models.pitch_cnn.RawPitchCNN` on ``corpus`` and write its report into ``out``.

    Train on train+valid, test on the test split (no instrument in both, asserted). Besides exact
    accuracy (the seed's figure) it reports accuracy within one semitone, the share of octave
    errors, accuracy per family and two chance levels (majority test pitch, uniform over 128).

    Writes ``results.json``, ``results.md``, ``history.csv`` and ``accuracy.png``.

    Parameters
    ----------
    corpus : str or Path
        An NSynth-format corpus with train/valid and test notes.
    out : str or Path, keyword-only
        The report folder (created).
    epochs : int, keyword-only
        Training epochs.
    seconds : float, seconds, keyword-only
        Audio per note (cut or zero-padded).
    lr : float, keyword-only
        Learning rate.
    batch_size : int, keyword-only
        Notes per batch.
    seed : int, keyword-only
        Training seed.
    progress : bool, keyword-only
        Show progress bars.
    device : str, keyword-only
        Where the network trains (``cpu``, ``cuda``, ``cuda:N``).

    Returns
    -------
    dict
        What ``results.json`` holds: the settings, note counts, ``test_accuracy``,
        ``best_test_accuracy``, ``within_semitone``, ``octave_errors``, the chance levels,
        ``per_family``, ``train_seconds``, ``parameters`` and the per-epoch ``history``.

    Raises
    ------
    ParameterError
        Bad epochs or seconds, or a corpus without notes in train/valid or in test.
    """
    from models.pitch_cnn import fit_pitch_cnn
    from workbench.corpus.nsynth import NSynth

    if epochs < 1:
        raise ParameterError(f"epochs={epochs} must be a positive integer")
    if seconds <= 0:
        raise ParameterError(f"seconds={seconds} must be positive")
    train = NSynth(corpus, split=["train", "valid"])
    test = NSynth(corpus, split="test")
    if not len(train) or not len(test):
        raise ParameterError(f"corpus={str(corpus)!r} needs notes in train/valid and in test; it has "
                             f"{len(train)} and {len(test)}")
    g_tr = {m["instrument"] for m in train.examples}
    g_te = {m["instrument"] for m in test.examples}
    assert not g_tr & g_te, "an instrument is in both the training and the test notes"
    sr = int(train.examples[0]["sample_rate"])
    n = int(round(seconds * sr))
    X_tr = load_waveforms(train.paths(), sr=sr, n_samples=n, progress=progress)
    X_te = load_waveforms(test.paths(), sr=sr, n_samples=n, progress=progress)
    y_tr = np.array([int(m["pitch"]) for m in train.examples])
    y_te = np.array([int(m["pitch"]) for m in test.examples])
    res = fit_pitch_cnn(X_tr, y_tr, X_te, y_te, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                        progress=progress, device=device)
    pred = res.pop("test_predictions")
    diff = pred - y_te
    fams = np.array([m["instrument_family_str"] for m in test.examples])
    results = {
        "corpus": str(corpus), "sr": sr, "seconds": seconds, "epochs": epochs, "lr": lr, "batch_size": batch_size,
        "seed": seed, "train_notes": len(y_tr), "test_notes": len(y_te),
        "test_accuracy": res["test_accuracy"], "best_test_accuracy": res["best_test_accuracy"],
        "within_semitone": float(np.mean(np.abs(diff) <= 1)),
        "octave_errors": float(np.mean((diff != 0) & (diff % 12 == 0))),
        "chance_majority": res["chance"], "chance_uniform": res["uniform_chance"],
        "per_family": {f: {"accuracy": float(np.mean(pred[fams == f] == y_te[fams == f])),
                           "notes": int(np.sum(fams == f))} for f in sorted(set(fams))},
        "train_seconds": res["seconds"], "parameters": res["parameters"], "history": res["history"],
    }
    _write(Path(out), results)
    return results


def _write(out: Path, r: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(r, indent=1))
    with (out / "history.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(r["history"][0]))
        w.writeheader()
        w.writerows(r["history"])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] + 1 for h in r["history"]]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(ep, [h["train_accuracy"] for h in r["history"]], label="train")
    ax.plot(ep, [h["test_accuracy"] for h in r["history"]], label="test (unseen instruments)")
    ax.axhline(r["chance_majority"], color="grey", ls="--", label="majority pitch")
    ax.set(xlabel="epoch", ylabel="exact pitch accuracy", ylim=(0, 1), title="raw-audio pitch CNN")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "accuracy.png", dpi=90)
    plt.close(fig)
    lines = ["# Raw-audio pitch CNN (seed 001)", "",
             f"{r['train_notes']} train+valid notes, {r['test_notes']} held-out test notes of unseen instruments; "
             f"{r['seconds']} s of audio at {r['sr']} Hz, {r['epochs']} epochs, {r['parameters']} parameters, "
             f"{r['train_seconds']} s of training.", "",
             "| measure | test |", "|---|---|",
             f"| exact MIDI pitch | {r['test_accuracy']:.3f} |",
             f"| within one semitone | {r['within_semitone']:.3f} |",
             f"| octave errors | {r['octave_errors']:.3f} |",
             f"| majority pitch (chance) | {r['chance_majority']:.3f} |",
             f"| uniform over 128 (chance) | {r['chance_uniform']:.4f} |", "",
             "| family | notes | exact accuracy |", "|---|---|---|"]
    lines += [f"| {f} | {v['notes']} | {v['accuracy']:.3f} |" for f, v in r["per_family"].items()]
    (out / "results.md").write_text("\n".join(lines) + "\n")


def load_pitch_cnn_report(folder: str | Path) -> dict:
    """Read a pitch-CNN report (``workbench pitchcnn``, :func:`run_pitch_cnn`).

    Parameters
    ----------
    folder : str or Path
        A folder written by ``workbench pitchcnn``.

    Returns
    -------
    dict
        ``results`` (results.json) and ``accuracy_png`` (its Path, or None when absent).

    Raises
    ------
    ParameterError
        The folder has no results.json with a history.
    """
    folder = Path(folder)
    res = read_json(folder / "results.json")
    if "history" not in res:
        raise ParameterError(f"report={str(folder)!r} has no results.json with a history; expected a folder "
                             f"written by `workbench pitchcnn`")
    png = folder / "accuracy.png"
    return {"results": res, "accuracy_png": png if png.is_file() else None}
