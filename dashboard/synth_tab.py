"""The Latent mixing page's synth tab: a latent point (picked on the map of units 1 and 2, or by
sliders) and its pitch class, rendered offline through the code `workbench play` streams, heard
in the page, with the command line that plays the point live."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from analysis import synth_point as sp
from analysis.latent_space import PITCH_CLASSES
from dashboard import common
from dashboard import roots as dr
from workbench.errors import ParameterError


@st.cache_data(show_spinner="Rendering the point...", max_entries=16)
def _render(model: str, latent: tuple, chroma: int | None, seconds: float, phase: str):
    return sp.render_synth_point(model, latent=list(latent), chroma=chroma, seconds=seconds, phase=phase)


@st.cache_data(show_spinner=False, max_entries=16)
def _map(model: str, latent: tuple, chroma: int | None):
    return sp.synth_map(model, latent=list(latent), chroma=chroma)


def show(roots) -> None:
    models = sp.synth_runs(roots.runs)
    if not models:
        common.empty_state(f"No synth model yet: no run under {roots.runs} has a decoder that makes the whole "
                           "frame (model.output=spectrum)", dr.COMMANDS["synth"])
        return
    model = st.selectbox("Synth model", models, format_func=lambda p: p.name, key="synth_model")
    try:
        dim, has_chroma = sp.synth_shape(model)
    except ParameterError as err:
        st.error(str(err))
        return
    chroma = None
    if has_chroma:
        chroma = PITCH_CLASSES.index(st.select_slider("Pitch class (chroma)", PITCH_CLASSES, value="A",
                                                      key="synth_chroma"))
    for u in range(dim):  # defaults before any widget reads them
        st.session_state.setdefault(f"synth_unit_{u}", 0.5)
    if dim >= 2:
        here = tuple(float(st.session_state[f"synth_unit_{u}"]) for u in range(dim))
        m = _map(str(model), here, chroma)
        fig = go.Figure(go.Scatter(x=m["u1"], y=m["u2"], mode="markers",
                                   marker={"size": 14, "color": m["centroid_hz"], "colorscale": "Viridis",
                                           "colorbar": {"title": "centroid Hz"}},
                                   hovertemplate="unit 1 %{x:.2f}, unit 2 %{y:.2f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[here[0]], y=[here[1]], mode="markers", showlegend=False,
                                 marker={"size": 18, "symbol": "x", "color": "red"}))
        fig.update_layout(height=360, showlegend=False, xaxis_title="unit 1", yaxis_title="unit 2",
                          margin={"l": 40, "r": 10, "t": 10, "b": 40})
        ev = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="synth_map", theme=None)
        points = (ev or {}).get("selection", {}).get("points", []) if isinstance(ev, dict) else \
            getattr(getattr(ev, "selection", None), "points", [])
        if points:
            pick = (round(float(points[0]["x"]), 3), round(float(points[0]["y"]), 3))
            if st.session_state.get("synth_map_applied") != pick:  # a new click moves the sliders once
                st.session_state["synth_map_applied"] = pick
                st.session_state["synth_unit_0"], st.session_state["synth_unit_1"] = pick
                st.rerun()
    cols = st.columns(4)
    latent = []
    for u in range(dim):
        with cols[u % 4]:
            latent.append(st.slider(f"unit {u + 1}", 0.0, 1.0, step=0.01, key=f"synth_unit_{u}"))
    c1, c2 = st.columns(2)
    phase = c1.radio("Phase", ["pghi", "noise"], horizontal=True, key="synth_phase",
                     format_func={"pghi": "PGHI (phase-gradient heap integration)", "noise": "noise (MANNe)"}.get)
    seconds = c2.slider("Seconds", 0.5, 4.0, 2.0, 0.5, key="synth_seconds")
    try:
        y, sr = _render(str(model), tuple(latent), chroma, seconds, phase)
    except ParameterError as err:
        st.error(str(err))
        return
    st.audio(y, sample_rate=sr)
    st.caption("Play this point live (add --midi PORT for notes and faders, --osc 9000 for OSC):")
    st.code(sp.play_command(model, latent=latent, chroma=chroma, phase=phase), language="bash")
