"""Latent mixing (issue 7): alpha 0 is the plain effect, faders at unity are a bypass, the
probe's belief in instrument B grows with alpha; chroma mesh and synthesis from the latent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.latent_space import mesh, parse_chroma, synth_pitch_class_share, synthesize
from effects.autoencoder import AutoencoderEffect
from effects.latent_mix import LatentMixEffect
from tests.conftest import run_cli
from workbench.audio import load, save
from workbench.errors import ParameterError

SR = 16000


def _tone(seconds=1.5, f0=220.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = sum(0.25 / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6)) for k in range(1, 10))
    return (y * np.minimum(1, t * 10)).astype(np.float32)


def test_alpha_zero_is_the_unmixed_effect(multi_run):
    x = _tone()
    plain = AutoencoderEffect(model=multi_run, instrument="brass").process(x, SR)
    for mode, extra in (("blend", {}), ("shift", {}), ("linear", {}), ("morph", {"morph": _tone(f0=330.0)})):
        fx = LatentMixEffect(model=multi_run, mode=mode, source="brass", target="flute", alpha=0.0, **extra)
        np.testing.assert_array_equal(fx.process(x, SR), plain, err_msg=mode)
        moved = fx.set_params(alpha=1.0).process(x, SR)
        assert np.abs(moved - plain).max() > 1e-4, mode  # and alpha does something


def test_unity_faders_equal_bypass_and_faders_act(multi_run):
    x = _tone(seed=1)
    kw = dict(model=multi_run, mode="blend", source="brass", target="flute", alpha=0.6)
    bypass = LatentMixEffect(faders=False, scale=[3.0] * 8, offset=[0.5] * 8, **kw).process(x, SR)
    unity = LatentMixEffect(faders=True, **kw).process(x, SR)
    np.testing.assert_array_equal(unity, bypass)
    fx = LatentMixEffect(faders=True, scale=[0.0] * 8, offset=[0.5] * 8, **kw)
    y = fx.process(x, SR)
    assert np.abs(y - bypass).max() > 1e-4
    traj = fx.latent_trajectory
    assert traj.shape == (len(x) // 256 + 4, 8) or traj.shape[1] == 8
    np.testing.assert_allclose(traj, 0.5)  # every unit pinned by its fader


def test_params_change_while_running_and_bad_values(multi_run):
    fx = LatentMixEffect(model=multi_run, source="brass", target="flute")
    fx.prepare(SR, 1, 512)
    x = _tone()[None]
    for i, a in enumerate(np.linspace(0, 1, 12)):
        fx.set_params(alpha=float(a))
        assert np.isfinite(fx.process_block(x[:, i * 512:(i + 1) * 512])).all()
    for bad, msg in (({"alpha": 1.5}, "alpha=1.5 must be"), ({"mode": "warp"}, "mode='warp'"),
                     ({"target": "piano"}, "target='piano' is not one of"),
                     ({"scale": [1.0] * 3}, "expected 8 finite numbers"), ({"instrument": "oboe"}, "instrument='oboe'")):
        before = fx.get_params()
        with pytest.raises(ParameterError, match=msg):
            fx.set_params(**bad)
        assert fx.get_params() == before


class _Switch:
    """A stand-in latent mix: the input below alpha 0.5, ``other`` from there on."""

    def __init__(self, other: list[np.ndarray]):
        self.other, self.alpha, self.calls = other, 0.0, 0

    def set_params(self, *, alpha: float) -> None:
        self.alpha = alpha

    def process(self, x: np.ndarray, sr: int) -> np.ndarray:
        self.calls += 1
        return x[None] if self.alpha < 0.5 else self.other[(self.calls - 1) % len(self.other)][None]


def test_alpha_curve_is_the_judged_share_per_alpha(small_corpus):
    """The curve's plumbing on known outputs (brass notes, then flute notes): the judge's share of
    B per alpha; that a trained mix moves towards B is measured by mix_eval.alpha_paths."""
    from analysis.instrument_judge import InstrumentJudge
    from analysis.latent_space import alpha_curve
    from workbench.corpus.nsynth import NSynth

    judge = InstrumentJudge(families=("brass", "flute"), splits=("train",), phrases=0).fit(small_corpus)
    # notes the judge was fitted on: what is tested is the curve, not the judge on unseen instruments
    notes = {f: [load(p, sr=SR, mono=True)[0][0] for p in NSynth(small_corpus, family=f, split="train").paths()[:4]]
             for f in ("brass", "flute")}
    fx = _Switch(notes["flute"])
    curve = alpha_curve(fx, notes["brass"], sr=SR, judge=judge, target="flute", alphas=(0.0, 1.0))
    assert [r["alpha"] for r in curve] == [0.0, 1.0] and fx.alpha == 1.0 and fx.calls == 8
    assert curve[0]["share_labelled_target"] < 0.5 < curve[1]["share_labelled_target"], curve
    with pytest.raises(ParameterError, match=r"family='reed' is not valid"):
        alpha_curve(fx, notes["brass"], sr=SR, judge=judge, target="reed", alphas=(0.0,))


def test_cli_mix_writes_audio_and_trajectory(multi_run, tmp_path):
    save(tmp_path / "in.wav", _tone(), SR)
    r = run_cli("mix", "--model", str(multi_run), "--input", str(tmp_path / "in.wav"), "--from", "brass", "--to",
                "flute", "--alpha", "0.7", "--mode", "shift", "--trajectory", str(tmp_path / "z.csv"),
                "--out", str(tmp_path / "out.wav"))
    assert r.returncode == 0, r.stderr
    y, sr = load(tmp_path / "out.wav")
    assert sr == SR and y.shape[1] == int(1.5 * SR)
    z = np.loadtxt(tmp_path / "z.csv", delimiter=",", skiprows=1)
    assert z.shape[1] == 8
    bad = run_cli("mix", "--model", str(multi_run), "--input", str(tmp_path / "in.wav"), "--to", "oboe",
                  "--out", str(tmp_path / "x.wav"))
    assert bad.returncode == 2 and "target='oboe'" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_cli("mix", "--model", str(multi_run), "--input", str(tmp_path / "in.wav"), "--mode", "morph",
                  "--out", str(tmp_path / "x.wav"))
    assert bad.returncode == 2 and "--morph-input" in bad.stderr


def test_synthesis_from_a_latent_point(chroma_run, tiny_run, tmp_path):
    y, sr = synthesize(chroma_run, "0.3,0.6", chroma="A", seconds=1.0)
    assert sr == SR and y.shape == (SR,) and np.isfinite(y).all()
    assert np.abs(y).max() == pytest.approx(10 ** (-6 / 20), rel=1e-4)
    y2, _ = synthesize(chroma_run, [0.3, 0.6], chroma=9, seconds=1.0, phase="noise", seed=3)
    assert y2.shape == (SR,)
    np.testing.assert_array_equal(y2, synthesize(chroma_run, [0.3, 0.6], chroma=9, seconds=1.0, phase="noise", seed=3)[0])
    y3, _ = synthesize(chroma_run, [0.3, 0.6], chroma=9, seconds=1.0, phase="pghi")  # as `workbench play` makes it
    assert y3.shape == (SR,) and np.isfinite(y3).all() and np.abs(y3 - y2).max() > 1e-3
    with pytest.raises(ParameterError, match="expected 2 finite numbers"):
        synthesize(chroma_run, "0.3", chroma="A")
    with pytest.raises(ParameterError, match="chroma='H'"):
        synthesize(chroma_run, "0.3,0.2", chroma="H")
    with pytest.raises(ParameterError, match="model.output='envelope'"):
        synthesize(tiny_run, [0.5] * 8)
    assert parse_chroma("Bb") == 10 and parse_chroma("c#") == 1
    r = run_cli("synth", "--model", str(chroma_run), "--latent", "0.2,0.7", "--chroma", "C", "--seconds", "0.5",
                "--out", str(tmp_path / "s.wav"))
    assert r.returncode == 0, r.stderr and load(tmp_path / "s.wav")[0].shape[1] == SR // 2


def test_mesh_table_and_synth_share(chroma_run, tmp_path):
    r = mesh(chroma_run, points=8, synth_check=0, out=tmp_path / "mesh", progress=False)
    assert r["points"] == 64 and r["grid"] and len(r["classes"]) == 12
    assert all(0 <= v <= 1 for v in r["classes"].values())
    saved = json.loads((tmp_path / "mesh" / "mesh.json").read_text())
    assert saved["classes"] == r["classes"]
    assert len(list((tmp_path / "mesh").glob("mesh_*.png"))) == 12 and (tmp_path / "mesh" / "mesh.md").is_file()
    s = synth_pitch_class_share(chroma_run, per_class=1)
    assert s["notes"] == 12 and 0 <= s["share"] <= 1 and set(s["per_class"]) == {"C", "C#", "D", "D#", "E", "F", "F#",
                                                                                   "G", "G#", "A", "A#", "B"}
    bad = run_cli("mesh", "--model", str(chroma_run), "--points", "1", "--out", str(tmp_path / "m"))
    assert bad.returncode == 2 and "points=1" in bad.stderr


def _one_line(r) -> str:
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


@pytest.mark.parametrize("alpha, msg", [("x", "--alpha='x' is not a number; expected a number in [0, 1]"),
                                        ("1.5", "--alpha=1.5 must be a number in [0, 1]"),
                                        ("nan", "--alpha=nan must be a number in [0, 1]")])
def test_cli_mix_bad_alpha_is_one_line_and_writes_nothing(multi_run, tmp_path, alpha, msg):
    save(tmp_path / "in.wav", _tone(0.5), SR)
    r = run_cli("mix", "--model", str(multi_run), "--input", str(tmp_path / "in.wav"), "--alpha", alpha,
                "--trajectory", str(tmp_path / "z.csv"), "--out", str(tmp_path / "out.wav"))
    assert msg in _one_line(r)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_cli_mix_bad_instruments_and_paths_write_nothing(multi_run, tiny_run, tmp_path):
    save(tmp_path / "in.wav", _tone(0.5), SR)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    base = ["mix", "--model", str(multi_run), "--input", str(tmp_path / "in.wav")]
    cases = [
        (["--from", "brass", "--to", "brass", "--out", str(tmp_path / "o.wav")], "--from and --to are both 'brass'"),
        (["--from", "oboe", "--out", str(tmp_path / "o.wav")], "source='oboe' is not one of the instruments (brass, flute)"),
        (["--trajectory", str(tmp_path / "afile" / "z.csv"), "--out", str(tmp_path / "o.wav")],
         "--trajectory"),
        (["--out", str(tmp_path / "adir")], "is a folder; expected a file path"),
        (["--trajectory", str(tmp_path / "o.wav"), "--out", str(tmp_path / "o.wav")], "is the --out file"),
    ]
    for extra, msg in cases:
        assert msg in _one_line(run_cli(*base, *extra)), extra
    one = run_cli("mix", "--model", str(tiny_run), "--input", str(tmp_path / "in.wav"), "--out", str(tmp_path / "o.wav"))
    assert "needs a run trained on at least 2" in _one_line(one)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile", "in.wav"]
    assert not any((tmp_path / "adir").iterdir())
