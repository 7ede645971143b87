"""The latent synthesizer (:class:`live.latent_synth.LatentSynth`) from the outside: which runs can play
it, what one of its points is made of, the brightness around a point, one note of a point
rendered offline, and the command that plays the point live. The latent space's other uses
(synthesis sweeps, the chroma mesh) are :mod:`analysis.latent_space`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.run_info import list_runs, run_info

__all__ = ["synth_runs", "synth_shape", "synth_map", "render_synth_point", "play_command"]


def synth_runs(runs: str | Path) -> list[Path]:
    """Run folders a latent synthesizer can play.

    Parameters
    ----------
    runs : str or Path
        The runs root (:func:`models.run_info.list_runs`).

    Returns
    -------
    list of Path
        The runs with weights and ``model.output = spectrum``, in ``list_runs``'s order.
    """
    out = []
    for r in list_runs(runs):
        info = run_info(r)
        if info["has_weights"] and info["config"].get("config", {}).get("model", {}).get("output") == "spectrum":
            out.append(r)
    return out


def synth_shape(model: str | Path) -> tuple[int, bool]:
    """What a synth run's latent point is made of.

    Parameters
    ----------
    model : str or Path
        A synth run folder (its config.json is read).

    Returns
    -------
    latent : int
        Latent units (0 when the config does not say).
    chroma : bool
        Whether it is chroma-conditioned.
    """
    cfg = run_info(model)["config"].get("config", {}).get("model", {})
    return int(cfg.get("latent", 0)), bool(cfg.get("chroma", False))


def synth_map(model: str | Path, *, latent: Sequence[float] | np.ndarray, chroma: int | None = None,
              points: int = 11) -> dict:
    """Spectral centroid of the decoded frame over a grid of latent units 1 and 2.

    Parameters
    ----------
    model : str or Path
        A synth run.
    latent : sequence of float, keyword-only
        The point; units 1 and 2 are replaced by the grid, the others held.
    chroma : int, optional, keyword-only
        Pitch class for a chroma model.
    points : int, keyword-only
        Grid points per side, over [0, 1].

    Returns
    -------
    dict
        ``u1``, ``u2`` and ``centroid_hz`` (Hz): flat lists of ``points ** 2``.
    """
    import torch

    from live.latent_synth import decode_frames
    from models.checkpoint import load_run

    run = load_run(model)
    a = run.config.audio
    g = np.linspace(0.0, 1.0, points, dtype=np.float32)
    u1, u2 = (v.reshape(-1) for v in np.meshgrid(g, g, indexing="xy"))
    z = np.repeat(np.asarray(latent, np.float32)[None], len(u1), 0)
    z[:, 0], z[:, 1] = u1, u2
    mag = decode_frames(run, torch.from_numpy(z), chroma=chroma).numpy()
    freqs = np.arange(mag.shape[1]) * a.sr / a.n_fft
    centroid = (mag * freqs).sum(1) / np.maximum(mag.sum(1), 1e-12)
    return {"u1": u1.tolist(), "u2": u2.tolist(), "centroid_hz": centroid.tolist()}


def render_synth_point(model: str | Path, *, latent: Sequence[float] | np.ndarray, chroma: int | None = None,
                       seconds: float = 2.0, phase: str = "pghi", release_ms: float = 150.0) -> tuple[np.ndarray, int]:
    """One note of the latent synthesizer, offline, through the very code ``workbench play`` streams
    (:meth:`live.latent_synth.LatentSynth.render`): gate on at 0, off ``release_ms`` (and 20 ms) before the end.

    Parameters
    ----------
    model : str or Path
        A synth run.
    latent : sequence of float, keyword-only
        The latent point.
    chroma : int, optional, keyword-only
        Pitch class (0 when None).
    seconds : float, seconds, keyword-only
        Length of the note.
    phase : str, keyword-only
        Phase maker (:data:`workbench.phase.PHASE_METHODS`).
    release_ms : float, ms, keyword-only
        Release time.

    Returns
    -------
    audio : np.ndarray [shape=(n,)]
        The first channel.
    sr : int, Hz
        The run's rate.
    """
    from live.latent_synth import LatentSynth

    synth = LatentSynth(model=str(model), latent=latent, chroma=0 if chroma is None else int(chroma),
                        phase=phase, release_ms=release_ms)
    off = max(0.0, seconds - release_ms / 1000 - 0.02)
    y = synth.render(seconds, schedule=[(off, {"gate": False})])
    return y[0], synth.model_sr


def play_command(model: str | Path, *, latent: Sequence[float] | np.ndarray, chroma: int | None = None,
                 phase: str = "pghi") -> str:
    """The command line that plays this point live.

    Parameters
    ----------
    model : str or Path
        A synth run.
    latent : sequence of float, keyword-only
        The point (each value to 3 significant digits).
    chroma : int, optional, keyword-only
        Pitch class, written by name.
    phase : str, keyword-only
        Phase maker.

    Returns
    -------
    str
        ``workbench play --model ... --latent ... [--chroma ...] --phase ...``.
    """
    from analysis.latent_space import PITCH_CLASSES

    z = ",".join(f"{float(v):.3g}" for v in latent)
    ch = f" --chroma {PITCH_CLASSES[int(chroma)]}" if chroma is not None else ""
    return f"workbench play --model {model} --latent {z}{ch} --phase {phase}"
