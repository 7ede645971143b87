"""Page 6: training on one's own material. The doctor's report on a folder, a training started in
the background (``workbench train``) with its progress and ETA, its loss and scorecard curves as
they grow, the voice phrase through each scorecard's weights, and two runs side by side.

The work is in :mod:`analysis.doctor`, :mod:`analysis.training_job` (the background process) and
:mod:`analysis.training_runs` (what a run folder says); this page arranges it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analysis import training_job as tj
from analysis import training_runs as tr
from dashboard import common, plots
from dashboard import roots as dr
from models.checkpoint import RunFolder
from workbench.config import PRESETS
from workbench.errors import ParameterError

REFRESH_S = 2.0  # how often a running training's view is redrawn
LEVEL = {"ok": ":green[ok]", "info": ":blue[info]", "warn": ":orange[warn]", "bad": ":red[bad]"}
VERDICT = {"ready": ":green[ready]", "usable with caveats": ":orange[usable with caveats]", "not enough": ":red[not enough]"}

roots = common.page("Training", "Train a model on your own recordings: the doctor checks the material first, the "
                    "training runs in the background while you watch its loss and scorecard, listen to the voice "
                    "phrase through it, and compare runs.")


@st.cache_data(show_spinner="The doctor is examining the material (pitch tracking takes a while)...", max_entries=8)
def _examine(path: str, stamp: float) -> dict:
    from analysis.doctor import examine

    del stamp  # part of the cache key only
    return examine(path)


@st.cache_data(show_spinner="Playing the voice phrase through the saved weights...", max_entries=8)
def _phrase(run: str, stamp: float, cache: str):
    del stamp
    return tr.play_phrase(run, voice_cache=cache)


def _mmss(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(round(s))
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


def _doctor_report(r: dict) -> None:
    v = r["verdict"]
    st.markdown(f"**Verdict: {VERDICT.get(v['verdict'], v['verdict'])}** — {v['reason']}")
    for f in r["findings"]:
        if f["level"] != "ok" or f["check"] == "duration":
            st.markdown(f"- {LEVEL.get(f['level'], f['level'])} **{f['check']}**: {f['message']}"
                        + (f" — *do:* {f['action']}" if f["action"] else ""))
    t, ae, dd = r["training"], r["training"]["autoencoder"], r["training"]["ddsp"]
    st.caption(f"Training time on this machine: autoencoder about {ae['epoch_s']} s per epoch, at most "
               f"{ae['max_epochs']} epochs = {_mmss(ae['max_s'])}; DDSP-style {_mmss(dd['low_s'])} to "
               f"{_mmss(dd['high_s'])} ({t['source']}).")


def _new_training() -> None:
    path = st.text_input("Folder of your material (or one audio file)", key="train_path",
                         placeholder="e.g. recordings/cello").strip()
    if not path:
        st.warning("Enter the path of a folder of your recordings (or one audio file) to examine it.")
        return
    try:
        report = _examine(str(Path(path).expanduser()), common.mtime(Path(path).expanduser()))
    except ParameterError as err:
        st.error(str(err))
        return
    with st.container(border=True):
        _doctor_report(report)
    st.subheader("Start a training")
    c = st.columns(4)
    method = c[0].radio("Method", tj.METHODS, horizontal=True, key="train_method")
    epochs = c[1].number_input("Epochs (at most)", 1, 10000, 20 if method == "autoencoder" else 100, key="train_epochs")
    budget = c[2].number_input("Time budget (min, 0: none)", 0.0, 10000.0, 0.0, step=5.0, key="train_budget")
    every = c[3].number_input("Scorecard every (epochs)", 1, 1000, 5, key="train_every")
    c = st.columns(3)
    preset = c[0].selectbox("Preset", tuple(PRESETS), key="train_preset",
                            disabled=method != "autoencoder")
    default = f"{Path(path).expanduser().resolve().name or 'material'}-{method}"
    name = c[1].text_input("Run name (a folder under the runs root)", default, key="train_name").strip()
    force = c[2].checkbox("Force (train even when the doctor says not enough)", key="train_force")
    extra = st.text_area("More settings (KEY=VALUE per line, as `--set`)", key="train_settings", height=68,
                         placeholder="model.latent=8")
    try:
        tj.check_verdict(report, force=force)
    except ParameterError as err:
        st.error(str(err))
        return
    if not name or "/" in name or name in (".", ".."):
        st.error(f"run name {name!r} must be a plain folder name")
        return
    if st.button("Start training", key="train_start", type="primary"):
        try:
            # the doctor has just looked at this material: the command need not look again (--force)
            job = tj.start_training(path, roots.runs / name, method=method, epochs=int(epochs),
                                    max_seconds=float(budget) * 60 or None, scorecard_every=int(every),
                                    preset=preset if method == "autoencoder" else None,
                                    settings=extra.splitlines(), force=True)
        except ParameterError as err:
            st.error(str(err))
            return
        st.session_state["train_run"] = Path(job["out"])
        st.success(f"Started in the background: `{job['command']}`. Watch it under **Runs**.")


def _curves(run: Path, *, key: str) -> None:
    c = tr.curves(run)
    loss, card = c["loss"], c["scorecard"]
    left, right = st.columns(2)
    if loss.get("epoch"):
        left.plotly_chart(plots.lines(loss["epoch"], {k: v for k, v in loss.items() if k.endswith("loss")},
                                      f"{run.name}: loss per epoch", xaxis="epoch", yaxis="loss", log_y=True),
                          key=f"{key}_loss")
    else:
        left.info("No epoch finished yet: the loss curve starts after the first one.")
    if card.get("epoch"):
        series = {label: card[k] for k, (label, up) in tr.SCORECARD_SERIES.items() if up and k in card}
        right.plotly_chart(plots.lines(card["epoch"], series, f"{run.name}: scorecard (higher is better)",
                                       xaxis="epoch", yaxis="figure"), key=f"{key}_card")
    else:
        right.info("No scorecard yet: it is measured every few epochs and at the end.")


def _status(run: Path) -> dict:
    p = tr.progress(run)
    state, done, epochs = p["state"], p["epochs_done"], p["epochs"]
    text = {"preparing": "preparing (reading the material, the scorecard's voice and reference)"}.get(
        p["phase"], state)
    st.progress(p["fraction"], text=f"{text} · epoch {done} of {epochs or '?'}"
                + (f" · budget {_mmss(p['max_seconds'])}" if p["max_seconds"] else ""))
    c = st.columns(4)
    c[0].metric("Epochs done", f"{done} / {epochs or '?'}")
    c[1].metric("Elapsed", _mmss(p["elapsed_s"] if p["elapsed_s"] is not None else p["train_seconds"]))
    c[2].metric("ETA (at most)", _mmss(p["eta_s"]) if p["running"] else "-")
    c[3].metric("Valid loss", f"{p['valid_loss']:.5f}" if p["valid_loss"] is not None else "-")
    if state == "failed":
        st.error(f"training failed: {p['reason']}")
    elif state == "lost":
        st.warning("the training process ended without an exit status (killed from outside?)")
    elif p["stopped_by"]:
        st.caption(f"finished: stopped by {p['stopped_by']}")
    if p["message"]:
        st.caption(f"log: {p['message'][-300:]}")
    return p


def _watch(run: Path) -> None:
    """The run's status, controls and curves; redrawn every REFRESH_S while it trains."""
    p = _status(run)
    if p["running"]:
        c = st.columns(2)
        if p["state"] == "running" and c[0].button("Stop (after this epoch)", key="train_stop"):
            tj.stop_training(run)
            st.rerun(scope="fragment")
        if p["state"] == "stopping" and c[1].button("Stop now", key="train_kill"):
            tj.stop_training(run, now=True)
            st.rerun()
    _curves(run, key="train_watch")
    if not p["running"] and st.session_state.get("train_was_running") == str(run):
        st.session_state["train_was_running"] = None
        st.rerun()  # the whole page, so the refresh timer stops and the listening part sees the final files
    if p["running"]:
        st.session_state["train_was_running"] = str(run)


def _listen(run: Path) -> None:
    st.subheader("Listen")
    voice = run / "scorecard_voice.wav"
    snaps = tr.snapshots(run)
    if voice.is_file():
        st.caption("The scorecard's voice phrase")
        st.audio(voice.read_bytes(), format="audio/wav")
    if snaps:
        epochs = [e for e, _ in snaps]
        epoch = st.select_slider("Through the weights at epoch", epochs, value=epochs[-1], key="train_snap") \
            if len(epochs) > 1 else epochs[0]
        st.caption(f"through the weights of epoch {epoch} (what the scorecard measured)")
        st.audio(dict(snaps)[epoch].read_bytes(), format="audio/wav")
    else:
        st.caption("No scorecard snapshots in this run (they are kept at each measurement).")
    weights = RunFolder(run).weights
    if weights.is_file() and st.button("Play the phrase through the saved weights", key="train_play"):
        try:
            _, y, sr = _phrase(str(run), common.mtime(weights), str(roots.reports / "training"))
        except ParameterError as err:
            st.error(str(err))
        else:
            st.caption("through the saved weights (the best valid loss so far)")
            st.audio(y, sample_rate=sr)


def _runs() -> None:
    runs = tr.training_runs(roots.runs)
    if not runs:
        common.empty_state(f"No training run under {roots.runs} yet; start one under New training", dr.COMMANDS["train"])
        return
    if st.session_state.get("train_run") not in runs:
        st.session_state["train_run"] = runs[-1]
    run = st.selectbox("Run", runs, format_func=lambda p: p.name, key="train_run")
    running = tr.progress(run)["running"]
    st.fragment(_watch, run_every=REFRESH_S if running else None)(run)
    _listen(run)


def _compare() -> None:
    runs = tr.training_runs(roots.runs)
    if len(runs) < 2:
        st.info(f"Two runs under {roots.runs} are needed to compare them.")
        return
    c = st.columns(2)
    a = c[0].selectbox("Run A", runs, index=len(runs) - 2, format_func=lambda p: p.name, key="train_cmp_a")
    b = c[1].selectbox("Run B", runs, index=len(runs) - 1, format_func=lambda p: p.name, key="train_cmp_b")
    ca, cb = tr.curves(a), tr.curves(b)
    fig = {}
    for run, cv in ((a, ca), (b, cb)):
        if cv["loss"].get("epoch"):
            fig[f"{run.name} valid"] = (cv["loss"]["epoch"], cv["loss"]["valid_loss"])
    left, right = st.columns(2)
    if fig:
        left.plotly_chart(plots.overlay(fig, "valid loss", xaxis="epoch", yaxis="loss", log_y=True), key="train_cmp_loss")
    figure = right.selectbox("Scorecard figure", list(tr.SCORECARD_SERIES), key="train_cmp_fig",
                             format_func=lambda k: tr.SCORECARD_SERIES[k][0])
    series = {run.name: (cv["scorecard"]["epoch"], cv["scorecard"].get(figure, []))
              for run, cv in ((a, ca), (b, cb)) if cv["scorecard"].get("epoch")}
    if series:
        right.plotly_chart(plots.overlay(series, tr.SCORECARD_SERIES[figure][0], xaxis="epoch", yaxis=figure),
                           key="train_cmp_card")
    else:
        right.info("Neither run has a scorecard.")
    st.caption("Last scorecard of each run")
    st.dataframe(tr.compare_table([a, b]), hide_index=True, key="train_cmp_table")


new_tab, runs_tab, compare_tab = st.tabs(["New training", "Runs", "Compare runs"], key="train_tabs")
with new_tab:
    _new_training()
with runs_tab:
    _runs()
with compare_tab:
    _compare()
