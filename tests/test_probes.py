"""Probes: instrument-disjoint folds, reports, and the CLI on a rendered corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.probes import grouped_folds, label_of, make_classifier, run_probes
from tests.conftest import run_cli
from workbench.errors import ParameterError


def test_grouped_folds_never_share_an_instrument():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 23, size=400)
    folds = grouped_folds(groups, n_splits=5)
    assert len(folds) == 5
    seen = np.zeros(len(groups), int)
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te])
        seen[te] += 1
    assert (seen == 1).all()  # every note tested exactly once
    with pytest.raises(ParameterError, match="cannot be split into folds"):
        grouped_folds(np.zeros(10))


def _meta(inst, fam):
    return {"instrument": inst, "instrument_family_str": fam, "pitch": 60 + inst, "velocity": 100,
            "instrument_source_str": "acoustic"}


def test_run_probes_reports(tmp_path):
    rng = np.random.default_rng(1)
    # two separable classes, 6 instruments each side; test instruments are new
    def block(insts, fam, center):
        meta = [_meta(i, fam) for i in insts for _ in range(10)]
        return rng.normal(center, 1.0, size=(len(meta), 4)), meta
    a, ma = block(range(0, 6), "brass", 0.0)
    b, mb = block(range(6, 12), "flute", 4.0)
    c, mc = block(range(12, 14), "brass", 0.0)
    d, md = block(range(14, 16), "flute", 4.0)
    res = run_probes({"toy": (np.vstack([a, b]), np.vstack([c, d]))}, train_meta=ma + mb, test_meta=mc + md,
                     label="family", classifiers=("logreg", "knn"), out=tmp_path, progress=False)
    assert [p["classifier"] for p in res["probes"]] == ["logreg", "knn"]
    assert all(p["test_accuracy"] >= 0.95 and p["cv_accuracy_mean"] >= 0.95 for p in res["probes"])
    assert set(res["probes"][0]["per_class"]) == {"brass", "flute"}
    assert json.loads((tmp_path / "results.json").read_text())["label"] == "family"
    # the instrument-disjoint table, then seed 000's note-level split (SVM and MLP) beside it
    assert (tmp_path / "results.md").read_text().count("| toy |") == 4
    assert [(r["classifier"], r["test_notes"]) for r in res["note_split"]] == [("svm", 32), ("mlp", 32)]
    assert all(r["test_accuracy"] >= 0.9 for r in res["note_split"])
    assert (tmp_path / "confusion_toy_logreg.csv").read_text().startswith("true \\ predicted,brass,flute")
    assert (tmp_path / "confusion_toy_knn.png").stat().st_size > 1000
    with pytest.raises(AssertionError, match="both the training and the test"):
        run_probes({"toy": (a, c)}, train_meta=ma, test_meta=[_meta(0, "brass")] * len(c), label="family",
                   classifiers=("logreg",), out=tmp_path, progress=False)


def test_labels_and_classifiers():
    m = {"instrument_family_str": "reed", "pitch": 62, "velocity": 75, "instrument_source_str": "acoustic"}
    assert [label_of(m, k) for k in ("family", "pitch_class", "velocity", "source")] == ["reed", 2, 75, "acoustic"]
    with pytest.raises(ParameterError, match="label='timbre' is not valid"):
        label_of(m, "timbre")
    with pytest.raises(ParameterError, match="classifier='xgb' is not valid"):
        make_classifier("xgb")
    mlp = make_classifier("mlp")[-1]
    assert mlp.hidden_layer_sizes == (250, 250, 250)


def test_cli_probe(small_corpus, tmp_path):
    proc = run_cli("probe", "--corpus", str(small_corpus), "--features", "mfcc", "--classifiers", "logreg,knn",
                   "--folds", "3", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "probe"))
    assert proc.returncode == 0, proc.stderr
    assert "best test accuracy" in proc.stdout
    res = json.loads((tmp_path / "probe" / "results.json").read_text())
    assert res["folds"] == 3 and len(res["probes"]) == 2
    bad = run_cli("probe", "--corpus", str(small_corpus), "--classifiers", "xgb", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "classifier='xgb' is not valid" in bad.stderr
