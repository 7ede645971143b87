"""The DDSP-style model: synthesizer against analytic signals, learning an instrument, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch

from models.ddsp import (
    ControlTracker,
    causal_windows,
    filtered_noise,
    frame_parameters,
    harmonic_synth,
    noise_filters,
    synthesize,
    uniform_noise,
    upsample,
    voicing_gate,
)
from tests.conftest import run_cli
from workbench.errors import ParameterError

SR = 16000


def test_harmonic_synth_is_an_analytic_sum_of_sines_across_blocks():
    n = 5000
    t = np.arange(n) / SR
    f0 = 220 * 2 ** (np.sin(2 * np.pi * 3 * t) / 12)  # vibrato: the phase is the integral of f0
    amps = np.stack([0.5 / k * (1 + 0.5 * np.sin(2 * np.pi * t * k)) for k in range(1, 6)], -1)
    phase = 2 * np.pi * (np.cumsum(f0) - f0) / SR
    ref = sum(amps[:, k - 1] * np.sin(k * phase) for k in range(1, 6))
    f0_t, amps_t = torch.from_numpy(f0)[None].float(), torch.from_numpy(amps)[None].float()
    whole, _ = harmonic_synth(f0_t, amps_t, sr=SR)
    np.testing.assert_allclose(whole[0].numpy(), ref, atol=2e-5)
    parts, ph, cuts = [], None, [0, 1, 777, 2048, 4999, n]
    for a, b in zip(cuts[:-1], cuts[1:]):  # block boundaries anywhere: the phase carries over
        y, ph = harmonic_synth(f0_t[:, a:b], amps_t[:, a:b], sr=SR, phase=ph)
        parts.append(y)
    np.testing.assert_allclose(torch.cat(parts, 1)[0].numpy(), ref, atol=2e-5)


def test_harmonics_above_nyquist_are_silent():
    f0 = torch.full((1, 2000), 3000.0)
    amps = torch.zeros(1, 2000, 4)
    amps[..., 2] = 1.0  # harmonic 3 = 9 kHz, above 8 kHz
    y, _ = harmonic_synth(f0, amps, sr=SR)
    assert float(y.abs().max()) == 0.0


def test_filtered_noise_is_a_time_varying_convolution():
    rng = np.random.default_rng(0)
    bands = torch.from_numpy(rng.uniform(0, 1, (1, 3, 9))).float()
    h = noise_filters(bands)  # (1, 3, 16)
    taps, hop = h.shape[-1], 32
    noise = torch.from_numpy(rng.standard_normal((1, taps - 1 + 3 * hop))).float()
    y = filtered_noise(noise, h, hop=hop)[0].numpy()
    x = noise[0].numpy()
    ref = [np.dot(x[n - taps + 1 + taps - 1: n + taps][::-1], h[0, n // hop].numpy()) for n in range(3 * hop)]
    np.testing.assert_allclose(y, ref, atol=1e-5)
    # the filter's magnitude response samples the bands (linear phase, Hann-windowed)
    response = np.abs(np.fft.rfft(h[0, 0].numpy()))
    assert np.corrcoef(response, bands[0, 0].numpy())[0, 1] > 0.8


def test_upsample_is_linear_between_frames():
    frames = torch.tensor([[[0.0], [1.0], [3.0]]])
    y = upsample(frames, hop=4)[0, :, 0].numpy()
    np.testing.assert_allclose(y, [0, .25, .5, .75, 1, 1.5, 2, 2.5])


@pytest.fixture(scope="module")
def tracker():
    return ControlTracker()


def test_tracker_follows_a_tone_and_doubts_noise(tracker):
    t = np.arange(SR) / SR
    tone = torch.from_numpy(0.3 * np.sin(2 * np.pi * 330 * t)).float()
    f0, conf, loud = tracker(causal_windows(tone, hop=256, frames=60))
    assert np.all(np.abs(12 * np.log2(f0[8:].numpy() / 330)) < 0.2)  # within 20 cents once the window is full
    assert conf[8:].min() > 0.8
    noise = torch.from_numpy(np.random.default_rng(1).standard_normal(SR) * 0.1).float()
    _, conf_n, loud_n = tracker(causal_windows(noise, hop=256, frames=60))
    gate = voicing_gate(conf_n[8:], low=0.35, high=0.65)
    assert float((gate > 0).float().mean()) < 0.1  # the harmonics stay off on noise
    assert abs(float(loud_n[8:].mean()) - float(loud[8:].mean())) < 20  # loudness is a level, not a pitch
    silent = tracker(torch.zeros(3, 1024))
    assert silent[0].abs().max() == 0 and silent[1].abs().max() == 0 and silent[2].max() == -100


def _levels_distance(reference_audio, audio):
    from analysis.harmonic_timbre import HarmonicReference

    ref = HarmonicReference(min_seconds=1.0).fit([reference_audio], sr=SR, name="held-out note")
    return ref.distance([audio], sr=SR).distance_db


def test_model_reproduces_held_out_harmonic_levels_better_than_a_flat_spectrum(ddsp_run, trumpet_melodies):
    from models.checkpoint import load_run
    from models.ddsp import hold_f0
    from models.ddsp_train import clip_controls

    run = load_run(ddsp_run)
    held_out = sorted(trumpet_melodies.glob("melody_*.wav"))[2]  # not trained on
    c = clip_controls([held_out], run.config)[0]
    c.f0, _ = hold_f0(c.f0, c.gate, last=440.0)
    hop, bands = run.config.audio.hop_length, run.config.model.noise_bands
    with torch.no_grad():
        harm, nb, _ = frame_parameters(run.model, c.f0[None], c.loudness[None], c.gate[None], sr=SR)
        k = c.frames - 1
        noise = torch.zeros(1, 2 * (bands - 1) - 1 + k * hop)
        y, _ = synthesize(c.f0[None], harm, nb[:, 1:], noise, sr=SR, hop=hop)
        flat = torch.ones_like(harm) * harm.sum(-1, keepdim=True) / harm.shape[-1] * (harm.sum(-1, keepdim=True) > 0)
        y_flat, _ = synthesize(c.f0[None], flat, nb[:, 1:] * 0, noise, sr=SR, hop=hop)
    # output sample s stands for input time s - 512 (the windows' centre): align before comparing
    audio = c.audio.numpy()
    out, out_flat = y[0, 512:].numpy(), y_flat[0, 512:].numpy()
    d_model = _levels_distance(audio, out)
    d_flat = _levels_distance(audio, out_flat)
    assert d_model < d_flat - 1.0, (d_model, d_flat)


def test_target_without_pitched_material_is_refused(tmp_path):
    noise = np.random.default_rng(0).standard_normal(SR * 4).astype(np.float32) * 0.1
    sf.write(tmp_path / "noise.wav", noise, SR)
    r = run_cli("train", "--method", "ddsp", "--target", str(tmp_path / "noise.wav"), "--out", str(tmp_path / "run"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "pitched material" in lines[0] and "noise.wav" in lines[0], r.stderr
    assert not (tmp_path / "run" / "model.safetensors").exists()


def _frame_level(s):
    fr = np.lib.stride_tricks.sliding_window_view(s, 512)[::256]
    return 10 * np.log10((fr ** 2).mean(1) + 1e-12)


def _no_burst(y, x, *, db=10.0):
    """Every output frame within ``db`` of the loudest input frame near it (a control window
    spans 1024 samples, so a level change reaches the output up to 4 frames early or late)."""
    from scipy.ndimage import maximum_filter1d

    near = maximum_filter1d(_frame_level(x), size=9)
    return np.all(_frame_level(y) <= near + db)


def test_noise_burst_gives_no_pitch_glitch(ddsp_run):
    """A noise burst inside a note and a pause: the noise part carries the burst, silence stays silent."""
    from effects.ddsp import DDSPEffect

    rng = np.random.default_rng(3)
    t = np.arange(2 * SR) / SR
    x = (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    x[SR // 2: SR] = rng.standard_normal(SR // 2) * 0.05
    x[int(1.3 * SR): int(1.5 * SR)] = 0
    y = DDSPEffect(model=ddsp_run).process(x, SR)
    assert _no_burst(y, x)  # never a burst above the input
    assert np.abs(y[int(1.3 * SR) + 800: int(1.5 * SR) - 800]).max() == 0  # windows reach 768 samples either side
    # inside the burst the output is noise-like: no harmonic peak stands out of its spectrum
    seg = y[SR // 2 + 2000: SR - 2000]
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    assert spec.max() < 30 * np.median(spec)


def test_speech_gives_no_bursts(ddsp_run, tmp_path):
    from effects.ddsp import DDSPEffect
    from workbench.corpus.voice import speak

    x = speak("Please bring the seven bright shapes back to the square.", tmp_path / "s.wav", sr=SR)
    x = np.asarray(x, np.float32).reshape(-1)
    y = DDSPEffect(model=ddsp_run, octave_shift=1).process(x, SR)
    assert np.isfinite(y).all() and y.std() > 1e-4
    assert _no_burst(y, x)


def test_octave_shift_and_bad_parameters(ddsp_run):
    from effects.ddsp import DDSPEffect, auto_octave

    fx = DDSPEffect(model=ddsp_run)
    with pytest.raises(ParameterError, match="octave_shift=5 must be an integer in \\[-4, 4\\]"):
        fx.set_params(octave_shift=5)
    t = np.arange(SR * 2) / SR
    low = (0.3 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)[None]  # MIDI 45, below a trumpet
    assert auto_octave(fx, low) >= 1
    fx.process(low, SR)
    assert "below the instrument's trained range" in fx.pitch_notice()


def test_cli_transfer_auto_register_and_notice(ddsp_run, tmp_path):
    t = np.arange(SR * 2) / SR
    sf.write(tmp_path / "low.wav", (0.3 * np.sin(2 * np.pi * 110 * t)).astype(np.float32), SR)
    r = run_cli("transfer", "--method", "ddsp", "--model", str(ddsp_run), "--input", str(tmp_path / "low.wav"),
                "--out", str(tmp_path / "o.wav"))
    assert r.returncode == 0, r.stderr
    assert "below the instrument's trained range" in r.stderr and "--auto-register" in r.stderr
    r = run_cli("transfer", "--method", "ddsp", "--model", str(ddsp_run), "--input", str(tmp_path / "low.wav"),
                "--out", str(tmp_path / "o2.wav"), "--auto-register")
    assert r.returncode == 0, r.stderr
    assert "auto-register: low.wav: octave shift +" in r.stderr and "below" not in r.stderr
    assert sf.info(tmp_path / "o2.wav").frames == 2 * SR
    r = run_cli("transfer", "--method", "ddsp", "--model", str(ddsp_run), "--input", str(tmp_path / "low.wav"),
                "--out", str(tmp_path / "o3.wav"), "--octave-shift", "9")
    assert r.returncode == 2 and r.stderr.strip() == "workbench: error: octave_shift=9 must be an integer in [-4, 4]"


def test_runs_of_one_method_are_refused_by_the_other(ddsp_run, tiny_run):
    from effects.autoencoder import AutoencoderEffect
    from effects.ddsp import DDSPEffect

    with pytest.raises(ParameterError, match="is a ddsp run; play it with --method ddsp"):
        AutoencoderEffect(model=ddsp_run)
    with pytest.raises(ParameterError, match="is an autoencoder run; play it with --method autoencoder"):
        DDSPEffect(model=tiny_run)


def test_phase_continuous_effect_output_on_a_steady_tone(ddsp_run):
    """Block size 1 to 4096: a steady tone in gives an output without clicks at block edges."""
    from effects.ddsp import DDSPEffect

    t = np.arange(SR * 2) / SR
    x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
    fx = DDSPEffect(model=ddsp_run)
    fx.prepare(SR, 1, 4096)
    rng = np.random.default_rng(0)
    out, pos = [], 0
    while pos < x.shape[1]:
        n = int(rng.integers(1, 4096))
        out.append(fx.process_block(x[:, pos: pos + n]))
        pos += n
    y = np.concatenate(out, 1)[0, SR // 2:]
    # a click is a jump far above the signal's own sample-to-sample change
    d = np.abs(np.diff(y))
    assert d.max() < 4 * np.percentile(d, 99.9) + 1e-6
    assert math.isfinite(float(y.std())) and y.std() > 1e-3


def test_tracker_gives_each_frame_the_same_controls_in_any_batch(tracker):
    """The pitch path agrees between a stream and a whole file by design: a frame's controls are
    the same bits whether it is tracked alone, in a chunk of 3, or with the whole signal."""
    rng = np.random.default_rng(4)
    t = np.arange(SR) / SR
    x = 0.3 * np.sin(2 * np.pi * 220 * 2 ** (np.sin(2 * np.pi * 3 * t) / 12) * t) + 0.05 * rng.standard_normal(SR)
    x[4000:6000] = 0  # digital silence inside: skipped frames must not shift the others
    w = causal_windows(torch.from_numpy(x).float(), hop=256, frames=66)
    whole = tracker(w)
    alone = [tracker(w[i: i + 1]) for i in range(66)]
    chunks = [tracker(w[i: i + 7], batch=3) for i in range(0, 66, 7)]
    for j in range(3):
        assert torch.equal(whole[j], torch.cat([a[j] for a in alone]))
        assert torch.equal(whole[j], torch.cat([c[j] for c in chunks]))
    assert (whole[0] > 0).sum() > 40 and (whole[0] == 0).any()  # pitched frames, and the silent ones


def test_synth_loudness_is_the_trackers_reading_of_the_sound(tracker):
    """The level the loudness match computes from frame parameters is what the tracker measures
    on the synthesized audio (steady frames: harmonics plus filtered noise)."""
    from models.ddsp import synth_loudness

    hop, k, H, B = 256, 12, 10, 17
    f0 = torch.full((1, k + 1), 330.0)
    harm = (0.2 / torch.arange(1, H + 1).float()).expand(1, k + 1, H).contiguous()
    bands = torch.linspace(0.05, 0.01, B).expand(1, k, B).contiguous()
    noise = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (1, 2 * (B - 1) - 1 + k * hop))).float()
    y, _ = synthesize(f0, harm, bands, noise, sr=SR, hop=hop)
    measured = tracker(y[0, -1024:][None])[2]
    predicted = synth_loudness(f0[:, 1:], harm[:, 1:], bands, sr=SR, a_power=tracker.a_power)[0, -1]
    assert abs(float(measured[0] - predicted)) < 0.5, (measured, predicted)


def _swell(seconds=2.0):
    """A harmonic tone with vibrato whose level rises and falls by 24 dB, and a pause."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 220 * 2 ** (0.3 * np.sin(2 * np.pi * 5 * t) / 12)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    env = 10 ** (-24 * (0.5 - 0.5 * np.cos(2 * np.pi * t / seconds)) / 20)
    y = env * sum(0.3 / k * np.sin(k * phase) for k in range(1, 10))
    y[int(0.9 * SR): int(1.05 * SR)] = 0
    return y.astype(np.float32)


def test_loudness_follows_the_input(ddsp_run):
    """Scoreboard loudness (A-weighted frame levels) of output against input: correlation >= 0.95
    and L1 <= 1.5 dB with the match (issue 28 asks 1 dB on voices; a tiny model gets this margin);
    the decoder's own level, unmatched, is further off."""
    from analysis.scoreboard import loudness_match
    from effects.ddsp import DDSPEffect

    x = _swell()
    matched = loudness_match(x, DDSPEffect(model=ddsp_run).process(x, SR), sr=SR)
    raw = loudness_match(x, DDSPEffect(model=ddsp_run, match_loudness=False).process(x, SR), sr=SR)
    assert matched["loudness_correlation"] >= 0.95 and matched["loudness_l1_db"] <= 1.5, matched
    assert matched["loudness_l1_db"] < raw["loudness_l1_db"], (matched, raw)


def test_offline_is_much_faster_than_small_blocks(ddsp_run):
    """Offline, every step runs on a whole 65536-sample block; live, one frame at a time. A ratio of
    the two on the same machine and moment, best of two each, so a loaded machine slows both."""
    import time

    from effects.ddsp import DDSPEffect

    x = _swell(1.5)[None]
    fx = DDSPEffect(model=ddsp_run)
    fx.process(x[:, :4096], SR)  # warm-up

    def offline():
        t = time.perf_counter()
        fx.process(x, SR)
        return time.perf_counter() - t

    def blocks():
        fx.prepare(SR, 1, 256)
        t = time.perf_counter()
        for i in range(0, x.shape[1], 256):
            fx.process_block(x[:, i: i + 256])
        return time.perf_counter() - t

    fast = min(offline(), offline())
    slow = min(blocks(), blocks())
    assert slow > 1.8 * fast, (fast, slow)


def test_the_effect_continues_from_its_state_in_a_twin(ddsp_run):
    """DDSPEffect.state() / load_state(): input window, pending output, GRU, phase, held pitch, last
    frame, noise history and counter, dry line, handed over after any block, continue exactly."""
    from effects.ddsp import DDSPEffect

    x = (0.3 * np.sin(2 * np.pi * 330 * np.arange(SR) / SR)).astype(np.float32)[None]
    x[:, 6000:7000] = 0.05 * np.random.default_rng(2).standard_normal(1000)
    a, b = (DDSPEffect(model=ddsp_run, mix=0.7, seed=1) for _ in range(2))
    for fx in (a, b):
        fx.prepare(SR, 1, 4096)
    a.process_block(x[:, :3001])
    assert a.state_names() == ("input", "pending", "gru", "phase", "held_f0", "prev_f0", "prev_harm", "noise",
                               "drawn", "dry")
    b.load_state([t.clone() for t in a.state()])
    for lo, hi in ((3001, 5000), (5000, 9000)):
        np.testing.assert_array_equal(a.process_block(x[:, lo:hi]), b.process_block(x[:, lo:hi]))
    with pytest.raises(ParameterError, match=r"^9 state tensors; expected 10 \(input, pending, gru, "):
        b.load_state(a.state()[:9])


def test_uniform_noise_is_counted_not_drawn():
    """The effect's noise: the same numbers however the segments are cut, per seed and channel,
    uniform in [-1, 1) with variance 1/3, and no correlation between neighbours or channels."""
    whole = uniform_noise(torch.tensor(0), seed=11, frames=200, channels=2, hop=128)
    parts = torch.cat([uniform_noise(torch.tensor(j), seed=11, frames=k, channels=2, hop=128)
                       for j, k in ((0, 1), (1, 37), (38, 162))], dim=1)
    assert whole.dtype == torch.float32 and whole.shape == (2, 200 * 128) and torch.equal(whole, parts)
    a = whole.numpy().astype(np.float64)
    assert a.min() >= -1 and a.max() < 1
    assert abs(a.mean()) < 0.01 and abs(a.var() - 1 / 3) < 0.01
    assert abs(np.corrcoef(a[0, 1:], a[0, :-1])[0, 1]) < 0.02 and abs(np.corrcoef(a[0], a[1])[0, 1]) < 0.02
    assert not torch.equal(whole, uniform_noise(torch.tensor(0), seed=12, frames=200, channels=2, hop=128))
    far = uniform_noise(torch.tensor(2 ** 33), seed=11, frames=1, channels=1, hop=128)  # past 2 ** 32 samples
    assert far.abs().max() < 1 and not torch.equal(far, whole[:1, :128])
