"""Cepstral hybridization and MFCC mosaicing: what each must do, and their bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from effects.cepstral import CepstralEffect, default_lifter
from effects.mosaic import MosaicEffect, MosaicIndex
from tests.conftest import run_cli
from workbench.errors import ParameterError
from workbench.pitch import pyin_f0
from workbench.spectral import real_cepstrum, stft

SR = 16000


def _tone(f0=220.0, seconds=2.0, tilt=1.0, seed=0):
    """A harmonic tone whose partial amplitudes fall as k**-tilt (tilt sets the envelope)."""
    t = np.arange(int(seconds * SR)) / SR
    vib = f0 * 2 ** (0.2 * np.sin(2 * np.pi * 4 * t) / 12)
    phase = 2 * np.pi * np.cumsum(vib) / SR
    y = sum(k ** -tilt * np.sin(k * phase + seed * k) for k in range(1, 30) if k * f0 < SR / 2)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def _ceps_distance(a, b, order=30):
    """Mean distance between the low-quefrency cepstra (the envelopes) of two signals."""
    ca = real_cepstrum(stft(a, n_fft=1024, hop_length=256).abs())[1: order + 1].mean(-1)
    cb = real_cepstrum(stft(b, n_fft=1024, hop_length=256).abs())[1: order + 1].mean(-1)
    return float(torch.linalg.vector_norm(ca - cb))


@pytest.mark.parametrize("envelope", ["timevarying", "mean"])
def test_cepstral_moves_envelope_to_target(envelope):
    x, target = _tone(220, tilt=2.5), _tone(330, seconds=1.0, tilt=0.5, seed=1)  # dark input, bright target
    y = CepstralEffect(target=target, target_sr=SR, envelope=envelope).process(x, SR)
    assert _ceps_distance(y, target) < 0.5 * _ceps_distance(x, target)


def test_cepstral_self_hybridization_is_near_identity():
    x = _tone(196, tilt=1.5)
    y = CepstralEffect(target=x, target_sr=SR, envelope="timevarying", length_policy="truncate").process(x, SR)
    core = slice(2048, len(x) - 2048)
    rel = np.linalg.norm(y[core] - x[core]) / np.linalg.norm(x[core])
    assert rel < 0.05, rel


def test_cepstral_keeps_pitch():
    x = _tone(262, tilt=2.0)
    y = CepstralEffect(target=_tone(440, seconds=1.0, tilt=0.3), target_sr=SR, envelope="mean").process(x, SR)
    _, f, v = pyin_f0(y[4000:-4000], sr=SR, fmin=150, fmax=500, frame_length=2048, hop_length=512)
    assert abs(1200 * np.log2(np.nanmedian(f[v]) / 262)) < 50


def test_cepstral_length_policies():
    x = _tone(220, seconds=2.0)
    short = _tone(330, seconds=0.5)
    for policy in ("loop", "stretch"):
        y = CepstralEffect(target=short, target_sr=SR, length_policy=policy).process(x, SR)
        assert y.shape == x.shape and np.abs(y[-4000:]).max() > 0.01  # the target covers the whole input
    y = CepstralEffect(target=short, target_sr=SR, length_policy="truncate").process(x, SR)
    assert y.shape == x.shape and np.abs(y[-4000:]).max() == 0  # silence once the target has ended
    fx = CepstralEffect(target=short, target_sr=SR, length_policy="stretch")
    with pytest.raises(ParameterError, match="needs the input length in advance"):
        fx.prepare(SR, 1, 256)


def test_default_lifter_scales():
    assert default_lifter(1024) == 30 and default_lifter(2048) == 60 and default_lifter(512) == 15


@pytest.mark.parametrize("make,match", [
    (lambda: CepstralEffect(target=np.zeros(SR, np.float32), target_sr=SR), "target is silent"),
    (lambda: CepstralEffect(target=np.ones(100, np.float32) * 0.1, target_sr=SR), "shorter than one analysis frame"),
    (lambda: CepstralEffect(target=np.array([0.1, np.nan] * 2000, np.float32), target_sr=SR), "NaN or Inf"),
    (lambda: MosaicEffect(target=np.zeros(SR, np.float32), target_sr=SR), "no grain with energy"),
    (lambda: MosaicEffect(target=np.ones(100, np.float32) * 0.1, target_sr=SR), "shorter than one analysis frame"),
])
def test_bad_targets(make, match):
    with pytest.raises(ParameterError, match=match):
        make().process(_tone(seconds=0.5), SR)


@pytest.mark.parametrize("kw,match", [
    ({"envelope": "median"}, "envelope='median' is not valid"),
    ({"length_policy": "wrap"}, "length_policy='wrap' is not valid"),
    ({"lifter_input": 900}, "lifter_input=900 must be an integer in \\[1, 511\\]"),
])
def test_cepstral_bad_params(kw, match):
    with pytest.raises(ParameterError, match=match):
        CepstralEffect(target=_tone(), target_sr=SR, **kw)


def test_target_rate_is_resampled_with_one_notice(tmp_path, caplog):
    for i in range(3):
        sf.write(tmp_path / f"t{i}.wav", _tone(330 + 20 * i, seconds=1.0), SR)
    with caplog.at_level("INFO", logger="effects"):
        y = CepstralEffect(target=tmp_path).process(_tone(220, seconds=1.0)[::2].copy(), 8000)
    assert y.shape == (8000,) and np.isfinite(y).all()
    notices = [r.getMessage() for r in caplog.records if "resampling" in r.getMessage()]
    assert notices == [f"note: resampling 3 target file(s) from {SR} Hz to 8000 Hz (first: {tmp_path / 't0.wav'})"]


# --- mosaic ---------------------------------------------------------------------------------------

def test_mosaic_self_target_correlates():
    x = _tone(196, seconds=2.0, tilt=1.2)
    fx = MosaicEffect(target=x, target_sr=SR, k=5, continuity=1.0, repeat_window=0)
    y = fx.process(x, SR)
    core = slice(2048, len(x) - 2048)
    assert np.corrcoef(x[core], y[core])[0, 1] > 0.9


def test_mosaic_output_grains_are_dictionary_grains():
    x, target = _tone(220, seconds=1.0), _tone(330, seconds=1.5, tilt=0.7)
    fx = MosaicEffect(target=target, target_sr=SR, k=3)
    fx.prepare(SR, 1, 4096)
    frames = []
    fx._stream.frame_fn = lambda X, f=fx._frames: frames.append(f(X)) or frames[-1]
    for i in range(0, len(x), 4096):
        fx.process_block(x[None, i: i + 4096])
    Y = torch.cat(frames, dim=-1)[0].T  # (frames, bins) as synthesised
    grains = fx.index.grains[torch.tensor(fx.choices[0])]
    assert Y.shape == grains.shape
    # each output frame is its chosen grain times a real, non-negative gain (gain-matched, gated)
    gain = (Y * grains.conj()).sum(-1).real / (grains.abs() ** 2).sum(-1)
    torch.testing.assert_close(Y, grains * gain[:, None].to(Y.dtype), atol=1e-5, rtol=1e-4)
    assert (gain >= 0).all()


def _mean_run(choices):
    c = np.asarray(choices)
    breaks = np.flatnonzero(np.diff(c) != 1)
    return len(c) / (len(breaks) + 1)


def test_continuity_raises_run_length():
    x, target = _tone(247, seconds=2.0, tilt=1.0), _tone(330, seconds=3.0, tilt=0.7, seed=2)
    runs = []
    for w in (0.0, 2.0):
        fx = MosaicEffect(target=target, target_sr=SR, k=8, continuity=w, repeat_window=4)
        fx.process(x, SR)
        runs.append(_mean_run(fx.choices[0]))
    assert runs[1] > 1.5 * runs[0], runs


def test_repeat_window_is_respected():
    x = _tone(220, seconds=1.0)
    fx = MosaicEffect(target=_tone(300, seconds=1.0), target_sr=SR, k=10, continuity=0.0, repeat_window=6)
    fx.process(x, SR)
    c = fx.choices[0]
    for i, g in enumerate(c):
        assert g not in c[max(0, i - 6): i]


def test_index_save_load(tmp_path):
    tpath = tmp_path / "t.wav"
    sf.write(tpath, _tone(330, seconds=1.5), SR)
    idx = MosaicIndex.fit(tpath, sr=SR)
    idx.save(tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == ["features.npy", "index.json"]
    loaded = MosaicIndex.load(tmp_path / "idx")
    np.testing.assert_array_equal(loaded.features, idx.features)
    x = _tone(220, seconds=1.0)
    a = MosaicEffect(target=idx).process(x, SR)
    b = MosaicEffect(target=loaded).process(x, SR)
    np.testing.assert_array_equal(a, b)
    sf.write(tpath, _tone(350, seconds=1.5), SR)  # the target changed on disk
    with pytest.raises(ParameterError, match="missing or changed"):
        MosaicIndex.load(tmp_path / "idx")


def test_cli_transfer_baselines(tmp_path, trumpet_melodies):
    target = trumpet_melodies / "melody_000.wav"
    inp = tmp_path / "in.wav"
    sf.write(inp, _tone(220, seconds=1.0), 22050)
    for method, extra in (("cepstral", ["--envelope", "mean", "--lifter", "30"]),
                          ("cepstral", ["--window", "low-delay", "--synthesis-length", "384"]),
                          ("mosaic", ["--k", "3", "--continuity", "0.8", "--save-index", str(tmp_path / "ix")])):
        out = tmp_path / f"{method}.wav"
        proc = run_cli("transfer", "--method", method, "--target", str(target), "--input", str(inp),
                       "--out", str(out), *extra)
        assert proc.returncode == 0, proc.stderr
        info = sf.info(out)
        assert info.samplerate == 22050 and info.frames == 16000  # input rate and length kept
    assert (tmp_path / "ix" / "index.json").is_file()


@pytest.mark.parametrize("args,match", [
    (["--method", "cepstral"], "needs --target"),
    (["--method", "mosaic", "--target", "/nope.wav"], "target='/nope.wav' does not exist"),
    (["--method", "autoencoder"], "needs --model"),
    (["--method", "cepstral", "--target", "SILENT"], "target is silent"),
    (["--method", "cepstral", "--target", "NAN"], "NaN or Inf"),
    (["--method", "cepstral", "--target", "SHORT"], "shorter than one analysis frame"),
    (["--method", "cepstral", "--target", "SHORT", "--window", "low-delay", "--synthesis-length", "100"],
     "synthesis_length=100 must be an integer in (256, 512]"),
    (["--method", "mosaic", "--target", "/nope.wav", "--window", "low-delay"],
     "--window and --synthesis-length are for autoencoder, cepstral and latent-mix, not mosaic"),
])
def test_cli_bad_transfer(tmp_path, args, match):
    inp = tmp_path / "in.wav"
    sf.write(inp, _tone(220, seconds=0.5), SR)
    files = {"SILENT": np.zeros(SR), "NAN": np.r_[np.zeros(SR), np.nan], "SHORT": np.ones(200) * 0.1}
    args = list(args)
    for key, data in files.items():
        if key in args:
            p = tmp_path / f"{key}.wav"
            sf.write(p, data.astype(np.float32), SR, subtype="FLOAT")
            args[args.index(key)] = str(p)
    out = tmp_path / "out.wav"
    proc = run_cli("transfer", "--input", str(inp), "--out", str(out), *args)
    assert proc.returncode == 2 and match in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()  # nothing written half-way
