"""Shared fixtures: small real corpora rendered once per session with FluidSynth and Festival."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")



def requires(missing: str | None) -> pytest.MarkDecorator:
    """Mark a test that needs a part `make setup` installs (``missing``: None, or what is not here).

    A missing part fails the test with that reason instead of skipping it: `make test` installs
    everything first, so CI always checks these tests.
    """
    return pytest.mark.requires(missing)


def pytest_configure(config):
    config.addinivalue_line("markers", "requires(missing): needs a part `make setup` installs; fails naming it")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("requires"):
        if mark.args and mark.args[0]:
            pytest.fail(f"{mark.args[0]}; `make setup` installs it", pytrace=False)


needs_soundfont = requires(None if SOUNDFONT.is_file() else "FluidR3 GM SoundFont missing")
needs_festival = requires(None if shutil.which("text2wave") else "festival missing")
needs_espeak = requires(None if shutil.which("espeak-ng") else "espeak-ng missing")

# Trumpet, flute, church organ, piano, acoustic bass, violin, cello, alto sax: every split
# gets at least one family member, and sustained and decaying envelopes are both present.
SMALL_PROGRAMS = (56, 57, 58, 73, 74, 75, 19, 16, 17, 0, 1, 2, 32, 33, 34, 40, 41, 42, 65)
SMALL_PITCHES = (48, 55, 60, 67, 72)


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m workbench ARGS`` as a user would; returns the completed process."""
    return subprocess.run([sys.executable, "-m", "workbench", "--quiet", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    if not SOUNDFONT.is_file():
        pytest.fail("FluidR3 GM SoundFont missing; `make setup` installs it", pytrace=False)
    from workbench.corpus.render import RenderConfig, render_corpus

    out = tmp_path_factory.mktemp("gm")
    cfg = RenderConfig(programs=SMALL_PROGRAMS, pitches=SMALL_PITCHES, velocities=(60, 127), seed=3)
    render_corpus(out, cfg, workers=2, progress=False)
    return out


@pytest.fixture(scope="session")
def trumpet_melodies(tmp_path_factory) -> Path:
    if not SOUNDFONT.is_file():
        pytest.fail("FluidR3 GM SoundFont missing; `make setup` installs it", pytrace=False)
    from workbench.corpus.melodies import render_melodies

    out = tmp_path_factory.mktemp("trumpet")
    render_melodies(out, program=56, count=3, seconds=6.0, seed=1, progress=False)
    return out


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


TINY_MODEL = ["model.encoder=64", "model.lstm=32", "model.latent=8", "model.decoder=64", "train.seq_len=16",
              "train.batch_size=16", "train.epochs=4", "train.patience=10"]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, trumpet_melodies) -> Path:
    """A small autoencoder trained for a few epochs on three trumpet melodies (about 10 s)."""
    from models.train import train
    from workbench.config import make_config
    from workbench.corpus.select import resolve_target

    out = tmp_path_factory.mktemp("run") / "trumpet"
    cfg = make_config(preset="nsynth", overrides=TINY_MODEL, seed=0)
    train(resolve_target(trumpet_melodies), cfg, out, progress=False)
    return out


TINY_DDSP = ["model.hidden=48", "model.gru=48", "model.harmonics=30", "model.noise_bands=33", "train.batch_size=8",
             "train.crop_frames=32", "train.crops_per_epoch=32", "train.epochs=60", "train.max_seconds=25",
             "train.patience=60", "train.lr=0.003"]


@pytest.fixture(scope="session")
def ddsp_run(tmp_path_factory, trumpet_melodies) -> Path:
    """A small DDSP-style model trained for 25 s on two of the three trumpet melodies (the third is held out)."""
    from models.ddsp_train import train_ddsp
    from workbench.config import make_config

    out = tmp_path_factory.mktemp("run") / "trumpet-ddsp"
    cfg = make_config(method="ddsp", overrides=TINY_DDSP, seed=0)
    train_ddsp(sorted(trumpet_melodies.glob("melody_*.wav"))[:2], cfg, out, progress=False)
    return out


@pytest.fixture(scope="session")
def multi_run(tmp_path_factory, small_corpus) -> Path:
    """A small two-instrument (brass, flute) autoencoder with a one-hot instrument code, whitened
    input and an envelope decoder, trained with the command a user types (and the dashboard's
    empty state shows)."""
    out = tmp_path_factory.mktemp("run") / "multi"
    # harmonics=0: the first wave's whitened-envelope model, which this fixture's curve checks were measured on
    sets = [a for kv in [*TINY_MODEL, "model.condition=onehot", "model.whiten=30", "model.output=envelope", "model.harmonics=0",
                         "train.epochs=6"] for a in ("--set", kv)]
    # --no-scorecard: the scorecard is tested in test_scorecard.py; here it would only add its set-up
    r = run_cli("train", "--target", f"{small_corpus}:family=brass+flute,split=train", "--preset", "nsynth", *sets,
                "--no-scorecard", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="session")
def chroma_run(tmp_path_factory, small_corpus) -> Path:
    """A small MANNe-style model: one-hot chroma in and at the bottleneck, 2-D sigmoid latent,
    the decoder makes the whole frame."""
    from models.train import train
    from workbench.config import make_config
    from workbench.corpus.select import resolve_target

    out = tmp_path_factory.mktemp("run") / "chroma"
    cfg = make_config(preset="nsynth", overrides=[*TINY_MODEL, "model.chroma=true", "model.latent=2",
                                                  "model.output=spectrum", "train.epochs=6"], seed=0)
    train(resolve_target(f"{small_corpus}:family=brass,split=train"), cfg, out, progress=False)
    return out


@pytest.fixture(scope="session")
def dashboard_roots(tmp_path_factory, small_corpus, trumpet_melodies, tiny_run) -> dict[str, Path]:
    """data/runs/reports roots as `make demo` leaves them, in small: the small corpus and trumpet
    melodies, the tiny run, and real reports written by the library on them (embedding maps, a
    probe, a pitch-CNN report and a scoreboard of one melody of three notes)."""
    from analysis.embeddings import write_maps
    from analysis.feature_cache import feature_matrix
    from analysis.pitch_eval import method_factories
    from analysis.pitch_probe import run_pitch_cnn
    from analysis.pitch_protocol import Protocol
    from analysis.probes import run_probes
    from analysis.scoreboard import run_scoreboard
    from workbench.corpus.nsynth import NSynth

    root = tmp_path_factory.mktemp("dashboard")
    data, runs, reports, cache = root / "data", root / "runs", root / "reports", root / "cache"
    for d in (data, runs, reports):
        d.mkdir()
    (data / "gm").symlink_to(small_corpus, target_is_directory=True)
    (data / "trumpet").symlink_to(trumpet_melodies, target_is_directory=True)
    (runs / "tiny-trumpet").symlink_to(tiny_run, target_is_directory=True)
    ds = NSynth(small_corpus)
    sr = int(ds.examples[0]["sample_rate"])
    F, _ = feature_matrix("mfcc", ds.paths(), cache_dir=cache, sr=sr)
    write_maps(F, ds.examples, methods=("pca", "tsne3d"), color=("family",), out=reports / "embed", seed=0)
    train, test = NSynth(small_corpus, split=["train", "valid"]), NSynth(small_corpus, split="test")
    idx = {p: i for i, p in enumerate(ds.paths())}
    feats = {"mfcc": (F[[idx[p] for p in train.paths()]], F[[idx[p] for p in test.paths()]])}
    run_probes(feats, train_meta=train.examples, test_meta=test.examples, label="family",
               classifiers=("logreg", "knn"), out=reports / "probe", n_splits=3, progress=False)
    run_pitch_cnn(small_corpus, out=reports / "pitchcnn", epochs=2, seconds=0.5, progress=False)
    protocol = Protocol(melodies=1, notes=3, classes=("brass",), source="gm:56", low=55, high=67)
    factories = method_factories(["autoencoder", "cepstral", "dry"], corpus=small_corpus,
                                 models={"brass": str(tiny_run)}, progress=False)
    run_scoreboard(protocol, factories, corpus=small_corpus, out=reports / "eval", progress=False)
    return {"data": data, "runs": runs, "reports": reports}


@pytest.fixture(scope="session")
def demo_roots(tmp_path_factory, small_corpus, trumpet_melodies) -> dict[str, Path]:
    """data/runs/reports exactly as `workbench demo` leaves them, made by the demo's own code at a
    small size (the small corpus, three trumpet melodies, one sung and one spoken phrase, tiny
    models, a protocol of one melody of three notes)."""
    from analysis.demo import DemoSize, run_demo
    from workbench.corpus.voice import render_voice

    root = tmp_path_factory.mktemp("demo")
    data, runs, reports = root / "data", root / "runs", root / "reports"
    data.mkdir()
    (data / "gm").symlink_to(small_corpus, target_is_directory=True)
    (data / "trumpet").symlink_to(trumpet_melodies, target_is_directory=True)
    render_voice(data / "voice", count=1, spoken=1, seed=0, progress=False)
    size = DemoSize(train=(*TINY_MODEL, "train.epochs=2"),
                    multi=(*TINY_MODEL, "model.condition=onehot", "model.harmonics=0", "train.epochs=2"),
                    protocol=(1, 3), judge_voices=1, reference_step=7, mixing_notes=1)
    run_demo(data, runs=runs, reports=reports, progress=False, size=size)
    return {"data": data, "runs": runs, "reports": reports}


@pytest.fixture(scope="session")
def synth_run(tmp_path_factory, trumpet_melodies) -> Path:
    """A small chroma model at 44.1 kHz (low-latency preset: n_fft 512, hop 128) whose decoder makes
    the whole frame: the latent synthesizer's instrument (issue 15). About 5 s of training."""
    from models.train import train
    from workbench.config import make_config
    from workbench.corpus.select import resolve_target

    out = tmp_path_factory.mktemp("run") / "synth"
    cfg = make_config(preset="low-latency", overrides=[*TINY_MODEL, "model.chroma=true", "model.output=spectrum",
                                                       "train.epochs=3", "train.max_seconds=5"], seed=0)
    train(resolve_target(trumpet_melodies), cfg, out, progress=False)
    return out


@pytest.fixture(scope="session")
def stopped_job(tmp_path_factory, trumpet_melodies) -> Path:
    """A tiny autoencoder trained in the background as the dashboard's Training page starts one
    (:func:`analysis.training_job.start_training`), with the scorecard every epoch, asked to stop
    once two epochs and a scorecard are in; its progress while it ran is kept in ``progress.json``
    beside it (about 30 s)."""
    import json
    import time

    from analysis import training_job as tj
    from analysis import training_runs as tr

    out = tmp_path_factory.mktemp("job") / "runs" / "trumpet-bg"
    tj.start_training(trumpet_melodies, out, preset="nsynth", epochs=40, scorecard_every=1, force=True,
                      settings=[*TINY_MODEL, "train.valid_fraction=0.34"])
    seen, deadline = [], time.monotonic() + 240
    while time.monotonic() < deadline:
        p = tr.progress(out)
        seen.append(p)
        if not p["running"] or (p["epochs_done"] >= 2 and p["scorecard"]):
            break
        time.sleep(0.5)
    status = tj.stop_training(out, grace=120)
    (out.parent / "progress.json").write_text(json.dumps({"seen": seen, "after_stop": status}, default=str))
    return out
