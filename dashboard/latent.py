"""Page 4: latent mixing with a multi-instrument autoencoder: blend, shift or morph instruments in
the latent space, push single units with faders, and watch the latent trajectory. The synth tab
plays a latent point of a synth model (dashboard/synth_tab.py)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from analysis import mix_eval, mix_render
from dashboard import common, plots, synth_tab
from dashboard import roots as dr
from models import run_info as ri
from models.checkpoint import RunFolder
from workbench.errors import ParameterError

MODES = {"blend": "blend: decode with the code (1 - alpha) source + alpha target",
         "shift": "shift: move the latents by alpha x (target mean - source mean)",
         "linear": "linear: a least-squares map from the source's latents to the target's",
         "morph": "morph: mix in the latents of a second input, frame by frame"}


@st.cache_data(show_spinner="Measuring the path: the output at alpha 0 ... 1 against reference notes of both "
                            "instruments and the instrument judge (a minute the first time)...", max_entries=8)
def _path(model: str, audio: np.ndarray, sr: int, mode: str, source: str, target: str, work: str) -> dict:
    return mix_eval.input_path(model, audio, sr, mode=mode, source=source, target=target, work=work)


@st.cache_data(show_spinner="Rendering through the latent mix...", max_entries=8)
def _render(model: str, audio: np.ndarray, sr: int, morph: np.ndarray | None, params: dict) -> dict:
    return mix_render.render_latent_mix(audio, sr, model=model, morph=morph, **params)


roots = common.page("Latent mixing", "A multi-instrument autoencoder is conditioned on an instrument code; mixing "
                    "the codes and moving latent units changes the timbre between and beyond the instruments it learned.")
tab_mix, tab_synth = st.tabs(["Mix", "Synth"])
with tab_synth:  # first: the mix tab stops the script when it has nothing to show
    synth_tab.show(roots)
with tab_mix:
    models = ri.multi_instrument_runs(roots.runs)
    if not models:
        common.empty_state(f"No multi-instrument model yet: no run under {roots.runs} has instrument codes "
                           "in its meta.json", dr.COMMANDS["multi"])
        st.stop()

    model = st.selectbox("Model", models, format_func=lambda p: p.name, key="latent_model")
    try:
        codes, latent_dim = common.read_cached(mix_render.latent_mix_shape, model, stamp_of=RunFolder(model).weights)
    except ParameterError as err:
        st.error(str(err))
        st.stop()
    inp = common.pick_input(roots, key="latent")
    if inp is None:
        st.stop()
    st.audio(inp.audio[0], sample_rate=inp.sr)

    mode = st.radio("Mode", list(MODES), format_func=MODES.get, key="latent_mode")
    c1, c2 = st.columns(2)
    source = c1.selectbox("Source instrument", codes, key="latent_from")
    target = c2.selectbox("Target instrument", codes, index=min(1, len(codes) - 1), key="latent_to")
    alpha = st.slider("Alpha (0 = source, 1 = target)", 0.0, 1.0, 0.5, 0.05, key="latent_alpha")
    mix = st.slider("Mix (0 = dry, 1 = fully processed)", 0.0, 1.0, 1.0, 0.05, key="latent_mix")
    morph = name = None
    if mode == "morph":
        second = dr.demo_inputs(roots)
        if not second:
            common.empty_state(f"The morph mode needs a second input; no demo material under {roots.data} yet",
                               dr.COMMANDS["demo"])
            st.stop()
        name = st.selectbox("Second input (morph towards its latents)", list(second), key="latent_morph")
        morph = common.load_audio(str(second[name]), common.mtime(second[name]))
    with st.expander(f"Per-unit faders ({latent_dim} latent units): z x scale + offset after the mode"):
        use = st.checkbox("Apply the faders", value=True, key="latent_faders")
        cols = st.columns(4)
        scale, offset = [], []
        for u in range(latent_dim):
            with cols[u % 4]:
                scale.append(st.slider(f"unit {u} scale", 0.0, 2.0, 1.0, 0.05, key=f"latent_scale_{u}"))
                offset.append(st.slider(f"unit {u} offset", -1.0, 1.0, 0.0, 0.05, key=f"latent_offset_{u}"))
    params = {"mode": mode, "source": source, "target": target, "alpha": alpha, "mix": mix,
              "scale": scale, "offset": offset, "faders": use}
    signature = (str(model), inp.label, inp.audio.shape[1], repr(params), name)
    if st.button("Render", type="primary", key="latent_render"):
        st.session_state["latent_done"] = signature
    if st.session_state.get("latent_done") != signature:
        st.info("Set the mix and press Render.")
        st.stop()
    try:
        res = _render(str(model), inp.audio, inp.sr, morph, params)
    except ParameterError as err:
        st.error(str(err))
        st.stop()
    st.audio(res["output"], sample_rate=inp.sr)
    st.plotly_chart(plots.trajectory(res["trajectory"], res["frame_seconds"], "latent trajectory"), theme=None,
                    key="latent_traj")
    left, right = st.columns(2)
    left.plotly_chart(plots.spectrogram(*common.spectrogram(inp.audio[0], inp.sr), "input"), theme=None,
                      key="latent_spec_in")
    right.plotly_chart(plots.spectrogram(*common.spectrogram(res["output"], inp.sr), "output"), theme=None,
                       key="latent_spec_out")

    st.subheader("The path from source to target")
    st.caption("Does the mix move from the source instrument to the target as alpha grows? The same input is "
               "rendered at alpha 0, 0.25, 0.5, 0.75 and 1 in this mode and judged from outside the model: the "
               "matched-pitch timbre distance (harmonic levels at the input's pitch against reference notes of each "
               "instrument rendered apart from the training, dB, lower is closer) and the instrument judge's share of "
               "windows labelled as each instrument. A steady path: the distance to the source grows, the one to the "
               "target shrinks.")
    if mode == "morph" or source == target:
        st.info("Pick two different instruments and a mode other than morph to measure the path.")
    elif st.button("Measure the path", key="latent_path"):
        try:
            p = _path(str(model), inp.audio, inp.sr, mode, source, target, str(roots.reports / "mixing-work"))
        except ParameterError as err:
            st.error(str(err))
            st.stop()
        a, b = p["source"], p["target"]
        left, right = st.columns(2)
        left.plotly_chart(plots.lines(p["alphas"], {f"to {a} (source)": p["timbre_a"], f"to {b} (target)": p["timbre_b"]},
                                      "matched-pitch timbre distance", xaxis="alpha", yaxis="dB"),
                          theme=None, key="latent_path_timbre")
        if p["judge_a"][0] is not None:
            right.plotly_chart(plots.lines(p["alphas"], {f"judged {a}": p["judge_a"], f"judged {b}": p["judge_b"]},
                                           "instrument judge", xaxis="alpha", yaxis="share of windows"),
                               theme=None, key="latent_path_judge")
        verdict = {True: "moves steadily", False: "does not move steadily"}
        st.markdown(f"Timbre measure: the path {verdict[p['monotone']['timbre']]} from {a} to {b}"
                    + (f"; judge: {verdict[p['monotone']['judge']]}." if "judge" in p["monotone"] else "."))
