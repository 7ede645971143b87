"""The matched-pitch timbre measure, validated on tones whose harmonic levels are known."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from analysis.harmonic_timbre import NO_PITCH, HarmonicReference, gap_closed, harmonic_levels
from workbench.errors import ParameterError

SR = 16000


def tone(midi: float, slope_db: float, *, seconds: float = 1.0, odd_only: bool = False, seed: int = 0) -> np.ndarray:
    """A steady harmonic tone whose harmonic ``k`` is ``slope_db * (k - 1)`` dB below the first."""
    f0 = 440 * 2 ** ((midi - 69) / 12)
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    y = np.zeros_like(t)
    for k in range(1, int(7000 / f0) + 1):
        if odd_only and k % 2 == 0 and k > 1:
            continue
        y += 10 ** (-slope_db * (k - 1) / 20) * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
    y *= np.minimum(1, np.minimum(t, t[::-1]) / 0.02)  # 20 ms fades
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def dark_reference():
    """An 'instrument' whose harmonics fall 4 dB each, played from MIDI 55 to 70."""
    return HarmonicReference(min_seconds=2.0).fit([tone(p, 4.0, seed=p) for p in range(55, 71, 3)], sr=SR,
                                                  name="dark tones")


def test_levels_follow_the_known_slope():
    midi, lv = harmonic_levels(tone(60, 3.0), sr=SR)
    assert midi.size > 20 and np.allclose(np.median(midi), 60, atol=0.1)
    med = np.nanmedian(lv[:, :8], axis=0)
    assert np.allclose(med[:8], -3.0 * np.arange(8), atol=1.0)
    assert np.isnan(lv[:, -1]).all()  # harmonic 24 of 262 Hz is above the 5 kHz limit


def test_target_near_zero_input_far_and_gap_closed(dark_reference):
    held = dark_reference.distance([tone(p + 0.5, 4.0, seed=9) for p in (57, 63)], sr=SR)
    bright = dark_reference.distance(tone(60, 0.5), sr=SR)
    assert held.distance_db < 1.0
    assert bright.distance_db > 8 * held.distance_db
    # an output that is the instrument scores ~1, one that is the input scores 0
    assert gap_closed(bright.distance_db, held.distance_db, held.distance_db) == pytest.approx(1.0)
    assert gap_closed(bright.distance_db, bright.distance_db, held.distance_db) == pytest.approx(0.0)
    half = dark_reference.distance(tone(60, 2.2), sr=SR)
    assert 0.2 < gap_closed(bright.distance_db, half.distance_db, held.distance_db) < 0.8


def test_a_known_eq_moves_the_score_the_expected_way(dark_reference):
    x = tone(60, 0.5, seconds=1.5)
    base = dark_reference.distance(x, sr=SR).distance_db
    sos_lo = scipy.signal.butter(2, 800, "lowpass", fs=SR, output="sos")
    sos_hi = scipy.signal.butter(2, 1500, "highpass", fs=SR, output="sos")
    darker = dark_reference.distance(scipy.signal.sosfilt(sos_lo, x).astype(np.float32), sr=SR).distance_db
    brighter = dark_reference.distance(scipy.signal.sosfilt(sos_hi, x).astype(np.float32), sr=SR).distance_db
    assert darker < base - 1.0 < brighter - 1.0


def test_matched_pitch_interpolates_between_notes():
    ref = HarmonicReference(min_seconds=1.0).fit([tone(55, 2.0), tone(67, 6.0)], sr=SR, name="two notes")
    mid = ref.profile(np.array([61.0]))[0]
    assert np.allclose(mid[:5], -4.0 * np.arange(5), atol=1.0)
    low = ref.profile(np.array([40.0]))[0]  # below the range: the nearest note
    assert np.allclose(low[:5], -2.0 * np.arange(5), atol=1.0)


def test_odd_harmonics_count(dark_reference):
    odd = HarmonicReference(min_seconds=1.0).fit([tone(p, 1.0, odd_only=True) for p in (58, 62)], sr=SR, name="odd")
    assert odd.distance(tone(60, 1.0, odd_only=True, seed=3), sr=SR).distance_db < 3.0
    assert odd.distance(tone(60, 1.0, seed=3), sr=SR).distance_db > 10.0


@pytest.mark.parametrize("kind", ["noise", "drums", "silence"])
def test_no_pitched_frames_gives_a_line_not_a_number(dark_reference, kind):
    rng = np.random.default_rng(0)
    if kind == "noise":
        y = 0.1 * rng.standard_normal(SR)
    elif kind == "drums":
        y = np.zeros(SR)
        for s in range(0, SR, SR // 4):
            y[s:s + 1600] = rng.standard_normal(1600) * np.exp(-np.arange(1600) / 200)
    else:
        y = np.zeros(SR)
    d = dark_reference.distance(y.astype(np.float32), sr=SR)
    assert d.distance_db is None and d.status == NO_PITCH and str(d) == "no pitched frames"
    assert gap_closed(10.0, d.distance_db, 1.0) is None


def test_too_little_pitched_material_names_the_folder_and_seconds():
    with pytest.raises(ParameterError, match=r"^data/drums: 0\.0 s of pitched material found; .* at least 5 s"):
        HarmonicReference().fit([0.1 * np.random.default_rng(0).standard_normal(SR).astype(np.float32)], sr=SR,
                                name="data/drums")


def test_nan_audio_is_refused(dark_reference):
    y = tone(60, 1.0)
    y[100] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        dark_reference.distance(y, sr=SR)


def test_cli_evaluate_timbre_and_transfer_of_an_unpitched_input(trumpet_melodies, tiny_run, tmp_path):
    """Through the command a user runs: the trumpet itself scores ~1, noise gets one line and the
    transfer of noise still writes its output."""
    import soundfile as sf

    from tests.conftest import run_cli

    noise = tmp_path / "noise.wav"
    sf.write(noise, 0.1 * np.random.default_rng(1).standard_normal(SR).astype(np.float32), SR)
    out = tmp_path / "noise_out.wav"
    r = run_cli("transfer", "--method", "autoencoder", "--model", str(tiny_run), "--input", str(noise),
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert sf.info(out).frames == SR
    melody = sorted(trumpet_melodies.glob("melody_*.wav"))[0]
    r = run_cli("evaluate", "timbre", "--target", str(trumpet_melodies), "--input", str(noise), str(melody))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[1] == f"{noise}: no pitched frames"
    assert lines[2].startswith(f"{melody}: ") and lines[2].endswith("gap closed -")  # no input distance to close


def test_cli_target_with_too_little_pitched_material(tmp_path):
    import soundfile as sf

    from tests.conftest import run_cli

    drums = tmp_path / "drums"
    drums.mkdir()
    sf.write(drums / "a.wav", 0.1 * np.random.default_rng(2).standard_normal(2 * SR).astype(np.float32), SR)
    sf.write(drums / "b.wav", 0.1 * np.random.default_rng(3).standard_normal(2 * SR).astype(np.float32), SR)
    r = run_cli("evaluate", "timbre", "--target", str(drums), "--input", str(drums / "a.wav"))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"workbench: error: {drums}: 0.0 s of pitched material found; the "
                                             "matched-pitch measure needs at least 5 s"]
    # --force: past `workbench doctor`'s own refusal (tests/test_doctor.py), to the trainer's check
    r = run_cli("train", "--target", str(drums), "--out", str(tmp_path / "run"), "--set", "train.epochs=1", "--force")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"workbench: error: {drums}: 0.0 s of pitched material found; training "
                                             "with model.harmonics=32 needs at least 2 s (or set model.harmonics=0 "
                                             "for unpitched sounds)"]
