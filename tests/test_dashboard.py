"""The dashboard: the library helpers its pages call (uploads, corpora, report folders, the
comparison, latent mix and synth rendering) and every page in Streamlit's AppTest, on small real
reports (tests/conftest.py: dashboard_roots) and on empty roots."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis import compare as cmp
from analysis import embeddings as emb
from analysis import mix_render, pitch_probe, probes
from analysis import scoreboard as sb
from analysis import synth_point as sp
from analysis.pitch_notes import note_window
from analysis.report_scan import scan_reports
from dashboard import roots as dr
from models import run_info as ri
from tests.conftest import ROOT, needs_festival, run_cli
from workbench import upload
from workbench.corpus import catalog
from workbench.corpus.truth import ground_truth_notes
from workbench.errors import ParameterError
from workbench.pitch import track_file
from workbench.spectrogram import spectrogram_db

APP = str(ROOT / "streamlit_app.py")
PAGES = ("compare", "pitch", "embeddings", "latent", "runs", "training")


def _wav_bytes(y, sr=16000, subtype="PCM_16", fmt="WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.asarray(y, np.float32), sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def _tone(seconds=1.0, sr=16000, f=220.0):
    t = np.arange(int(seconds * sr)) / sr
    return 0.5 * np.sin(2 * np.pi * f * t)


# ---------------------------------------------------------------------------------------------
# library helpers


def test_resolve_roots_argv_then_env_then_default(tmp_path):
    env = {"WORKBENCH_DATA": "/e/data", "WORKBENCH_REPORTS": "/e/reports"}
    r = dr.resolve_roots(["streamlit", "--runs", "/a/runs", "--data=/a/data", "-q"], environ=env)
    assert r == dr.Roots(data=Path("/a/data"), runs=Path("/a/runs"), reports=Path("/e/reports"))
    assert dr.resolve_roots([], environ={}) == dr.Roots(Path("data"), Path("runs"), Path("reports"))


def test_read_upload_decodes_and_resamples():
    y = upload.read_upload("tone.flac", _wav_bytes(_tone(sr=22050), sr=22050, fmt="FLAC"), sr=16000)
    assert y.shape == (1, 16000) and y.dtype == np.float32
    stereo = np.stack([_tone(), _tone()], axis=1)
    assert upload.read_upload("st.wav", _wav_bytes(stereo)).shape == (1, 16000)


@pytest.mark.parametrize("name,data,limit,match", [
    ("notes.txt", b"hello", None, "has format 'txt'; expected one of wav, flac, ogg, mp3"),
    ("noext", b"hello", None, "has format 'none'"),
    ("empty.wav", b"", None, "is empty"),
    ("big.wav", _wav_bytes(_tone(2.0)), 1000, r"MB; expected at most"),
    ("text.wav", b"this is not audio at all" * 10, None, "upload 'text.wav' could not be read as audio"),
    ("nan.wav", _wav_bytes(np.where(np.arange(16000) == 5, np.nan, _tone()), subtype="FLOAT"), None,
     "contains 1 NaN or Inf samples"),
    ("short.wav", _wav_bytes(_tone(0.01)), None, "shorter than one analysis frame"),
])
def test_read_upload_refuses_bad_files(name, data, limit, match):
    kw = {"max_bytes": limit} if limit else {}
    with pytest.raises(ParameterError, match=match) as err:
        upload.read_upload(name, data, **kw)
    assert "\n" not in str(err.value) and "/tmp" not in str(err.value)  # one line naming the upload


def test_excerpt_and_spectrogram():
    y = _tone(2.0)[None].astype(np.float32)
    assert upload.excerpt(y, 16000, start=0.5, seconds=1.0).shape == (1, 16000)
    with pytest.raises(ParameterError, match="past the end"):
        upload.excerpt(y, 16000, start=5.0)
    t, f, db = spectrogram_db(y[0], sr=16000, max_frames=50)
    assert db.shape == (513, len(t)) and len(t) <= 50 and f[-1] == 8000
    assert db.max() == pytest.approx(0.0, abs=1e-3) and db.min() >= -80
    assert abs(f[np.argmax(db.mean(axis=1))] - 220) < 16  # the tone's bin is the loudest


def test_guess_family(trumpet_melodies, tiny_run, tmp_path):
    assert ri.guess_family("data/gm:family=flute,split=train") == "flute"
    assert ri.guess_family("data/gm:program=56+57") == "brass"
    assert ri.guess_family(trumpet_melodies) == "brass"  # index.json names GM program 56
    assert ri.guess_family(tiny_run) is None  # trained without a described target
    run = tmp_path / "runs" / "trumpet"
    shutil.copytree(tiny_run, run)
    meta = json.loads((run / "meta.json").read_text())
    (run / "meta.json").write_text(json.dumps({**meta, "target": str(trumpet_melodies)}))
    assert ri.guess_family(run) == "brass"  # a run whose meta.json names the melodies as its target
    assert ri.guess_family("data/voice/sung_000.wav") is None


def test_notes_of_material(trumpet_melodies, small_corpus):
    notes = ground_truth_notes(trumpet_melodies / "melody_000.wav")
    assert notes and {"onset", "offset", "pitch"} <= set(notes[0])
    meta = catalog.corpus_notes(small_corpus)[0]
    assert catalog.corpus_note_truth(small_corpus, meta) == [{"onset": 0.0, "offset": 3.0, "pitch": meta["pitch"]}]


def test_scan_and_read_reports(dashboard_roots):
    found = scan_reports(dashboard_roots["reports"])
    rep = dashboard_roots["reports"]
    assert found["evaluation"] == [rep / "eval"] and found["probe"] == [rep / "probe"]
    assert found["pitchcnn"] == [rep / "pitchcnn"] and found["embedding"] == [rep / "embed"]
    assert found["mesh"] == [] and scan_reports(rep / "missing")["probe"] == []

    probe = probes.load_probe_report(rep / "probe")
    assert {r["classifier"] for r in probe["table"]} == {"logreg", "knn"}
    classes, counts = probes.read_confusion_csv(probe["confusions"]["mfcc_knn"]["csv"])
    assert counts.shape == (len(classes), len(classes)) and counts.sum() == probe["results"]["test_notes"]
    assert pitch_probe.load_pitch_cnn_report(rep / "pitchcnn")["accuracy_png"].is_file()
    with pytest.raises(ParameterError, match="no results.json with probes"):
        probes.load_probe_report(rep / "embed")


def test_eval_report_notes_and_window(dashboard_roots):
    rep = sb.load_eval_report(dashboard_roots["reports"] / "eval")
    assert rep["methods"] == ["autoencoder", "cepstral", "dry"] and rep["classes"] == ["brass"]
    assert rep["scoreboard"][-1]["method"].startswith("target")  # the reference row comes last
    dry = sb.filter_notes(rep["notes"], method="dry", cls="brass")
    assert len(dry) == 3 and all(r["kept"] for r in dry)
    assert sb.filter_notes(rep["notes"], method="dry", lost_only=True) == []
    inp, out = sb.eval_audio_paths(rep, method="cepstral", cls="brass", melody="melody_000")
    t_in, t_out = track_file(inp), track_file(out)
    win = note_window(rep["melodies"]["melody_000"], dry, t_in, t_in, note=1, pad=0.5)
    n = rep["melodies"]["melody_000"][1]
    assert win["start"] == pytest.approx(n["onset"] - 0.5) and win["times"].max() <= win["end"]
    chosen = [t for t in win["targets"] if t["chosen"]]
    assert len(chosen) == 1 and chosen[0]["pitch"] == n["pitch"] and chosen[0]["kept"]
    mid = (win["times"] > n["onset"] + 0.1) & (win["times"] < n["offset"] - 0.1)
    assert np.nanmedian(win["input_midi"][mid]) == pytest.approx(n["pitch"], abs=0.5)
    assert len(t_out[0]) > 0
    with pytest.raises(ParameterError, match="note=7 is not valid"):
        note_window(rep["melodies"]["melody_000"], dry, t_in, t_out, note=7)
    with pytest.raises(ParameterError, match="is missing"):
        sb.eval_audio_paths(rep, method="mosaic", cls="brass", melody="melody_000")


def test_note_window_marks_lost_notes():
    notes = [{"onset": 0.0, "offset": 1.0, "pitch": 57}, {"onset": 1.0, "offset": 2.0, "pitch": 69}]
    rows = [{"note": 0, "kept": True}, {"note": 1, "kept": False}]
    t = np.arange(0, 2, 0.01)
    f_in = np.where(t < 1, 220.0, 440.0)
    f_out = np.where(t < 1, 220.0, 0.0)  # unvoiced output in the second note
    win = note_window(notes, rows, (t, f_in), (t, f_out), note=1, pad=0.5)
    assert [(x["note"], x["kept"], x["chosen"]) for x in win["targets"]] == [(0, True, False), (1, False, True)]
    assert np.isnan(win["output_midi"][win["times"] > 1.2]).all()
    assert np.allclose(win["input_midi"][win["times"] > 1.2], 69)


def test_embedding_and_note_audio(dashboard_roots, small_corpus):
    files = emb.embedding_files(dashboard_roots["reports"] / "embed")
    assert set(files) == {"pca", "tsne3d"}
    e = emb.load_embedding(files["tsne3d"])
    assert e["axes"] == ["tsne3d_1", "tsne3d_2", "tsne3d_3"] and isinstance(e["columns"]["pitch"][0], int)
    note, split = e["columns"]["note_str"][0], e["columns"]["split"][0]
    p = catalog.note_audio_path(note, split, corpora=catalog.list_corpora(dashboard_roots["data"]))
    assert p is not None and p.resolve() == (small_corpus / f"nsynth-{split}" / "audio" / f"{note}.wav").resolve()
    assert catalog.note_audio_path("nope-000-000", split, corpora=[small_corpus]) is None


def test_runs_and_targets(dashboard_roots):
    roots = dr.Roots(**dashboard_roots)
    (run,) = ri.list_runs(roots.runs)
    info = ri.run_info(run)
    assert info["has_weights"] and info["codes"] is None and info["sr"] == 16000
    assert len(info["loss"]["epoch"]) == len(info["loss"]["valid_loss"]) >= 1
    targets = dr.target_choices(roots)
    assert str(roots.data / "trumpet") in targets and f"{roots.data / 'gm'}:family=brass,split=train" in targets
    assert [p.name for p in catalog.list_corpora(roots.data)] == ["gm"]
    assert any(k.startswith("trumpet: melody_000") for k in dr.demo_inputs(roots))


def test_compare_method_dry_and_cepstral(trumpet_melodies, small_corpus):
    from analysis.instrument_judge import InstrumentJudge
    from analysis.pitch_eval import method_factories
    from workbench.audio import load

    path = trumpet_melodies / "melody_000.wav"
    y = upload.excerpt(load(path, sr=16000, mono=True)[0], 16000, seconds=3.0)
    notes = [n for n in ground_truth_notes(path) if n["offset"] <= 3.0]
    judge = InstrumentJudge().fit(small_corpus)
    dry = method_factories(["dry"], corpus=small_corpus)["dry"]("brass")[0]
    r = cmp.compare_method(dry, y, 16000, notes=notes, judge=judge, family="brass")
    k = r["metrics"]
    assert k["pitch_kept"] == 1.0 and k["raw_pitch_accuracy"] == pytest.approx(1.0)
    assert k["loudness_correlation"] == pytest.approx(1.0) and k["rtf"] > 1
    assert 0 <= k["timbre_accuracy"] <= 1 and k["labelled_as"] in judge.classes_
    np.testing.assert_allclose(r["output"], y[0], atol=1e-6)
    fx = cmp.compare_effect("cepstral", target=f"{small_corpus}:family=flute,split=train")
    r2 = cmp.compare_method(fx, y, 16000, input_track=r["input_track"])
    assert r2["output"].shape == y[0].shape and np.isfinite(r2["output"]).all()
    assert r2["metrics"]["pitch_kept"] is None and 0 <= r2["metrics"]["raw_pitch_accuracy"] <= 1
    with pytest.raises(ParameterError, match="needs a model"):
        cmp.compare_effect("autoencoder")
    with pytest.raises(ParameterError, match="method='vocoder' is not valid"):
        cmp.compare_effect("vocoder", target="x")


def test_save_outputs(tmp_path):
    files = cmp.save_outputs(tmp_path / "o", {"input": _tone()[None], "cepstral: data/x": _tone()}, sr=16000,
                             metrics={"m": {"rtf": 3.0}})
    assert [f.name for f in files] == ["input.wav", "cepstral__data_x.wav", "metrics.json"]
    assert sf.info(str(files[1])).frames == 16000


def test_latent_mix_needs_a_multi_instrument_run(tiny_run, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(tiny_run, runs / "single")
    assert ri.multi_instrument_runs(runs) == []
    multi = runs / "multi"
    shutil.copytree(tiny_run, multi)
    meta = json.loads((multi / "meta.json").read_text())
    (multi / "meta.json").write_text(json.dumps({**meta, "codes": ["brass", "flute"]}))
    assert ri.multi_instrument_runs(runs) == [multi] and ri.run_info(multi)["codes"] == ["brass", "flute"]
    with pytest.raises(ParameterError, match="no instrument codes"):
        mix_render.render_latent_mix(_tone()[None], 16000, model=runs / "single")


def test_cli_dashboard_verb():
    assert "dashboard" in run_cli("--help").stdout
    h = run_cli("dashboard", "--help")
    assert h.returncode == 0 and "--reports" in h.stdout
    bad = run_cli("dashboard", "--port", "0")
    assert bad.returncode == 2 and "--port 0 is not valid; expected 1-65535" in bad.stderr


# ---------------------------------------------------------------------------------------------
# pages in AppTest


def _app(monkeypatch, roots: dict, page: str, *, timeout: float = 180, state: dict | None = None):
    """AppTest of the app on ``page`` with the given roots (through the environment, as a user
    would set them); ``state`` is put into the session before the page runs."""
    from streamlit.testing.v1 import AppTest

    for key, env in dr.ROOT_ENV.items():
        monkeypatch.setenv(env, str(roots[key]))
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.run()
    if page != "compare":
        at.switch_page(f"dashboard/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


@pytest.fixture
def empty_roots(tmp_path) -> dict:
    return {k: tmp_path / k for k in ("data", "runs", "reports")}


@pytest.mark.parametrize("page,expect", [
    ("compare", dr.COMMANDS["demo"]), ("pitch", dr.COMMANDS["evaluation"]), ("embeddings", dr.COMMANDS["embedding"]),
    ("latent", dr.COMMANDS["multi"]), ("runs", dr.COMMANDS["train"]), ("training", dr.COMMANDS["train"]),
])
def test_pages_empty_state(monkeypatch, empty_roots, page, expect):
    at = _app(monkeypatch, empty_roots, page)
    assert at.title[0].value and "Create it with" in _texts(at.info)
    assert expect in [c.value for c in at.code]


def test_runs_page_empty_state_names_every_command(monkeypatch, empty_roots):
    at = _app(monkeypatch, empty_roots, "runs")
    codes = [c.value for c in at.code]
    for kind in ("train", "probe", "pitchcnn", "mesh"):
        assert dr.COMMANDS[kind] in codes


def test_compare_page_renders_methods(monkeypatch, dashboard_roots):
    at = _app(monkeypatch, dashboard_roots, "compare")
    assert at.radio(key="compare_source").value == "demo material"
    assert at.selectbox(key="compare_demo").value.startswith("trumpet: melody_000")
    assert at.multiselect(key="compare_methods").value == ["autoencoder", "cepstral"]
    assert at.selectbox(key="compare_family_cepstral").value == "brass"  # the default target's family
    at.slider(key="compare_excerpt").set_value((0.0, 3.0))
    at.slider(key="compare_mix").set_value(0.9)
    at.button(key="compare_render").click().run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [m.label for m in at.metric]
    assert labels.count("Target-timbre accuracy") == 2 and labels.count("Real-time factor") == 2
    assert labels.count("Timbre gap closed") == 2
    assert "Pitch kept (notes)" in labels and not at.error
    at.button(key="compare_save").click().run()
    out = dashboard_roots["reports"] / "dashboard" / "compare"
    assert "wrote 4 files" in _texts(at.success) and (out / "metrics.json").is_file()
    # another input: the stale results are not shown until Render is pressed again
    at.radio(key="compare_source").set_value("corpus note").run()
    assert at.selectbox(key="compare_family").value and not at.metric
    assert "press Render" in _texts(at.info)


@pytest.mark.parametrize("name,data,match", [
    ("bad.wav", b"definitely not a wave file" * 20, "upload 'bad.wav' could not be read as audio"),
    ("nan.wav", _wav_bytes(np.full(4000, np.nan), subtype="FLOAT"), "NaN or Inf samples"),
    ("tiny.wav", _wav_bytes(_tone(0.05)), "shorter than one analysis frame"),
    ("song.aiff", b"FORM", "has format 'aiff'"),
])
def test_compare_page_bad_upload_shows_one_error(monkeypatch, empty_roots, name, data, match):
    at = _app(monkeypatch, empty_roots, "compare", state={"compare_source": "upload", "compare_upload": (name, data)})
    assert len(at.error) == 1 and match in at.error[0].value
    assert not at.button  # nothing to render from a bad upload


def test_compare_page_good_upload(monkeypatch, empty_roots):
    at = _app(monkeypatch, empty_roots, "compare",
              state={"compare_source": "upload", "compare_upload": ("tone.wav", _wav_bytes(_tone(2.0)))})
    assert not at.error and "upload: tone.wav" in _texts(at.caption)
    assert dr.COMMANDS["train"] in [c.value for c in at.code]  # no run: the autoencoder says how to make one


def test_pitch_page(monkeypatch, dashboard_roots):
    at = _app(monkeypatch, dashboard_roots, "pitch")
    assert at.selectbox(key="pitch_report").value.name == "eval"
    assert at.selectbox(key="pitch_metric").value == "kept_percent"
    at.selectbox(key="pitch_metric").set_value("f0_outlier_share").run()  # DDSP's f0 measures chart too
    assert not at.exception and not at.error
    at.selectbox(key="pitch_method").set_value("cepstral").run()
    at.selectbox(key="pitch_class").set_value("brass").run()
    assert len(at.selectbox(key="pitch_pick").options) == 3
    at.selectbox(key="pitch_pick").set_value(2)
    at.slider(key="pitch_pad").set_value(0.5).run()
    assert not at.exception and not at.error
    assert "cents off the note" in _texts(at.caption) or "unvoiced" in _texts(at.caption)
    at.checkbox(key="pitch_lost").check().run()
    assert not at.exception


def test_embeddings_page(monkeypatch, dashboard_roots):
    at = _app(monkeypatch, dashboard_roots, "embeddings")
    assert at.radio(key="embed_method").options == ["PCA", "t-SNE 3-D"]
    at.radio(key="embed_method").set_value("tsne3d").run()
    at.radio(key="embed_color").set_value("pitch").run()
    notes = at.selectbox(key="embed_note").options
    at.selectbox(key="embed_note").set_value(notes[3]).run()
    assert not at.exception and not at.warning
    assert notes[3] in _texts(at.markdown) and f"{notes[3]}.wav" in _texts(at.caption)


def test_latent_page_without_multi_instrument_model(monkeypatch, dashboard_roots):
    at = _app(monkeypatch, dashboard_roots, "latent")
    assert "No multi-instrument model yet" in _texts(at.info)
    assert dr.COMMANDS["multi"] in [c.value for c in at.code]


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory, multi_run):
    """The session's brass + flute run, alone in a runs folder as the latent page lists runs."""
    out = tmp_path_factory.mktemp("multi") / "runs" / "multi"
    shutil.copytree(multi_run, out)
    return out


def test_latent_mix_renders(multi_run, trumpet_melodies):
    from workbench.audio import load

    assert ri.multi_instrument_runs(multi_run.parent) == [multi_run]
    codes, dim = mix_render.latent_mix_shape(multi_run)
    assert codes == ["brass", "flute"] and dim == 8
    y = upload.excerpt(load(trumpet_melodies / "melody_000.wav", sr=16000, mono=True)[0], 16000, seconds=1.0)
    r = mix_render.render_latent_mix(y, 16000, model=multi_run, mode="blend", source="brass", target="flute", alpha=0.5,
                                     scale=[1.5] + [1.0] * 7)
    assert r["output"].shape == y[0].shape and np.isfinite(r["output"]).all()
    assert r["trajectory"].shape[1] == 8 and len(r["trajectory"]) > 10 and r["frame_seconds"] == 256 / 16000
    m = mix_render.render_latent_mix(y, 16000, model=multi_run, mode="morph", source="brass", alpha=1.0, morph=y[:, ::-1])
    assert m["output"].shape == y[0].shape


def test_latent_page_renders(monkeypatch, dashboard_roots, multi_run):
    roots = {**dashboard_roots, "runs": multi_run.parent}
    at = _app(monkeypatch, roots, "latent")
    assert at.selectbox(key="latent_model").value == multi_run
    assert at.selectbox(key="latent_from").options == ["brass", "flute"] and at.selectbox(key="latent_to").value == "flute"
    assert len([s for s in at.slider if s.key.startswith("latent_scale_")]) == 8
    at.slider(key="latent_excerpt").set_value((0.0, 1.5))
    for mode in ("blend", "shift", "morph"):
        at.radio(key="latent_mode").set_value(mode)
        at.slider(key="latent_alpha").set_value(0.75)
        at.slider(key="latent_scale_2").set_value(1.5).run()
        at.button(key="latent_render").click().run()
        assert not at.exception and not at.error, (mode, [e.value for e in at.exception], [e.value for e in at.error])
        assert "press Render" not in _texts(at.info)


def test_runs_page(monkeypatch, dashboard_roots, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    roots = dict(dashboard_roots)
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("probe", "pitchcnn"):
        (reports / name).symlink_to(dashboard_roots["reports"] / name)
    mesh = reports / "mesh"
    mesh.mkdir()
    (mesh / "mesh.json").write_text(json.dumps({"points": 2}))
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1])
    fig.savefig(mesh / "map_0.png")
    plt.close(fig)
    roots["reports"] = reports
    at = _app(monkeypatch, roots, "runs")
    assert at.selectbox(key="runs_run").value.name == "tiny-trumpet"
    assert [t.label for t in at.tabs] == ["Training runs", "Probes", "Pitch CNN", "Chroma mesh"]
    assert "Epochs" in [m.label for m in at.metric] and "Within a semitone" in [m.label for m in at.metric]
    at.selectbox(key="probe_confusion").set_value("mfcc_logreg").run()
    at.checkbox(key="runs_log").uncheck().run()
    assert not at.exception and not at.info  # every tab has its report
    assert at.selectbox(key="mesh_folder").value == mesh


def test_compare_page_plays_a_ddsp_run(monkeypatch, tmp_path, trumpet_melodies, tiny_run, ddsp_run):
    """A ddsp run beside an autoencoder run: the page offers both, and the ddsp one renders with its measures."""
    roots = {k: tmp_path / k for k in ("data", "runs", "reports")}
    for d in roots.values():
        d.mkdir()
    (roots["data"] / "trumpet").symlink_to(trumpet_melodies, target_is_directory=True)
    (roots["runs"] / "tiny-trumpet").symlink_to(tiny_run, target_is_directory=True)
    (roots["runs"] / "trumpet-ddsp").symlink_to(ddsp_run, target_is_directory=True)
    assert [ri.run_info(r)["method"] for r in ri.list_runs(roots["runs"])] == ["autoencoder", "ddsp"]
    at = _app(monkeypatch, roots, "compare")
    assert "ddsp" in at.multiselect(key="compare_methods").options
    at.multiselect(key="compare_methods").set_value(["ddsp"]).run()
    assert at.selectbox(key="compare_model_ddsp").value.name == "trumpet-ddsp"
    at.slider(key="compare_excerpt").set_value((0.0, 2.0))
    at.button(key="compare_render").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    labels = [m.label for m in at.metric]
    assert "Timbre gap closed" in labels and "Real-time factor" in labels


def test_the_wheel_carries_the_dashboard(tmp_path):
    """`workbench dashboard` finds its app in an installed wheel, not only in a checkout."""
    import zipfile

    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                        str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"dashboard/app.py", "dashboard/compare.py", "dashboard/latent.py", "cli/__init__.py", "cli/console.py",
            "workbench/__main__.py"} <= names


def test_latent_page_synth_tab_renders_a_point_and_its_command(monkeypatch, synth_run, tmp_path):
    """The synth tab (issue 15): sliders and a map click set the point, the render is the offline
    LatentSynth (same code as `workbench play`), and the page shows the command that plays it."""
    roots = {k: tmp_path / k for k in ("data", "runs", "reports")}
    for d in roots.values():
        d.mkdir()
    (roots["runs"] / "synth").symlink_to(synth_run, target_is_directory=True)
    at = _app(monkeypatch, roots, "latent")
    assert "No multi-instrument model yet" in _texts(at.info)  # the mix tab's empty state, beside the synth tab
    assert len([s for s in at.slider if s.key.startswith("synth_unit_")]) == 8
    at.slider(key="synth_unit_2").set_value(0.9)
    at.select_slider(key="synth_chroma").set_value("C").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    cmd = [c.value for c in at.code if c.value.startswith("workbench play")]
    assert cmd and f"--model {roots['runs'] / 'synth'}" in cmd[0] and "--chroma C" in cmd[0]
    assert "0.5,0.5,0.9,0.5" in cmd[0]
    y, sr = sp.render_synth_point(roots["runs"] / "synth", latent=[0.5, 0.5, 0.9] + [0.5] * 5, chroma=0, seconds=1.0)
    assert sr == 44100 and y.shape == (44100,) and np.abs(y[-100:]).max() < 1e-3 < np.abs(y).max()
    assert sp.synth_runs(roots["runs"]) == [roots["runs"] / "synth"]


# ---------------------------------------------------------------------------------------------
# the Training page (issue 26)


def _material(tmp_path, kind: str) -> str:
    """A path of each kind of bad (or thin) material the page is given."""
    if kind == "empty":
        return ""
    if kind == "missing":
        return str(tmp_path / "nowhere")
    folder = tmp_path / kind
    folder.mkdir()
    if kind == "text":
        (folder / "notes.txt").write_text("not audio")
        (folder / "readme.md").write_text("# nor this")
    else:  # four seconds of a tone: pitched, but far less than the doctor's minimum
        sf.write(folder / "tone.wav", _tone(4.0), 16000)
    return str(folder)


@pytest.mark.parametrize("kind,level,match", [
    ("empty", "warning", "Enter the path of a folder of your recordings"),
    ("missing", "error", "does not exist; expected a folder of audio files or an audio file"),
    ("text", "error", "holds no audio files (2 other files"),
    ("thin", "error", "training refused: "),
])
def test_training_page_bad_material_gives_one_line(monkeypatch, empty_roots, tmp_path, kind, level, match):
    at = _app(monkeypatch, empty_roots, "training", state={"train_path": _material(tmp_path, kind)})
    lines = [e.value for e in (at.error if level == "error" else at.warning)]
    other = [e.value for e in (at.warning if level == "error" else at.error)]
    assert len(lines) == 1 and match in lines[0] and not other, (lines, other)
    assert "\n" not in lines[0] and not [b for b in at.button if b.key == "train_start"]
    if kind == "thin":
        assert "Verdict: :red[not enough]" in _texts(at.markdown) and "force it to train anyway" in lines[0]


def test_training_page_force_starts_a_background_training(monkeypatch, empty_roots, tmp_path):
    """Thin material with Force: the page starts `workbench train` in the background and says so."""
    from analysis import training_job as tj

    at = _app(monkeypatch, empty_roots, "training", state={"train_path": _material(tmp_path, "thin")})
    at.checkbox(key="train_force").check().run()
    assert not at.error and at.text_input(key="train_name").value == "thin-autoencoder"
    at.text_area(key="train_settings").set_value("model.latent=8\nmodel.lstm=32").run()
    at.button(key="train_start").click().run()
    out = empty_roots["runs"] / "thin-autoencoder"
    try:
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert "Started in the background: `workbench train --method autoencoder" in _texts(at.success)
        job = tj.read_job(out)
        assert "model.latent=8" in job["args"] and "--force" in job["args"] and job["epochs"] == 20
        assert at.selectbox(key="train_run").value == out  # the Runs tab watches the new run
        assert tj.job_status(out)["state"] in ("running", "failed")
    finally:
        tj.stop_training(out, now=True)
    at.run()  # (AppTest: a button clicked twice in a row without a run between stays unclicked)
    at.button(key="train_start").click().run()  # the same name again: one line, no second job
    assert len(at.error) == 1 and "already exists and is not empty; choose a new name" in at.error[0].value


@needs_festival
def test_training_page_watches_listens_and_compares(monkeypatch, empty_roots, stopped_job, tiny_run):
    roots = dict(empty_roots)
    roots["runs"].mkdir(parents=True)
    for run in (stopped_job, tiny_run):
        (roots["runs"] / run.name).symlink_to(run, target_is_directory=True)
    at = _app(monkeypatch, roots, "training", state={"train_path": ""})
    assert [t.label for t in at.tabs] == ["New training", "Runs", "Compare runs"]
    assert at.selectbox(key="train_run").value.name == stopped_job.name  # the last by name
    metrics = {m.label: m.value for m in at.metric}
    n = json.loads((stopped_job / "meta.json").read_text())["epochs_run"]
    assert metrics["Epochs done"] == f"{n} / 40" and metrics["ETA (at most)"] == "-"
    assert "stopped by stop requested" in _texts(at.caption)
    assert at.select_slider(key="train_snap").options == [str(e) for e in range(n)]
    at.select_slider(key="train_snap").set_value(0).run()
    at.button(key="train_play").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "through the saved weights" in _texts(at.caption)
    (table,) = [d.value for d in at.dataframe]  # the comparison's table
    assert list(table["run"]) == [tiny_run.name, stopped_job.name] and table["gap"].notna().tolist() == [False, True]
    at.selectbox(key="train_cmp_fig").set_value("pitch_accuracy").run()
    assert not at.exception and not at.error
    at.selectbox(key="train_run").set_value(roots["runs"] / tiny_run.name).run()  # a run trained without the scorecard
    assert "No scorecard yet" in _texts(at.info) and "No scorecard snapshots" in _texts(at.caption)
