"""Page 5: training runs (loss curves, configs), probe reports (tables, confusion matrices), pitch-CNN
reports (accuracy curves) and chroma mesh maps."""

from __future__ import annotations

import json

import streamlit as st

from analysis import latent_space, pitch_probe, probes
from analysis.report_scan import scan_reports
from dashboard import common, plots
from dashboard import roots as dr
from models import run_info as ri

roots = common.page("Runs and probes", "What was trained and what the probes found: loss curves and configs of the "
                    "runs, probe accuracies and confusion matrices, the pitch CNN's learning curve and the chroma mesh maps.")
found = scan_reports(roots.reports)


runs_tab, probe_tab, cnn_tab, mesh_tab = st.tabs(["Training runs", "Probes", "Pitch CNN", "Chroma mesh"],
                                                key="runs_tabs")  # a key keeps the open tab across reruns

with runs_tab:
    runs = ri.list_runs(roots.runs)
    if not runs:
        common.empty_state(f"No training run under {roots.runs} yet", dr.COMMANDS["train"])
    else:
        run = st.selectbox("Run", runs, format_func=lambda p: p.name, key="runs_run")
        info = ri.run_info(run)
        meta = info["meta"]
        c = st.columns(4)
        c[0].metric("Epochs", meta.get("epochs_run", "-"))
        c[1].metric("Best valid loss", f"{meta['best_valid_loss']:.5f}" if "best_valid_loss" in meta else "-")
        c[2].metric("Parameters", f"{meta['parameters']:,}" if "parameters" in meta else "-")
        c[3].metric("Training time", f"{meta['train_seconds']:.0f} s" if "train_seconds" in meta else "-")
        st.caption(f"target {meta.get('target', '?')} · stopped by {meta.get('stopped_by', '?')} · status "
                   f"{meta.get('status', '?')} · {meta.get('date', '')}" + ("" if info["has_weights"] else
                                                                            " · no model.safetensors"))
        loss = info["loss"]
        if loss.get("epoch"):
            series = {k: v for k, v in loss.items() if k.endswith("loss")}
            log_y = st.checkbox("Logarithmic loss axis", value=True, key="runs_log")
            st.plotly_chart(plots.lines(loss["epoch"], series, f"{run.name}: loss per epoch", xaxis="epoch",
                                        yaxis="loss", log_y=log_y), key="runs_loss")
        elif info["loss_png"]:
            st.image(str(info["loss_png"]))
        else:
            st.info(f"{run} has no loss.csv yet (training writes it after the first epoch).")
        left, right = st.columns(2)
        with left.expander("config.json"):
            st.json(info["config"], expanded=2)
        with right.expander("meta.json"):
            st.json(meta, expanded=1)

with probe_tab:
    rep = common.open_report(roots, found, "probe", "Probe report", key="probe_report", read=probes.load_probe_report,
                             missing=f"No probe report under {roots.reports} yet")
    if rep is not None:
        res = rep["results"]
        st.caption(f"label {res.get('label')} · {res.get('train_notes')} train+valid notes in {res.get('folds')} "
                   f"instrument-grouped folds · {res.get('test_notes')} held-out test notes")
        st.dataframe(rep["table"], hide_index=True, key="probe_table")
        if rep["confusions"]:
            name = st.selectbox("Confusion matrix (test split)", list(rep["confusions"]), key="probe_confusion")
            files = rep["confusions"][name]
            if files["csv"]:
                classes, counts = probes.read_confusion_csv(files["csv"])
                st.plotly_chart(plots.confusion(classes, counts, f"{res.get('label')}: {name}"), theme=None,
                                key="probe_cm")
            elif files["png"]:
                st.image(str(files["png"]))
            per = next((p["per_class"] for p in res["probes"]
                        if f"{p['features']}_{p['classifier']}".replace(":", "_").replace("/", "_") == name), None)
            if per:
                with st.expander("Per-class precision, recall, F1"):
                    st.dataframe([{"class": k, **v} for k, v in per.items()], hide_index=True)

with cnn_tab:
    rep = common.open_report(roots, found, "pitchcnn", "Pitch-CNN report", key="cnn_report",
                             read=pitch_probe.load_pitch_cnn_report, missing=f"No pitch-CNN report under {roots.reports} yet")
    if rep is not None:
        r = rep["results"]
        c = st.columns(4)
        c[0].metric("Exact pitch (test)", f"{r.get('test_accuracy', float('nan')):.3f}")
        c[1].metric("Within a semitone", f"{r.get('within_semitone', float('nan')):.3f}")
        c[2].metric("Octave errors", f"{r.get('octave_errors', float('nan')):.3f}")
        c[3].metric("Majority pitch (chance)", f"{r.get('chance_majority', float('nan')):.3f}")
        h = r["history"]
        st.plotly_chart(plots.lines([x["epoch"] + 1 for x in h],
                                    {"train": [x["train_accuracy"] for x in h],
                                     "test (unseen instruments)": [x["test_accuracy"] for x in h]},
                                    "pitch CNN accuracy per epoch", xaxis="epoch", yaxis="exact pitch accuracy"),
                        key="cnn_curve")
        if r.get("per_family"):
            st.dataframe([{"family": f, **v} for f, v in r["per_family"].items()], hide_index=True)

with mesh_tab:
    mesh = common.open_report(roots, found, "mesh", "Mesh", key="mesh_folder", read=latent_space.load_mesh,
                              missing=f"No chroma mesh maps under {roots.reports} yet")
    if mesh is not None:
        if mesh["images"]:
            cols = st.columns(2)
            for i, img in enumerate(mesh["images"]):
                cols[i % 2].image(str(img), caption=img.stem)
        with st.expander("mesh.json"):
            st.code(json.dumps(mesh["meta"], indent=1)[:20000], language="json")
