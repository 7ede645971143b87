"""The LSTM-context autoencoder: model API, checkpoints, training, and the effect on a test tone."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import torch

from models.checkpoint import load_run
from models.lstm_ae import LSTMAutoencoder, compress, decompress, normalize_frames, stack_context
from tests.conftest import TINY_MODEL, run_cli
from workbench.config import PRESETS, config_hash, make_config
from workbench.errors import ParameterError
from workbench.pitch import pyin_f0


@pytest.mark.parametrize("output", ["residual", "spectrum", "envelope"])
@pytest.mark.parametrize("bottleneck", ["sigmoid", "leaky_relu"])
def test_shapes_and_step_equals_sequence(output, bottleneck):
    torch.manual_seed(0)
    net = LSTMAutoencoder(n_bins=129, context=3, encoder=(64,), lstm=32, latent=6, bottleneck=bottleneck,
                          decoder=(48,), output=output).eval()
    x = torch.rand(2, 20, 4, 129)
    y, z, (h, c) = net(x)
    assert y.shape == (2, 20, 129) and z.shape == (2, 20, 6) and h.shape == (1, 2, 32)
    assert (y >= 0).all()
    if bottleneck == "sigmoid":
        assert ((z > 0) & (z < 1)).all()
    state, steps = None, []
    for t in range(20):
        yt, zt, state = net.step(x[:, t], state)
        steps.append(yt)
    torch.testing.assert_close(torch.stack(steps, 1), y, atol=1e-5, rtol=0)
    torch.testing.assert_close(net.decode(z, x[..., -1, :]), y, atol=1e-6, rtol=0)
    with pytest.raises(ParameterError, match="do not fit the model"):
        net(torch.rand(1, 5, 3, 129))


def test_frame_transforms():
    mag = torch.rand(3, 10, 65) * 5
    shape, gain = normalize_frames(mag)
    torch.testing.assert_close(shape * gain, mag)
    assert torch.allclose(shape.amax(-1), torch.ones(3, 10))
    s0, g0 = normalize_frames(torch.zeros(1, 65))
    assert (s0 == 0).all() and (g0 == 0).all()
    for mode in ("power", "log", "none"):
        c = compress(shape, mode=mode)
        back = decompress(c, mode=mode)
        keep = shape > 1e-3  # the log scale floors at -80 dB
        torch.testing.assert_close(back[keep], shape[keep], rtol=1e-4, atol=1e-6)
    frames = torch.arange(12.0).reshape(1, 4, 3)
    ctx = stack_context(frames, 2)
    assert ctx.shape == (1, 4, 3, 3)
    torch.testing.assert_close(ctx[0, 3], frames[0, 1:4])  # oldest first, current last
    assert (ctx[0, 0, :2] == 0).all()


def test_whitened_input_loses_the_envelope_and_keeps_the_level():
    from models.augment import whiten
    from models.lstm_ae import prepare_input
    from workbench.spectral import cepstral_envelope

    k = torch.arange(257.0)
    comb = torch.cos(torch.pi * k / 12) ** 8 + 1e-3  # harmonics every 24 bins
    dark, bright = 3 * torch.exp(-k / 40), 0.2 * torch.exp(k / 80)
    opts = dict(normalize="max", compression="power", power=0.3, log_range_db=80.0)
    xd, gd, _ = prepare_input((dark * comb)[None], **opts, whiten=30)
    xb, gb, _ = prepare_input((bright * comb)[None], **opts, whiten=30)
    # the same harmonics under two envelopes 40 dB apart at the top look alike once whitened
    assert (xd - xb).abs().max() < 0.05 < (prepare_input((dark * comb)[None], **opts)[0] - xb).abs().max()
    torch.testing.assert_close(gd, (dark * comb).amax()[None, None])  # the gain is the frame's own
    w = whiten((dark * comb)[None], order=30)
    flat = cepstral_envelope(w[..., None].clamp_min(1e-9), order=30)[..., 0]
    assert torch.allclose(flat, torch.ones_like(flat), rtol=1e-3)
    assert (prepare_input(torch.zeros(2, 257), **opts, whiten=30)[0] == 0).all()


def test_config_presets_overrides_and_hash(tmp_path):
    cfg = make_config(preset="low-latency", overrides=["train.epochs=5", "model.encoder=32,16"], seed=3)
    assert (cfg.audio.sr, cfg.audio.n_fft, cfg.audio.hop_length) == (44100, 512, 128)
    assert cfg.train.epochs == 5 and cfg.model.encoder == (32, 16) and cfg.seed == 3
    # algorithmic latency of the low-latency preset: n_fft - 1 samples <= 12 ms
    assert (cfg.audio.n_fft - 1) / cfg.audio.sr * 1000 <= 12
    toml = tmp_path / "x.toml"
    toml.write_text("[train]\nepochs = 7\n[model]\nlatent = 4\n")
    cfg2 = make_config(preset="quality", file=toml)
    assert cfg2.train.epochs == 7 and cfg2.model.latent == 4 and cfg2.audio.n_fft == 2048
    assert config_hash(cfg2) == config_hash(make_config(preset="quality", file=toml))
    assert config_hash(cfg2) != config_hash(cfg)
    assert set(PRESETS) == {"nsynth", "voice", "quality", "low-latency", "low-delay"}
    assert make_config(preset="voice").audio.n_fft == 2048 and make_config(preset="voice").audio.sr == 16000
    # the low-delay preset: the low-latency model with the low-delay windows, 2 * hop - 1 samples <= 6 ms
    ld = make_config(preset="low-delay")
    assert ld.audio.window == "low-delay" and ld.model == make_config(preset="low-latency").model
    assert (2 * ld.audio.hop_length - 1) / ld.audio.sr * 1000 <= 6
    # configs from before audio.window keep their hashes (the default window does not enter);
    # model.harmonic_read always enters: a config that reads its levels per harmonic ("nearest",
    # 2026-12-06) must not reuse a run trained reading them linearly (the hash was 21d021271c78)
    assert config_hash(make_config()) == "9a24f81baf16"
    assert config_hash(make_config(overrides=["model.harmonic_read=linear"])) != "9a24f81baf16"
    assert config_hash(make_config(preset="low-latency")) == "ce6ae407c8bd" != config_hash(ld)


@pytest.mark.parametrize("kw,match", [
    ({"preset": "fast"}, "preset='fast' is not valid"),
    ({"overrides": ["audio.window=kaiser"]}, "audio.window='kaiser' is not valid; expected one of 'hann', 'low-delay'"),
    ({"overrides": ["train.epochs"]}, "must look like section.key=value"),
    ({"overrides": ["train.epoch=3"]}, "train.epoch is not a setting"),
    ({"overrides": ["audio.hop_length=600"]}, "hop_length=600 must not exceed n_fft=512|at most n_fft/2"),
    ({"overrides": ["model.output=wave"]}, "model.output='wave' is not valid"),
    ({"overrides": ["model.whiten=-4"]}, "model.whiten=-4 must be a cepstral order between 0"),
    ({"overrides": ["train.pitch_shift=5,-5"]}, "train.pitch_shift=\\(5.0, -5.0\\)"),
    ({"file": "/nonexistent.toml"}, "does not exist"),
])
def test_bad_config(kw, match):
    if "audio.hop_length=600" in kw.get("overrides", []):
        kw = {**kw, "preset": "low-latency"}
    with pytest.raises(ParameterError, match=match):
        make_config(**kw)


def test_training_lowers_valid_loss(tiny_run):
    rows = list(csv.DictReader((tiny_run / "loss.csv").open()))
    assert len(rows) == 4
    first, best = float(rows[0]["valid_loss"]), min(float(r["valid_loss"]) for r in rows)
    assert best < first
    meta = json.loads((tiny_run / "meta.json").read_text())
    assert meta["status"] == "done" and meta["data"]["train_clips"] == 2 and meta["data"]["valid_clips"] == 1
    assert (tiny_run / "loss.png").stat().st_size > 1000
    assert meta["format_version"] == 1 and "date" in meta


def test_save_load_identical_output(tiny_run, tmp_path):
    from effects.autoencoder import AutoencoderEffect

    copy = tmp_path / "copy"
    shutil.copytree(tiny_run, copy)
    run = load_run(copy)
    assert not run.model.training
    x = np.random.default_rng(0).standard_normal((1, 8000)).astype(np.float32) * 0.1
    a = AutoencoderEffect(model=tiny_run).process(x, 16000)
    b = AutoencoderEffect(model=run).process(x, 16000)
    np.testing.assert_array_equal(a, b)


def _break(run_dir, how, tmp_path):
    bad = tmp_path / how
    shutil.copytree(run_dir, bad)
    w = bad / "model.safetensors"
    if how == "truncated":
        w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    elif how == "pickle":
        torch.save(LSTMAutoencoder(n_bins=513).state_dict(), w)
    elif how == "mismatch":
        doc = json.loads((bad / "config.json").read_text())
        doc["model_kwargs"]["latent"] = 9
        (bad / "config.json").write_text(json.dumps(doc))
    elif how == "missing_weights":
        w.unlink()
    elif how == "bad_config":
        (bad / "config.json").write_text("{not json")
    return bad


@pytest.mark.parametrize("how,match", [
    ("truncated", "truncated or corrupt"),
    ("pickle", "refusing to unpickle"),
    ("mismatch", "does not match config.json: .* has shape"),
    ("missing_weights", "has no model.safetensors"),
    ("bad_config", "is not a valid run config"),
])
def test_bad_checkpoints(tiny_run, tmp_path, how, match):
    bad = _break(tiny_run, how, tmp_path)
    with pytest.raises(ParameterError, match=match):
        load_run(bad)
    proc = run_cli("transfer", "--model", str(bad), "--input", "/usr/share/sounds/alsa/Front_Center.wav",
                   "--out", str(tmp_path / "o.wav"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_harmonic_tone_keeps_its_pitch(tiny_run):
    from effects.autoencoder import AutoencoderEffect

    sr, f0 = 16000, 330.0  # E4, inside the trumpet's range
    t = np.arange(2 * sr) / sr
    x = sum(0.5 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 15)).astype(np.float32) * 0.5
    y = AutoencoderEffect(model=tiny_run).process(x, sr)
    _, f, voiced = pyin_f0(y[sr // 2: -sr // 4], sr=sr, fmin=150, fmax=700, frame_length=2048, hop_length=512)
    assert voiced.mean() > 0.8
    cents = 1200 * np.log2(np.nanmedian(f[voiced]) / f0)
    assert abs(cents) <= 50, cents


def test_effect_refuses_wrong_rate(tiny_run):
    from effects.autoencoder import AutoencoderEffect

    with pytest.raises(ParameterError, match="sample_rate=44100 does not match the model's 16000 Hz"):
        AutoencoderEffect(model=tiny_run).process(np.zeros(44100, np.float32), 44100)


def test_resume_and_determinism(trumpet_melodies, tmp_path):
    from models.train import train
    from workbench.config import make_config
    from workbench.corpus.select import resolve_target

    paths = resolve_target(trumpet_melodies)
    base = [*TINY_MODEL, "model.encoder=32", "model.decoder=32"]
    two = make_config(preset="nsynth", overrides=[*base, "train.epochs=2"], seed=4)
    three = make_config(preset="nsynth", overrides=[*base, "train.epochs=3"], seed=4)
    train(paths, three, tmp_path / "full", progress=False)
    train(paths, two, tmp_path / "part", progress=False)
    train(paths, three, tmp_path / "part", progress=False, resume=True)
    full = list(csv.DictReader((tmp_path / "full" / "loss.csv").open()))
    part = list(csv.DictReader((tmp_path / "part" / "loss.csv").open()))
    assert [r["epoch"] for r in part] == ["0", "1", "2"]
    for a, b in zip(full, part):  # same seed: the same losses, interrupted or not
        assert float(a["valid_loss"]) == pytest.approx(float(b["valid_loss"]), rel=1e-5)
    with pytest.raises(ParameterError, match="resume.pt' does not exist"):
        train(paths, two, tmp_path / "none", progress=False, resume=True)


def test_cli_train_and_transfer(trumpet_melodies, tmp_path):
    run = tmp_path / "run"
    proc = run_cli("train", "--target", str(trumpet_melodies), "--out", str(run), "--preset", "nsynth",
                   *sum((["--set", s] for s in [*TINY_MODEL, "train.epochs=1"]), []))
    assert proc.returncode == 0, proc.stderr
    assert "trained 1 epochs" in proc.stdout and (run / "model.safetensors").is_file()
    out = tmp_path / "o.wav"
    proc = run_cli("transfer", "--model", str(run), "--input", "/usr/share/sounds/alsa/Front_Center.wav",
                   "--out", str(out), "--mix", "0.7")
    assert proc.returncode == 0, proc.stderr
    assert "processing at the model's 16000 Hz (input 48000 Hz), writing 48000 Hz" in proc.stderr
    import soundfile as sf

    info = sf.info(out)  # written in the user's format, not the model's
    assert info.samplerate == 48000 and abs(info.duration - 1.4323) < 0.01


@pytest.mark.parametrize("args,match", [
    (["--target", "/nope"], "target='/nope' does not exist"),
    (["--target", "data/gm:colour=red"], "corpus selection 'colour=red' must be key=value"),
    (["--target", "x", "--set", "train.epochs=0"], "train.epochs=0 must be a positive integer"),
])
def test_cli_train_bad_args(tmp_path, args, match):
    proc = run_cli("train", "--out", str(tmp_path / "r"), *args)
    assert proc.returncode == 2 and match in proc.stderr, proc.stderr


def test_train_on_corpus_selection(small_corpus, tmp_path):
    from models.train import train
    from workbench.corpus.select import resolve_target

    paths = resolve_target(f"{small_corpus}:program=56+57,velocity=127")
    assert paths and all("brass_acoustic_056" in p.name or "brass_acoustic_057" in p.name for p in paths)
    assert all(p.name.endswith("-127.wav") for p in paths)
    cfg = make_config(preset="nsynth", overrides=[*TINY_MODEL, "train.epochs=3"], seed=0)
    meta = train(paths, cfg, tmp_path / "notes", progress=False)
    rows = list(csv.DictReader((tmp_path / "notes" / "loss.csv").open()))
    assert meta["data"]["files"] == len(paths) and meta["data"]["valid_clips"] >= 1
    assert min(float(r["valid_loss"]) for r in rows) < float(rows[0]["valid_loss"])


def test_torchrun_two_processes(trumpet_melodies, tmp_path):
    """The trainer runs under torchrun (DDP, gloo on CPU): two ranks, one run folder, same stop."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    torchrun = Path(sys.executable).parent / "torchrun"
    out = tmp_path / "ddp"
    sets = sum((["--set", s] for s in [*TINY_MODEL, "train.epochs=2"]), [])
    proc = subprocess.run([str(torchrun), "--nproc_per_node=2", "-m", "workbench", "--quiet", "train",
                           "--target", str(trumpet_melodies), "--out", str(out), "--preset", "nsynth", "--no-scorecard", *sets],
                          capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("trained 2 epochs") == 1  # rank 0 reports, rank 1 stays quiet
    rows = list(csv.DictReader((out / "loss.csv").open()))
    assert len(rows) == 2 and load_run(out).model is not None
