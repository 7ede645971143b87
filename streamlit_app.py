"""The timbre workbench dashboard: ``make dashboard``, ``workbench dashboard`` or
``streamlit run streamlit_app.py -- [--data data --runs runs --reports reports]``.

A face: it arranges the pages in ``dashboard/``, which call the library
(:mod:`analysis.dashboard_data`) and cache heavy objects.
"""

import streamlit as st

from dashboard import common

st.set_page_config(page_title="Timbre workbench", page_icon=":musical_note:", layout="wide")
PAGES = [
    st.Page("dashboard/compare.py", title="Compare methods", icon=":material/compare_arrows:", default=True),
    st.Page("dashboard/pitch.py", title="Pitch evaluation", icon=":material/music_note:", url_path="pitch"),
    st.Page("dashboard/embeddings.py", title="Embeddings", icon=":material/scatter_plot:", url_path="embeddings"),
    st.Page("dashboard/latent.py", title="Latent mixing", icon=":material/tune:", url_path="latent"),
    st.Page("dashboard/runs.py", title="Runs and probes", icon=":material/monitoring:", url_path="runs"),
]
page = st.navigation(PAGES)
roots = common.roots()
st.sidebar.caption(f"data `{roots.data}` · runs `{roots.runs}` · reports `{roots.reports}`")
page.run()
