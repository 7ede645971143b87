"""Page 3: the notes' feature maps (PCA, t-SNE 2-D/3-D, UMAP); choose a point to hear its note."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from analysis import embeddings as emb
from analysis.embeddings import COLOR_FIELDS
from analysis.report_scan import scan_reports
from dashboard import common
from dashboard import roots as dr
from workbench.corpus.catalog import list_corpora, note_audio_path

NAMES = {"pca": "PCA", "tsne": "t-SNE", "tsne3d": "t-SNE 3-D", "umap": "UMAP"}


roots = common.page("Embeddings", "Each point is a corpus note placed by its features (written by `workbench embed`). "
                    "Colour it by family, pitch, velocity or source; click a point (2-D maps) or pick a note to hear it.")
folder = common.pick_report(roots, scan_reports(roots.reports), "embedding", "Maps", key="embed_folder",
                            missing=f"No embedding maps under {roots.reports} yet")
if folder is None:
    st.stop()
files = emb.embedding_files(folder)
c1, c2 = st.columns(2)
method = c1.radio("Method", list(files), format_func=lambda m: NAMES.get(m, m), horizontal=True, key="embed_method")
color = c2.radio("Colour by", list(COLOR_FIELDS), horizontal=True, key="embed_color")
emb = common.read_cached(emb.load_embedding, files[method])
cols, axes = emb["columns"], emb["axes"]
field = COLOR_FIELDS[color]
hover = [k for k in ("instrument_str", "pitch", "velocity", "split") if k in cols]
custom = ["note_str", "split"]
# eleven families need more colours than plotly's default ten
style = dict(color=field, hover_name="note_str", hover_data=hover, custom_data=custom,
             color_discrete_sequence=px.colors.qualitative.Dark24, color_continuous_scale="Viridis")
if len(axes) == 3:
    fig = px.scatter_3d(cols, x=axes[0], y=axes[1], z=axes[2], height=620, **style)
    fig.update_traces(marker=dict(size=3))
else:
    fig = px.scatter(cols, x=axes[0], y=axes[1], height=560, **style)
    fig.update_traces(marker=dict(size=6))
fig.update_layout(margin=dict(l=10, r=10, t=30, b=10), title=f"{NAMES.get(method, method)} by {color}")
event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key=f"embed_chart_{method}")

notes = cols["note_str"]
points = event.selection.points if event else []
picked = str(points[0]["customdata"][0]) if points and points[0].get("customdata") else None
if picked in notes and picked != st.session_state.get("embed_last_pick"):
    st.session_state["embed_note"] = picked  # a new click chooses the note; the list still works after it
    st.session_state["embed_last_pick"] = picked
if st.session_state.get("embed_note") not in notes:  # another map with other notes
    st.session_state.pop("embed_note", None)
choice = st.selectbox("Note", notes, key="embed_note", help="Clicking a point in a 2-D map selects its note here.")
i = notes.index(choice)
st.markdown(f"**{choice}**: {cols['instrument_family_str'][i]} ({cols['instrument_source_str'][i]}), MIDI "
            f"{cols['pitch'][i]}, velocity {cols['velocity'][i]}, split {cols['split'][i]}")
path = note_audio_path(choice, cols["split"][i], corpora=list_corpora(roots.data))
if path is None:
    st.warning(f"The audio of {choice} is not in any corpus under {roots.data}; render the corpus the map was "
               f"made from (`{dr.COMMANDS['corpus']}`).")
else:
    st.audio(str(path))
    st.caption(str(path))
