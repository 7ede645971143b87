"""The one shared Effect test (docs/ARCHITECTURE.md), run on every method.

Offline ``process`` equals concatenated ``process_block`` over random block sizes (aligned by
``latency_samples``, atol 1e-5); silence in gives silence out; output finite and within 0 dBFS;
length preserved; parameters round-trip.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.errors import ParameterError

SR = 16000


def _voice_like(seconds=1.5, sr=SR, channels=1, seed=0):
    """A harmonic tone with vibrato, a pause and a noise burst: pitched, unpitched and silent parts."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 196 * 2 ** (0.3 * np.sin(2 * np.pi * 5 * t) / 12)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(0.3 / k * np.sin(k * phase) for k in range(1, 12))
    y[int(0.6 * sr): int(0.8 * sr)] = 0
    y[int(1.0 * sr): int(1.1 * sr)] = 0.1 * rng.standard_normal(int(0.1 * sr))
    return np.stack([y * (1 - 0.3 * c) for c in range(channels)]).astype(np.float32)


@pytest.fixture(params=["autoencoder", "autoencoder-low-delay", "ddsp", "dry", "cepstral-timevarying", "cepstral-mean",
                        "cepstral-low-delay", "mosaic", "mosaic-kdtree", "latent-mix-blend", "latent-mix-morph"])
def effect_factory(request, tiny_run, trumpet_melodies):
    if request.param.startswith("latent-mix"):
        multi_run = request.getfixturevalue("multi_run")
        from effects.latent_mix import LatentMixEffect

        if request.param.endswith("morph"):
            other = _voice_like(seed=5)[0][::-1].copy()
            return lambda: LatentMixEffect(model=multi_run, mode="morph", morph=other, alpha=0.5, mix=0.9,
                                           gate_db=-70.0, scale=[1.2] * 8, offset=[0.05] * 8)
        return lambda: LatentMixEffect(model=multi_run, mode="blend", source="brass", target="flute", alpha=0.4,
                                       mix=0.9, gate_db=-70.0)
    if request.param == "dry":
        from effects.dry import DryEffect

        return lambda: DryEffect(mix=0.9, gain_db=-3.0)
    if request.param == "ddsp":
        from effects.ddsp import DDSPEffect

        run = request.getfixturevalue("ddsp_run")
        return lambda: DDSPEffect(model=run, mix=0.9, octave_shift=1)
    if request.param.startswith("autoencoder"):
        from effects.autoencoder import AutoencoderEffect

        window = "low-delay" if request.param.endswith("low-delay") else None
        return lambda: AutoencoderEffect(model=tiny_run, mix=0.8, gate_db=-70.0, window=window)
    if request.param == "cepstral-low-delay":
        from effects.cepstral import CepstralEffect

        return lambda: CepstralEffect(target=trumpet_melodies / "melody_000.wav", window="low-delay",
                                      synthesis_length=384, mix=0.9)
    if request.param.startswith("cepstral"):
        from effects.cepstral import CepstralEffect

        env = request.param.split("-")[1]
        return lambda: CepstralEffect(target=trumpet_melodies / "melody_000.wav", envelope=env, mix=0.9)
    if request.param.startswith("mosaic"):
        from effects.mosaic import MosaicEffect

        search = "kdtree" if request.param.endswith("kdtree") else "brute"
        return lambda: MosaicEffect(target=trumpet_melodies / "melody_000.wav", k=4, continuity=0.5, mix=0.9,
                                    search=search)
    raise AssertionError(request.param)


def _stream(fx, x, sizes):
    """Feed ``x`` and ``latency_samples`` of silence in blocks of the given sizes; align the output."""
    fx.prepare(SR, x.shape[0], max(sizes))
    L = fx.latency_samples
    padded = np.concatenate([x, np.zeros((x.shape[0], L), np.float32)], axis=1)
    out, pos, i = [], 0, 0
    while pos < padded.shape[1]:
        n = sizes[i % len(sizes)]
        out.append(fx.process_block(padded[:, pos: pos + n]))
        pos += n
        i += 1
    return np.concatenate(out, axis=1)[:, L: L + x.shape[1]]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=6), channels=st.sampled_from([1, 2]))
def test_streaming_equals_offline(effect_factory, sizes, channels):
    x = _voice_like(channels=channels)
    fx = effect_factory()
    offline = fx.process(x, SR)
    assert offline.shape == x.shape and offline.dtype == np.float32
    streamed = _stream(effect_factory(), x, sizes)
    np.testing.assert_allclose(streamed, offline, atol=1e-5)


def test_silence_in_silence_out(effect_factory):
    fx = effect_factory()
    y = fx.process(np.zeros((1, SR), np.float32), SR)
    assert np.abs(y).max() == 0


def test_output_finite_and_limited(effect_factory):
    x = _voice_like() * 8  # far over full scale
    x[0, 500] = np.nan
    x[0, 600] = np.inf
    fx = effect_factory()
    fx.prepare(SR, 1, 4096)
    y = np.concatenate([fx.process_block(x[:, i: i + 4096]) for i in range(0, x.shape[1], 4096)], axis=1)
    assert np.isfinite(y).all() and np.abs(y).max() <= 1.0  # never above 0 dBFS


def test_length_preserved_and_1d(effect_factory):
    x = _voice_like()[0][:12345]
    y = effect_factory().process(x, SR)
    assert y.shape == x.shape


def test_params_round_trip(effect_factory):
    fx = effect_factory()
    params = fx.get_params()
    assert "mix" in params
    fx.set_params(**params)
    assert fx.get_params() == params
    with pytest.raises(ParameterError, match="no parameter 'wet'"):
        fx.set_params(wet=0.5)
    with pytest.raises(ParameterError, match="mix=1.5 must be a number in \\[0, 1\\]"):
        fx.set_params(gain_db=-3.0, mix=1.5)
    assert fx.get_params() == params  # a bad value anywhere changes nothing


def test_block_checks(effect_factory):
    fx = effect_factory()
    with pytest.raises(ParameterError, match="not prepared"):
        fx.process_block(np.zeros((1, 10), np.float32))
    fx.prepare(SR, 1, 256)
    with pytest.raises(ParameterError, match="exceeds max_block=256"):
        fx.process_block(np.zeros((1, 257), np.float32))
    with pytest.raises(ParameterError, match="expected \\(1, n\\)"):
        fx.process_block(np.zeros((2, 10), np.float32))
    assert fx.process_block(np.zeros((1, 0), np.float32)).shape == (1, 0)


def test_reset_restarts_identically(effect_factory):
    x = _voice_like()
    fx = effect_factory()
    fx.prepare(SR, 1, 2048)
    a = np.concatenate([fx.process_block(x[:, i: i + 2048]) for i in range(0, x.shape[1], 2048)], axis=1)
    fx.reset()
    b = np.concatenate([fx.process_block(x[:, i: i + 2048]) for i in range(0, x.shape[1], 2048)], axis=1)
    np.testing.assert_array_equal(a, b)


def test_registry_builds_every_method_and_says_what_is_missing(tiny_run, trumpet_melodies, ddsp_run):
    from effects.registry import METHODS, make_effect

    built = {m: make_effect(m, **({"model": ddsp_run} if m == "ddsp" else {"model": tiny_run} if m == "autoencoder"
                                  else {"target": trumpet_melodies} if m in ("cepstral", "mosaic") else {}))
             for m in METHODS if m != "latent-mix"}
    assert built["dry"].process(_voice_like(), SR).tolist() == _voice_like().tolist()
    assert built["ddsp"].required_sample_rate == 16000 and built["cepstral"].required_sample_rate is None
    with pytest.raises(ParameterError, match="method 'autoencoder' needs a model"):
        make_effect("autoencoder")
    with pytest.raises(ParameterError, match="method 'mosaic' needs a target"):
        make_effect("mosaic")
    with pytest.raises(ParameterError, match="method 'cepstral' has no option 'wet'; expected one of target"):
        make_effect("cepstral", target=trumpet_melodies, wet=0.5)
    with pytest.raises(ParameterError, match="method='vocoder' is not valid; expected one of autoencoder"):
        make_effect("vocoder")


@pytest.mark.parametrize("window,synthesis_length,latency", [("hann", None, 511), ("low-delay", None, 255),
                                                              ("low-delay", 160, 159)])
def test_frame_effect_latency_is_exact(window, synthesis_length, latency):
    """An identity frame transform returns the input exactly aligned: ``latency_samples`` is the delay."""
    import torch

    from effects.frame_effect import FrameEffect

    class Identity(FrameEffect):
        def _prepare_frames(self, sample_rate, channels):
            pass

        def _reset_frames(self):
            pass

        def _transform(self, X, absX):
            return X

    fx = Identity(n_fft=512, hop_length=128, window=window, synthesis_length=synthesis_length, gate_db=-200.0)
    x = _voice_like(channels=2) * 0.5
    y = fx.process(x, SR)
    assert fx.latency_samples == latency
    np.testing.assert_allclose(y, x, atol=1e-5)
    impulse = np.zeros((1, 4000), np.float32)
    impulse[0, 1000] = 0.5
    fx.prepare(SR, 1, 4000)
    with torch.inference_mode():
        out = fx.process_block(impulse)
    assert int(np.argmax(np.abs(out[0]))) == 1000 + latency  # the raw stream: the impulse comes out L later


def test_window_options_checked(tiny_run, trumpet_melodies):
    from effects.autoencoder import AutoencoderEffect
    from effects.cepstral import CepstralEffect

    with pytest.raises(ParameterError, match="window='short' is not valid; expected one of hann, low-delay"):
        CepstralEffect(target=trumpet_melodies / "melody_000.wav", window="short")
    with pytest.raises(ParameterError, match="synthesis_length=600 must be an integer in \\(256, 512\\]"):
        CepstralEffect(target=trumpet_melodies / "melody_000.wav", window="low-delay", synthesis_length=600)
    fx = AutoencoderEffect(model=tiny_run, window="low-delay")
    assert fx.latency_samples == 2 * fx.hop_length - 1 < AutoencoderEffect(model=tiny_run).latency_samples
