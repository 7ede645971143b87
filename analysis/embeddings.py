"""2-D / 3-D maps of note features: PCA, t-SNE (2-D and 3-D) and UMAP, with fixed seeds.

Writes per method a CSV of coordinates with the notes' metadata, a PNG coloured by each
requested field, and an interactive plotly HTML (plotly.js embedded, so it opens offline).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.preprocessing import StandardScaler

from workbench.errors import ParameterError
from workbench.report_io import read_csv_rows

if TYPE_CHECKING:
    from analysis.parallel import Compute

__all__ = ["METHODS", "embed", "write_maps", "embedding_files", "load_embedding"]

METHODS = ("pca", "tsne", "tsne3d", "umap")
META_FIELDS = ("note_str", "instrument_str", "instrument_family_str", "instrument_source_str", "pitch", "velocity",
               "split")
COLOR_FIELDS = {"family": "instrument_family_str", "pitch": "pitch", "velocity": "velocity",
                "source": "instrument_source_str"}


def embed(F: np.ndarray, method: str, *, seed: int = 0) -> np.ndarray:
    """Map standardised features to 2-D (or 3-D) coordinates.

    Parameters
    ----------
    F : np.ndarray [shape=(n, d)]
        Features of ``n >= 5`` notes (standardised here).
    method : str
        One of :data:`METHODS`.
    seed : int, keyword-only
        Seed of the method.

    Returns
    -------
    np.ndarray [shape=(n, 2), or (n, 3) for ``tsne3d``]

    Raises
    ------
    ParameterError
        Fewer than 5 notes, or an unknown method.
    """
    X = StandardScaler().fit_transform(np.asarray(F, np.float64))
    n = len(X)
    if n < 5:
        raise ParameterError(f"{n} notes are too few to embed; expected at least 5")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(X)
    if method in ("tsne", "tsne3d"):
        from sklearn.manifold import TSNE

        dims = 3 if method == "tsne3d" else 2
        return TSNE(n_components=dims, perplexity=min(30.0, (n - 1) / 3), random_state=seed, init="pca").fit_transform(X)
    if method == "umap":
        import umap

        return umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed).fit_transform(X)
    raise ParameterError(f"method={method!r} is not valid; expected one of {', '.join(METHODS)}")


def write_maps(F: np.ndarray, meta: list[dict], *, methods: Sequence[str] = ("pca", "tsne", "umap"),
               color: Sequence[str] = ("family", "pitch"), out: str | Path, seed: int = 0, title: str = "") -> dict:
    """Embed ``F`` with each method and write ``<method>.csv``, ``<method>_<color>.png`` and
    ``<method>.html`` into ``out``.

    Parameters
    ----------
    F : np.ndarray [shape=(n, d)]
        Features.
    meta : list of dict
        The notes' NSynth metadata, in the order of ``F``'s rows.
    methods : sequence of str, keyword-only
        Of :data:`METHODS`.
    color : sequence of str, keyword-only
        Keys of :data:`COLOR_FIELDS`, one PNG each; the first colours the HTML map.
    out : str or Path, keyword-only
        The folder (created).
    seed : int, keyword-only
        Seed of every method.
    title : str, keyword-only
        Put before each plot's title.

    Returns
    -------
    dict of str to np.ndarray
        Method -> coordinates ``[shape=(n, 2 or 3)]``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.express as px

    for c in color:
        if c not in COLOR_FIELDS:
            raise ParameterError(f"color={c!r} is not valid; expected one of {', '.join(COLOR_FIELDS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    coords = {}
    for method in methods:
        Y = embed(F, method, seed=seed)
        coords[method] = Y
        axes = [f"{method}_{i + 1}" for i in range(Y.shape[1])]
        rows = [{**{a: float(v) for a, v in zip(axes, y)}, **{k: m.get(k) for k in META_FIELDS}}
                for y, m in zip(Y, meta)]
        with (out / f"{method}.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=[*axes, *META_FIELDS])
            w.writeheader()
            w.writerows(rows)
        for c in color:
            field = COLOR_FIELDS[c]
            values = [m[field] for m in meta]
            fig = plt.figure(figsize=(6, 5))
            ax = fig.add_subplot(111, projection="3d" if Y.shape[1] == 3 else None)
            if isinstance(values[0], str):
                palette = plt.get_cmap("tab20")  # 11 families need more than the default 10 colours
                for i, v in enumerate(sorted(set(values))):
                    sel = np.array([x == v for x in values])
                    ax.scatter(*Y[sel].T, s=8, label=v, color=palette(i % 20))
                ax.legend(fontsize=7, markerscale=2, loc="best")
            else:
                sc = ax.scatter(*Y.T, s=8, c=values, cmap="viridis")
                fig.colorbar(sc, ax=ax, label=c)
            ax.set_title(f"{title} {method} by {c}".strip(), fontsize=9)
            fig.tight_layout()
            fig.savefig(out / f"{method}_{c}.png", dpi=90)
            plt.close(fig)
        field = COLOR_FIELDS[color[0]]
        hover = ["note_str", "instrument_str", "pitch", "velocity"]
        data = {**{a: Y[:, i] for i, a in enumerate(axes)}, **{k: [m.get(k) for m in meta] for k in META_FIELDS}}
        if Y.shape[1] == 3:
            fig = px.scatter_3d(data, x=axes[0], y=axes[1], z=axes[2], color=field, hover_data=hover)
        else:
            fig = px.scatter(data, x=axes[0], y=axes[1], color=field, hover_data=hover)
        fig.update_layout(title=f"{title} {method}".strip())
        fig.write_html(out / f"{method}.html", include_plotlyjs=True)
    return coords


def embed_corpus(corpus: str | Path, *, features: str = "mfcc", methods: Sequence[str] = ("pca", "tsne", "tsne3d", "umap"),
                 color: Sequence[str] = ("family", "pitch"), split: str | Sequence[str] | None = None,
                 cache: str | Path = "reports/cache", out: str | Path, seed: int = 0, compute: Compute | None = None,
                 progress: bool = False) -> dict:
    """Maps of a rendered corpus's notes by one feature set; written to ``out`` (:func:`write_maps`).

    Parameters
    ----------
    corpus : str or Path
        An NSynth-format corpus.
    features : str, keyword-only
        Feature spec (:func:`analysis.feature_cache.feature_matrix`).
    methods, color, out, seed : keyword-only
        As :func:`write_maps`.
    split : str or sequence of str, optional, keyword-only
        Only these splits (default all).
    cache : str or Path, keyword-only
        Feature cache folder.
    compute : Compute, optional, keyword-only
        Where feature shards run, and the features' device (default this process, CPU).
    progress : bool, keyword-only
        A progress bar over the feature shards.

    Returns
    -------
    dict
        ``{"notes": int, "dims": int}``: notes mapped and feature width.

    Raises
    ------
    ParameterError
        No notes in the split.
    """
    from analysis.feature_cache import feature_matrix
    from analysis.parallel import Compute
    from workbench.corpus.nsynth import NSynth

    ds = NSynth(corpus, split=split)
    if not len(ds):
        raise ParameterError(f"corpus={str(corpus)!r} has no notes for split={split!r}")
    sr = int(ds.examples[0]["sample_rate"])
    F, _ = feature_matrix(features, ds.paths(), cache_dir=cache, sr=sr, compute=compute or Compute(), progress=progress)
    write_maps(F, ds.examples, methods=list(methods), color=list(color), out=out, seed=seed, title=features)
    return {"notes": len(ds), "dims": int(F.shape[1])}


def _embedding_csvs(folder: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(folder.glob("*.csv")):
        try:
            with p.open(newline="") as fh:
                head = fh.readline()
        except OSError:
            continue
        if head.startswith(f"{p.stem}_1,"):
            out[p.stem] = p
    return out



def embedding_files(folder: str | Path) -> dict[str, Path]:
    """The coordinate CSVs of an embedding folder.

    Parameters
    ----------
    folder : str or Path
        A folder written by ``workbench embed``.

    Returns
    -------
    dict of str to Path
        Method -> its CSV (``pca.csv``, ``tsne3d.csv``...): the CSVs whose first column is
        ``<stem>_1``, sorted by name.
    """
    return _embedding_csvs(Path(folder))



def load_embedding(path: str | Path) -> dict:
    """Read an embedding CSV from ``workbench embed``.

    Parameters
    ----------
    path : str or Path
        The CSV (:func:`embedding_files`).

    Returns
    -------
    dict
        ``method`` (the file's stem), ``axes`` (coordinate column names, 2 or 3) and
        ``columns``: name -> list of values (coordinates as floats, pitch/velocity as ints).

    Raises
    ------
    ParameterError
        No rows, or not 2 or 3 coordinate columns.
    """
    path = Path(path)
    rows = read_csv_rows(path)
    if not rows:
        raise ParameterError(f"embedding={str(path)!r} has no rows; expected a CSV from `workbench embed`")
    axes = [k for k in rows[0] if k.startswith(f"{path.stem}_")]
    if len(axes) not in (2, 3):
        raise ParameterError(f"embedding={str(path)!r} has coordinate columns {axes}; expected "
                             f"{path.stem}_1, {path.stem}_2 (and _3)")
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    for k in ("note_str", "instrument_str", "instrument_family_str", "instrument_source_str", "split"):
        if k in cols:
            cols[k] = [str(v) for v in cols[k]]
    return {"method": path.stem, "axes": axes, "columns": cols}
