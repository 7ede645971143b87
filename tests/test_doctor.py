"""`workbench doctor`: each check on generated audio with known answers, and each bad input."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis.doctor import examine, load_report, training_estimate, write_report
from analysis.doctor.decay import decay_rt60s, rt60_summary
from analysis.doctor.scan import scan_file
from tests.conftest import requires, run_cli
from workbench.errors import ParameterError

SR = 16000
needs_sox = requires(None if shutil.which("sox") else "sox missing")
QUICK = dict(pitch_seconds=4.0)  # pYIN is the slow part; the checks need only a few seconds of it


def _notes(midis, *, sr=SR, note=0.5, gap=0.25, amp=0.3, rt60=0.05, seed=0) -> np.ndarray:
    """Harmonic notes with an exponential release of ``rt60`` s, gaps between them, a -80 dBFS floor."""
    rng = np.random.default_rng(seed)
    out = []
    for m in midis:
        f0 = 440.0 * 2 ** ((m - 69) / 12)
        t = np.arange(int((note + gap) * sr)) / sr
        y = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6) if h * f0 < sr / 2)
        env = np.where(t < note, 1.0, 10 ** (-3 * (t - note) / rt60))
        out.append(amp * y * env)
    y = np.concatenate(out)
    return (y + 1e-4 * rng.standard_normal(y.size)).astype(np.float32)


def _finding(r, check, level=None):
    return [f for f in r["findings"] if f["check"] == check and (level is None or f["level"] == level)]


# ----------------------------------------------------------------------------- the level pass


def test_levels_clipping_dc_silence(tmp_path):
    y = np.zeros(4 * SR, np.float32)
    y[: 2 * SR] = 0.5 * np.sin(2 * np.pi * 220 * np.arange(2 * SR) / SR)  # 2 s tone, then 2 s digital zero
    y[1000:1100] = 1.0  # 100 clipped samples in a run
    sf.write(tmp_path / "a.wav", np.stack([y + 0.02, y], 1), SR, subtype="FLOAT")  # DC 0.02 on the left
    s = scan_file(tmp_path / "a.wav")
    assert s.channels == 2 and s.seconds == pytest.approx(4.0) and not s.sampled
    assert s.dc[0] == pytest.approx(0.02 + y.mean(), abs=1e-4) and abs(s.dc[1] - y.mean()) < 1e-4
    assert 99 * 2 <= s.clipped <= 101 * 2
    assert s.levels.size == 400 and np.allclose(s.levels[-150:], -40.0)  # the mono mix of a 0.02 / 0 DC
    assert np.median(s.levels[10:150]) == pytest.approx(-9.0, abs=0.5)  # 0.5-amplitude sine: -6 dB, -3 dB as power


def test_long_file_is_read_as_excerpts(tmp_path):
    y = _notes(range(60, 72))
    sf.write(tmp_path / "a.wav", np.tile(y, 20), SR)  # 180 s
    s = scan_file(tmp_path / "a.wav", budget_seconds=30.0)
    assert s.sampled and s.analysed_seconds == pytest.approx(30.0, abs=0.1) and len(s.segments) == 1
    s = scan_file(tmp_path / "a.wav", budget_seconds=125.0)
    assert len(s.segments) == 3 and s.segments[-1][0] == pytest.approx(180 - 125 / 3, abs=0.1)


# ----------------------------------------------------------------------------- reverberation


@pytest.mark.parametrize("rt60", [0.3, 1.2])
def test_rt60_of_exponential_decays(tmp_path, rt60):
    sf.write(tmp_path / "a.wav", _notes([57, 60, 64, 67, 69, 72], gap=2.5 * rt60, rt60=rt60), SR)
    s = scan_file(tmp_path / "a.wav")
    got = rt60_summary(decay_rt60s(s.levels, floor_db=float(np.percentile(s.levels, 5))))
    assert got["decays"] >= 4 and got["rt60_s"] == pytest.approx(rt60, rel=0.1), got


def test_legato_gives_no_estimate():
    assert rt60_summary(decay_rt60s(np.full(1000, -20.0)))["rt60_s"] is None
    # notes that run to the end of the track (or of an excerpt) have no decay to read
    assert decay_rt60s(np.r_[np.full(50, -100.0), np.full(50, -10.0)]).size == 0
    assert decay_rt60s(np.tile(np.r_[np.full(50, -100.0), np.full(50, -10.0)], 4)).size == 3


@needs_sox
def test_rt60_grows_with_sox_reverberance(tmp_path):
    sf.write(tmp_path / "dry.wav", _notes([57, 60, 64, 67, 69, 72], gap=2.5, rt60=0.02), SR)
    got = []
    for rev in (0, 20, 80):
        wet = tmp_path / f"wet{rev}.wav"
        subprocess.run(["sox", "-q", "-v", "0.5", str(tmp_path / "dry.wav"), str(wet), *(["reverb", str(rev)] if rev
                                                                                         else [])], check=True)
        s = scan_file(wet)
        got.append(rt60_summary(decay_rt60s(s.levels, floor_db=max(float(np.percentile(s.levels, 5)), -100)))["rt60_s"])
    assert got[0] < 0.15 and got[0] < got[1] < got[2], got


# ----------------------------------------------------------------------------- the examination


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    d = tmp_path_factory.mktemp("clean")
    sf.write(d / "low.wav", _notes(range(48, 60), rt60=0.4), SR)
    sf.write(d / "high.wav", _notes(range(60, 72), rt60=0.4, seed=1), SR)
    return d


def test_examine_clean_material(clean):
    r = examine(clean, pitch_seconds=20.0)  # all of it: the coverage figures are exact
    t, p = r["totals"], r["pitch"]
    assert t["readable"] == 2 and t["seconds"] == pytest.approx(2 * 12 * 0.75, abs=0.01)
    assert 0.5 * t["seconds"] < t["usable_seconds"] <= t["seconds"]
    assert 48 <= p["p5"] <= 51 and 69 <= p["p95"] <= 72, p
    assert set(map(int, p["histogram"])) <= set(range(47, 73))
    assert p["coverage"]["sung"]["share"] == pytest.approx(24 / 45, abs=0.1)
    # the gaps hold the 0.4 s releases down to about -50 dBFS: the quietest 5 % of frames are tails
    assert -52 < r["levels"]["noise_floor_dbfs"] < -40
    assert r["reverb"]["rt60_s"] == pytest.approx(0.4, rel=0.15)
    assert not r["duplicates"] and not r["unreadable"] and not r["too_short"]["files"]
    assert r["verdict"]["verdict"] == "usable with caveats" and _finding(r, "amount", "warn")  # 18 s: too little
    assert all(f["action"] for f in r["findings"] if f["level"] in ("warn", "bad"))


def test_instrument_range_and_judge_stub(clean):
    class Judge:  # what examine asks of a fitted InstrumentJudge
        def predict(self, audio, *, sr):
            assert sr == 16000 and all(a.ndim == 1 for a in audio)
            return np.array(["voice"] * 3 + ["brass"])

    r = examine(clean, instrument_range=(40, 82), family="flute", judge=Judge(), **QUICK)
    assert r["pitch"]["coverage"]["instrument"]["low"] == 40
    assert r["judge"]["shares"] == {"brass": 0.25, "voice": 0.75}
    msgs = " ".join(f["message"] for f in _finding(r, "judge", "warn"))
    assert "75 % of windows sound like a voice" in msgs and "not flute" in msgs
    assert "skipped" in _finding(examine(clean, **QUICK), "judge")[0]["message"]


def test_formats_duplicates_and_short_files(tmp_path):
    y = _notes(range(55, 67))
    sf.write(tmp_path / "a.wav", y, SR)
    sf.write(tmp_path / "copy.flac", y, SR)  # the same audio in another container
    sf.write(tmp_path / "six.wav", np.tile(y[:, None], (1, 6)), 48000, subtype="PCM_24")
    sf.write(tmp_path / "tiny.wav", y[:500], SR)  # shorter than one 1024-sample frame
    r = examine(tmp_path, **QUICK)
    assert r["duplicates"] == [[str(tmp_path / "a.wav"), str(tmp_path / "copy.flac")]]
    assert r["too_short"]["files"] == [str(tmp_path / "tiny.wav")]
    assert r["formats"]["channels"] == {"1": 3, "6": 1} and set(r["formats"]["sr"]) == {"16000", "48000"}
    assert _finding(r, "format", "warn")[0]["message"].startswith("1 files with more than 2 channels (six.wav)")
    assert _finding(r, "duplicates", "warn") and _finding(r, "length", "warn")


def test_report_round_trip(clean, tmp_path):
    r = examine(clean, **QUICK)
    out = write_report(r, tmp_path / "rep")
    back = load_report(out)
    assert back["verdict"] == r["verdict"] and back["totals"] == r["totals"]
    md = (out / "doctor.md").read_text()
    assert md.startswith(f"# Doctor: {clean}") and "## Pitch histogram (MIDI)" in md and "*do:*" in md
    with pytest.raises(ParameterError, match="expected a folder written by `workbench doctor`"):
        load_report(tmp_path)


def test_training_estimate_scales_with_duration():
    a, b = training_estimate(100.0), training_estimate(200.0)
    assert b["autoencoder"]["max_s"] == pytest.approx(2 * a["autoencoder"]["max_s"], rel=0.02)
    assert b["ddsp"]["controls_s"] > a["ddsp"]["controls_s"] and a["ddsp"]["high_s"] <= a["ddsp"]["controls_s"] + 600
    assert "BENCHMARKS.md" in a["source"]


# ----------------------------------------------------------------------------- bad input


def test_empty_folder_and_text_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="is an empty folder"):
        examine(tmp_path / "empty")
    (tmp_path / "text").mkdir()
    for n in ("a.txt", "b.md"):
        (tmp_path / "text" / n).write_text("not audio")
    with pytest.raises(ParameterError, match=r"holds no audio files \(2 other files: a.txt, b.md\)"):
        examine(tmp_path / "text")
    with pytest.raises(ParameterError, match="does not exist"):
        examine(tmp_path / "nope")


def test_short_file_is_not_enough(tmp_path):
    sf.write(tmp_path / "s.wav", _notes([60], note=0.15, gap=0.05), SR)
    r = examine(tmp_path / "s.wav", **QUICK)
    assert r["totals"]["seconds"] == pytest.approx(0.2)
    assert r["verdict"]["verdict"] == "not enough" and "training needs at least 10 s" in r["verdict"]["reason"]


def test_corrupt_file_among_good_ones(clean, tmp_path):
    for f in clean.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    data = (tmp_path / "low.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])  # a half-copied file
    r = examine(tmp_path, **QUICK)
    assert r["totals"]["readable"] == 2 and r["totals"]["files"] == 4
    bad = {Path(u["path"]).name: u["reason"] for u in r["unreadable"]}
    assert set(bad) == {"bad.wav", "cut.wav"} and "truncated WAV" in bad["cut.wav"]
    assert r["verdict"]["verdict"] != "not enough"


def test_pure_noise(tmp_path):
    sf.write(tmp_path / "noise.wav", 0.1 * np.random.default_rng(0).standard_normal(20 * SR).astype(np.float32), SR)
    r = examine(tmp_path / "noise.wav", **QUICK)
    assert r["pitch"]["usable_share"] < 0.05 and _finding(r, "pitch", "bad")
    assert r["levels"]["noise_floor_dbfs"] is None  # no pauses: not measurable, and said so
    assert r["verdict"]["verdict"] == "not enough" and "pitched material" in r["verdict"]["reason"]


def _sparse_wav(path: Path, *, hours: float, sr: int = 8000) -> None:
    """A valid 16-bit mono WAV of ``hours`` of digital silence that takes no disk space (sparse)."""
    sf.write(path, np.zeros(16, np.int16), sr, subtype="PCM_16")
    head = bytearray(path.read_bytes())
    pos = head.index(b"data")
    n = int(hours * 3600 * sr) * 2
    head[pos + 4: pos + 8] = n.to_bytes(4, "little")
    head[4:8] = (pos + 8 + n - 8).to_bytes(4, "little")
    path.write_bytes(bytes(head[: pos + 8]))
    with open(path, "r+b") as f:
        f.truncate(pos + 8 + n)


def test_twenty_hour_file_is_sampled(tmp_path):
    _sparse_wav(tmp_path / "long.wav", hours=20)
    r = examine(tmp_path / "long.wav", budget_seconds=120.0, pitch_seconds=4.0)
    t = r["totals"]
    assert t["seconds"] == pytest.approx(72000) and t["sampled"] and t["analysed_seconds"] <= 121
    assert "read 120 of 72000 s" in _finding(r, "duration", "info")[0]["message"]
    assert r["verdict"]["verdict"] == "not enough"


# ----------------------------------------------------------------------------- the faces


def test_cli_doctor_writes_the_report(clean, tmp_path):
    p = run_cli("doctor", str(clean), "--out", str(tmp_path / "rep"), "--pitch-seconds", "4", "--program", "73")
    assert p.returncode == 0, p.stderr
    assert "verdict: usable with caveats" in p.stdout and "training here: autoencoder" in p.stdout
    cover = load_report(tmp_path / "rep")["pitch"]["coverage"]["instrument"]  # flute, GM 73: MIDI 60-96
    assert (cover["low"], cover["high"]) == (60, 96) and 0 < cover["share"] < 0.4


def test_cli_doctor_bad_folder_is_one_line(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x.txt").write_text("x")
    p = run_cli("doctor", str(tmp_path / "m"), "--out", str(tmp_path / "rep"))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "holds no audio files" in p.stderr
    assert not (tmp_path / "rep").exists()


def test_train_refuses_not_enough_unless_forced(tmp_path):
    sf.write(tmp_path / "noise.wav", 0.1 * np.random.default_rng(0).standard_normal(4 * SR).astype(np.float32), SR)
    args = ["train", "--target", str(tmp_path / "noise.wav"), "--out", str(tmp_path / "run"), "--set", "train.epochs=1"]
    p = run_cli(*args)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1, p.stderr
    assert "noise.wav: 0.0 s of usable pitched material" in lines[0] and "--force trains anyway" in lines[0]
    p = run_cli(*args, "--force")  # past the doctor, the trainer's own check speaks
    assert p.returncode == 2 and "doctor" not in p.stderr and "needs at least 2 s" in p.stderr, p.stderr
