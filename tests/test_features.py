"""Feature transformers: scikit-learn behaviour, kymatio agreement, a synthetic probe, the cache."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from analysis.feature_cache import cached_features, feature_matrix
from analysis.features import (
    LatentStats,
    MFCCStats,
    ScatteringStats,
    as_batch,
    make_features,
)
from workbench.errors import ParameterError

SR = 16000


def _synthetic(n_per_class=20, seconds=0.5, seed=0):
    """Sines, squares and noise at random pitches and levels: a timbre task with 3 classes."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    X, y = [], []
    for label in range(3):
        for _ in range(n_per_class):
            f = rng.uniform(150, 800)
            amp = rng.uniform(0.1, 0.8)
            if label == 0:
                x = np.sin(2 * np.pi * f * t)
            elif label == 1:
                x = np.sign(np.sin(2 * np.pi * f * t))
            else:
                x = rng.standard_normal(len(t))
            X.append((amp * x).astype(np.float32))
            y.append(label)
    return np.stack(X), np.array(y)


@pytest.mark.parametrize("make", [lambda: MFCCStats(n_mfcc=13), lambda: ScatteringStats(J=5, Q=4, log2_length=12),
                                  lambda: LatentStats(run="x")])
def test_sklearn_estimator_behaviour(make):
    est = make()
    params = est.get_params()
    twin = clone(est)
    assert twin.get_params() == params and twin is not est
    est.set_params(batch_size=7)
    assert est.get_params()["batch_size"] == 7


def test_fit_returns_self_and_shapes():
    X, _ = _synthetic(n_per_class=2)
    m = MFCCStats(n_mfcc=13)
    assert m.fit(X) is m
    assert m.transform(X).shape == (6, 2 * 13 * 2)
    assert MFCCStats(n_mfcc=13, deltas=False).fit_transform(X).shape == (6, 26)


def test_scattering_shape_matches_kymatio_meta():
    from kymatio.scattering1d.frontend.torch_frontend import ScatteringTorch1D

    X, _ = _synthetic(n_per_class=1)
    sc = ScatteringStats(J=5, Q=4, log2_length=12)
    assert sc.fit(X) is sc
    F = sc.transform(X)
    meta = ScatteringTorch1D(J=5, shape=2**12, Q=4).meta()
    assert F.shape == (3, len(meta["order"])) == (3, sc.n_coefficients_)
    assert np.isfinite(F).all()


@pytest.mark.parametrize("features", [MFCCStats(n_mfcc=13), ScatteringStats(J=5, Q=4, log2_length=12)])
def test_probe_on_synthetic_classes(features):
    X, y = _synthetic()
    pipe = make_pipeline(features, StandardScaler(), LogisticRegression(max_iter=2000))
    acc = cross_val_score(pipe, X, y, cv=3).mean()
    assert acc >= 0.95, acc


def test_latent_features(tiny_run):
    X, _ = _synthetic(n_per_class=2)
    F = LatentStats(run=str(tiny_run)).fit(X).transform(X)
    assert F.shape == (6, 2 * 8) and np.isfinite(F).all()
    assert (F[:, :8] > 0).all() and (F[:, :8] < 1).all()  # sigmoid bottleneck means


def test_cache_hit_and_key(tmp_path):
    import soundfile as sf

    X, _ = _synthetic(n_per_class=2)
    paths = []
    for i, x in enumerate(X):
        p = tmp_path / f"n{i}.wav"
        sf.write(p, x, SR, subtype="FLOAT")
        paths.append(p)
    f1, info1 = cached_features(MFCCStats(n_mfcc=13), paths, cache_dir=tmp_path / "cache", sr=SR)
    f2, info2 = cached_features(MFCCStats(n_mfcc=13), paths, cache_dir=tmp_path / "cache", sr=SR)
    assert not info1["cached"] and info2["cached"] and info2["seconds"] == 0.0
    np.testing.assert_array_equal(f1, f2)
    _, info3 = cached_features(MFCCStats(n_mfcc=12), paths, cache_dir=tmp_path / "cache", sr=SR)
    assert not info3["cached"]  # another configuration, another key
    sf.write(paths[0], X[1], SR, subtype="FLOAT")  # the corpus content changed
    _, info4 = cached_features(MFCCStats(n_mfcc=13), paths, cache_dir=tmp_path / "cache", sr=SR)
    assert not info4["cached"]
    assert not list((tmp_path / "cache").glob("*.pkl"))
    single, _ = feature_matrix("mfcc", paths, cache_dir=tmp_path / "cache", sr=SR)
    joined, _ = feature_matrix("mfcc+mfcc", paths, cache_dir=tmp_path / "cache", sr=SR)
    np.testing.assert_array_equal(joined, np.hstack([single, single]))
    with pytest.raises(ParameterError, match="empty part"):
        feature_matrix("mfcc+", paths, cache_dir=tmp_path / "cache", sr=SR)


def test_latent_cache_follows_the_weights(tiny_run, tmp_path):
    import os
    import shutil

    import soundfile as sf

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    X, _ = _synthetic(n_per_class=1)
    paths = []
    for i, x in enumerate(X):
        sf.write(tmp_path / f"n{i}.wav", x, SR, subtype="FLOAT")
        paths.append(tmp_path / f"n{i}.wav")
    _, a = cached_features(LatentStats(run=str(run)), paths, cache_dir=tmp_path / "cache", sr=SR)
    _, b = cached_features(LatentStats(run=str(run)), paths, cache_dir=tmp_path / "cache", sr=SR)
    assert b["cached"]
    w = run / "model.safetensors"
    os.utime(w, ns=(w.stat().st_atime_ns, w.stat().st_mtime_ns + 10**9))  # a retrained run's weights
    _, c = cached_features(LatentStats(run=str(run)), paths, cache_dir=tmp_path / "cache", sr=SR)
    assert not c["cached"]


def test_bad_inputs():
    with pytest.raises(ParameterError, match="features='chroma' is not valid"):
        make_features("chroma")
    with pytest.raises(ParameterError, match="NaN or Inf"):
        MFCCStats().transform(np.array([[0.0, np.nan] * 600], np.float32))
    with pytest.raises(ParameterError, match="needs run=RUN_DIR"):
        LatentStats().fit(None)
    assert as_batch([np.ones(5), np.ones(3)]).shape == (2, 5)
