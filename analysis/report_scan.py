"""The report folders under a reports root, found by kind (evaluation, probe, pitch CNN,
embedding, mesh).

Each kind is recognised by the files its writer leaves (:mod:`analysis.scoreboard`,
:mod:`analysis.pitch_eval`, :mod:`analysis.probes`, :mod:`analysis.pitch_probe`,
:mod:`analysis.embeddings`, :mod:`analysis.latent_space`); the readers stay with the writers.
"""

from __future__ import annotations

from pathlib import Path

from analysis.embeddings import embedding_files
from workbench.report_io import read_json

__all__ = ["scan_reports"]

_SKIP_DIRS = {"inputs", "outputs", "tracks", "cache", "screenshots", "audio"}


def scan_reports(reports: str | Path, *, depth: int = 3) -> dict[str, list[Path]]:
    """Report folders under ``reports`` by kind, each list sorted.

    Kinds: ``evaluation`` (``results.json`` with a ``scoreboard``, or ``pitch.json``), ``probe``
    (``results.json`` with ``probes``), ``pitchcnn`` (``results.json`` with ``history`` and
    ``within_semitone``), ``embedding`` (``<method>.csv`` with ``<method>_1`` coordinates) and
    ``mesh`` (``mesh.json``). Symbolic links are followed; audio and cache folders are not entered.

    Parameters
    ----------
    reports : str or Path
        The reports root (itself a candidate).
    depth : int, keyword-only
        How many folder levels below it are searched.

    Returns
    -------
    dict of str to list of Path
        Kind -> folders; every kind is present, empty when none is found.
    """
    found: dict[str, list[Path]] = {k: [] for k in ("evaluation", "probe", "pitchcnn", "embedding", "mesh")}
    root = Path(reports)
    if not root.is_dir():
        return found

    def visit(folder: Path, level: int) -> None:
        res = read_json(folder / "results.json") if (folder / "results.json").is_file() else {}
        if "scoreboard" in res or (folder / "pitch.json").is_file():
            found["evaluation"].append(folder)
        if "probes" in res:
            found["probe"].append(folder)
        if "history" in res and "within_semitone" in res:
            found["pitchcnn"].append(folder)
        if (folder / "mesh.json").is_file():
            found["mesh"].append(folder)
        if embedding_files(folder):
            found["embedding"].append(folder)
        if level < depth:
            try:
                subs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in _SKIP_DIRS)
            except OSError:
                subs = []
            for sub in subs:
                visit(sub, level + 1)

    visit(root, 0)
    return {k: sorted(v) for k, v in found.items()}
