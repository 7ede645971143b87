"""Embedding maps: deterministic for a seed, files written, bad options refused."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from analysis.embeddings import embed, write_maps
from tests.conftest import run_cli
from workbench.errors import ParameterError


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    F = np.vstack([rng.normal(c, 1.0, size=(n // 3, 6)) for c in (0, 5, 10)])
    fams = ["brass", "flute", "reed"]
    meta = [{"note_str": f"n{i}", "instrument_str": f"i{i % 5}", "instrument_family_str": fams[i // (n // 3)],
             "instrument_source_str": "acoustic", "pitch": 40 + i % 30, "velocity": 100, "split": "train"}
            for i in range(n)]
    return F, meta


@pytest.mark.parametrize("method,dims", [("pca", 2), ("tsne", 2), ("tsne3d", 3), ("umap", 2)])
def test_same_seed_same_embedding(method, dims):
    F, _ = _data()
    a, b = embed(F, method, seed=3), embed(F, method, seed=3)
    assert a.shape == (len(F), dims)
    np.testing.assert_array_equal(a, b)


def test_write_maps(tmp_path):
    F, meta = _data()
    coords = write_maps(F, meta, methods=("pca", "tsne3d"), color=("family", "pitch"), out=tmp_path, seed=0)
    assert set(coords) == {"pca", "tsne3d"}
    rows = list(csv.DictReader((tmp_path / "pca.csv").open()))
    assert len(rows) == len(F) and rows[0]["instrument_family_str"] == "brass" and "pca_2" in rows[0]
    for name in ("pca_family.png", "pca_pitch.png", "tsne3d_family.png", "pca.html", "tsne3d.html"):
        assert (tmp_path / name).stat().st_size > 1000, name
    assert "plotly" in (tmp_path / "pca.html").read_text()[:200000].lower()


def test_bad_options(tmp_path):
    F, meta = _data()
    with pytest.raises(ParameterError, match="method='lda' is not valid"):
        embed(F, "lda")
    with pytest.raises(ParameterError, match="color='timbre' is not valid"):
        write_maps(F, meta, methods=("pca",), color=("timbre",), out=tmp_path)
    with pytest.raises(ParameterError, match="too few to embed"):
        embed(F[:3], "pca")


def test_cli_embed(small_corpus, tmp_path):
    proc = run_cli("embed", "--corpus", str(small_corpus), "--methods", "pca,umap", "--color", "family",
                   "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "e"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "e" / "umap_family.png").is_file() and (tmp_path / "e" / "pca.html").is_file()
    bad = run_cli("embed", "--corpus", str(small_corpus), "--methods", "mds", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "method='mds' is not valid" in bad.stderr
