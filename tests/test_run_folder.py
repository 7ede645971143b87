"""The run folder's one home (models.checkpoint.RunFolder) and train-or-reuse (models.training)."""

from __future__ import annotations

import json

import pytest

from models.checkpoint import RunFolder, load_run
from models.training import method_of_config, train_or_reuse
from tests.conftest import TINY_MODEL
from workbench.config import Config, DDSPConfig, config_hash, make_config
from workbench.errors import ParameterError


@pytest.fixture(scope="module")
def trained(tmp_path_factory, trumpet_melodies):
    cfg = make_config(preset="nsynth", overrides=[*TINY_MODEL, "train.epochs=1"], seed=0)
    out = tmp_path_factory.mktemp("rf") / "run"
    meta = train_or_reuse(trumpet_melodies, cfg, out, progress=False)
    return cfg, out, meta


def test_names_and_an_empty_folder(tmp_path):
    run = RunFolder(tmp_path / "nothing")
    assert (run.weights.name, run.config.name, run.meta.name) == ("model.safetensors", "config.json", "meta.json")
    assert (run.loss_csv.name, run.loss_png.name, run.resume.name, run.scorecard.name) == (
        "loss.csv", "loss.png", "resume.pt", "scorecard.csv")
    assert not run.is_run() and not run.is_complete() and run.read_meta() == {} and run.read_loss() == {}
    with pytest.raises(ParameterError, match="has no model.safetensors"):
        run.weights_token()
    with pytest.raises(ParameterError, match="has no config.json"):
        run.read_config()


def test_loss_round_trip(tmp_path):
    run = RunFolder(tmp_path / "r")
    rows = [{"epoch": 1, "train_loss": 0.5, "valid_loss": 0.75, "seconds": 1.5},
            {"epoch": 2, "train_loss": 0.25, "valid_loss": "nan?", "seconds": 3.0}]
    run.write_loss(rows)
    cols = run.read_loss()
    assert cols["epoch"] == [1.0, 2.0] and cols["train_loss"] == [0.5, 0.25] and cols["seconds"] == [1.5, 3.0]
    assert cols["valid_loss"][0] == 0.75 and cols["valid_loss"][1] != cols["valid_loss"][1]  # NaN: not a number


def test_a_trained_run_is_complete_and_reused(trained):
    cfg, out, meta = trained
    run = RunFolder(out)
    assert run.is_run() and run.is_complete() and run.is_complete(config_hash=config_hash(cfg))
    assert meta["config_hash"] == config_hash(cfg) and "reused" not in meta
    assert not run.is_complete(config_hash="0" * 12)
    typed = run.read_config()
    assert isinstance(typed, Config) and typed.model.latent == load_run(out).config.model.latent
    token = run.weights_token()
    again = train_or_reuse(str(out.parent), cfg, out, progress=False)  # same config: nothing trains
    assert again["reused"] is True and run.weights_token() == token
    assert again["epochs_run"] == meta["epochs_run"]


def test_another_config_trains_again_unless_any_run_will_do(trained, trumpet_melodies, tmp_path):
    import shutil

    cfg, out, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    other = make_config(preset="nsynth", overrides=[*TINY_MODEL, "train.epochs=1"], seed=1)
    kept = train_or_reuse(trumpet_melodies, other, copy, match_config=False, progress=False)
    assert kept["reused"] is True
    token = RunFolder(copy).weights_token()
    fresh = train_or_reuse(trumpet_melodies, other, copy, progress=False)
    assert "reused" not in fresh and RunFolder(copy).weights_token() != token
    assert RunFolder(copy).is_complete(config_hash=config_hash(other))


def test_unfinished_and_broken_runs_are_not_complete(trained, tmp_path):
    import shutil

    _, out, _ = trained
    run = RunFolder(tmp_path / "r")
    shutil.copytree(out, run.path)
    meta = json.loads(run.meta.read_text())
    run.meta.write_text(json.dumps({**meta, "status": "training"}))
    assert not run.is_complete()
    run.meta.write_text("{not json")
    assert not run.is_complete() and run.read_meta() == {}
    run.config.write_text(json.dumps({"format_version": 99, "class": "LSTMAutoencoder", "model_kwargs": {},
                                      "config": {}}))
    with pytest.raises(ParameterError, match="format_version=99"):
        run.read_config()
    run.config.write_text(json.dumps({"format_version": 1, "class": "Vocoder", "model_kwargs": {}, "config": {}}))
    with pytest.raises(ParameterError, match="not a valid run config"):
        load_run(run.path)


def test_a_check_refuses_before_training_and_resume_is_autoencoder_only(trumpet_melodies, tmp_path):
    cfg = make_config(preset="nsynth", overrides=[*TINY_MODEL, "train.epochs=1"], seed=0)

    def refuse(paths):
        raise ParameterError(f"{len(paths)} files: not enough")

    with pytest.raises(ParameterError, match="files: not enough"):
        train_or_reuse(trumpet_melodies, cfg, tmp_path / "no", check=refuse, progress=False)
    assert not (tmp_path / "no").exists()
    ddsp = make_config(method="ddsp", seed=0)
    assert (method_of_config(ddsp), method_of_config(cfg)) == ("ddsp", "autoencoder")
    assert isinstance(ddsp, DDSPConfig)
    with pytest.raises(ParameterError, match="--resume: --method ddsp"):
        train_or_reuse(trumpet_melodies, ddsp, tmp_path / "d", resume=True, progress=False)
