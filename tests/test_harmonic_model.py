"""The harmonic envelope decoder (the default model): frame pitch, harmonic levelling, the
decoder's harmonic levels read at the frame's pitch, and the training material checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.lstm_ae import (
    LSTMAutoencoder,
    flatten_harmonics,
    interp_harmonics,
    pitch_features,
    positions_from_f0,
    prepare_input,
    register_envelope,
)
from workbench.errors import ParameterError
from workbench.spectral import causal_frames, frame_f0_bins

SR, N_FFT, HOP = 16000, 1024, 256


def tone(f0: float, *, seconds: float = 1.0, odd_only: bool = False, slope_db: float = 3.0,
         even_db: float = 0.0) -> np.ndarray:
    """Harmonics falling ``slope_db`` each; even ones ``even_db`` lower still, or absent (``odd_only``)."""
    t = np.arange(int(seconds * SR)) / SR
    y = sum(10 ** ((-slope_db * (k - 1) - (even_db if k % 2 == 0 else 0)) / 20) * np.sin(2 * np.pi * k * f0 * t + k)
            for k in range(1, int(7000 / f0) + 1) if not (odd_only and k % 2 == 0))
    y = 0.3 * y / np.abs(y).max()
    # a noise floor 60 dB down, as any recording has (a noiseless comb's bottomless valleys make
    # its cepstral envelope ripple)
    return (y + 3e-4 * np.random.default_rng(int(f0)).standard_normal(y.size)).astype(np.float32)


def frames(y: np.ndarray) -> torch.Tensor:
    return causal_frames(torch.from_numpy(y), n_fft=N_FFT, hop_length=HOP).abs().T[8:]  # steady part


@pytest.mark.parametrize("f0", [98.0, 147.0, 262.0, 440.0, 880.0])
@pytest.mark.parametrize("odd_only", [False, True])
def test_frame_pitch_of_harmonic_tones(f0, odd_only):
    est = frame_f0_bins(frames(tone(f0, odd_only=odd_only))) * SR / N_FFT
    cents = 1200 * np.log2(est.numpy() / f0)
    assert np.median(np.abs(cents)) < 25 and (np.abs(cents) < 60).mean() > 0.9


def test_noise_and_silence_have_no_pitch():
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    assert (frame_f0_bins(frames(noise)) == 0).float().mean() > 0.9
    assert (frame_f0_bins(torch.zeros(3, N_FFT // 2 + 1)) == 0).all()


def test_flattening_levels_the_harmonics_and_keeps_unpitched_frames():
    mag = frames(tone(200.0, slope_db=4.0))
    shape = mag / mag.amax(-1, keepdim=True)
    f0 = frame_f0_bins(shape)
    pos = positions_from_f0(f0, shape.shape[-1])
    flat = flatten_harmonics(shape, pos, 16)
    peak_bins = [round(k * 200 * N_FFT / SR) for k in range(1, 13)]
    before = 20 * np.log10(shape[:, peak_bins].median(0).values.numpy())
    after = 20 * np.log10(flat[:, peak_bins].median(0).values.numpy())
    assert before[0] - before[-1] > 30 and np.ptp(after) < 3
    noise = torch.rand(2, shape.shape[-1])
    torch.testing.assert_close(flatten_harmonics(noise, torch.zeros_like(noise), 16), noise)


def test_input_preparation_hides_harmonic_levels():
    """A clarinet-like tone (even harmonics 25 dB down) and a full one look alike to the encoder once levelled."""
    opts = dict(normalize="max", compression="power", power=0.3, log_range_db=80.0, whiten=30)
    full, odd = frames(tone(200.0)), frames(tone(200.0, even_db=25.0))
    xf, _, f0f = prepare_input(full, **opts, harmonics=32)
    xo, _, f0o = prepare_input(odd, **opts, harmonics=32)
    assert torch.allclose(f0f, f0o, rtol=0.02) and (f0f > 0).all()
    even = [round(k * 200 * N_FFT / SR) for k in (2, 4, 6)]
    assert (xo[:, even].median(0).values > 0.8).all()  # the weak even harmonics are levelled up
    assert (xo[:, even] - xf[:, even]).abs().median() < 0.1
    assert prepare_input(full, **opts)[2] is None  # no pitch asked for


def test_harmonic_levels_are_read_at_each_bins_place_in_the_series():
    values = torch.tensor([9.0, 1.0, 2.0, 4.0])  # index 0: below the fundamental / unpitched
    pos = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 7.0])
    torch.testing.assert_close(interp_harmonics(values, pos), torch.tensor([9.0, 5.0, 1.0, 1.5, 2.0, 4.0, 4.0]))
    assert (positions_from_f0(torch.tensor([0.0, 4.0]), 9)[0] == 0).all()
    torch.testing.assert_close(positions_from_f0(torch.tensor([4.0]), 9)[0, 8], torch.tensor(2.0))


def test_pitch_below_the_trained_range_is_read_at_its_lowest_note():
    low, high = 10.0, 40.0
    torch.testing.assert_close(pitch_features(torch.tensor(5.0), (low, high)), pitch_features(torch.tensor(low)))
    assert (pitch_features(torch.tensor(0.0), (low, high)) == 0).all()
    assert pitch_features(torch.tensor(20.0))[-1] == 1  # the voiced flag


def test_envelope_moves_with_a_pitch_outside_the_trained_range():
    bins, low, high = 65, 8.0, 16.0
    env = torch.rand(3, bins) + 0.1
    f0 = torch.tensor([4.0, 12.0, 0.0])  # an octave below the range, inside it, unpitched
    out = register_envelope(env, f0, (low, high))
    torch.testing.assert_close(out[1:], env[1:])  # in range and unpitched: unchanged
    # an octave down, harmonic k (bin 4k) gets the gain harmonic k of the lowest note (bin 8k) has
    torch.testing.assert_close(out[0, 4 * torch.arange(1, 8)], env[0, 8 * torch.arange(1, 8)])
    above = register_envelope(env[:1], torch.tensor([32.0]), (low, high))  # an octave above: bin 2k <- bin k
    torch.testing.assert_close(above[0, 2 * torch.arange(1, 16)], env[0, torch.arange(1, 16)])


def test_harmonic_decoder_shapes_and_needs_envelope_output():
    torch.manual_seed(0)
    net = LSTMAutoencoder(n_bins=129, context=2, encoder=(32,), lstm=16, latent=4, decoder=(24,), output="envelope",
                          harmonics=8, pitch_range=(3.0, 20.0)).eval()
    x = torch.rand(2, 5, 3, 129)
    f0 = torch.full((2, 5), 6.0)
    y, z, _ = net(x, f0=f0)
    assert y.shape == (2, 5, 129) and (y >= 0).all()
    ys = [net.step(x[:, t], state, f0=f0[:, t]) for t, state in [(0, None)]]
    torch.testing.assert_close(ys[0][0], y[:, 0], atol=1e-5, rtol=0)
    with pytest.raises(ParameterError, match="harmonics=8 needs output='envelope'"):
        LSTMAutoencoder(n_bins=129, output="residual", harmonics=8)


def test_training_on_unpitched_material_names_the_target_and_seconds(tmp_path):
    import soundfile as sf

    from models.train import train
    from workbench.config import make_config

    noise = tmp_path / "drums"
    noise.mkdir()
    sf.write(noise / "noise.wav", np.random.default_rng(0).standard_normal(3 * SR).astype(np.float32) * 0.1, SR)
    cfg = make_config(preset="nsynth", overrides=["train.epochs=1", "train.seq_len=16"])
    with pytest.raises(ParameterError, match=r"drums: 0\.\d s of pitched material found; training with "
                                             r"model\.harmonics=32 needs at least 2 s"):
        train([noise / "noise.wav"], cfg, tmp_path / "run", progress=False, describe={"target": str(noise)})
    assert not (tmp_path / "run" / "model.safetensors").exists()


def _resynthesized_levels(f0_hz: float, levels_db: np.ndarray, mode: str) -> np.ndarray:
    """A voice-like tone (every harmonic alike) levelled and given ``levels_db`` per harmonic as a
    harmonics decoder gives them, resynthesised with the tone's own phase (as the effect does);
    the output's harmonic levels (dB re harmonic 1), found by least squares at the known
    frequencies over the steady middle."""
    K = len(levels_db)
    t = np.arange(2 * SR) / SR
    voice = sum(np.sin(2 * np.pi * k * f0_hz * t + k) for k in range(1, int(7000 / f0_hz) + 1)).astype(np.float32)
    win = torch.hann_window(N_FFT)
    spec = torch.stft(torch.from_numpy(voice), N_FFT, HOP, window=win, return_complex=True).T  # (frames, bins)
    mag = spec.abs()
    f0 = torch.full(mag.shape[:1], f0_hz * N_FFT / SR)
    pos = positions_from_f0(f0, mag.shape[-1])
    flat = flatten_harmonics(mag / mag.amax(-1, keepdim=True), pos, K, mode=mode)
    values = torch.cat([torch.tensor([1.0]), torch.from_numpy(10 ** (levels_db / 20)).float()])
    out_mag = flat * interp_harmonics(values, pos, mode=mode)
    y = torch.istft((out_mag * torch.exp(1j * spec.angle())).T, N_FFT, HOP, window=win, length=voice.size).numpy()
    mid = slice(SR // 2, 3 * SR // 2)
    basis = np.concatenate([np.stack([np.cos(2 * np.pi * k * f0_hz * t[mid]), np.sin(2 * np.pi * k * f0_hz * t[mid])], 1)
                            for k in range(1, K + 1)], 1)
    coef = np.linalg.lstsq(basis, y[mid], rcond=None)[0].reshape(K, 2)
    amp = np.hypot(coef[:, 0], coef[:, 1])
    return 20 * np.log10(amp / amp[0])


@pytest.mark.parametrize("f0_hz", [85.0, 220.0])
def test_a_quiet_harmonic_between_loud_ones_keeps_its_level_through_a_low_voice(f0_hz):
    """A clarinet's even harmonics 35 dB under its odd ones, given to a voice by levelling the
    voice and applying the levels: read per harmonic lobe ("nearest"), the output keeps them
    within 4 dB at a speaking pitch (harmonics 5.4 bins apart); read linearly, the loud
    neighbours leak into the quiet lobes and the even harmonics come out over 10 dB too loud."""
    levels = np.where(np.arange(1, 13) % 2 == 0, -35.0, 0.0) - 1.5 * np.arange(12)
    want = levels - levels[0]
    nearest = _resynthesized_levels(f0_hz, levels, "nearest")
    assert np.abs(nearest - want).max() < 4.0, np.round(nearest - want, 1)
    if f0_hz < 100:
        linear = _resynthesized_levels(f0_hz, levels, "linear")
        assert (linear - want)[1::2].mean() > 10.0, np.round(linear - want, 1)


def test_runs_saved_before_the_read_mode_read_linearly(tmp_path):
    import json

    from models.checkpoint import RunFolder

    doc = {"format_version": 1, "class": "LSTMAutoencoder", "model_kwargs": {"n_bins": 513, "harmonics": 32},
           "config": {"model": {"harmonics": 32}}}
    (tmp_path / "config.json").write_text(json.dumps(doc))
    read = RunFolder(tmp_path).read_document()
    assert read["model_kwargs"]["harmonic_read"] == "linear" and read["config"]["model"]["harmonic_read"] == "linear"
    assert RunFolder(tmp_path).read_config().model.harmonic_read == "linear"
    with pytest.raises(ParameterError, match=r"harmonic_read='cubic'.*expected"):
        LSTMAutoencoder(n_bins=65, output="envelope", harmonics=8, harmonic_read="cubic")
    with pytest.raises(ParameterError, match=r"mode='cubic'.*expected"):
        interp_harmonics(torch.ones(4), torch.zeros(3), mode="cubic")
