"""The pitch-tracking protocol and the scoreboard: a tiny configuration end to end, with real
Festival singing, real effects and pYIN; identity keeps every note, a pitch shift loses them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from analysis.pitch_eval import method_factories, run_pitch_protocol
from analysis.pitch_notes import f0_match, measure_notes, note_pitch
from analysis.pitch_protocol import Protocol, make_inputs
from analysis.scoreboard import a_weighted_level, frechet_distance, loudness_match
from tests.conftest import needs_festival, run_cli
from workbench.errors import ParameterError

TINY = dict(melodies=2, notes=3, classes=("brass", "flute"))


@pytest.fixture(scope="module")
def sung_inputs(tmp_path_factory):
    """The tiny protocol's inputs, sung once and copied into each test's report folder."""
    if shutil.which("text2wave") is None:
        pytest.fail("festival missing; `make setup` installs it", pytrace=False)
    out = tmp_path_factory.mktemp("eval")
    make_inputs(Protocol(**TINY), out, progress=False)
    return out / "inputs"


def _with_inputs(sung_inputs, tmp_path):
    shutil.copytree(sung_inputs, tmp_path / "inputs")
    return tmp_path


class _Shift:
    """Pitch shift by ``steps`` semitones (librosa's phase vocoder + resampling)."""

    def __init__(self, steps):
        self.steps = steps

    def prepare(self, sample_rate, channels, max_block):  # the protocol prepares every effect first
        return self

    def process(self, audio, sr):
        import librosa

        return librosa.effects.pitch_shift(np.asarray(audio, np.float32), sr=sr, n_steps=self.steps)


def test_identity_keeps_every_note_and_shift_loses_every_note(sung_inputs, tmp_path):
    out = _with_inputs(sung_inputs, tmp_path)
    factories = {"identity": method_factories(["dry"], corpus="unused")["dry"],
                 "up2": lambda fam: (_Shift(2), "shift 2"), "up12": lambda fam: (_Shift(12), "shift 12")}
    r = run_pitch_protocol(Protocol(**TINY), factories, out=out, progress=False)
    assert r["note_evaluations_per_method"] == 2 * 3 * 2
    assert r["by_method"]["identity"]["lost_percent"] == 0.0
    assert r["by_method"]["identity"]["raw_pitch_accuracy"] == pytest.approx(1.0)
    assert r["by_method"]["up2"]["lost_percent"] == 100.0
    assert r["by_method"]["up12"]["lost_percent"] == 100.0  # an octave error is a lost note
    assert r["by_method"]["up12"]["octave_error_percent"] >= 80.0
    assert r["by_method"]["up2"]["input_kept_percent"] == 100.0
    # DDSP's f0 measures over the input's confident frames: the dry output is the input's own track
    assert (r["by_method"]["identity"]["f0_l1_semitones"], r["by_method"]["identity"]["f0_outlier_share"]) == (0.0, 0.0)
    assert r["by_method"]["up2"]["f0_l1_semitones"] == pytest.approx(2.0, abs=0.3)
    assert r["by_method"]["up2"]["f0_outlier_share"] < 0.1
    for name in ("pitch.json", "pitch.md", "notes.csv", "f0_identity.png", "f0_up2.png"):
        assert (out / name).stat().st_size > 0


def test_f0_match_oracles():
    T = 200
    times = np.arange(T) * 0.01
    f_in = np.full(T, 220.0)
    conf = np.full(T, 0.95)
    inp = (times, f_in, conf)

    def shifted(st):
        return times, f_in * 2 ** (st / 12)

    m = f0_match(inp, inp)
    assert (m["f0_l1_semitones"], m["f0_outlier_share"], m["confident_frames"]) == (0.0, 0.0, T)
    m = f0_match(inp, shifted(2.0))
    assert m["f0_l1_semitones"] == pytest.approx(2.0) and m["f0_outlier_share"] == 0.0
    # 13 semitones off on half the frames: half are outliers, the L1 is their mean with the exact half
    half = np.where(np.arange(T) < T // 2, f_in * 2 ** (13 / 12), f_in)
    m = f0_match(inp, (times, half))
    assert m["f0_outlier_share"] == pytest.approx(0.5) and m["f0_l1_semitones"] == pytest.approx(6.5)
    # frames the output leaves unvoiced are outliers, and outside the L1
    gaps = np.where(np.arange(T) % 4 == 0, 0.0, f_in * 2 ** (1 / 12))
    m = f0_match(inp, (times, gaps))
    assert m["f0_outlier_share"] == pytest.approx(0.25) and m["f0_l1_semitones"] == pytest.approx(1.0)
    # frames where the input is unsure or unvoiced are ignored, however wrong the output is there
    unsure = np.where(np.arange(T) < T // 2, 0.3, 0.95)
    f_half = np.where(np.arange(T) >= 150, 0.0, f_in)  # unvoiced at the end, with high confidence
    wild = np.where(np.arange(T) < T // 2, 1000.0, f_in * 2 ** (2 / 12))
    m = f0_match((times, f_half, unsure), (times, wild), confidence=0.85)
    assert m["confident_frames"] == 50 and m["f0_l1_semitones"] == pytest.approx(2.0)
    assert m["f0_outlier_share"] == 0.0
    # no confident frame: NaN, as the other frame measures report no data
    m = f0_match((times, f_in, np.full(T, 0.2)), inp, confidence=0.85)
    assert np.isnan(m["f0_l1_semitones"]) and np.isnan(m["f0_outlier_share"]) and m["confident_frames"] == 0
    # an output a frame short compares the common frames
    assert f0_match(inp, (times[:-1], f_in[:-1]))["confident_frames"] == T - 1
    with pytest.raises(ParameterError, match=r"in_track holds 2 arrays; expected \(times, f0, confidence\)"):
        f0_match((times, f_in), inp)
    with pytest.raises(ParameterError, match=r"out_track has arrays of shapes"):
        f0_match(inp, (times, f_in[:-1]))
    with pytest.raises(ParameterError, match=r"confidence=1.5 must be in \(0, 1\]"):
        f0_match(inp, inp, confidence=1.5)
    with pytest.raises(ParameterError, match=r"outlier_semitones=0 must be positive"):
        f0_match(inp, inp, outlier_semitones=0)


def test_input_tracks_keep_the_confidence_and_old_caches_are_tracked_again(tmp_path):
    from analysis.pitch_eval import _cached_track, _track_all, _track_key
    from workbench.audio import save
    from workbench.pitch import track_f0

    sr = 16000
    t = np.arange(sr // 2) / sr
    y = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path = tmp_path / "tone.wav"
    save(path, y[None], sr, subtype="FLOAT")
    protocol = Protocol(sr=sr)
    times, f0, conf = track_f0(y, sr=sr, with_confidence=True)
    assert times.shape == f0.shape == conf.shape and 0 <= conf.min() and conf.max() <= 1
    assert np.median(conf[f0 > 0]) > 0.5
    cache = tmp_path / "tracks"
    cache.mkdir()
    key = _track_key(path, protocol)
    np.save(cache / f"{key}.npy", np.stack([times, f0]))  # a track cached before the confidence was kept
    assert len(_cached_track(path, protocol, cache, key)) == 2  # the outputs' tracks need no confidence
    found = _track_all([path], protocol, cache, workers=1, progress=False, confidence=[path])
    assert len(found[path]) == 3 and np.load(cache / f"{key}.npy").shape[0] == 3
    np.testing.assert_allclose(found[path][2], conf)


def test_octave_and_unvoiced_notes_are_lost():
    times = np.arange(0, 1, 0.01)
    note = {"onset": 0.0, "offset": 1.0, "pitch": 57}  # A3, 220 Hz
    inp = (times, np.full_like(times, 220.0))
    for f, kept, octave in ((221.0, True, False), (440.0, False, True), (110.0, False, True), (233.1, False, False)):
        row = measure_notes([note], inp, (times, np.full_like(times, f)))[0]
        assert (row["kept"], row["octave_error"]) == (kept, octave), f
    row = measure_notes([note], inp, (times, np.zeros_like(times)))[0]
    assert not row["kept"] and np.isnan(row["output_f0"])
    # only the steady middle counts: a wrong glide at both ends does not lose the note
    f0 = np.where((times < 0.2) | (times > 0.8), 300.0, 220.0)
    assert note_pitch(times, f0, note)[0] == pytest.approx(220.0)


@needs_festival
def test_tiny_scoreboard_end_to_end(sung_inputs, small_corpus, tiny_run, tmp_path):
    out = _with_inputs(sung_inputs, tmp_path / "eval")
    common = ["--corpus", str(small_corpus), "--melodies", "2", "--notes", "3", "--classes", "brass,flute",
              "--methods", "autoencoder,mosaic,dry", "--model", f"brass={tiny_run}", "--model", f"flute={tiny_run}",
              "--out", str(out)]
    r = run_cli("evaluate", "scoreboard", *common, "--judge-voices", "2", timeout=900)
    assert r.returncode == 0, r.stderr
    res = json.loads((out / "results.json").read_text())
    rows = {row["method"]: row for row in res["scoreboard"]}
    assert set(rows) == {"autoencoder", "mosaic", "dry"}
    assert rows["dry"]["kept_percent"] == 100.0 and rows["dry"]["loudness_correlation"] == pytest.approx(1.0)
    assert 0 <= res["reference"]["timbre_accuracy"] <= 1
    for row in res["scoreboard"]:
        assert 0 <= row["timbre_accuracy"] <= 1 and row["rtf"] > 0 and row["frechet_mfcc"] >= 0
        assert row["f0_l1_semitones"] >= 0 and 0 <= row["f0_outlier_share"] <= 1
    assert (rows["dry"]["f0_l1_semitones"], rows["dry"]["f0_outlier_share"]) == (0.0, 0.0)
    # what each method is known to do, beyond ranges: the held-out target notes are closer to the
    # target (MFCC statistics) and judged as it more often than the voice; the mosaic, which
    # plays target frames chosen by timbre, loses most of the voice's notes
    ref = res["reference"]
    assert ref["frechet_mfcc"] < rows["dry"]["frechet_mfcc"], (ref, rows["dry"])
    assert ref["timbre_accuracy"] > rows["dry"]["timbre_accuracy"], (ref, rows["dry"])
    assert rows["mosaic"]["kept_percent"] < 70.0, rows["mosaic"]
    assert np.isnan(res["reference"]["f0_l1_semitones"])  # pitch measures do not apply to the target notes
    assert "f0_l1_semitones,f0_outlier_share" in (out / "scoreboard.csv").read_text().splitlines()[0]
    assert "f0 L1 (semitones)" in (out / "scoreboard.md").read_text()
    for name in ("scoreboard.md", "scoreboard.csv", "per_class.csv", "notes.csv", "bar_timbre_accuracy.png",
                 "bar_f0_outlier_share.png"):
        assert (out / name).stat().st_size > 0
    # a second run reuses inputs and outputs: nothing is re-rendered or re-processed (the pitch
    # protocol is the part that renders them; the scoreboard's judging of them is not cached)
    stamp = {p: p.stat().st_mtime_ns for p in (out / "outputs").rglob("*.wav")}
    r2 = run_cli("evaluate", "pitch", *common, timeout=900)
    assert r2.returncode == 0, r2.stderr
    assert {p: p.stat().st_mtime_ns for p in (out / "outputs").rglob("*.wav")} == stamp
    again = json.loads((out / "pitch.json").read_text())["by_method"]["autoencoder"]["lost_percent"]
    assert 100 - again == rows["autoencoder"]["kept_percent"]


@needs_festival
def test_target_material_scores_higher_timbre_accuracy_than_the_input(sung_inputs, small_corpus, tmp_path):
    from analysis.instrument_judge import fitted_judge
    from workbench.audio import load
    from workbench.corpus.nsynth import NSynth

    # the scoreboard's judge: corpus families and a voice class (without one a sung phrase must be
    # called some instrument), voice phrases of its own, not the evaluated ones
    judge = fitted_judge(small_corpus, work=tmp_path, voices=2)
    index = json.loads((sung_inputs / "index.json").read_text())
    sung = [load(sung_inputs / f"{m['name']}.wav", sr=16000, mono=True)[0][0] for m in index["melodies"]]
    for family in ("brass", "flute", "string", "reed"):
        # the material the methods use as their target
        target = [load(p, sr=16000, mono=True)[0][0] for p in NSynth(small_corpus, family=family,
                                                                      split="train").paths()]
        on_target, on_input = judge.share(target, family, sr=16000), judge.share(sung, family, sr=16000)
        assert on_target > on_input + 0.5, (family, on_target, on_input)


def test_bad_inputs(tmp_path):
    with pytest.raises(ParameterError, match="melodies=0 must be a positive integer"):
        Protocol(melodies=0).validate()
    with pytest.raises(ParameterError, match="class='piano'"):
        Protocol(classes=("piano",)).validate()
    with pytest.raises(ParameterError, match="source='kazoo'"):
        Protocol(source="kazoo").validate()
    with pytest.raises(ParameterError, match="tracker='yin'"):
        Protocol(tracker="yin").validate()
    with pytest.raises(ParameterError, match="method='vocoder'"):
        method_factories(["vocoder"], corpus="x")
    with pytest.raises(ParameterError, match="not a run folder"):
        method_factories(["autoencoder"], corpus="x", models={"brass": str(tmp_path)})
    for argv, msg in ((["--classes", "11"], "classes=11"), (["--model", "brass"], "--model 'brass'"),
                      (["--methods", "autoencoder,vocoder"], "method='vocoder'")):
        r = run_cli("evaluate", "pitch", "--out", str(tmp_path / "x"), *argv)
        assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr
    r = run_cli("evaluate", "scoreboard", "--out", str(tmp_path / "x"), "--judge-voices", "0")
    assert r.returncode == 2 and "--judge-voices=0 must be a positive" in r.stderr and "Traceback" not in r.stderr


def test_loudness_and_frechet_oracles():
    sr = 16000
    t = np.arange(sr) / sr
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32) * np.linspace(0.1, 1, sr, dtype=np.float32)
    m = loudness_match(x, 0.5 * x, sr=sr)
    assert m["loudness_correlation"] == pytest.approx(1.0, abs=1e-6)
    assert m["loudness_l1_db"] == pytest.approx(20 * np.log10(2), abs=1e-3)  # 6.02 dB quieter everywhere
    # IEC 61672 A-weighting: 0 dB at 1 kHz, -19.1 dB at 100 Hz (equal-amplitude sines)
    hi = a_weighted_level(np.sin(2 * np.pi * 1000 * t), sr=sr)[5:-5]
    lo = a_weighted_level(np.sin(2 * np.pi * 100 * t), sr=sr)[5:-5]
    assert np.median(hi - lo) == pytest.approx(19.1, abs=0.3)
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4000, 3))
    assert frechet_distance(A, A) == pytest.approx(0.0, abs=1e-6)
    # two Gaussians with identity covariance: the distance is the squared mean difference
    assert frechet_distance(A, A + [1.0, 2.0, 0.0]) == pytest.approx(5.0, rel=1e-6)
    with pytest.raises(ParameterError, match="same d"):
        frechet_distance(A, A[:, :2])
