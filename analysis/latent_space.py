"""The autoencoder's latent space as an instrument: synthesis from a latent point (seed 002),
the chroma mesh of MANNe's Table V, and the judged curve of latent mixing (issue 7)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from live.latent_synth import decode_frames
from models.checkpoint import LoadedRun, load_run
from workbench.errors import ParameterError
from workbench.phase import PHASE_METHODS, reconstruct
from workbench.pitch import hz_to_midi, pyin_f0
from workbench.report_io import read_json
from workbench.spectral import chroma_onehot
from workbench.validate import check_int, is_integer

if TYPE_CHECKING:
    from analysis.instrument_judge import InstrumentJudge
    from effects.latent_mix import LatentMixEffect

__all__ = ["PITCH_CLASSES", "parse_chroma", "parse_latent", "synthesize", "mesh", "synth_pitch_class_share",
           "alpha_curve", "load_mesh"]

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}


def _run(model) -> LoadedRun:
    return model if isinstance(model, LoadedRun) else load_run(model)


def parse_chroma(value: int | str) -> int:
    """Pitch class index from a name or a number.

    Parameters
    ----------
    value : int or str
        ``C``, ``F#``, ``Bb`` (either case of the letter), or an integer (or digits) 0-11.

    Returns
    -------
    int
        0 (C) to 11 (B).

    Raises
    ------
    ParameterError
        Anything else.
    """
    if is_integer(value) and 0 <= value < 12:
        return int(value)
    text = str(value).strip()
    if text.isdigit() and 0 <= int(text) < 12:
        return int(text)
    name = _FLATS.get(text[:1].upper() + text[1:], text[:1].upper() + text[1:])
    if name in PITCH_CLASSES:
        return PITCH_CLASSES.index(name)
    raise ParameterError(f"chroma={value!r} is not a pitch class; expected one of {', '.join(PITCH_CLASSES)} or 0-11")


def parse_latent(text: str | Sequence[float] | np.ndarray, *, dim: int) -> np.ndarray:
    """A latent point from a comma list or a sequence of numbers.

    Parameters
    ----------
    text : str or sequence of float
        ``"0.2,0.7"`` or the numbers themselves.
    dim : int, keyword-only
        The model's bottleneck width.

    Returns
    -------
    np.ndarray [shape=(dim,), dtype=float32]

    Raises
    ------
    ParameterError
        Not numbers, not ``dim`` of them, or not finite.
    """
    try:
        v = np.array([float(t) for t in str(text).split(",") if t.strip()] if isinstance(text, str) else text, np.float32)
    except (TypeError, ValueError):
        raise ParameterError(f"latent={text!r} is not a comma list of numbers") from None
    if v.shape != (dim,) or not np.isfinite(v).all():
        raise ParameterError(f"latent={text!r} has {v.size} values; expected {dim} finite numbers (the model's "
                             "bottleneck width)")
    return v


SYNTH_PHASES = ("griffinlim", *PHASE_METHODS)

def synthesize(model: str | Path | LoadedRun, latent: str | Sequence[float] | np.ndarray, *, chroma: int | str | None = None,
               instrument: str | None = None, seconds: float = 2.0, phase: str = "griffinlim", n_iter: int = 32,
               peak_db: float = -6.0, seed: int = 0) -> tuple[np.ndarray, int]:
    """Audio from one latent point and (for a chroma model) a pitch class, with no input.

    The decoder's frame is held for ``seconds``; the phase comes from Griffin-Lim
    (torchaudio, ``n_iter`` iterations), or frame by frame as ``workbench play`` makes it
    (:func:`workbench.phase.reconstruct`: ``"pghi"``, or ``"noise"``, random and seeded).
    10 ms fades; peak at ``peak_db`` dBFS.

    Parameters
    ----------
    model : str, Path or LoadedRun
        An autoencoder run; its decoder makes the frame (:func:`live.latent_synth.decode_frames`).
    latent : str or sequence of float
        The point (:func:`parse_latent`).
    chroma : int or str, optional, keyword-only
        Pitch class for a chroma model (:func:`parse_chroma`).
    instrument : str, optional, keyword-only
        Instrument code for a conditioned model.
    seconds : float, seconds, keyword-only
        Length, in (0, 60].
    phase : {"griffinlim", "pghi", "noise"}, keyword-only
        How the phase is made.
    n_iter : int, keyword-only
        Griffin-Lim iterations.
    peak_db : float, dBFS, keyword-only
        Peak level of the output.
    seed : int, keyword-only
        Seed of the random phases.

    Returns
    -------
    audio : np.ndarray [shape=(round(seconds * sr),), dtype=float32]
    sr : int, Hz
        The run's rate.
    """
    import torchaudio

    run = _run(model)
    a = run.config.audio
    if phase not in SYNTH_PHASES:
        raise ParameterError(f"phase={phase!r} is not valid; expected one of {', '.join(SYNTH_PHASES)}")
    if not 0 < seconds <= 60:
        raise ParameterError(f"seconds={seconds} must be in (0, 60]")
    z = torch.from_numpy(parse_latent(latent, dim=run.config.model.latent))[None]
    pc = None if chroma is None else parse_chroma(chroma)
    frame = decode_frames(run, z, chroma=pc, instrument=instrument)[0]  # (bins,)
    n = int(round(seconds * a.sr))
    T = n // a.hop_length + 1
    mag = frame[:, None].expand(-1, T).contiguous()
    if phase == "griffinlim":
        torch.manual_seed(seed)  # GriffinLim's random initial phase
        gl = torchaudio.transforms.GriffinLim(n_fft=a.n_fft, hop_length=a.hop_length, power=1.0, n_iter=n_iter,
                                              rand_init=True, length=n)
        y = gl(mag)
    else:
        y = torch.from_numpy(reconstruct(mag.numpy(), n_fft=a.n_fft, hop_length=a.hop_length, phase=phase,
                                         seed=seed)[:n])
    y = y.numpy().astype(np.float32)
    fade = min(int(0.01 * a.sr), n // 2)
    if fade:
        ramp = np.linspace(0, 1, fade, dtype=np.float32)
        y[:fade] *= ramp
        y[-fade:] *= ramp[::-1]
    y *= 10 ** (peak_db / 20) / max(float(np.abs(y).max()), 1e-9)
    return y, a.sr


def _points(dim: int, points: int, seed: int) -> np.ndarray:
    if dim == 2:  # a regular grid, as MANNe's maps
        g = np.linspace(0.0, 1.0, points, dtype=np.float32)
        return np.stack(np.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2)
    return np.random.default_rng(seed).random((points * points, dim), dtype=np.float32)


def mesh(model: str | Path | LoadedRun, *, points: int = 50, instrument: str | None = None, synth_check: int = 4, seed: int = 0,
         out: str | Path | None = None, progress: bool = True) -> dict:
    """For each of the 12 chroma classes, decode a mesh of latent points and count the points
    whose decoded frame's dominant pitch class is the conditioning one (seed 002, Table V).

    The bottleneck is a sigmoid, so the mesh spans [0, 1] per unit: a ``points x points`` grid
    for a 2-D latent, ``points**2`` uniform random points otherwise. With ``synth_check``,
    that many random latent points per class are also synthesized (1 s, Griffin-Lim) and their
    pitch class tracked with pYIN: the share that matches is reported too.

    Writes ``mesh.json``, ``mesh.csv``, ``mesh.md`` and ``mesh_<class>.png`` into ``out`` if given.

    Parameters
    ----------
    model : str, Path or LoadedRun
        A chroma-conditioned autoencoder run.
    points : int, keyword-only
        Points per side of the grid (2 to 400).
    instrument : str, optional, keyword-only
        Instrument code for a conditioned model.
    synth_check : int, keyword-only
        Points synthesized per class (:func:`synth_pitch_class_share`); 0: none.
    seed : int, keyword-only
        Seed of the random points.
    out : str or Path, optional, keyword-only
        Report folder.
    progress : bool, keyword-only
        Show a progress bar.

    Returns
    -------
    dict
        ``latent_dim``, ``points``, ``grid``, ``classes`` (pitch class -> share of points
        matching), ``dominant`` (pitch class -> each point's dominant class, -1 silent), ``mean``
        and, with ``synth_check``, ``synth``.

    Raises
    ------
    ParameterError
        A model without chroma conditioning, or ``points`` out of range.
    """
    from tqdm import tqdm

    run = _run(model)
    m, a = run.config.model, run.config.audio
    if not m.chroma:
        raise ParameterError("mesh needs a chroma-conditioned model (train with --set model.chroma=true)")
    points = check_int(points, "points", lo=2, hi=400)
    P = _points(m.latent, points, seed)
    z = torch.from_numpy(P)
    res = {"latent_dim": m.latent, "points": int(len(P)), "grid": m.latent == 2, "classes": {}, "dominant": {}}
    for c in tqdm(range(12), desc="mesh", unit="class", disable=not progress):
        mag = decode_frames(run, z, chroma=c, instrument=instrument)
        dom = chroma_onehot(mag, sr=a.sr, n_fft=a.n_fft)
        silent = dom.sum(-1) == 0
        idx = torch.where(silent, torch.full_like(silent, -1, dtype=torch.long), dom.argmax(-1))
        res["classes"][PITCH_CLASSES[c]] = float((idx == c).float().mean())
        res["dominant"][PITCH_CLASSES[c]] = idx.tolist()
    res["mean"] = float(np.mean(list(res["classes"].values())))
    if synth_check:
        res["synth"] = synth_pitch_class_share(run, per_class=synth_check, instrument=instrument, seed=seed)
    if out is not None:
        _write_mesh(res, P, Path(out))
    return res


def synth_pitch_class_share(model: str | Path | LoadedRun, *, per_class: int = 4, instrument: str | None = None,
                            seconds: float = 1.0, seed: int = 0) -> dict:
    """Synthesize random latent points per chroma class and track each with pYIN: the share whose
    median pitch class equals the condition (unvoiced counts as a miss).

    Parameters
    ----------
    model : str, Path or LoadedRun
        A chroma-conditioned autoencoder run.
    per_class : int, keyword-only
        Points per class.
    instrument : str, optional, keyword-only
        Instrument code for a conditioned model.
    seconds : float, seconds, keyword-only
        Length of each synthesized note (Griffin-Lim).
    seed : int, keyword-only
        Seed of the points and phases.

    Returns
    -------
    dict
        ``share`` (matching notes), ``voiced`` (share with 3 or more voiced frames), ``notes``
        (12 x ``per_class``) and ``per_class`` (pitch class -> share matching).
    """
    run = _run(model)
    rng = np.random.default_rng(seed)
    hits, voiced, total = 0, 0, 0
    per = {}
    for c in range(12):
        ok = 0
        for _ in range(per_class):
            z = rng.random(run.config.model.latent).astype(np.float32)
            y, sr = synthesize(run, z, chroma=c, instrument=instrument, seconds=seconds, seed=int(rng.integers(1 << 30)))
            _, f0, v = pyin_f0(y, sr=sr, fmin=40.0, fmax=2000.0)
            f = f0[v & np.isfinite(f0)]
            total += 1
            if f.size >= 3:
                voiced += 1
                pc = int(round(hz_to_midi(np.median(f)))) % 12
                ok += pc == c
        per[PITCH_CLASSES[c]] = ok / per_class
        hits += ok
    return {"share": hits / total, "voiced": voiced / total, "notes": total, "per_class": per}


def _write_mesh(res: dict, P: np.ndarray, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    out.mkdir(parents=True, exist_ok=True)
    (out / "mesh.json").write_text(json.dumps({k: v for k, v in res.items() if k != "dominant"}, indent=1))
    with (out / "mesh.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["class", "share_matching"])
        for c, v in res["classes"].items():
            w.writerow([c, f"{v:.4f}"])
    lines = ["# Chroma mesh (seed 002, Table V)", "",
             f"{res['points']} latent points per class ({'grid' if res['grid'] else 'uniform random'}, "
             f"latent width {res['latent_dim']}); share of points whose decoded frame's dominant pitch class "
             "is the conditioning class.", "", "| class | " + " | ".join(res["classes"]) + " | mean |",
             "|---" * (len(res["classes"]) + 2) + "|",
             "| share | " + " | ".join(f"{v:.2f}" for v in res["classes"].values()) + f" | {res['mean']:.2f} |"]
    if "synth" in res:
        s = res["synth"]
        lines += ["", f"Synthesized notes (Griffin-Lim, 1 s, {s['notes']} in all): pitch class by pYIN matches the "
                      f"condition for {s['share']:.0%} ({s['voiced']:.0%} voiced)."]
    (out / "mesh.md").write_text("\n".join(lines) + "\n")
    cmap = ListedColormap(["#dddddd"] + [plt.get_cmap("hsv")(i / 12) for i in range(12)])
    for c, dom in res["dominant"].items():
        d = np.array(dom) + 1  # 0 = silent
        fig, ax = plt.subplots(figsize=(4, 4))
        if res["grid"]:
            n = int(round(np.sqrt(len(d))))
            ax.imshow(d.reshape(n, n), origin="lower", extent=(0, 1, 0, 1), cmap=cmap, vmin=0, vmax=12,
                      interpolation="nearest")
        else:
            ax.scatter(P[:, 0], P[:, 1], c=d, cmap=cmap, vmin=0, vmax=12, s=6)
        ax.set(title=f"condition {c}: {res['classes'][c]:.0%} match", xlabel="z1", ylabel="z2")
        fig.tight_layout()
        fig.savefig(out / f"mesh_{c.replace('#', 's')}.png", dpi=80)
        plt.close(fig)


def alpha_curve(effect: LatentMixEffect, inputs: Sequence[np.ndarray], *, sr: int, judge: InstrumentJudge,
                target: str, alphas: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> list[dict]:
    """As ``alpha`` goes 0 -> 1, the share of the outputs' windows the instrument judge labels ``target``.

    Parameters
    ----------
    effect : LatentMixEffect
        The latent mix; its ``alpha`` is set to each value in turn (and left at the last).
    inputs : sequence of np.ndarray [shape=(n,) or (1, n)]
        Mono inputs, each processed whole; the judge cuts each output into its windows
        (:class:`analysis.instrument_judge.InstrumentJudge`, 2 s by default).
    sr : int, Hz, keyword-only
        Their sample rate.
    judge : InstrumentJudge, keyword-only
        Fitted instrument judge.
    target : str, keyword-only
        One of the judge's ``classes_``.
    alphas : sequence of float, keyword-only
        The mix values.

    Returns
    -------
    list of dict
        Per alpha: ``alpha`` and ``share_labelled_target`` (NaN when no window sounds).

    Raises
    ------
    ParameterError
        The judge is not fitted, or ``target`` is not one of its classes.
    """
    rows = []
    for a in alphas:
        effect.set_params(alpha=float(a))
        outputs = [effect.process(np.asarray(x, np.float32), sr).reshape(-1) for x in inputs]
        rows.append({"alpha": float(a), "share_labelled_target": judge.share(outputs, target, sr=sr)})
    return rows


def load_mesh(folder: str | Path) -> dict:
    """Read a chroma mesh folder (``workbench mesh``, :func:`mesh`).

    Parameters
    ----------
    folder : str or Path
        A folder written by ``workbench mesh``.

    Returns
    -------
    dict
        ``meta`` (mesh.json) and ``images`` (its PNG paths, sorted).

    Raises
    ------
    ParameterError
        The folder has no mesh.json.
    """
    folder = Path(folder)
    if not (folder / "mesh.json").is_file():
        raise ParameterError(f"mesh={str(folder)!r} has no mesh.json; expected a folder written by `workbench mesh`")
    return {"meta": read_json(folder / "mesh.json"), "images": sorted(folder.glob("*.png"))}
