"""The GM-rendered NSynth corpus: real pitched notes, envelope, schema, splits, determinism, loader."""

from __future__ import annotations

import json
import subprocess
import sys

import librosa
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import SMALL_PROGRAMS, needs_soundfont, run_cli
from workbench.corpus.families import (
    FAMILIES,
    instrument_str,
    parse_int_ranges,
    playable_range,
    program_family,
    program_source,
    programs_for,
)
from workbench.corpus.nsynth import REQUIRED_KEYS, NSynth
from workbench.corpus.render import assign_splits
from workbench.errors import ParameterError
from workbench.pitch import pyin_f0


def test_family_mapping_matches_issue():
    assert program_family(56) == "brass" and program_family(63) == "brass"
    assert program_family(108) == "mallet" and program_family(112) == "mallet" and program_family(114) == "mallet"
    assert program_family(104) == "guitar" and program_family(110) == "string" and program_family(111) == "reed"
    # 47 (timpani) is deliberately unmapped: no NSynth family fits it
    with pytest.raises(ParameterError, match="program=47 has no NSynth family"):
        program_family(47)
    assert {program_family(p) for p in programs_for()} == set(FAMILIES)
    assert program_source(56) == "acoustic" and program_source(81) == "synthetic" and program_source(27) == "electronic"
    assert instrument_str(56) == "brass_acoustic_056"
    lo, hi = playable_range(56)
    assert lo <= 60 <= hi


def test_parse_ranges():
    assert parse_int_ranges("21..25", name="pitches", lo=0, hi=127) == [21, 22, 23, 24, 25]
    assert parse_int_ranges("36..48:6,60", name="pitches", lo=0, hi=127) == [36, 42, 48, 60]
    with pytest.raises(ParameterError, match="pitches='x..y'"):
        parse_int_ranges("x..y", name="pitches", lo=0, hi=127)
    with pytest.raises(ParameterError, match="outside \\[0, 127\\]"):
        parse_int_ranges("100..130", name="pitches", lo=0, hi=127)


def test_splits_instrument_disjoint_and_cover_families():
    splits = assign_splits(programs_for(), seed=0)
    assert set(splits) == set(programs_for())
    for fam in FAMILIES:
        got = {s for p, s in splits.items() if program_family(p) == fam}
        assert got == {"train", "valid", "test"}, fam  # every family has >= 3 programs
    assert assign_splits(programs_for(), seed=0) == splits
    assert assign_splits(programs_for(), seed=1) != splits


@needs_soundfont
def test_schema_and_layout(small_corpus):
    for split in ("train", "valid", "test"):
        index = json.loads((small_corpus / f"nsynth-{split}" / "examples.json").read_text())
        assert index, split
        for key, meta in index.items():
            assert set(REQUIRED_KEYS) <= set(meta)
            assert key == meta["note_str"] == f"{meta['instrument_str']}-{meta['pitch']:03d}-{meta['velocity']:03d}"
            assert FAMILIES[meta["instrument_family"]] == meta["instrument_family_str"]
            assert len(meta["qualities"]) == 10
            assert (small_corpus / f"nsynth-{split}" / "audio" / f"{key}.wav").is_file()
    summary = json.loads((small_corpus / "render.json").read_text())
    assert summary["written"] + summary["skipped"]["silent"] + summary["skipped"]["off_pitch"] == summary["rendered"]


@needs_soundfont
def test_splits_disjoint_in_rendered_corpus(small_corpus):
    ds = NSynth(small_corpus)
    inst = ds.instruments()
    assert set(inst) == {"train", "valid", "test"}
    assert not inst["train"] & inst["valid"] and not inst["train"] & inst["test"] and not inst["valid"] & inst["test"]


@needs_soundfont
def test_notes_are_real_pitched_audio(small_corpus):
    ds = NSynth(small_corpus)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(ds), size=10, replace=False)
    for i in picks:
        audio, meta = ds[int(i)]
        y = audio[0].numpy()
        sr = meta["sample_rate"]
        assert y.shape == (4 * sr,) and np.abs(y).max() <= 1.0
        ref = librosa.midi_to_hz(meta["pitch"])
        _, f0, voiced = pyin_f0(y[int(0.1 * sr): int(1.5 * sr)], sr=sr, fmin=ref / 1.5, fmax=ref * 1.5,
                                frame_length=2048, hop_length=512)
        cents = 1200 * np.log2(np.nanmedian(f0[voiced]) / ref)
        assert abs(cents) <= 30, (meta["note_str"], cents)


@needs_soundfont
def test_hold_and_release_envelope(small_corpus):
    # Trumpet sustains at a steady level for the whole hold, then stops after note-off.
    ds = NSynth(small_corpus, program=56, velocity=127)
    assert len(ds)
    audio, meta = ds[0]
    y = audio[0].numpy()
    sr = meta["sample_rate"]

    def db(a, b):
        seg = y[int(a * sr): int(b * sr)]
        return 20 * np.log10(np.sqrt(np.mean(seg**2)) + 1e-12)

    assert abs(db(0.5, 1.0) - db(2.4, 2.9)) < 3  # sustained during the hold
    assert db(3.6, 4.0) < db(2.4, 2.9) - 40  # released after 3 s
    assert "long_release" not in meta["qualities_str"] and "percussive" not in meta["qualities_str"]
    # Piano decays during the hold, from a sharp attack.
    piano = NSynth(small_corpus, program=0, velocity=127)
    y_p = piano[0][0][0].numpy()
    # Church organ keeps sounding after note-off: measured as NSynth's long_release.
    _, organ = NSynth(small_corpus, program=19, velocity=127)[0]
    assert "long_release" in organ["qualities_str"]
    assert 20 * np.log10(np.abs(y_p[: sr // 10]).max()) > 20 * np.log10(np.abs(y_p[2 * sr: 3 * sr]).max()) + 6


@needs_soundfont
def test_velocity_kept_after_normalisation(small_corpus):
    ds = NSynth(small_corpus, program=56, pitch=60)
    levels = {m["velocity"]: float(np.sqrt(np.mean(a.numpy() ** 2))) for a, m in (ds[i] for i in range(len(ds)))}
    assert levels[127] > levels[60] * 1.5


@needs_soundfont
@pytest.mark.timeout(180)
def test_same_seed_identical_files(tmp_path):
    # In-process first, then a worker pool: a forked pool used to deadlock on FluidSynth's threads.
    # Both renders run in one fresh interpreter: state left by earlier tests in this process (the
    # autoencoder tests' torch work) changed in-process FluidSynth output in the full suite.
    script = (
        "import json, sys\n"
        "from workbench.corpus.render import RenderConfig, render_corpus\n"
        "cfg = RenderConfig(programs=(56, 73), pitches=(60, 64), velocities=(100,), seed=5)\n"
        f"a = render_corpus({str(tmp_path / 'a')!r}, cfg, workers=1, progress=False)\n"
        f"b = render_corpus({str(tmp_path / 'b')!r}, cfg, workers=2, progress=False)\n"
        "print(json.dumps([a['splits'], b['splits']]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stderr[-2000:]
    a_splits, b_splits = json.loads(proc.stdout.strip().splitlines()[-1])
    assert a_splits == b_splits
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.wav"))
    assert files
    for f in files:
        same = (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
        assert same, f  # compared as a bool: pytest's diff of two WAVs' bytes takes minutes
    assert (tmp_path / "a" / "nsynth-train" / "examples.json").read_text() == \
        (tmp_path / "b" / "nsynth-train" / "examples.json").read_text()


@needs_soundfont
def test_loader_filters_and_dataset(small_corpus):
    ds = NSynth(small_corpus)
    assert len(ds) > 50
    brass = NSynth(small_corpus, family="brass")
    assert set(brass.column("instrument_family_str")) == {"brass"}
    train = NSynth(small_corpus, family=["brass", "flute"], split="train", velocity=127)
    assert set(train.column("split")) == {"train"} and set(train.column("velocity")) == {127}
    sel = ds.select(program=56, pitch=[60, 67])
    assert set(sel.column("pitch")) <= {60, 67} and set(sel.column("program")) == {56}
    audio, meta = sel[0]
    assert audio.shape == (1, 64000) and audio.dtype.is_floating_point
    resampled = NSynth(small_corpus, program=56, sr=8000)
    assert resampled[0][0].shape == (1, 32000)
    # a DataLoader batches it
    import torch
    batch = next(iter(torch.utils.data.DataLoader(sel, batch_size=2, collate_fn=lambda b: b)))
    assert len(batch) == 2


def test_loader_reads_real_nsynth_layout(tmp_path):
    # A real NSynth split folder: no 'program' key, integer instrument ids, split from the folder name.
    d = tmp_path / "nsynth-valid"
    (d / "audio").mkdir(parents=True)
    meta = {"note": 1, "note_str": "keyboard_acoustic_004-060-127", "instrument": 4,
            "instrument_str": "keyboard_acoustic_004", "pitch": 60, "velocity": 127, "sample_rate": 16000,
            "instrument_family": 4, "instrument_family_str": "keyboard", "instrument_source": 0,
            "instrument_source_str": "acoustic", "qualities": [0] * 10, "qualities_str": []}
    (d / "examples.json").write_text(json.dumps({meta["note_str"]: meta}))
    sf.write(d / "audio" / f"{meta['note_str']}.wav", np.zeros(64000, np.float32) + 0.1, 16000)
    for root in (tmp_path, d):
        ds = NSynth(root, program=4)
        assert len(ds) == 1 and ds.examples[0]["split"] == "valid"


@pytest.mark.parametrize("kw,match", [
    ({"family": "trumpets"}, "family='trumpets' is not valid"),
    ({"split": "dev"}, "split='dev' is not valid"),
])
def test_loader_bad_filters(small_corpus, kw, match):
    with pytest.raises(ParameterError, match=match):
        NSynth(small_corpus, **kw)


def test_loader_bad_root(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        NSynth(tmp_path / "missing")
    with pytest.raises(ParameterError, match="no examples.json"):
        NSynth(tmp_path)


@needs_soundfont
def test_cli_render_and_info(tmp_path):
    out = tmp_path / "c"
    proc = run_cli("corpus", "render", "--out", str(out), "--programs", "56,73", "--pitches", "60,67",
                   "--velocities", "100", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "notes/s" in proc.stdout
    info = run_cli("corpus", "info", str(out))
    assert info.returncode == 0 and "notes" in info.stdout


@pytest.mark.parametrize("args,match", [
    (["--families", "trumpets"], "family='trumpets' is not an NSynth family"),
    (["--programs", "47"], "program=47 has no NSynth family"),
    (["--pitches", "200"], "outside \\[0, 127\\]"),
    (["--velocities", "0"], "outside \\[1, 127\\]"),
    (["--hold", "5"], "hold=5.0 must be in"),
])
def test_cli_render_bad_args(tmp_path, args, match):
    proc = run_cli("corpus", "render", "--out", str(tmp_path / "x"), *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    import re
    assert re.search(match, lines[0]), lines[0]


def test_small_programs_cover_splits():
    splits = assign_splits(SMALL_PROGRAMS, seed=3)
    assert set(splits.values()) == {"train", "valid", "test"}


@needs_soundfont
def test_reference_notes_are_sustained_at_other_velocities_than_the_training_melodies(tmp_path):
    """Issue 25: the timbre measure's reference is rendered apart from the training material:
    sustained notes at velocities the melodies never play, at the asked pitches."""
    from workbench.corpus.melodies import random_melody
    from workbench.corpus.reference import render_reference_notes

    s = render_reference_notes(tmp_path / "ref", program=56, low=58, high=66, step=4, progress=False)
    assert [(i["pitch"], i["velocity"]) for i in s["items"]] == [(p, v) for p in (58, 62, 66) for v in (40, 124)]
    melody = random_melody(np.random.default_rng(0), low=54, high=82, seconds=60.0)
    assert not {n["velocity"] for n in melody} & set(s["velocities"])
    assert s["hold"] > max(n["offset"] - n["onset"] for n in melody)
    for item in s["items"][::2]:
        y, sr = sf.read(tmp_path / "ref" / f"{item['name']}.wav")
        assert y.size == int(2.5 * sr)
        _, f0, voiced = pyin_f0(y[int(0.3 * sr): int(1.8 * sr)], sr=sr, fmin=100, fmax=1000, frame_length=2048,
                                hop_length=512)
        assert abs(np.nanmedian(librosa.hz_to_midi(f0[voiced])) - item["pitch"]) < 0.3
    assert json.loads((tmp_path / "ref" / "index.json").read_text())["items"] == s["items"]


@pytest.mark.parametrize("kw, match", [
    ({"velocities": (0, 64)}, r"^velocities=\(0, 64\) must be MIDI velocities in \[1, 127\]$"),
    ({"hold": 3.0}, r"^hold=3.0 must be in \(0, seconds=2.5\) seconds$"),
    ({"low": 70, "high": 60}, r"^range \[70, 60\] must be MIDI notes with low <= high$"),
])
def test_reference_notes_bad_args(tmp_path, kw, match):
    from workbench.corpus.reference import render_reference_notes

    with pytest.raises(ParameterError, match=match):
        render_reference_notes(tmp_path, program=56, progress=False, **kw)


def test_fast_phrase_is_eighth_notes_at_120_bpm():
    from workbench.corpus.voice import _phrase_notes, fast_phrase

    phrase = fast_phrase(np.random.default_rng(0), notes=16)
    notes = _phrase_notes(phrase)
    assert len(notes) == 16 and all(45 <= n["pitch"] <= 60 for n in notes)
    assert np.allclose([n["offset"] - n["onset"] for n in notes], 0.25)  # an eighth at 120 bpm
    with pytest.raises(ParameterError, match="low=60, high=50"):
        fast_phrase(np.random.default_rng(0), low=60, high=50)


def test_vibrato_moves_the_pitch_by_the_known_cents():
    """A time warp: a sine's instantaneous frequency (analytic signal) follows ``f * r(t)``."""
    from scipy.signal import hilbert

    from workbench.corpus.voice import add_vibrato
    from workbench.pitch import cents

    sr = 16000
    t = np.arange(2 * sr) / sr
    y = 0.5 * np.sin(2 * np.pi * 196.0 * t)
    v = add_vibrato(y, sr=sr, rate_hz=5.0, depth_cents=80.0)
    assert v.shape == y.shape and v.dtype == np.float32
    inst = np.diff(np.unwrap(np.angle(hilbert(v.astype(np.float64))))) * sr / (2 * np.pi)
    inner = slice(sr // 10, -sr // 10)
    truth = 80.0 * np.sin(2 * np.pi * 5.0 * t[1:])
    assert np.max(np.abs(cents(inst[inner], 196.0) - truth[inner])) < 3
    assert abs(np.sum(v[inner] ** 2) / np.sum(y[inner] ** 2) - 1) < 0.01  # nothing dropped or clipped
    assert np.array_equal(add_vibrato(y, sr=sr, depth_cents=0.0), y.astype(np.float32))
    with pytest.raises(ParameterError, match="rate_hz=0.*depth_cents=50"):
        add_vibrato(y, sr=sr, rate_hz=0.0)
