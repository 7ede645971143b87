"""Plotly figures of what the library returns to the pages (presentation only).

Heatmaps are shown with ``theme=None``: Streamlit's chart theme would replace their colour scales.
"""

from __future__ import annotations

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

from workbench.pitch import hz_to_midi

HEIGHT = 300
# Magma without its first stop: Streamlit draws the named scale's near-black #000004 as light violet
MAGMA = px.colors.sequential.Magma[1:]


def _layout(fig: go.Figure, title: str, *, height: int = HEIGHT, **kw) -> go.Figure:
    fig.update_layout(title=dict(text=title, font=dict(size=14)), height=height, margin=dict(l=50, r=10, t=40, b=40),
                      **kw)
    return fig


def spectrogram(times, freqs, db, title: str) -> go.Figure:
    """Heatmap of a dB spectrogram ``(F, T)``; frequency in kHz."""
    fig = go.Figure(go.Heatmap(x=times, y=np.asarray(freqs) / 1000, z=db, colorscale=MAGMA, zmin=-80, zmax=0,
                               colorbar=dict(title="dB", thickness=10)))
    return _layout(fig, title, xaxis_title="time (s)", yaxis_title="kHz")


def f0_overlay(in_track, out_track, title: str, notes=None) -> go.Figure:
    """Input and output f0 (as MIDI pitch) over time, with the input's notes as target lines."""
    fig = go.Figure()
    for n in notes or []:
        fig.add_trace(go.Scatter(x=[n["onset"], n["offset"]], y=[n["pitch"]] * 2, mode="lines",
                                 line=dict(color="lightgrey", width=6), showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=in_track[0], y=hz_to_midi(in_track[1]), mode="lines", name="input f0",
                             line=dict(color="black", width=3)))
    fig.add_trace(go.Scatter(x=out_track[0], y=hz_to_midi(out_track[1]), mode="lines", name="output f0",
                             line=dict(color="#d62728", width=1.5)))
    return _layout(fig, title, xaxis_title="time (s)", yaxis_title="pitch (MIDI)", legend=dict(orientation="h"))


def note_f0(win: dict, title: str) -> go.Figure:
    """The f0 tracks around a note (``note_window``): target lines green when kept, red when lost."""
    fig = go.Figure()
    for t in win["targets"]:
        color = "#2ca02c" if t["kept"] else "#d62728"
        fig.add_trace(go.Scatter(x=[t["onset"], t["offset"]], y=[t["pitch"]] * 2, mode="lines",
                                 line=dict(color=color, width=8 if t["chosen"] else 5, dash=None if t["kept"] else "dot"),
                                 opacity=0.45, name=f"note {t['note']} ({'kept' if t['kept'] else 'lost'})",
                                 showlegend=False))
        if t["kept"] is False:
            fig.add_trace(go.Scatter(x=[(t["onset"] + t["offset"]) / 2], y=[t["pitch"] + 0.8], mode="markers+text",
                                     marker=dict(symbol="x", size=11, color="#d62728"), text=["lost"],
                                     textposition="top center", showlegend=False, hoverinfo="skip"))
        if t["chosen"]:
            fig.add_vrect(x0=t["onset"], x1=t["offset"], fillcolor="gold", opacity=0.15, line_width=0)
    fig.add_trace(go.Scatter(x=win["times"], y=win["input_midi"], mode="lines", name="input f0",
                             line=dict(color="black", width=3)))
    fig.add_trace(go.Scatter(x=win["times"], y=win["output_midi"], mode="lines", name="output f0",
                             line=dict(color="#1f77b4", width=2)))
    return _layout(fig, title, height=360, xaxis_title="time (s)", yaxis_title="pitch (MIDI)",
                   legend=dict(orientation="h"))


def bars(names, values, title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(names), y=list(values), marker_color="#1f77b4"))
    return _layout(fig, title)


def lines(x, series: dict, title: str, *, xaxis: str, yaxis: str, log_y: bool = False) -> go.Figure:
    """One line per named series over ``x`` (loss and accuracy curves)."""
    fig = go.Figure()
    for name, y in series.items():
        fig.add_trace(go.Scatter(x=list(x), y=list(y), mode="lines+markers", name=name, marker=dict(size=4)))
    fig = _layout(fig, title, xaxis_title=xaxis, yaxis_title=yaxis, legend=dict(orientation="h"))
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def confusion(classes, counts, title: str) -> go.Figure:
    """Row-normalised confusion matrix with the counts written in the cells."""
    counts = np.asarray(counts)
    norm = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(x=list(classes), y=list(classes), z=norm, colorscale="Blues", zmin=0, zmax=1,
                               text=counts, texttemplate="%{text}", colorbar=dict(title="share", thickness=10)))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=120 + 32 * len(classes), xaxis_title="predicted", yaxis_title="true")


def trajectory(traj, frame_seconds: float, title: str) -> go.Figure:
    """Latent trajectory ``(frames, latent_dim)`` as a heatmap over time."""
    traj = np.asarray(traj)
    fig = go.Figure(go.Heatmap(x=np.arange(traj.shape[0]) * frame_seconds, y=np.arange(traj.shape[1]), z=traj.T,
                               colorscale="Viridis", colorbar=dict(title="value", thickness=10)))
    return _layout(fig, title, xaxis_title="time (s)", yaxis_title="latent unit")


def overlay(series: dict, title: str, *, xaxis: str, yaxis: str, log_y: bool = False) -> go.Figure:
    """One line per named ``(x, y)`` pair, each on its own x (curves of runs of different lengths)."""
    fig = go.Figure()
    for name, (x, y) in series.items():
        fig.add_trace(go.Scatter(x=list(x), y=[None if v is None else v for v in y], mode="lines+markers", name=name,
                                 marker=dict(size=4), connectgaps=False))
    fig = _layout(fig, title, xaxis_title=xaxis, yaxis_title=yaxis, legend=dict(orientation="h"))
    if log_y:
        fig.update_yaxes(type="log")
    return fig
