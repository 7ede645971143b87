"""The low-delay window pair (asymmetric analysis, short synthesis) against a direct numpy reference.

Perfect reconstruction is tested exactly: identity processing returns the input delayed by the
stated latency (``synthesis_length - 1`` through the stream), within 1e-5, for any block sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench import spectral as S
from workbench.errors import ParameterError

CASES = [(512, 128, None), (512, 128, 160), (1024, 256, None), (2048, 512, 700), (256, 128, 256)]


def _numpy_windows(N, R, L):
    """The windows written out sample by sample, as the docstring states them."""
    T = L - R
    p = np.array([np.sin(np.pi * n / (2 * T)) ** 2 if n < T else 1.0 if n < R
                  else np.cos(np.pi * (n - R) / (2 * T)) ** 2 for n in range(L)])
    wa = np.array([np.sin(np.pi * n / (2 * (N - T))) ** 2 if n < N - T else np.cos(np.pi * (n - N + T) / (2 * T))
                   for n in range(N)])
    ws = np.zeros(N)
    for n in range(N - L, N):
        ws[n] = np.cos(np.pi * (n - N + T) / (2 * T)) if n >= N - T else (p[n - N + L] / wa[n] if wa[n] else 0.0)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N) / N)
    c = hann.sum() / wa.sum()
    return wa * c, ws / c


def _numpy_ola(x, wa, ws, R, L):
    """Causal frames (zero history) -> rfft -> irfft -> synthesis window -> overlap-add, one frame at a time."""
    N = len(wa)
    padded = np.concatenate([np.zeros(N - R), x])
    k = len(x) // R
    out = np.zeros(k * R + L)
    for i in range(k):
        frame = padded[i * R: i * R + N]
        y = np.fft.irfft(np.fft.rfft(frame * wa), n=N) * ws
        out[i * R: i * R + L] += y[N - L:]
    return out[: k * R]


@pytest.mark.parametrize("N,R,L", CASES)
def test_windows_match_the_written_formula_and_reconstruct(N, R, L):
    L_ = 2 * R if L is None else L
    wa, ws = S.low_delay_windows(N, hop_length=R, synthesis_length=L)
    ra, rs = _numpy_windows(N, R, L_)
    np.testing.assert_allclose(wa.numpy(), ra, atol=1e-6)
    np.testing.assert_allclose(ws.numpy(), rs, atol=1e-6)
    assert np.all(rs[: N - L_] == 0) and rs[N - 1] > 0  # support: the last L samples only
    # overlap-add condition: the window products every R samples sum to exactly 1
    prod = np.pad(ra * rs, (0, -N % R)).reshape(-1, R).sum(0)
    np.testing.assert_allclose(prod, 1.0, atol=1e-12)
    # the analysis window has the Hann window's coherent gain
    np.testing.assert_allclose(ra.sum(), N / 2, rtol=1e-12)


@pytest.mark.parametrize("N,R,L", CASES)
def test_overlap_add_matches_numpy_reference(N, R, L):
    x = np.random.default_rng(1).standard_normal(6000)
    L_ = 2 * R if L is None else L
    ref = _numpy_ola(x, *_numpy_windows(N, R, L_), R, L_)
    X = S.causal_frames(torch.from_numpy(x).float(), n_fft=N, hop_length=R, window="low-delay", synthesis_length=L)
    ours = S.overlap_add(X, n_fft=N, hop_length=R, window="low-delay", synthesis_length=L)
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-5)
    d = L_ - R  # identity processing: the input delayed by L - R samples
    np.testing.assert_allclose(ref[d:], x[: len(ref) - d], atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(sizes=st.lists(st.integers(1, 700), min_size=1, max_size=10), case=st.sampled_from(CASES))
def test_stream_reconstructs_with_stated_latency(sizes, case):
    N, R, L = case
    y = torch.randn(2, 5000, generator=torch.Generator().manual_seed(3))
    kw = dict(n_fft=N, hop_length=R, window="low-delay", synthesis_length=L)
    stream = S.SpectralStream(channels=2, **kw)
    an, syn = S.StreamingAnalyzer(channels=2, **kw), S.StreamingSynthesizer(channels=2, **kw)
    out, frames, synth, pos, i = [], [], [], 0, 0
    while pos < y.shape[-1]:
        b = y[:, pos: pos + sizes[i % len(sizes)]]
        out.append(stream.process(b))
        frames.append(an.process(b))
        synth.append(syn.process(frames[-1]))
        assert out[-1].shape == b.shape
        pos, i = pos + b.shape[-1], i + 1
    lat = stream.latency_samples
    assert lat == (2 * R if L is None else L) - 1
    z = torch.cat(out, -1)
    assert (z[:, lat:] - y[:, : y.shape[-1] - lat]).abs().max() <= 1e-5
    assert z[:, :lat].abs().max() <= 1e-6
    F = torch.cat(frames, -1)
    torch.testing.assert_close(F, S.causal_frames(y, **kw), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.cat(synth, -1), S.overlap_add(F, **kw), atol=1e-5, rtol=0)


def test_latency_follows_the_synthesis_window_not_n_fft():
    for N in (512, 1024, 2048):
        assert S.SpectralStream(n_fft=N, hop_length=128, window="low-delay").latency_samples == 255
        assert S.SpectralStream(n_fft=N, hop_length=128).latency_samples == N - 1


def test_sinusoid_magnitude_close_to_hann():
    # a steady tone at a bin centre: same peak magnitude; a harmonic tone: similar spectra
    N, R = 512, 128
    t = np.arange(8192)
    tone = np.sin(2 * np.pi * 20 * t / N)
    h = S.causal_frames(torch.from_numpy(tone).float(), n_fft=N, hop_length=R).abs()[:, -1]
    ld = S.causal_frames(torch.from_numpy(tone).float(), n_fft=N, hop_length=R, window="low-delay").abs()[:, -1]
    assert abs(float(ld[20] / h[20]) - 1) < 1e-3  # the negative frequency leaks a little more
    harm = sum(np.sin(2 * np.pi * k * 196.0 * t / 44100) / k for k in range(1, 20))
    h = S.causal_frames(torch.from_numpy(harm).float(), n_fft=N, hop_length=R).abs()[:, 8:]
    ld = S.causal_frames(torch.from_numpy(harm).float(), n_fft=N, hop_length=R, window="low-delay").abs()[:, 8:]
    db = 20 * torch.log10((ld + 1e-6) / (h + 1e-6))
    loud = h > h.max() * 1e-2  # within 40 dB of the peak (between harmonics the short fall leaks more)
    assert float(db[loud].abs().median()) < 2.0


@pytest.mark.parametrize("kw,match", [
    ({"window": "kaiser"}, "window='kaiser' is not valid; expected one of hann, low-delay"),
    ({"window": "low-delay", "synthesis_length": 128}, r"synthesis_length=128 must be an integer in \(128, 256\]"),
    ({"window": "low-delay", "synthesis_length": 300}, r"synthesis_length=300 must be an integer in \(128, 256\]"),
    ({"window": "hann", "synthesis_length": 256}, "synthesis_length=256 applies to window='low-delay'"),
])
def test_bad_window_params(kw, match):
    with pytest.raises(ParameterError, match=match):
        S.SpectralStream(n_fft=512, hop_length=128, **kw)


def test_training_frames_use_the_configured_analysis_window(tmp_path):
    # a low-delay run is trained on the frames it will play with
    import soundfile as sf

    from models.train import clip_magnitudes
    from workbench.config import make_config

    y = (0.3 * np.sin(2 * np.pi * 220 * np.arange(44100) / 44100)).astype(np.float32)
    sf.write(tmp_path / "a.wav", y, 44100, subtype="FLOAT")
    cfg = make_config(preset="low-delay")
    got = clip_magnitudes([tmp_path / "a.wav"], cfg)[0]
    want = S.causal_frames(torch.from_numpy(y), n_fft=512, hop_length=128, window="low-delay").abs().T
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
