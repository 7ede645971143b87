"""The trainer's pieces that need no audio: the one train/valid split, meta.json through the
checkpoint module, and the distributed set-up with one process (torchrun itself:
test_autoencoder.py::test_torchrun_two_processes)."""

from __future__ import annotations

import json

import pytest
import torch

from models import distributed
from models.checkpoint import save_run, update_meta
from models.train import split_clips, split_data, split_indices
from workbench.config import make_config
from workbench.errors import ParameterError


def test_split_data_keeps_codes_with_their_clips():
    mags = [torch.full((20, 3), float(i)) for i in range(10)]
    codes = [i % 3 for i in range(10)]
    s = split_data(mags, codes, valid_fraction=0.2, seed=5, min_frames=4)
    tr, va = split_indices(10, valid_fraction=0.2, seed=5)
    assert [int(m[0, 0]) for m in s.train] == tr and [int(m[0, 0]) for m in s.valid] == va
    assert s.train_codes == [codes[i] for i in tr] and s.valid_codes == [codes[i] for i in va]
    train, valid = split_clips(mags, valid_fraction=0.2, seed=5, min_frames=4)
    assert [int(m[0, 0]) for m in train] == tr and [int(m[0, 0]) for m in valid] == va
    assert split_data(mags, valid_fraction=0.2, seed=5, min_frames=4).train_codes is None


def test_split_data_one_clip_cuts_its_frames():
    s = split_data([torch.zeros(100, 3)], [1], valid_fraction=0.1, seed=0, min_frames=4)
    assert [m.shape[0] for m in s.train] == [90] and [m.shape[0] for m in s.valid] == [10]
    assert s.train_codes == s.valid_codes == [1]
    with pytest.raises(ParameterError, match="one clip of 10 frames is too short to split"):
        split_data([torch.zeros(10, 3)], valid_fraction=0.1, seed=0, min_frames=4)
    with pytest.raises(ParameterError, match="no training clips"):
        split_data([], valid_fraction=0.1, seed=0, min_frames=4)


def test_update_meta_merges_into_save_run(tmp_path):
    cfg = make_config(preset="nsynth")
    save_run(tmp_path, torch.nn.Linear(2, 2), config=cfg, model_kwargs={}, meta={"status": "training", "best_epoch": 3})
    before = json.loads((tmp_path / "meta.json").read_text())
    doc = update_meta(tmp_path, {"status": "done", "epochs_run": 5})
    assert doc == json.loads((tmp_path / "meta.json").read_text())
    assert doc["status"] == "done" and doc["epochs_run"] == 5 and doc["best_epoch"] == 3
    assert doc["date"] == before["date"] and doc["format_version"] == before["format_version"]


def test_one_process_placement():
    assert distributed.placement("cpu", environ={}) == distributed.Placement("cpu", 1, 0)
    assert distributed.placement("auto", environ={}).device == ("cuda" if torch.cuda.is_available() else "cpu")
    with distributed.process_group("cpu") as where:
        assert where.world_size == 1 and where.rank == 0


@pytest.mark.parametrize("device,match", [
    ("tpu", "--device 'tpu' is not valid; expected cpu, cuda, cuda:N or auto"),
    ("gpu0", "--device 'gpu0' is not valid"),
])
def test_bad_device(device, match):
    with pytest.raises(ParameterError, match=match):
        distributed.placement(device, environ={})


def test_no_cuda_is_one_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ParameterError, match="no CUDA device is available here"):
        distributed.resolve_device("cuda:1")
    assert distributed.resolve_device("auto") == "cpu"


def test_one_process_collectives_pass_through():
    model = torch.nn.Linear(2, 2)
    assert distributed.wrap(model, world_size=1) is model
    assert distributed.mean_over_ranks(0.25, world_size=1, device="cpu") == 0.25
    assert distributed.agree_on_stop("time limit", ("early stopping", "time limit"), world_size=1, device="cpu") \
        == "time limit"
    assert distributed.agree_on_stop(None, ("early stopping",), world_size=1, device="cpu") is None


def test_mixed_rates_and_channels_are_said_in_one_line(tmp_path, caplog):
    """A 44.1 kHz stereo take among 16 kHz mono files is loaded right, and the user is told."""
    import logging

    import numpy as np

    from models.train import Trainer
    from workbench.audio import describe_conversion, save

    def tone(sr, seconds=3.0):
        t = np.arange(int(sr * seconds)) / sr
        return (0.3 * np.sin(2 * np.pi * 330 * t) + 0.1 * np.sin(2 * np.pi * 660 * t)).astype(np.float32)[None]

    for i in range(3):
        save(tmp_path / f"mono_{i}.wav", tone(16000), 16000)
    save(tmp_path / "take.wav", np.repeat(tone(44100), 2, axis=0), 44100)
    files = sorted(tmp_path.glob("*.wav"))
    assert describe_conversion(files[:3], sr=16000) is None
    line = describe_conversion(files, sr=16000)
    assert line == "1 of 4 files resampled to 16000 Hz (44100 Hz: 1); 1 of 4 mixed to mono (2 channels: 1)"
    cfg = make_config(preset="nsynth", overrides=["model.encoder=(32,)", "model.decoder=(32,)", "model.lstm=16"])
    with caplog.at_level(logging.WARNING, logger="models"):
        trainer = Trainer(cfg, tmp_path / "run", progress=False).prepare_data(files, target="mine")
    assert [r.getMessage() for r in caplog.records if r.name == "models.train"] == [f"mine: {line}"]
    clips = trainer.split.train + trainer.split.valid  # the take is as long as the others at 16 kHz
    assert len(clips) == 4 and len({m.shape[0] for m in clips}) == 1
