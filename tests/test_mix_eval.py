"""Issue 30: analysis.mix_eval judges a mixing run from outside (held-out notes x codes, alpha paths)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.mix_eval import (
    DRY,
    alpha_paths,
    code_confusion,
    code_figure,
    fit_references,
    held_out_notes,
    instrument_programs,
    mixing_judge,
    mixing_markdown,
    monotone,
)
from models.checkpoint import load_run
from models.train import split_indices
from workbench.corpus.select import target_labels
from workbench.errors import ParameterError

SR = 16000


def _tone(seconds=2.0, f0=330.0):
    t = np.arange(int(seconds * SR)) / SR
    y = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 12))
    return (y * np.minimum(1, t * 10)).astype(np.float32)


def test_monotone_allows_small_dips_and_needs_a_move():
    assert monotone([1.0, 2.0, 1.95, 3.0], increasing=True, tol=0.1)
    assert not monotone([1.0, 2.0, 1.5, 3.0], increasing=True, tol=0.1)
    assert monotone([3.0, 2.0, 1.0], increasing=False, tol=0.0)
    assert not monotone([1.0, 1.0, 1.0], increasing=True, tol=0.1)  # flat is not a path
    assert not monotone([1.0, None, 2.0], increasing=True, tol=0.1)


def test_held_out_notes_are_the_trainings_held_out_clips(multi_run):
    run = load_run(multi_run)
    notes = held_out_notes(run)
    assert set(notes) == set(run.config.model.codes) == {"brass", "flute"}
    paths, labels = target_labels(run.meta["target"], by="family")
    train, valid = split_indices(len(paths), valid_fraction=run.config.train.valid_fraction, seed=run.config.seed)
    seen = {paths[i] for i in train}
    held = [p for v in notes.values() for p in v]
    assert held and not seen & set(held) and set(held) <= {paths[i] for i in valid}
    assert all(labels[paths.index(p)] == name for name, v in notes.items() for p in v)
    progs = instrument_programs(run, limit=1)
    assert all(len(v) == 1 for v in progs.values()) and progs["brass"][0] in range(56, 64)


def test_one_instrument_run_is_refused(tiny_run):
    with pytest.raises(ParameterError, match="is not a mixing run"):
        held_out_notes(tiny_run)


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    # one program per instrument, every 6th semitone: enough to tell a trumpet from a flute
    return fit_references({"brass": [56], "flute": [73]}, tmp_path_factory.mktemp("refs"), step=6)


def test_references_name_their_own_notes(refs):
    from workbench.corpus.synth import GMSynth

    with GMSynth(sr=SR) as synth:
        trumpet = synth.note(56, 67, 90, hold=1.5, seconds=1.8)
        flute = synth.note(73, 72, 90, hold=1.5, seconds=1.8)
    d = refs.distances(trumpet, {"t": trumpet}, sr=SR)["t"]
    assert d["brass"] < d["flute"], d
    d = refs.distances(flute, {"f": flute}, sr=SR)["f"]
    assert d["flute"] < d["brass"], d
    assert all(v is not None and v > 0 for v in refs.floors.values())


def test_confusion_table_and_figure(multi_run, refs, tmp_path):
    run = load_run(multi_run)
    notes = held_out_notes(run, limit=1)
    judge = mixing_judge(run, work=tmp_path)
    conf = code_confusion(run, notes, refs, judge=judge, seconds=1.5)
    assert conf["codes"] == [DRY, "brass", "flute"] and len(conf["cells"]) == 2 * 3
    for c in conf["cells"]:
        assert set(c["timbre_db"]) == {"brass", "flute"} and c["lsd_db"] >= 0
        assert set(c["judge_share"]) == {"brass", "flute"}
        if c["code"] == DRY:
            assert c["lsd_db"] == pytest.approx(0.0, abs=1e-6)
    assert set(conf["diagonal"]) == {"timbre", "judge"}
    md = mixing_markdown({"run": str(multi_run), "confusion": conf, "paths": [], "voice": [],
                          "summary": {"diagonal": conf["diagonal"], "dry_named": conf["dry_named"],
                                      "monotone_timbre": "0/0", "monotone_judge": "0/0", "ends_timbre": "0/0",
                                      "ends_judge": "0/0"}})
    assert "| brass |" in md and "notes \\ code" in md
    png = code_figure(run, notes, tmp_path / "codes.png", seconds=1.0, voice=_tone(1.0))
    assert png.is_file() and png.stat().st_size > 1000


def test_alpha_paths_measure_both_ends(multi_run, refs):
    rows = alpha_paths(multi_run, {"tone": _tone()}, refs, modes=("blend",), alphas=(0.0, 1.0))
    assert [(r["source"], r["target"]) for r in rows] == [("brass", "flute"), ("flute", "brass")]
    for r in rows:
        assert len(r["timbre_a"]) == 2 and None not in r["timbre_a"] + r["timbre_b"]
        assert r["judge_a"] == [None, None] and "judge" not in r["monotone"]
        assert isinstance(r["monotone"]["timbre"], bool) and isinstance(r["ends"]["timbre"], bool)
