"""`workbench export` (issue 18): the TorchScript module equals the Python effect block by block,
keeps its state, loads without this package, and refuses what it cannot carry in one line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from effects.autoencoder import AutoencoderEffect
from effects.export import export_autoencoder, load_exported
from tests.conftest import run_cli
from workbench.errors import ParameterError

SR = 16000


def _voice_like(seconds: float = 3.0, channels: int = 1) -> np.ndarray:
    """A gliding harmonic tone from below to inside a trumpet's range, with a loud burst and a gap."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 110 * 2 ** (2 * t / seconds)  # two octaves up
    ph = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(np.sin(k * ph) / k for k in range(1, 12)) * 0.2
    y[int(0.4 * SR): int(0.6 * SR)] *= 6  # into the limiter
    y[int(1.5 * SR): int(1.8 * SR)] = 0  # silence in the middle
    return np.stack([y * (1 - 0.3 * c) for c in range(channels)]).astype(np.float32)


@pytest.mark.parametrize("channels,window", [(1, None), (2, None), (1, "low-delay")])
def test_exported_module_equals_the_effect_block_by_block(tiny_run, tmp_path, channels, window):
    m = load_exported(export_autoencoder(tiny_run, tmp_path / "m.ts", channels=channels, window=window))
    fx = AutoencoderEffect(model=tiny_run, window=window)
    hop = fx.hop_length
    latency = fx.n_fft - 1 if window is None else 2 * hop - 1
    assert (m.sampling_rate, m.block_multiple, m.latency_samples, m.channels) == (SR, hop, latency, channels)
    assert m.forward_params.tolist() == [channels, 1, channels, 1]
    fx.prepare(SR, channels, 64 * hop)
    x = _voice_like(channels=channels)
    rng, i, worst = np.random.default_rng(0), 0, 0.0
    while i + 16 * hop <= x.shape[1]:
        n = int(rng.integers(1, 17)) * hop
        want = fx.process_block(x[:, i: i + n])
        got = m(torch.from_numpy(x[:, i: i + n])).numpy()
        worst = max(worst, float(np.abs(got - want).max()))
        i += n
    assert worst < 1e-5
    m.reset()
    fx.reset()
    block = x[None, :, : 8 * hop] if channels == 1 else x[:, None, : 8 * hop]  # RAVE's (batch, channels, n)
    got = m(torch.from_numpy(np.ascontiguousarray(block))).numpy()
    assert got.shape == block.shape
    np.testing.assert_allclose(got.reshape(channels, -1), fx.process_block(x[:, : 8 * hop]), atol=1e-5)


def test_exported_module_loads_without_the_workbench(tiny_run, tmp_path):
    path = export_autoencoder(tiny_run, tmp_path / "m.ts")
    code = (f"import torch; m = torch.jit.load({str(path)!r}); y = m(0.1 * torch.randn(1, 1, 4 * m.block_multiple)); "
            "print(m.sampling_rate, tuple(y.shape), bool(torch.isfinite(y).all()))")
    r = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["16000", "(1,", "1,", f"{4 * AutoencoderEffect(model=tiny_run).hop_length})", "True"]


def test_a_block_that_is_not_a_multiple_of_the_hop(tiny_run, tmp_path):
    m = load_exported(export_autoencoder(tiny_run, tmp_path / "m.ts"))
    with pytest.raises(torch.jit.Error, match=f"expected a multiple of {m.block_multiple}"):
        m(torch.zeros(1, m.block_multiple + 1))


def test_what_cannot_be_exported_gets_one_line(multi_run, chroma_run, tmp_path):
    with pytest.raises(ParameterError, match="a multi-instrument run cannot be exported yet"):
        export_autoencoder(multi_run, tmp_path / "a.ts")
    with pytest.raises(ParameterError, match="model.chroma=true: the chroma condition cannot be exported yet"):
        export_autoencoder(chroma_run, tmp_path / "b.ts")
    assert not list(tmp_path.iterdir())


def test_cli_export(tiny_run, multi_run, tmp_path):
    r = run_cli("export", "--model", str(tiny_run), "--out", str(tmp_path / "t.ts"))
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "latency 1023 samples" in r.stdout and r.stderr.count("Warning") == 0
    r = run_cli("export", "--model", str(multi_run), "--out", str(tmp_path / "m.ts"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("channels,window", [(1, None), (2, "low-delay")])
def test_torchscript_effect_equals_the_python_effect(tiny_run, channels, window):
    """AutoencoderEffect(torchscript=True): whole-hop blocks run the traced step, other blocks the
    Python path on the same state; mix and gate stay live. Same output as the Python effect."""
    x = _voice_like(2.0, channels)
    py = AutoencoderEffect(model=tiny_run, window=window)
    ts = AutoencoderEffect(model=tiny_run, window=window, torchscript=True)
    hop = py.hop_length
    sizes = [hop, 2 * hop, hop, 100, hop - 100, hop, 3 * hop, 37, hop]  # realigns after the odd blocks
    for fx in (py, ts):
        fx.prepare(SR, channels, 4 * hop)
    outs = {id(py): [], id(ts): []}
    i = k = 0
    while i + 4 * hop <= x.shape[1]:
        n = sizes[k % len(sizes)]
        if k == 12:  # live parameters mid-stream
            for fx in (py, ts):
                fx.set_params(mix=0.6, gate_db=-30.0)
        for fx in (py, ts):
            outs[id(fx)].append(fx.process_block(x[:, i:i + n]))
        i, k = i + n, k + 1
    a, b = np.concatenate(outs[id(py)], axis=1), np.concatenate(outs[id(ts)], axis=1)
    assert np.abs(a).max() > 0.05
    np.testing.assert_allclose(b, a, atol=1e-6)
    assert ts._step is not None and py._step is None


def test_torchscript_refuses_what_it_cannot_follow(multi_run, chroma_run, tmp_path):
    with pytest.raises(ParameterError, match="torchscript='yes' is not valid; expected True or False"):
        AutoencoderEffect(model=multi_run, torchscript="yes")
    with pytest.raises(ParameterError, match="a multi-instrument run cannot be traced yet"):
        AutoencoderEffect(model=multi_run, torchscript=True).prepare(SR, 1, 256)
    with pytest.raises(ParameterError, match="the chroma condition cannot be traced yet"):
        AutoencoderEffect(model=chroma_run, torchscript=True).prepare(SR, 1, 256)
    import soundfile as sf

    sf.write(tmp_path / "in.wav", _voice_like(0.5)[0], SR)
    r = run_cli("transfer", "--method", "cepstral", "--target", str(tmp_path / "in.wav"), "--torchscript", "--input",
                str(tmp_path / "in.wav"), "--out", str(tmp_path / "out.wav"))
    assert r.returncode == 2 and "--torchscript is for --method autoencoder, not cepstral" in r.stderr, r.stderr


def test_the_effect_continues_from_its_state_in_a_twin(tiny_run):
    """AutoencoderEffect.state() / load_state(): the stream, the context frames, the LSTM state and
    the dry line, handed to a second effect after any block, make it go on exactly as the first."""
    x = _voice_like(channels=1)
    a, b = (AutoencoderEffect(model=tiny_run, mix=0.7) for _ in range(2))
    for fx in (a, b):
        fx.prepare(SR, 1, 4096)
    a.process_block(x[:, :3001])
    assert a.state_names() == ("hist", "acc", "fifo", "history", "h", "c", "dry")
    b.load_state([t.clone() for t in a.state()])
    for lo, hi in ((3001, 5000), (5000, 9000)):
        np.testing.assert_array_equal(a.process_block(x[:, lo:hi]), b.process_block(x[:, lo:hi]))
    with pytest.raises(ParameterError, match=r"^6 state tensors; expected 7 \(hist, acc, fifo, history, h, c, dry\)$"):
        b.load_state(a.state()[:6])
