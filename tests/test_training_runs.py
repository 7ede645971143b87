"""Training in the background and reading a run as it grows (issue 26, the Training page's library):
analysis.training_job starts, watches and stops `workbench train`; analysis.training_runs reads
curves, progress and ETA, snapshots, the comparison table and plays the phrase through a run."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from analysis import training_job as tj
from analysis import training_runs as tr
from models.callbacks import STOP_FILE
from tests.conftest import TINY_MODEL, needs_festival
from workbench.errors import ParameterError


def _wait(out, *, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = tj.job_status(out)
        if not s["running"]:
            return s
        time.sleep(0.2)
    pytest.fail(f"the job in {out} still runs after {timeout} s")


@pytest.mark.parametrize("kw, match", [
    ({"method": "rave"}, "method='rave' is not valid; expected one of autoencoder, ddsp"),
    ({"epochs": 0}, "epochs=0 must be a positive integer"),
    ({"epochs": 2.5}, "epochs=2.5 must be a positive integer"),
    ({"max_seconds": -1.0}, "max_seconds=-1.0 must be a number >= 0 seconds"),
    ({"scorecard_every": 0}, r"scorecard_every=0 must be a positive integer \(epochs\)"),
    ({"settings": ["model.nope=1"]}, "nope"),
    ({"settings": ["train.epochs"]}, "must look like section.key=value"),
    ({"preset": "huge"}, "preset='huge' is not valid"),
    ({"method": "ddsp", "preset": "nsynth"}, "preset='nsynth' is for the autoencoder"),
])
def test_train_command_refuses_bad_requests(tmp_path, kw, match):
    with pytest.raises(ParameterError, match=match):
        tj.train_command(tmp_path, tmp_path / "run", **kw)


def test_train_command_is_the_cli_command(tmp_path):
    args, plan = tj.train_command(tmp_path / "mat", tmp_path / "run", method="ddsp", epochs=7, max_seconds=90,
                                  scorecard_every=2, settings=["model.gru=48", " "], force=True, seed=3)
    assert args[:3] == ["train", "--method", "ddsp"] and "--force" in args and "--preset" not in args
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    assert sets == ["model.gru=48", "train.epochs=7", "train.max_seconds=90", "train.scorecard_every=2"]
    assert plan == {"method": "ddsp", "epochs": 7, "max_seconds": 90.0}
    _, plan = tj.train_command(tmp_path, tmp_path / "run")
    assert plan["epochs"] == 60 and plan["max_seconds"] == 0.0  # the autoencoder's defaults


def test_check_verdict():
    tj.check_verdict({"verdict": {"verdict": "usable with caveats", "reason": "x"}})
    bad = {"verdict": {"verdict": "not enough", "reason": "3 s usable; at least 10 s needed"}}
    with pytest.raises(ParameterError, match="training refused: 3 s usable; at least 10 s needed; force it"):
        tj.check_verdict(bad)
    tj.check_verdict(bad, force=True)


def test_start_training_refuses_a_missing_target_and_a_used_folder(tmp_path, tiny_run):
    with pytest.raises(ParameterError, match="does not exist; expected a folder of audio or an audio file"):
        tj.start_training(tmp_path / "nope", tmp_path / "run")
    with pytest.raises(ParameterError, match="already exists and is not empty; choose a new name"):
        tj.start_training(tmp_path, tiny_run)
    assert not (tmp_path / "run").exists() and tj.job_status(tmp_path) is None


def test_a_failing_job_says_why(tmp_path):
    """Material of text files: the command refuses it, and the job's state is failed with its one line."""
    (tmp_path / "mat").mkdir()
    (tmp_path / "mat" / "notes.txt").write_text("not audio")
    out = tmp_path / "runs" / "bad"
    job = tj.start_training(tmp_path / "mat", out, epochs=1)
    assert job["pid"] > 0 and json.loads((out / tj.JOB_FILE).read_text())["command"].startswith("workbench train")
    s = _wait(out)
    assert s["state"] == "failed" and s["returncode"] == 2
    assert "is a folder with no audio files" in s["reason"] and "Traceback" not in (out / tj.LOG_FILE).read_text()
    p = tr.progress(out)
    assert p["state"] == "failed" and p["epochs_done"] == 0 and p["eta_s"] is None and "no audio files" in p["reason"]


def test_a_job_stopped_before_its_first_epoch_is_ended_at_once(tmp_path, trumpet_melodies):
    out = tmp_path / "run"
    tj.start_training(trumpet_melodies, out, preset="nsynth", settings=TINY_MODEL, force=True)
    assert tr.progress(out)["phase"] == "preparing"
    t0 = time.monotonic()
    s = tj.stop_training(out)  # no epoch yet: terminated, not asked
    assert time.monotonic() - t0 < 8 and s["state"] == "stopped" and not s["running"] and s["killed"]
    assert not (out / STOP_FILE).exists()
    assert tj.stop_training(out)["state"] == "stopped"  # again: nothing left to stop


def test_a_job_whose_process_vanished_is_lost(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    (tmp_path / tj.JOB_FILE).write_text(json.dumps({"pid": p.pid, "started": time.time(), "out": str(tmp_path),
                                                    "epochs": 3, "max_seconds": 0}))
    assert tj.job_status(tmp_path)["state"] == "lost"
    assert tr.progress(tmp_path)["state"] == "lost"


def test_log_tail_splits_progress_bar_redraws(tmp_path):
    (tmp_path / tj.LOG_FILE).write_bytes(b"start\ntrain: 1/3\rtrain: 2/3\r\n\n")
    assert tj.log_tail(tmp_path, lines=2) == ["train: 1/3", "train: 2/3"]
    assert tj.log_tail(tmp_path / "none") == []


def test_progress_and_eta_of_rows(tmp_path):
    """ETA: the epochs left at the mean epoch time after the first (its set-up excluded), or the budget left."""
    with (tmp_path / "loss.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "train_loss", "valid_loss", "seconds"])
        w.writerows([[0, 0.5, 0.6, 10.0], [1, 0.4, 0.5, 12.0], [2, 0.3, 0.45, 14.0]])
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        # a job record of a running process: what training.json holds (the process's command line
        # does not name the folder, so only this process's own children count as alive)
        tj._CHILDREN[p.pid] = p
        job = {"pid": p.pid, "started": 100.0, "out": str(tmp_path), "epochs": 10, "max_seconds": 0.0}
        (tmp_path / tj.JOB_FILE).write_text(json.dumps(job))
        r = tr.progress(tmp_path, now=130.0)
        assert r["state"] == "running" and r["phase"] == "training" and r["epochs_done"] == 3
        assert r["epoch_s"] == pytest.approx(2.0) and r["eta_s"] == pytest.approx(14.0)
        assert r["fraction"] == pytest.approx(0.3) and r["elapsed_s"] == pytest.approx(30.0)
        assert r["valid_loss"] == pytest.approx(0.45)
        (tmp_path / tj.JOB_FILE).write_text(json.dumps({**job, "max_seconds": 20.0}))
        r = tr.progress(tmp_path, now=130.0)
        assert r["eta_s"] == pytest.approx(6.0) and r["fraction"] == pytest.approx(0.7)  # the budget is nearer
    finally:
        p.kill()
        p.wait()
        tj._CHILDREN.pop(p.pid, None)


def test_runs_without_a_job(tmp_path, tiny_run):
    assert tr.training_runs(tmp_path / "none") == []
    (tmp_path / "empty").mkdir()
    (tmp_path / "a").symlink_to(tiny_run, target_is_directory=True)
    assert tr.training_runs(tmp_path) == [tmp_path / "a"]
    p = tr.progress(tiny_run)
    assert p["state"] == "done" and not p["running"] and p["fraction"] == 1.0 and p["eta_s"] is None
    assert p["epochs"] == 4 and p["epochs_done"] == 4 and p["stopped_by"] == "epochs"
    c = tr.curves(tiny_run)
    assert c["loss"]["epoch"] == [0.0, 1.0, 2.0, 3.0] and c["scorecard"] == {}
    assert tr.snapshots(tiny_run) == []


@needs_festival
def test_a_background_training_grows_and_stops_when_asked(stopped_job):
    """The stopped_job fixture: loss.csv grew epoch by epoch while it ran, progress had an ETA, and
    the stop request ended the run as any stop does (meta.json done, final scorecard, no STOP left)."""
    seen = json.loads((stopped_job.parent / "progress.json").read_text())
    states = [(s["phase"], s["epochs_done"]) for s in seen["seen"]]
    assert states[0] == ("preparing", 0) and any(ph == "training" for ph, _ in states)
    mid = [s for s in seen["seen"] if s["phase"] == "training"][-1]
    assert mid["running"] and mid["epochs"] == 40 and mid["eta_s"] > 0 and 0 < mid["fraction"] < 1
    assert seen["after_stop"]["state"] == "stopped" and not seen["after_stop"]["killed"]
    meta = json.loads((stopped_job / "meta.json").read_text())
    assert meta["status"] == "done" and meta["stopped_by"] == "stop requested" and meta["epochs_run"] < 40
    assert not (stopped_job / STOP_FILE).exists()
    p = tr.progress(stopped_job)
    assert p["state"] == "stopped" and p["stopped_by"] == "stop requested" and p["fraction"] < 1
    c = tr.curves(stopped_job)
    n = meta["epochs_run"]
    assert c["loss"]["epoch"] == list(map(float, range(n))) and c["scorecard"]["epoch"] == list(range(n))
    snaps = tr.snapshots(stopped_job)
    assert [e for e, _ in snaps] == list(range(n))
    y, sr = sf.read(snaps[-1][1])
    assert sr == 16000 and y.size > sr and np.isfinite(y).all()


@needs_festival
def test_compare_table_and_phrase(stopped_job, tiny_run, tmp_path):
    rows = tr.compare_table([stopped_job, tiny_run])
    assert [r["run"] for r in rows] == [stopped_job.name, tiny_run.name]
    assert rows[0]["method"] == "autoencoder" and rows[0]["stopped_by"] == "stop requested"
    assert rows[0]["gap"] is not None and math.isfinite(rows[0]["pitch_accuracy"])
    assert rows[1]["gap"] is None and rows[1]["scorecard_epoch"] is None and rows[1]["epochs"] == 4
    x, y, sr = tr.play_phrase(stopped_job, voice_cache=tmp_path)
    assert sr == 16000 and x.shape == y.shape and np.isfinite(y).all() and np.abs(y).max() > 0
    assert not list(tmp_path.iterdir())  # the run's own phrase was used
    with pytest.raises(ParameterError, match="has no saved weights yet"):
        tr.play_phrase(tmp_path, voice_cache=tmp_path)


@pytest.mark.parametrize("method", ["autoencoder", "ddsp"])
def test_both_trainers_stop_on_the_stop_file_and_write_loss_each_epoch(tmp_path, trumpet_melodies, method):
    """A STOP file in the run folder ends training after the epoch in progress, as a finished run
    (loss.csv, meta.json with the reason), and is taken away so the folder can train again."""
    from models.callbacks import STOP_REQUESTED
    from tests.conftest import TINY_DDSP
    from workbench.config import make_config

    out = tmp_path / "run"
    out.mkdir()
    (out / STOP_FILE).write_text("stop")
    paths = sorted(trumpet_melodies.glob("melody_*.wav"))
    if method == "ddsp":
        from models.ddsp_train import train_ddsp

        meta = train_ddsp(paths[:2], make_config(method="ddsp", overrides=TINY_DDSP, seed=0), out, progress=False)
    else:
        from models.train import train

        meta = train(paths, make_config(preset="nsynth", overrides=TINY_MODEL, seed=0), out, progress=False)
    assert meta["stopped_by"] == STOP_REQUESTED and meta["epochs_run"] == 1
    assert len(tr.curves(out)["loss"]["epoch"]) == 1 and not (out / STOP_FILE).exists()
