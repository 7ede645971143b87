"""Device correctness without a GPU: every tensor a model, loss, augmentation or feature extractor
makes must follow its input's device. PyTorch's ``meta`` device stands in for CUDA here: an
operation that mixes a ``meta`` tensor with one made on the CPU raises, as one mixing CUDA and
CPU tensors does (0-dim CPU scalars excepted in both). So a training step and a streaming hop
run on ``meta`` find a tensor made without ``device=``; ``scripts/gpu_check.sh`` runs the same
paths on a real GPU."""

import dataclasses

import pytest
import torch

from models import distributed
from models.ddsp import DDSPDecoder, causal_windows, frame_parameters, hold_f0, synthesize
from models.ddsp_train import _loss as ddsp_loss
from models.lstm_ae import LSTMAutoencoder, input_options, prepare_input
from models.train import FrameSequences, build_model, device_schedule, model_kwargs, prepare_batch
from workbench.config import make_config
from workbench.errors import ParameterError
from workbench.spectral import causal_frames, chroma_onehot, overlap_add

META = torch.device("meta")


def _cfg(**model):
    cfg = make_config(overrides=["train.seq_len=8", "train.batch_size=3", "train.pitch_shift=(-2,2)"], seed=0)
    m = dataclasses.replace(cfg.model, **model)
    if m.active_harmonics and not m.pitch_range:
        m = dataclasses.replace(m, pitch_range=(4.0, 40.0))
    return dataclasses.replace(cfg, model=m)


@pytest.mark.parametrize("model", [
    {},  # the default: harmonic levels and register envelope
    {"harmonics": 0, "condition": "onehot", "codes": ("a", "b"), "chroma": True},
    {"harmonics": 0, "whiten": 0, "output": "spectrum"},
])
def test_autoencoder_training_step_on_meta(model):
    cfg = _cfg(**model)
    bins = cfg.audio.n_fft // 2 + 1
    mags = [torch.empty(40, bins, device=META), torch.empty(5, bins, device=META)]
    codes = [0, 1] if cfg.model.condition != "none" else None
    ds = FrameSequences(mags, cfg, augment=True, seed=0, codes=codes, device=META)
    b = prepare_batch(ds.batch([0, 1, 2]), cfg)
    assert b["x"].device == META and b["y"].device == META
    net = build_model(cfg).to(META)
    pred, z, _ = net(b["x"], code=b["code"], chroma=b["chroma"], f0=b["f0"])
    torch.nn.functional.mse_loss(pred, b["y"]).backward()
    assert pred.shape == b["y"].shape and z.device == META


def test_autoencoder_streaming_hop_on_meta():
    cfg = _cfg()
    net = LSTMAutoencoder(**model_kwargs(cfg)).to(META).eval()
    bins = cfg.audio.n_fft // 2 + 1
    frame = torch.empty(2, cfg.model.context + 1, bins, device=META)
    shape, _, f0 = prepare_input(frame, **input_options(cfg.model))
    with torch.inference_mode():
        y, z, state = net.step(shape, None, f0=f0[:, -1])
        y, z, state = net.step(shape, state, f0=f0[:, -1])
    assert y.device == META and all(s.device == META for s in state)


def test_ddsp_training_step_and_hop_on_meta():
    cfg = make_config(method="ddsp", seed=0)
    sr, hop = cfg.audio.sr, cfg.audio.hop_length
    model = DDSPDecoder(harmonics=8, noise_bands=9, hidden=16, gru=16).to(META)
    k = 6
    f0 = torch.empty(2, k + 1, device=META)
    batch = (f0, torch.empty_like(f0), torch.empty_like(f0), torch.empty(2, k * hop, device=META))
    ddsp_loss(model, batch, dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, noise_bands=9))).backward()
    # one streaming hop: frame parameters with a carried state, then synthesis with a carried phase
    harm, bands, state = frame_parameters(model, f0[:, :2], f0[:, :2], f0[:, :2], sr=sr)
    noise = torch.empty(2, 2 * (9 - 1) - 1 + hop, device=META)
    y, phase = synthesize(f0[:, :2], harm, bands[:, 1:], noise, sr=sr, hop=hop)
    harm, bands, state = frame_parameters(model, f0[:, 1:3], f0[:, 1:3], f0[:, 1:3], sr=sr, state=state)
    y, phase = synthesize(f0[:, 1:3], harm, bands[:, 1:], noise, sr=sr, hop=hop, phase=phase)
    assert y.device == META and phase.device == META
    assert causal_windows(torch.empty(3000, device=META), hop=hop, frames=4).device == META


def test_spectral_features_follow_the_input():
    y = torch.empty(1, 4096, device=META)
    X = causal_frames(y, n_fft=512, hop_length=128, window="low-delay")
    assert overlap_add(X, n_fft=512, hop_length=128, window="low-delay").device == META
    assert chroma_onehot(X.abs().transpose(-1, -2), sr=16000, n_fft=512).device == META


def test_device_schedule_scales_batch_and_rate_on_cuda_only():
    cfg = make_config(seed=0)
    assert device_schedule(cfg, "cpu") is cfg
    gpu = device_schedule(cfg, "cuda:0")
    k = cfg.train.gpu_batch_scale
    assert gpu.train.batch_size == cfg.train.batch_size * k
    assert gpu.train.lr == pytest.approx(cfg.train.lr * k ** 0.5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the messages of a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:7"])
def test_cuda_asked_for_where_there_is_none(device):
    with pytest.raises(ParameterError, match=f"--device '{device}'.*expected"):
        distributed.resolve_device(device)


@pytest.mark.skipif(torch.cuda.device_count() > 7, reason="needs fewer than 8 GPUs")
def test_cuda_index_past_the_devices(monkeypatch):
    # the count is the machine's; CUDA's presence is what this machine lacks, so both are given
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ParameterError, match=r"--device 'cuda:7': this machine has 1 CUDA device\(s\); expected cuda:0"):
        distributed.resolve_device("cuda:7")
    assert distributed.resolve_device("cuda:0") == "cuda:0"


def test_bad_device_name():
    with pytest.raises(ParameterError, match="--device 'tpu' is not valid"):
        distributed.resolve_device("tpu")


def test_hold_f0_vectorised_equals_the_frame_loop():
    g = torch.Generator().manual_seed(0)
    f0 = torch.rand(200, generator=g) * 400
    f0[torch.rand(200, generator=g) < 0.3] = 0
    gate = (torch.rand(200, generator=g) > 0.4).float()
    out, last = f0.clone(), 123.0
    for i in range(200):  # the reference: hold the last voiced value
        if gate[i] > 0 and f0[i] > 0:
            last = float(f0[i])
        else:
            out[i] = last
    held, held_last = hold_f0(f0, gate, last=123.0)
    assert torch.equal(held, out) and held_last == last
    assert hold_f0(f0[:0], gate[:0], last=5.0)[1] == 5.0
