"""`workbench demo` (analysis.demo) at a small size: the report leads with the matched-pitch
table for a sung and a spoken phrase, every figure it names exists, and it leaves what every
dashboard page reads (issue 18)."""

from __future__ import annotations

import json

from analysis.dashboard_data import scan_reports
from models.run_info import list_runs, multi_instrument_runs


def test_demo_report_and_what_it_leaves(demo_roots):
    out = demo_roots["reports"] / "demo"
    report = (out / "report.md").read_text()
    sections = [ln for ln in report.splitlines() if ln.startswith("## ")]
    assert sections[0].startswith("## Does it sound like the trumpet?")
    assert "| method | sung_000: distance dB |" in report and "spoken_000: distance dB" in report
    for name in ("spectrograms.png", "spectrograms_spoken.png", "f0.png", "input.wav", "autoencoder.wav",
                 "autoencoder_spoken.wav", "figures.json"):
        assert (out / name).stat().st_size > 1000, name
    f = json.loads((out / "figures.json").read_text())
    assert {r["method"] for r in f["matched_pitch"]["rows"]} >= {"input", "autoencoder", "mosaic"}
    found = scan_reports(demo_roots["reports"])
    assert found["evaluation"] and found["embedding"] and found["probe"], found
    assert {r.name for r in list_runs(demo_roots["runs"])} == {"demo-trumpet", "demo-multi"}
    assert [r.name for r in multi_instrument_runs(demo_roots["runs"])] == ["demo-multi"]
    assert "For the dashboard" in report and "demo-multi" in report
