"""The model-bound effects on a device: model and streaming state live on ``device``, blocks move at
the edges only. As in ``tests/test_device.py``, PyTorch's ``meta`` device stands in for CUDA: a
tensor made on the CPU and mixed with the effect's ``meta`` state raises as it would on a GPU, so a
few streaming hops on ``meta`` find any state allocated without ``device=``. ``meta`` tensors hold
no values, so these hops go through :meth:`Effect.process_tensor`, which leaves the output on the
device. Playing these effects on a real GPU is not yet part of ``scripts/gpu_check.sh``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from effects.autoencoder import AutoencoderEffect
from effects.base import check_device
from effects.ddsp import DDSPEffect
from effects.latent_mix import LatentMixEffect
from tests.conftest import run_cli
from workbench.errors import ParameterError

META = torch.device("meta")


def _effects(tiny_run, ddsp_run, device, rng):
    morph = rng.uniform(-0.3, 0.3, 16000).astype(np.float32)
    return {
        "autoencoder": lambda: AutoencoderEffect(model=tiny_run, mix=0.7, gain_db=-1.0, device=device),
        "autoencoder-low-delay": lambda: AutoencoderEffect(model=tiny_run, window="low-delay", device=device),
        "latent-mix": lambda: LatentMixEffect(model=tiny_run, mode="morph", morph=morph, alpha=0.5, device=device),
        "ddsp": lambda: DDSPEffect(model=ddsp_run, mix=0.5, device=device),
    }


@pytest.mark.parametrize("name", ["autoencoder", "autoencoder-low-delay", "latent-mix", "ddsp"])
def test_streaming_hops_on_meta(name, tiny_run, ddsp_run, rng):
    fx = _effects(tiny_run, ddsp_run, META, rng)[name]()
    assert fx.device == META and all(p.device == META for p in fx.model.parameters())
    assert all(p.device.type == "cpu" for p in fx.run.model.parameters())  # the run keeps its CPU model
    sr = fx.required_sample_rate
    fx.prepare(sr, 2, 2048)
    hop = getattr(fx, "hop_length", None) or fx.hop
    # whole hops, a ragged block, a block that completes no frame, and a block from the CPU
    for n in (hop, 3 * hop + 5, 1, 2 * hop - 6):
        y = fx.process_tensor(torch.empty(2, n, device=META))
        assert y.device == META and y.shape == (2, n) and y.dtype == torch.float32
    y = fx.process_tensor(torch.zeros(2, hop))
    assert y.device == META
    if name == "latent-mix":
        assert fx._traj.device == META


@pytest.mark.parametrize("name", ["autoencoder", "latent-mix", "ddsp"])
def test_cpu_device_is_the_default_path(name, tiny_run, ddsp_run, rng):
    """``device="cpu"`` is the default: the same samples, bit for bit, by block and by tensor."""
    x = (0.3 * rng.standard_normal((1, 9000))).astype(np.float32)
    cls, kw = {"autoencoder": (AutoencoderEffect, dict(model=tiny_run, mix=0.7)),
               "latent-mix": (LatentMixEffect, dict(model=tiny_run, mode="blend", scale=[0.9] * 8)),
               "ddsp": (DDSPEffect, dict(model=ddsp_run, mix=0.5))}[name]
    default, cpu = cls(**kw), cls(**kw, device=torch.device("cpu"))
    sr = default.required_sample_rate
    a = default.process(x, sr)
    b = cpu.process(x, sr)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    cpu.prepare(sr, 1, 4096)
    streamed = np.concatenate([cpu.process_tensor(torch.from_numpy(x[:, i: i + 1000])).numpy()
                               for i in range(0, x.shape[1], 1000)], axis=1)
    default.prepare(sr, 1, 4096)
    blocks = np.concatenate([default.process_block(x[:, i: i + 1000]) for i in range(0, x.shape[1], 1000)], axis=1)
    assert np.array_equal(streamed, blocks)
    if name == "latent-mix":
        assert default.latent_trajectory.dtype == np.float32 and len(default.latent_trajectory)


def test_torchscript_is_cpu_only(tiny_run):
    with pytest.raises(ParameterError, match=r"^torchscript=True runs on the CPU only; got device='meta'"):
        AutoencoderEffect(model=tiny_run, torchscript=True, device="meta")


@pytest.mark.parametrize("device, message", [
    ("tpu", r"^device='tpu' is not valid; expected cpu, cuda or cuda:N$"),
    (3, r"^device=3 is not valid"),
])
def test_bad_device(device, message):
    with pytest.raises(ParameterError, match=message):
        check_device(device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_cuda_effect_where_there_is_none(tiny_run):
    with pytest.raises(ParameterError, match=r"^device='cuda': no CUDA device is available here; expected cpu$"):
        AutoencoderEffect(model=tiny_run, device="cuda")


def _tone(tmp_path):
    import soundfile as sf

    t = np.arange(8000) / 16000
    src = tmp_path / "in.wav"
    sf.write(src, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return src


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_transfer_device_cuda_fails_in_one_line(tiny_run, tmp_path):
    src = _tone(tmp_path)
    proc = run_cli("transfer", "--model", str(tiny_run), "--input", str(src), "--out", str(tmp_path / "o.wav"),
                   "--device", "cuda")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("workbench: error: --device 'cuda': no CUDA device is available here; "
                                   "expected cpu or auto")
    assert not (tmp_path / "o.wav").exists()


def test_transfer_device_choices(tiny_run, tmp_path):
    import soundfile as sf

    from cli import main

    src = _tone(tmp_path)
    outs = {}
    for device in (None, "cpu", "auto"):
        out = tmp_path / f"{device}.wav"
        assert main(["--quiet", "transfer", "--model", str(tiny_run), "--input", str(src), "--out", str(out),
                     *(["--device", device] if device else [])]) == 0
        outs[device] = sf.read(out, dtype="float32")[0]
    if not torch.cuda.is_available():  # auto is the CPU here: the same file
        assert np.array_equal(outs[None], outs["auto"])
    assert np.array_equal(outs[None], outs["cpu"])
    # the classical methods run on the CPU: auto is fine, a named device is not (or is not there)
    assert main(["--quiet", "transfer", "--method", "cepstral", "--target", str(src), "--input", str(src),
                 "--out", str(tmp_path / "c.wav"), "--device", "auto"]) == 0
    assert main(["--quiet", "transfer", "--model", str(tiny_run), "--input", str(src), "--out", str(tmp_path / "x.wav"),
                 "--device", "tpu"]) == 2
