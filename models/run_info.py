"""What a run folder holds, for display: its configs, loss curve, instruments and material family.

Reading without loading the weights (``models.checkpoint.load_run`` loads them).
"""

from __future__ import annotations

from pathlib import Path

from models.checkpoint import RunFolder, run_method
from workbench.corpus.families import FAMILIES, program_family
from workbench.errors import ParameterError
from workbench.report_io import read_json

__all__ = ["list_runs", "run_info", "multi_instrument_runs", "guess_family"]


def list_runs(runs: str | Path) -> list[Path]:
    """The run folders directly under a runs root.

    Parameters
    ----------
    runs : str or Path
        The runs root.

    Returns
    -------
    list of Path
        The folders with a ``config.json``, sorted by name; empty when ``runs`` is not a folder.
    """
    runs = Path(runs)
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if RunFolder(p).is_run())



def run_info(run: str | Path) -> dict:
    """A run folder's description for display, without loading the weights.

    Parameters
    ----------
    run : str or Path
        A run folder (its weights are not loaded).

    Returns
    -------
    dict
        ``path``, ``config`` (config.json), ``meta`` (meta.json), ``loss`` (columns of loss.csv as
        lists of floats, empty when missing), ``loss_png`` (path or None), ``has_weights``,
        ``codes`` (instrument names of a multi-instrument run, or None), ``sr`` and ``method``
        (``"autoencoder"`` or ``"ddsp"``: what plays the run).
    """

    folder = RunFolder(run)
    run = folder.path
    cfg, meta = read_json(folder.config), read_json(folder.meta)
    codes = meta.get("codes")
    return {"path": run, "config": cfg, "meta": meta, "loss": folder.read_loss(),
            "loss_png": folder.loss_png if folder.loss_png.is_file() else None,
            "has_weights": folder.weights.is_file(),
            "codes": list(codes) if isinstance(codes, list) and codes and all(isinstance(c, str) for c in codes) else None,
            "sr": cfg.get("config", {}).get("audio", {}).get("sr"),
            "method": run_method(run)}



def multi_instrument_runs(runs: str | Path) -> list[Path]:
    """Run folders of multi-instrument autoencoders.

    Parameters
    ----------
    runs : str or Path
        The runs root (:func:`list_runs`).

    Returns
    -------
    list of Path
        The runs (:func:`list_runs`) with weights and instrument ``codes`` in meta.json.
    """
    return [r for r in list_runs(runs) if (info := run_info(r))["codes"] and info["has_weights"]]



def guess_family(target: str | Path) -> str | None:
    """The NSynth family a target's material belongs to, when it says.

    Parameters
    ----------
    target : str or Path
        ``...family=brass...``, ``...program=56...``, a melody folder whose ``index.json`` names
        its GM program, or a run folder whose ``meta.json`` names such a target.

    Returns
    -------
    str or None
        The family; None when it cannot tell.
    """
    text = str(target)
    if "family=" in text:
        fam = text.split("family=", 1)[1].split(",")[0].split("+")[0]
        return fam if fam in FAMILIES else None
    if "program=" in text:
        try:
            return program_family(int(text.split("program=", 1)[1].split(",")[0].split("+")[0]))
        except (ValueError, ParameterError):
            return None
    p = Path(text)
    meta = read_json(RunFolder(p).meta)
    if meta.get("target") and str(meta["target"]) != text:
        t = Path(meta["target"])
        # run folders record the target relative to where training ran: try it beside the run too
        for cand in (str(t), str(p.parent.parent / t)):
            fam = guess_family(cand)
            if fam:
                return fam
    program = read_json(p / "index.json").get("program")
    if isinstance(program, int):
        try:
            return program_family(program)
        except ParameterError:
            return None
    return None
