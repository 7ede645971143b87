"""The raw-audio pitch CNN (seed 001): shapes, and it learns pitch from waveforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.pitch_cnn import RawPitchCNN, fit_pitch_cnn
from workbench.errors import ParameterError


def test_shapes_match_the_seed_network():
    net = RawPitchCNN()
    assert net(torch.zeros(2, 64000)).shape == (2, 128)
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv1d)]
    assert [c.out_channels for c in convs] == [4, 8, 12, 16] and all(c.kernel_size == (9,) for c in convs)
    with pytest.raises(ParameterError, match="too short"):
        RawPitchCNN(n_samples=100)


def test_learns_pitch_of_harmonic_tones():
    rng = np.random.default_rng(0)
    sr, n = 16000, 8192
    t = np.arange(n) / sr
    pitches = [48, 55, 60, 67, 72, 79]

    def tones(count):
        X, y = [], []
        for _ in range(count):
            p = pitches[rng.integers(len(pitches))]
            f = 440 * 2 ** ((p - 69) / 12)
            tilt = rng.uniform(0.5, 2.0)  # different "instruments": different spectral tilts
            x = sum(k ** -tilt * np.sin(2 * np.pi * k * f * t + rng.uniform(0, 6.3)) for k in range(1, 8))
            X.append(x * rng.uniform(0.2, 0.8) / np.abs(x).max())
            y.append(p)
        return np.array(X, np.float32), np.array(y)

    Xtr, ytr = tones(480)
    Xte, yte = tones(60)
    r = fit_pitch_cnn(Xtr, ytr, Xte, yte, epochs=30, lr=1e-3, batch_size=16, progress=False, hidden=128)
    assert r["best_test_accuracy"] >= 0.8, [h["test_accuracy"] for h in r["history"]]
    assert r["best_test_accuracy"] > 3 * r["chance"]


def test_cli_pitchcnn_report(small_corpus, tmp_path):
    import json

    from tests.conftest import run_cli

    out = tmp_path / "pc"
    r = run_cli("pitchcnn", "--corpus", str(small_corpus), "--epochs", "2", "--seconds", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    res = json.loads((out / "results.json").read_text())
    assert res["test_notes"] > 0 and len(res["history"]) == 2
    assert res["test_accuracy"] <= res["within_semitone"] <= 1
    assert set(res["per_family"]) <= {"brass", "flute", "organ", "keyboard", "bass", "string", "reed"}
    for name in ("results.md", "history.csv", "accuracy.png"):
        assert (out / name).stat().st_size > 0
    bad = run_cli("pitchcnn", "--corpus", str(small_corpus), "--epochs", "0", "--out", str(out))
    assert bad.returncode == 2 and "epochs=0" in bad.stderr and "Traceback" not in bad.stderr
