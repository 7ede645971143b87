"""The timbre measure at the input's pitch, validated on tones whose harmonic levels are known."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import scipy.signal

from analysis.harmonic_levels import harmonic_levels
from analysis.harmonic_timbre import NO_PITCH, HarmonicReference, gap_closed, score_methods
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
    # another note of the instrument (new phases, between the fitted pitches) scores about 1, and
    # the input with new phases about 0: measured on signals, not the formula
    other = dark_reference.distance(tone(61.0, 4.0, seed=11), sr=SR)
    again = dark_reference.distance(tone(60.0, 0.5, seed=12), sr=SR)
    assert gap_closed(bright.distance_db, other.distance_db, held.distance_db) > 0.9
    assert abs(gap_closed(bright.distance_db, again.distance_db, held.distance_db)) < 0.1
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


@pytest.fixture(scope="module")
def bright_input():
    """A sung-like input: bright (0.5 dB per harmonic) at MIDI 60, and the held-out floor."""
    return tone(60, 0.5, seconds=0.6)


@pytest.fixture(scope="module")
def held(dark_reference) -> float:
    """The held-out floor: another note of the instrument."""
    return dark_reference.distance(tone(61.5, 4.0, seconds=0.6, seed=9), sr=SR).distance_db


def test_an_output_at_another_pitch_scores_low_and_counts_as_pitch_errors(dark_reference, bright_input, held):
    """The instrument's own timbre four semitones away from the input's note: matched at its own
    pitch (the old measure) it looked perfect; at the input's pitch its harmonics are elsewhere."""
    wrong = tone(64, 4.0, seconds=0.6, seed=3)
    old = gap_closed(dark_reference.distance(bright_input, sr=SR).distance_db,
                     dark_reference.distance(wrong, sr=SR).distance_db, held)
    s = dark_reference.compare(bright_input, wrong, sr=SR, target_db=held)
    assert old > 0.95
    assert s.status == "ok" and s.judged_share > 0.9
    assert s.gap_closed < 0.3 and s.pitch_error_share > 0.9
    assert s.output_db > 0.5 * s.input_db and s.target_db == held


def test_the_instrument_at_the_input_pitch_scores_about_one_never_more(dark_reference, bright_input, held):
    s = dark_reference.compare(bright_input, tone(60, 4.0, seconds=0.6, seed=5), sr=SR, target_db=held)
    assert 0.95 < s.gap_closed <= 1.0 and s.pitch_error_share < 0.05
    assert s.input_db > 8.0 and s.output_db < 1.0
    # an output closer than the held-out notes themselves is capped at 1
    assert dark_reference.compare(bright_input, tone(60, 4.0, seconds=0.6, seed=5), sr=SR,
                                  target_db=s.output_db + 0.5).gap_closed == 1.0
    assert gap_closed(10.0, 0.0, 1.0) == 1.0 and gap_closed(10.0, 14.0, 2.0) == pytest.approx(-0.5)
    # the input itself closes nothing, and a half-way timbre about half
    assert dark_reference.compare(bright_input, bright_input, sr=SR, target_db=held).gap_closed == pytest.approx(0.0)
    assert 0.2 < dark_reference.compare(bright_input, tone(60, 2.2, seconds=0.6), sr=SR,
                                        target_db=held).gap_closed < 0.8


def test_gap_closed_known_values():
    """The formula on numbers worked by hand: a share of the gap, capped at 1, negative when the
    output is further than the input, None when there is no gap to close."""
    assert gap_closed(9.0, 5.0, 1.0) == pytest.approx(0.5)  # (9 - 5) / (9 - 1)
    assert gap_closed(9.0, 7.0, 1.0) == pytest.approx(0.25)
    assert gap_closed(9.0, 0.5, 1.0) == 1.0  # closer than the held-out notes: capped, not 1.0625
    assert gap_closed(4.0, 6.0, 2.0) == pytest.approx(-1.0)
    assert gap_closed(2.0, 1.0, 2.0) is None and gap_closed(1.0, 0.5, 2.0) is None


def test_too_few_judged_frames_gives_no_score_and_the_reason(dark_reference, bright_input):
    """The instrument's timbre for the first fifth of the input's note, then silence."""
    y = bright_input.copy()
    y[:] = 0
    y[: SR // 8] = tone(60, 4.0, seconds=0.125, seed=5)
    s = dark_reference.compare(bright_input, y, sr=SR, target_db=1.0)
    assert s.gap_closed is None and s.output_db is None and s.input_db is None
    assert s.judged_share < 0.5 and s.frames > 0
    assert s.status.startswith("too few judged frames: the output sounds in ") and "at least 50% needed" in s.status
    assert str(s) == s.status
    lenient = copy.copy(dark_reference)
    lenient.min_judged = s.judged_share / 2
    assert lenient.compare(bright_input, y, sr=SR, target_db=1.0).gap_closed > 0.8
    silent = dark_reference.compare(bright_input, np.zeros_like(bright_input), sr=SR, target_db=1.0)
    assert silent.gap_closed is None and silent.frames == 0 and silent.pitch_error_share is None


def test_score_rows_carry_the_raw_distances_beside_the_gap(dark_reference, bright_input, held):
    noise = 0.05 * np.random.default_rng(4).standard_normal(bright_input.size).astype(np.float32)
    rows = score_methods(dark_reference, inputs={"sung": bright_input, "noise": noise},
                         outputs={"good": {"sung": tone(60, 4.0, seconds=0.6, seed=5), "noise": noise},
                                  "octave": {"sung": tone(72, 4.0, seconds=0.6), "noise": noise}},
                         target_db=held, sr=SR)
    by = {(r["input"], r["method"]): r for r in rows}
    assert [k for k in by] == [("sung", "input"), ("sung", "good"), ("sung", "octave"), ("noise", "input"),
                               ("noise", "good"), ("noise", "octave")]
    for r in rows:
        assert {"distance_db", "input_db", "target_db", "gap_closed", "judged_share", "pitch_error_share",
                "status"} <= r.keys()
    good, octave = by["sung", "good"], by["sung", "octave"]
    assert good["target_db"] == held and good["input_db"] > good["distance_db"]
    assert good["gap_closed"] > 0.95 and octave["gap_closed"] < 0.5 and octave["pitch_error_share"] > 0.9
    assert by["noise", "good"]["gap_closed"] is None and by["noise", "good"]["status"] == NO_PITCH
    # pairs pooled: the mean of two judged outputs lies between them
    pooled = dark_reference.compare([bright_input, bright_input], [tone(60, 4.0, seconds=0.6, seed=5),
                                                                   tone(72, 4.0, seconds=0.6)], sr=SR, target_db=held)
    assert good["gap_closed"] > pooled.gap_closed > octave["gap_closed"]
    assert pooled.pitch_error_share == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("call, message", [
    (lambda r, x: HarmonicReference(min_judged=0), r"^min_judged=0 must be a share in \(0, 1\]$"),
    (lambda r, x: HarmonicReference(min_judged=1.5), r"^min_judged=1.5 must be a share in \(0, 1\]$"),
    (lambda r, x: r.compare(x, x[: SR // 4], sr=SR), r"^output has 4000 samples, the input 9600; expected the same "
                                                      r"length \(within 2048\): frames are compared in time$"),
    (lambda r, x: r.compare(x, np.stack([x, x]), sr=SR), r"^output has shape \(2, 9600\); expected mono audio"),
    (lambda r, x: r.compare(x, x, sr=0), r"^sr=0 must be a positive integer \(Hz\)$"),
    (lambda r, x: r.compare([x, x], [x], sr=SR), r"^1 outputs for 2 inputs; expected one output per input$"),
    (lambda r, x: gap_closed(3.0, float("nan"), 1.0), r"^output_db=nan must be a finite distance >= 0 dB"),
    (lambda r, x: gap_closed(-1.0, 2.0, 1.0), r"^input_db=-1.0 must be a finite distance >= 0 dB"),
])
def test_bad_inputs_name_the_value(dark_reference, bright_input, call, message):
    with pytest.raises(ParameterError, match=message):
        call(dark_reference, bright_input)


def test_cli_evaluate_timbre_and_transfer_of_an_unpitched_input(trumpet_melodies, tiny_run, tmp_path):
    """Through the command a user runs: noise in gets one line, and the transfer of noise still
    writes its output; a trumpet melody judged against itself shows the three distances."""
    import soundfile as sf

    from tests.conftest import run_cli

    noise = tmp_path / "noise.wav"
    sf.write(noise, 0.1 * np.random.default_rng(1).standard_normal(SR).astype(np.float32), SR)
    out = tmp_path / "noise_out.wav"
    r = run_cli("transfer", "--method", "autoencoder", "--model", str(tiny_run), "--input", str(noise),
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert sf.info(out).frames == SR
    r = run_cli("evaluate", "timbre", "--target", str(trumpet_melodies), "--input", str(noise), str(out))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[1:] == [f"{noise}: no pitched frames", f"{out}: no pitched frames"]
    melody = sorted(trumpet_melodies.glob("melody_*.wav"))[0]
    r = run_cli("evaluate", "timbre", "--target", str(trumpet_melodies), "--input", str(melody), str(melody))
    assert r.returncode == 0, r.stderr
    line = r.stdout.strip().splitlines()[2]
    assert line.startswith(f"{melody}: output ") and "(input " in line and ", target " in line
    assert "pitch errors 0%" in line


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
    # the model's frame tracker calls a few frames of white noise pitched (0.2 s of 4 s here)
    (line,) = r.stderr.strip().splitlines()
    m = re.fullmatch(rf"workbench: error: {re.escape(str(drums))}: (\d+\.\d) s of pitched material found; training "
                     r"with model\.harmonics=32 needs at least 2 s \(or set model\.harmonics=0 for unpitched sounds\)",
                     line)
    assert m and float(m.group(1)) < 0.5, line


@pytest.fixture(scope="module")
def two_layers():
    """An 'instrument' played soft (harmonics fall 4 dB each) and loud (1.5 dB each), MIDI 55-70,
    fitted pooled and per layer; and held-out notes of each dynamic between its notes. The level
    floor is lowered to -80 dB so that no harmonic of either is clipped (blends of clipped levels
    are not the tones between them)."""
    pitches = list(range(55, 71, 3))
    soft = [tone(p, 4.0, seconds=0.6, seed=p) for p in pitches]
    loud = [tone(p, 1.5, seconds=0.6, seed=p + 100) for p in pitches]
    held = [tone(61.5, 4.0, seconds=0.6, seed=7), tone(61.5, 1.5, seconds=0.6, seed=8)]
    pooled = HarmonicReference(min_seconds=2.0, floor_db=-80.0).fit(soft + loud, sr=SR, name="pooled")
    layered = HarmonicReference(min_seconds=2.0, floor_db=-80.0).fit(soft + loud, sr=SR, name="layered",
                                                                     layers=[40] * len(soft) + [124] * len(loud))
    return pooled, layered, held


def test_a_reference_per_velocity_keeps_held_out_notes_close(two_layers):
    """Pooled, the median lies between soft and loud and held-out notes of either are far from it;
    per layer, each held-out note is as close as another note of its own dynamic."""
    pooled, layered, held = two_layers
    assert list(layered.layers_) == [40.0, 124.0] and len(pooled.layers_) == 1
    assert pooled.distance(held, sr=SR).distance_db > 3.0
    assert layered.distance(held, sr=SR).distance_db < 1.0
    # a dynamic between the layers (2.75 dB a harmonic) is the instrument too
    assert layered.distance(tone(60, 2.75, seconds=0.6), sr=SR).distance_db < 1.0
    # what the instrument never plays, brighter than loud or darker than soft, stays far
    assert layered.distance(tone(60, 0.3, seconds=0.6), sr=SR).distance_db > 4.0
    assert layered.distance(tone(60, 8.0, seconds=0.6), sr=SR).distance_db > 4.0


def test_per_velocity_floor_keeps_outputs_off_the_cap(two_layers, bright_input):
    """With the pooled floor a middling output reaches the cap; with the per-layer floor it does
    not, and the instrument itself still scores about 1."""
    pooled, layered, held = two_layers
    middling = tone(60, 2.75, seconds=0.6, seed=5) + 0.1 * tone(60, 0.0, seconds=0.6, seed=6)  # a bright haze
    floor_pooled = pooled.distance(held, sr=SR).distance_db
    floor_layered = layered.distance(held, sr=SR).distance_db
    g_pooled = pooled.compare(bright_input, middling, sr=SR, target_db=floor_pooled).gap_closed
    g_layered = layered.compare(bright_input, middling, sr=SR, target_db=floor_layered).gap_closed
    assert g_pooled == 1.0 and g_layered < 0.95
    assert layered.compare(bright_input, tone(60, 4.0, seconds=0.6, seed=5), sr=SR,
                           target_db=floor_layered).gap_closed > 0.95


def test_one_layer_is_the_pooled_reference(dark_reference):
    notes = [tone(p, 4.0, seed=p) for p in range(55, 71, 3)]
    one = HarmonicReference(min_seconds=2.0).fit(notes, sr=SR, name="one", layers=[80] * len(notes))
    x = tone(61.5, 1.0, seconds=0.6)
    assert one.distance(x, sr=SR).distance_db == pytest.approx(dark_reference.distance(x, sr=SR).distance_db)


@pytest.mark.parametrize("call, message", [
    (lambda: HarmonicReference(dynamic_steps=1), r"^dynamic_steps=1 must be an integer >= 2$"),
    (lambda: HarmonicReference(min_seconds=0.5).fit([tone(60, 2.0)], sr=SR, name="x", layers=[40, 124]),
     r"^layers has 2 values for 1 signals; expected one per signal$"),
])
def test_bad_layers_name_the_value(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_note_layers_read_the_velocity_of_reference_notes(tmp_path):
    from workbench.corpus.reference import note_layers
    from workbench.corpus.truth import write_truth

    for name, vels in (("a", [40]), ("b", [124]), ("m", [60, 90])):
        write_truth(tmp_path / f"{name}.json", audio=f"{name}.wav", sr=SR, seconds=1.0, source="test",
                    notes=[{"onset": 0.0, "offset": 0.5, "pitch": 60, "velocity": v} for v in vels])
    assert note_layers([tmp_path / "a.wav", tmp_path / "b.wav"]) == [40, 124]
    assert note_layers([tmp_path / "a.wav", tmp_path / "m.wav"]) is None  # a melody: no single dynamic
    assert note_layers([tmp_path / "a.wav", tmp_path / "none.wav"]) is None

