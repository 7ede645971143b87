"""`workbench export` of a DDSP run (issue 28 part 4): the TorchScript module equals the Python
effect block by block (noise included), resets, loads without this package, keeps the
autoencoder export's conventions, and refuses what it cannot do in one line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from effects.ddsp import DDSPEffect
from effects.export import load_exported
from effects.export_ddsp import DDSPModule, export_ddsp
from tests.conftest import run_cli
from workbench.errors import ParameterError

SR = 16000


def _sung_like(channels: int = 1) -> np.ndarray:
    """3 s: a harmonic glide through a trumpet's range with vibrato, a breathy noise burst, a loud
    passage into the limiter and a silent gap: voiced, unvoiced, held and gated frames."""
    t = np.arange(3 * SR) / SR
    f0 = 220 * 2 ** (t / 2) * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    ph = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(np.sin(k * ph) / k for k in range(1, 10)) * 0.15
    rng = np.random.default_rng(5)
    y[int(0.9 * SR): int(1.1 * SR)] = 0.05 * rng.standard_normal(int(0.2 * SR))
    y[int(0.4 * SR): int(0.6 * SR)] *= 5
    y[int(1.8 * SR): int(2.1 * SR)] = 0
    return np.stack([y * (1 - 0.3 * c) for c in range(channels)]).astype(np.float32)


def _params(**kw):
    return dict(dict(mix=0.8, octave_shift=1, gate_db=-60.0, seed=0), **kw)


@pytest.mark.parametrize("channels,params", [(1, _params()), (2, _params(mix=1.0, octave_shift=0, seed=7))])
def test_exported_ddsp_equals_the_effect_block_by_block(ddsp_run, tmp_path, channels, params):
    m = load_exported(export_ddsp(ddsp_run, tmp_path / "d.ts", channels=channels, **params))
    fx = DDSPEffect(model=ddsp_run, **params)
    hop = fx.hop
    assert (m.sampling_rate, m.block_multiple, m.latency_samples, m.channels, m.n_fft) == (SR, hop, hop + 512,
                                                                                           channels, 1024)
    assert m.forward_params.tolist() == [channels, 1, channels, 1]
    fx.prepare(SR, channels, 16 * hop)
    assert fx.state_names() == DDSPModule.STATE and all(hasattr(m, "s_" + name) for name in DDSPModule.STATE)
    x = _sung_like(channels=channels)
    rng, i, worst, outs = np.random.default_rng(0), 0, 0.0, []
    sizes = [hop, hop, 2 * hop] + [int(n) * hop for n in rng.integers(1, 17, 64)]  # hop, then multiples of it
    for n in sizes:
        if i + n > x.shape[1]:
            break
        want = fx.process_block(x[:, i: i + n])
        got = m(torch.from_numpy(x[:, i: i + n])).numpy()
        worst = max(worst, float(np.abs(got - want).max()))
        outs.append(got)
        i += n
    assert i > 2.5 * SR
    assert worst < 1e-5
    y = np.concatenate(outs, axis=1)
    assert np.isfinite(y).all() and np.abs(y).max() > 0.02  # it plays, not only silence
    gap = slice(int(1.8 * SR) + 2048, int(2.1 * SR))  # the silent gap (output 768 samples late), windows past
    assert np.abs(y[:, gap]).max() < 1e-6


def test_reset_restarts_the_stream_and_its_noise(ddsp_run, tmp_path):
    """reset(): the same input gives the same output again, noise included; (batch, channels, n) works."""
    m = load_exported(export_ddsp(ddsp_run, tmp_path / "d.ts", seed=3))
    fx = DDSPEffect(model=ddsp_run, seed=3)
    hop = m.block_multiple
    fx.prepare(SR, 1, 32 * hop)
    x = _sung_like()
    first = m(torch.from_numpy(x[None, :, : 32 * hop])).numpy()
    assert first.shape == (1, 1, 32 * hop)
    m(torch.from_numpy(x[:, 32 * hop: 48 * hop]))  # further on: the state moves
    m.reset()
    again = m(torch.from_numpy(x[None, :, : 32 * hop])).numpy()
    np.testing.assert_array_equal(again, first)
    np.testing.assert_allclose(first[0], fx.process_block(x[:, : 32 * hop]), atol=1e-5)
    # the noise alone (a breath: unvoiced, so the harmonics are gated off) differs with the seed
    other = load_exported(export_ddsp(ddsp_run, tmp_path / "e.ts", seed=4))
    breath = (0.05 * np.random.default_rng(1).standard_normal((1, 16 * hop))).astype(np.float32)
    m.reset()
    a, b = m(torch.from_numpy(breath)).numpy(), other(torch.from_numpy(breath)).numpy()
    assert np.abs(a).max() > 1e-4 and not np.allclose(a, b)


def test_exported_ddsp_loads_without_the_workbench(ddsp_run, tmp_path):
    path = export_ddsp(ddsp_run, tmp_path / "d.ts", channels=2)
    code = (f"import torch; m = torch.jit.load({str(path)!r}); y = m(0.1 * torch.randn(1, 2, 4 * m.block_multiple)); "
            "m.reset(); print(m.sampling_rate, m.latency_samples, m.n_fft, m.channels, tuple(y.shape), "
            "bool(torch.isfinite(y).all()))")
    r = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["16000", "768", "1024", "2", "(1,", "2,", "1024)", "True"]


def test_a_block_that_is_not_a_multiple_of_the_hop(ddsp_run, tmp_path):
    """As for the autoencoder's module: the file carries no ParameterError (it loads without this
    package), so the module raises one line, and a wrong channel count another."""
    m = load_exported(export_ddsp(ddsp_run, tmp_path / "d.ts"))
    with pytest.raises(torch.jit.Error, match=f"block of {m.block_multiple + 1} samples; expected a multiple of "
                                              f"{m.block_multiple}"):
        m(torch.zeros(1, m.block_multiple + 1))
    with pytest.raises(torch.jit.Error, match=r"expected \(1, n\) or \(batch, channels, n\) audio"):
        m(torch.zeros(2, m.block_multiple))


def test_what_cannot_be_exported_gets_one_line(ddsp_run, tiny_run, tmp_path):
    with pytest.raises(ParameterError, match="is an autoencoder run; play it with --method autoencoder"):
        export_ddsp(tiny_run, tmp_path / "a.ts")
    with pytest.raises(ParameterError, match=r"^octave_shift=5 must be an integer in \[-4, 4\]"):
        export_ddsp(ddsp_run, tmp_path / "b.ts", octave_shift=5)
    with pytest.raises(ParameterError, match="^channels=0 must be a positive integer"):
        export_ddsp(ddsp_run, tmp_path / "c.ts", channels=0)
    with pytest.raises(ParameterError, match="^mix=2"):
        export_ddsp(ddsp_run, tmp_path / "d.ts", mix=2.0)
    assert not list(tmp_path.iterdir())


def test_cli_export_of_a_ddsp_run(ddsp_run, tiny_run, tmp_path):
    r = run_cli("export", "--model", str(ddsp_run), "--out", str(tmp_path / "d.ts"), "--octave-shift", "1",
                "--seed", "2", "--mix", "0.9")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "ddsp, 16000 Hz" in r.stdout and "latency 768 samples" in r.stdout
    assert r.stderr.count("Warning") == 0, r.stderr
    m = load_exported(tmp_path / "d.ts")
    fx = DDSPEffect(model=ddsp_run, octave_shift=1, seed=2, mix=0.9)
    fx.prepare(SR, 1, 8 * m.block_multiple)
    x = _sung_like()[:, : 8 * m.block_multiple]
    np.testing.assert_allclose(m(torch.from_numpy(x)).numpy(), fx.process_block(x), atol=1e-5)
    for args, says in ((("--model", str(ddsp_run), "--window", "low-delay"), "--window and --synthesis-length are "
                        "for autoencoder runs"),
                       (("--model", str(tiny_run), "--octave-shift", "1"), "--octave-shift and --seed are for ddsp "
                        "runs"),
                       (("--model", str(ddsp_run), "--octave-shift", "9"), "octave_shift=9 must be an integer")):
        r = run_cli("export", *args, "--out", str(tmp_path / "x.ts"))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr
    assert not (tmp_path / "x.ts").exists()
