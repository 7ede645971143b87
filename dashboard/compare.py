"""Page 1: one input through several methods, side by side: listen, look, measure."""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from analysis import compare as cmp
from dashboard import common, plots
from dashboard import roots as dr
from effects.registry import MODEL_METHODS
from models import run_info as ri
from workbench.corpus.catalog import list_corpora
from workbench.corpus.families import FAMILIES
from workbench.errors import ParameterError


@st.cache_data(show_spinner=False, max_entries=16)
def _render(method: str, model: str | None, target: str | None, mix: float, audio: np.ndarray, sr: int,
            notes_json: str, family: str | None, judge_on: tuple[str, str, str] | None) -> dict:
    fx = cmp.compare_effect(method, model=model, target=target, mix=mix)
    judge = common.instrument_judge(*judge_on) if judge_on else None  # (corpus, data root, reports root)
    notes = json.loads(notes_json) or None
    material = target or (ri.run_info(model)["meta"] or {}).get("target")  # what the model learned from
    reference = common.harmonic_reference(str(material)) if material else None
    return cmp.compare_method(fx, audio, sr, notes=notes, judge=judge, family=family,
                              input_track=common.track_audio(audio, sr), reference=reference)


def _fmt(v, spec: str = ".2f", scale: float = 1.0, suffix: str = "") -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v * scale:{spec}}{suffix}"


roots = common.page("Compare methods", "Play one input through the autoencoder, the DDSP-style reference and the "
                    "classical baselines; listen to each output, compare spectrograms and f0, and read the measures "
                    "(pitch kept, loudness followed, target timbre reached, speed).")
inp = common.pick_input(roots, key="compare")
if inp is None:
    st.stop()
st.audio(inp.audio[0], sample_rate=inp.sr)
st.caption(f"{inp.label}: {inp.audio.shape[1] / inp.sr:.2f} s at {inp.sr} Hz"
           + (f", {len(inp.notes)} known notes" if inp.notes else ", notes unknown (pitch judged frame by frame)"))

infos = [i for r in ri.list_runs(roots.runs) if (i := ri.run_info(r))["has_weights"] and not i["codes"]]
runs = {m: [i["path"] for i in infos if i["method"] == m] for m in cmp.COMPARE_METHODS if m in MODEL_METHODS}
targets = common.target_choices(str(roots.data), str(roots.runs), str(roots.reports))
if not runs["autoencoder"]:
    common.empty_state(f"No autoencoder run under {roots.runs} yet, so no autoencoder method", dr.COMMANDS["train"])
if not targets:
    common.empty_state(f"No target material under {roots.data} yet, so no cepstral or mosaic method",
                       dr.COMMANDS["demo"])
# a ddsp model is optional (the reference method, trained with `workbench train --method ddsp`): no empty state
available = [m for m in cmp.COMPARE_METHODS if (runs[m] if m in runs else targets)]
if not available:
    st.stop()
methods = st.multiselect("Methods", available, default=available[:2], key="compare_methods")
specs = []
for m, col in zip(methods, st.columns(len(methods)) if methods else []):
    with col:
        st.markdown(f"**{m}**")
        model = target = None
        if m in runs:
            model = str(st.selectbox("Model", runs[m], format_func=lambda p: p.name,
                                     key="compare_model" if m == "autoencoder" else f"compare_model_{m}"))
            guess = ri.guess_family(model)
        else:
            target = st.selectbox("Target", targets, key=f"compare_target_{m}")
            guess = ri.guess_family(target)
        family = st.selectbox("Target family (for timbre accuracy)", FAMILIES,
                              index=FAMILIES.index(guess) if guess in FAMILIES else 0, key=f"compare_family_{m}")
        specs.append((m, model, target, family))

mix = st.slider("Mix (0 = dry, 1 = fully transferred)", 0.0, 1.0, 1.0, 0.05, key="compare_mix")
corpora = list_corpora(roots.data)
with st.expander("Measures"):
    judge_corpus = st.selectbox("Corpus for the instrument judge (a family classifier of 2-s windows)",
                                [None, *map(str, corpora)], index=1 if corpora else 0,
                                format_func=lambda c: "none (no timbre accuracy)" if c is None else c,
                                key="compare_judge")
    st.caption("Pitch kept: share of the input's notes whose output median f0 stays within 50 cents "
               "(raw pitch accuracy frame by frame when the notes are unknown). Loudness: correlation of "
               "A-weighted levels. Target-timbre accuracy: share of the output's 2-s windows the instrument "
               "judge (corpus families and a voice class) labels as the target family. Timbre gap closed: each "
               "voiced frame's harmonic levels against the target material's own notes at the same pitch; the "
               "share of the input's distance closed (0 = "
               "unchanged, 1 = as close as held-out target material). Real-time factor: seconds of audio per "
               "second of processing.")

signature = (inp.label, inp.audio.shape[1], float(np.abs(inp.audio).sum()), tuple(specs), mix, judge_corpus)
if st.button("Render", type="primary", key="compare_render", disabled=not specs):
    st.session_state["compare_done"] = signature
if st.session_state.get("compare_done") != signature:
    st.info("Choose methods and press Render.")
    st.stop()

results = {}
for m, model, target, family in specs:
    name = f"{m}: {model or target}"
    try:
        with st.spinner(f"Rendering {name}..."):
            results[name] = _render(m, model, target, mix, inp.audio, inp.sr, json.dumps(inp.notes), family,
                                    judge_corpus and (judge_corpus, str(roots.data), str(roots.reports)))
    except ParameterError as err:
        st.error(f"{name}: {err}")

in_spec = common.spectrogram(inp.audio[0], inp.sr)
for name, res in results.items():
    st.subheader(name)
    k = res["metrics"]
    c = st.columns(6)
    if k["pitch_kept"] is not None:
        c[0].metric("Pitch kept (notes)", _fmt(k["pitch_kept"], ".0f", 100, " %"))
    else:
        c[0].metric("Pitch kept (frames)", _fmt(k["raw_pitch_accuracy"], ".0f", 100, " %"))
    c[1].metric("Raw pitch accuracy", _fmt(k["raw_pitch_accuracy"]))
    c[2].metric("Loudness correlation", _fmt(k["loudness_correlation"]))
    c[3].metric("Target-timbre accuracy", _fmt(k["timbre_accuracy"]),
                help=f"the judge's usual verdict: {k['labelled_as']}" if k["labelled_as"] else None)
    c[4].metric("Timbre gap closed", _fmt(k.get("timbre_gap_closed")) if k.get("timbre_distance_db") is not None
                else "no score",
                help=k.get("timbre_status") if k.get("timbre_distance_db") is None else
                f"at the input's pitch: output {k['timbre_distance_db']:.2f} dB, input {k['timbre_input_db']:.2f} dB, "
                f"held-out target notes {k['timbre_target_db']:.2f} dB; pitch errors "
                f"{k['timbre_pitch_error_share']:.0%} of {k['timbre_judged_share']:.0%} of frames judged "
                "(0 = input unchanged, 1 = the target material itself, never more)")
    c[5].metric("Real-time factor", _fmt(k["rtf"], ".1f", suffix="x"))
    st.audio(res["output"], sample_rate=res["sr"])
    left, right = st.columns(2)
    left.plotly_chart(plots.spectrogram(*in_spec, "input"), theme=None, key=f"spec_in_{name}")
    right.plotly_chart(plots.spectrogram(*common.spectrogram(res["output"], res["sr"]), "output"),
                       theme=None, key=f"spec_out_{name}")
    st.plotly_chart(plots.f0_overlay(res["input_track"], res["output_track"], "f0: input vs output", inp.notes),
                    key=f"f0_{name}")

if results and st.button("Save these outputs", key="compare_save"):
    out = roots.reports / "dashboard" / "compare"
    files = cmp.save_outputs(out, {"input": inp.audio, **{n: r["output"] for n, r in results.items()}}, sr=inp.sr,
                             metrics={"input": inp.label, **{n: r["metrics"] for n, r in results.items()}})
    st.success(f"wrote {len(files)} files to {out}")
