"""Melody and voice material: ground-truth notes agree with pYIN; bad material is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import needs_espeak, needs_festival, needs_soundfont, run_cli
from workbench.audio import load
from workbench.corpus.melodies import random_melody
from workbench.corpus.truth import f0_agreement, read_truth, reference_f0
from workbench.errors import ParameterError


def test_random_melody_properties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        notes = random_melody(rng, low=54, high=82, seconds=8.0)
        assert all(54 <= n["pitch"] <= 82 for n in notes)
        assert all(0 < n["onset"] < n["offset"] <= 8.0 - 0.6 + 1e-9 for n in notes)
        assert all(a["offset"] <= b["onset"] + 1e-9 for a, b in zip(notes, notes[1:]))  # monophonic
        assert all(a["pitch"] != b["pitch"] for a, b in zip(notes, notes[1:]))
        assert all(50 <= n["velocity"] <= 120 for n in notes)
    kinds = [b["onset"] - a["offset"] < 1e-9 for a, b in zip(notes, notes[1:])]
    assert any(kinds) and not all(kinds)  # legato and detached notes


def test_reference_f0():
    notes = [{"onset": 0.1, "offset": 0.5, "pitch": 69, "velocity": 90}]
    f0 = reference_f0(notes, np.array([0.0, 0.2, 0.6]))
    np.testing.assert_allclose(f0, [0, 440, 0])


@needs_soundfont
def test_melodies_ground_truth_agrees_with_pyin(trumpet_melodies):
    index = json.loads((trumpet_melodies / "index.json").read_text())
    assert index["count"] == 3 and index["instrument"] == "brass_acoustic_056"
    for name in index["items"]:
        truth = read_truth(trumpet_melodies / f"{name}.json")
        y, sr = load(trumpet_melodies / truth["audio"], mono=True)
        assert y.shape[1] == int(6.0 * sr)
        assert (trumpet_melodies / f"{name}.mid").is_file()
        agree = f0_agreement(y[0], sr=sr, notes=truth["notes"])
        assert agree["accuracy"] >= 0.9, (name, agree)
        assert agree["voicing_recall"] >= 0.8, (name, agree)


@needs_soundfont
def test_melody_midi_matches_notes(trumpet_melodies):
    import pretty_midi

    truth = read_truth(trumpet_melodies / "melody_000.json")
    pm = pretty_midi.PrettyMIDI(str(trumpet_melodies / "melody_000.mid"))
    assert pm.instruments[0].program == 56
    got = [(round(n.start, 3), n.pitch) for n in pm.instruments[0].notes]
    assert got == [(round(n["onset"], 3), n["pitch"]) for n in truth["notes"]]


@needs_soundfont
def test_melodies_deterministic(tmp_path, trumpet_melodies):
    from workbench.corpus.melodies import render_melodies

    render_melodies(tmp_path, program=56, count=1, seconds=6.0, seed=1, progress=False)
    assert (tmp_path / "melody_000.wav").read_bytes() == (trumpet_melodies / "melody_000.wav").read_bytes()


@needs_festival
@needs_espeak
def test_voice_material(tmp_path):
    from workbench.corpus.voice import render_voice

    s = render_voice(tmp_path, count=3, spoken=1, seed=2, progress=False)
    assert [i["kind"] for i in s["items"]] == ["sung"] * 3 + ["spoken"]
    for item in s["items"][:3]:
        truth = read_truth(tmp_path / f"{item['name']}.json")
        y, sr = load(tmp_path / truth["audio"], mono=True)
        assert sr == 16000
        # Festival sings what the score says: the notes end where the audio ends (within 0.5 s).
        assert abs(truth["notes"][-1]["offset"] - y.shape[1] / sr) < 0.5
        agree = f0_agreement(y[0], sr=sr, notes=truth["notes"])
        assert agree["accuracy"] >= 0.9, (item, agree)
        assert agree["voicing_recall"] >= 0.7, (item, agree)
    spoken = read_truth(tmp_path / "spoken_000.json")
    assert spoken["kind"] == "spoken" and spoken["text"] and spoken["notes"] == []
    y, _ = load(tmp_path / "spoken_000.wav", mono=True)
    assert y.shape[1] > 16000


@needs_festival
def test_festival_empty_output_is_caught(tmp_path, monkeypatch):
    # Festival exits 0 and writes nothing when the score has no DOCTYPE; we must notice.
    import workbench.corpus.voice as voice

    monkeypatch.setattr(voice, "_DOCTYPE", "")
    with pytest.raises(ParameterError, match="festival singing (failed|produced an empty|is only 0% voiced)"):
        voice.sing({"bpm": 80, "items": [{"syllable": "la", "pitch": 55, "beats": 1.0}]}, tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_unpitched_audio_is_refused():
    from workbench.corpus.voice import _check_pitched

    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    with pytest.raises(ParameterError, match="voiced; expected at least"):
        _check_pitched(noise, 16000, "noise", min_voiced=0.5)
    with pytest.raises(ParameterError, match="empty or silent"):
        _check_pitched(np.zeros(16000, np.float32), 16000, "silence", min_voiced=0.5)


@pytest.mark.parametrize("args,match", [
    (["melodies", "--program", "47", "--count", "1"], "program=47 has no NSynth family"),
    (["melodies", "--program", "56", "--count", "0"], "count=0 must be a positive integer"),
    (["voice", "--low", "70", "--high", "60"], "voice range low=70, high=60"),
])
def test_cli_material_bad_args(tmp_path, args, match):
    proc = run_cli("corpus", *args, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and match in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
