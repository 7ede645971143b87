"""`workbench demo` (analysis.demo) at a small size: the report leads with the matched-pitch
table for a sung and a spoken phrase, every figure it names exists, and it leaves what every
dashboard page reads (issue 18)."""

from __future__ import annotations

import json

from analysis.report_scan import scan_reports
from models.run_info import list_runs, multi_instrument_runs


def test_demo_report_and_what_it_leaves(demo_roots):
    out = demo_roots["reports"] / "demo"
    report = (out / "report.md").read_text()
    sections = [ln for ln in report.splitlines() if ln.startswith("## ")]
    assert sections[0].startswith("## Does it sound like the trumpet?")
    assert "| method | sung_000: output dB |" in report and "spoken_000: output dB" in report
    for name in ("spectrograms.png", "spectrograms_spoken.png", "f0.png", "input.wav", "autoencoder.wav",
                 "autoencoder_spoken.wav", "figures.json"):
        assert (out / name).stat().st_size > 1000, name
    f = json.loads((out / "figures.json").read_text())
    assert {r["method"] for r in f["matched_pitch"]["rows"]} >= {"input", "autoencoder", "mosaic"}
    # issue 25: the baselines' target and the measure's floor share no clip, and every gap shows its distances
    split = f["matched_pitch"]["split"]
    assert split["target"] and split["floor"] and not set(split["target"]) & set(split["floor"])
    assert all(n.startswith("note_") for n in split["reference"] + split["floor"])
    for r in f["matched_pitch"]["rows"]:
        assert r["gap_closed"] is None or r["gap_closed"] <= 1.0
        assert {"input_db", "target_db", "pitch_error_share", "judged_share"} <= r.keys()
    assert "output dB | input dB | gap closed | pitch errors" in report
    found = scan_reports(demo_roots["reports"])
    assert found["evaluation"] and found["embedding"] and found["probe"], found
    assert {r.name for r in list_runs(demo_roots["runs"])} == {"demo-trumpet", "demo-multi"}
    assert [r.name for r in multi_instrument_runs(demo_roots["runs"])] == ["demo-multi"]
    assert "For the dashboard" in report and "demo-multi" in report
    # issue 30: the mixing model's codes x held-out notes, by both outside measures
    assert "Does each code sound like its instrument?" in report and "| notes \\ code | dry | brass |" in report
    conf = f["dashboard"]["mixing"]["confusion"]
    assert set(conf["diagonal"]) == {"timbre", "judge"} and (out / "mixing_codes.png").stat().st_size > 1000


def test_material_split_keeps_the_floor_out_of_the_baselines_target(tmp_path, trumpet_melodies):
    """Issue 25: the clips the measure's floor is made of are in no method's target material."""
    import pytest

    from analysis.demo import MaterialSplit, material_split
    from workbench.corpus.reference import render_reference_notes
    from workbench.errors import ParameterError

    (tmp_path / "trumpet").symlink_to(trumpet_melodies, target_is_directory=True)
    render_reference_notes(tmp_path / "trumpet-reference", program=56, step=7, progress=False)
    s = material_split(tmp_path, valid_fraction=0.34, seed=0)
    assert isinstance(s, MaterialSplit)
    assert len(s.target) == 2 and len(s.held) == 1 and len(s.floor) >= 1 and len(s.reference) >= 8
    names = [{p.name for p in getattr(s, k)} for k in ("target", "held", "reference", "floor")]
    assert sum(len(n) for n in names) == len(set().union(*names))  # pairwise disjoint
    assert all(p.parent.name == "trumpet" for p in s.target + s.held)
    assert all(p.parent.name == "trumpet-reference" for p in s.reference + s.floor)
    # the reference folder pointed at the melodies themselves: refused, not silently flattering
    (tmp_path / "trumpet-reference" / "note_999_001.wav").symlink_to(s.target[0])
    with pytest.raises(ParameterError, match=r"is in both target and (reference|floor); expected disjoint material$"):
        material_split(tmp_path, valid_fraction=0.34, seed=0)
