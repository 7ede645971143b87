"""The dashboard's main script: ``streamlit run`` runs this file (``workbench dashboard`` does).

It lives in the package so that an installed wheel carries it; ``streamlit_app.py`` at the
checkout's root runs the same :func:`main`.
"""

from pathlib import Path

import streamlit as st

from dashboard import common

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Lay out the pages and run the chosen one."""
    st.set_page_config(page_title="Timbre workbench", page_icon=":musical_note:", layout="wide")
    pages = [
        st.Page(HERE / "compare.py", title="Compare methods", icon=":material/compare_arrows:", default=True),
        st.Page(HERE / "pitch.py", title="Pitch evaluation", icon=":material/music_note:", url_path="pitch"),
        st.Page(HERE / "embeddings.py", title="Embeddings", icon=":material/scatter_plot:", url_path="embeddings"),
        st.Page(HERE / "latent.py", title="Latent mixing", icon=":material/tune:", url_path="latent"),
        st.Page(HERE / "runs.py", title="Runs and probes", icon=":material/monitoring:", url_path="runs"),
        st.Page(HERE / "training.py", title="Training", icon=":material/model_training:", url_path="training"),
    ]
    page = st.navigation(pages)
    roots = common.roots()
    st.sidebar.caption(f"data `{roots.data}` · runs `{roots.runs}` · reports `{roots.reports}`")
    page.run()


if __name__ == "__main__":
    main()
