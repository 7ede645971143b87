"""Does a latent mix sound like what it says? Codes and alpha paths of a mixing run, judged from outside.

A mixing run (an autoencoder trained on several instruments with an instrument code,
``model.condition``) promises two things: decoded with instrument C's code, any input sounds
like C; and mixed from A to B (:class:`effects.latent_mix.LatentMixEffect`), it moves steadily
from A to B. This module measures both with two judges that never saw the model:

- the **matched-pitch timbre measure** (:mod:`analysis.harmonic_timbre`): an output's harmonic
  levels, read at its *input's* pitch, against reference notes of each instrument rendered
  apart from the training material (:func:`workbench.corpus.reference.render_reference_notes`:
  sustained notes at other velocities, one reference per GM program; an instrument's distance is
  that of its closest program);
- the **instrument judge** (:class:`analysis.instrument_judge.InstrumentJudge`), fitted on the
  run's instruments (corpus families) and a voice class: the share of 2 s windows it labels as
  each instrument.

What it gives (:func:`evaluate_mixing` runs all of it):

1. :func:`code_confusion`: held-out notes of each instrument (the training's own clip-level
   held-out split, :func:`held_out_notes`) reconstructed with each code; per (instrument, code)
   the distance to every instrument and the closest one, by both measures, and the log-spectral
   distance of the output to the note itself. The unprocessed notes ("dry") are judged too: a
   measure that cannot name the dry notes cannot judge the outputs either.
2. :func:`alpha_paths`: a voice mixed from A to B at alpha 0, .25, .5, .75, 1 in every direction
   and mode; per alpha the distance to A and to B by both measures, and whether each moves
   monotonically (:func:`monotone`).
3. :func:`code_figure`: spectrograms of the same notes through each code.

:func:`mixing_markdown` writes the tables (the benchmark, the demo's report).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.audio import load
from workbench.errors import ParameterError

__all__ = ["input_path", "held_out_notes", "instrument_programs", "InstrumentReferences", "fit_references",
           "mixing_judge", "code_confusion", "confusion_markdown", "soundfont_of", "alpha_paths", "monotone",
           "code_figure", "evaluate_mixing", "mixing_markdown", "ALPHAS", "MODES", "DRY"]

log = logging.getLogger(__name__)

ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
MODES = ("blend", "shift", "linear")
DRY = "dry"  # the confusion table's column of unprocessed notes
_MONOTONE_TOL_DB = 0.1  # a distance may dip by this much and still count as monotone
_MONOTONE_TOL_SHARE = 0.05  # and a judge's share by this much


def _run(model):
    from models.checkpoint import LoadedRun, load_run

    run = model if isinstance(model, LoadedRun) else load_run(model)
    if run.method != "autoencoder" or run.config.model.condition == "none" or len(run.config.model.codes) < 2:
        raise ParameterError(f"model={str(run.path)!r} is not a mixing run; expected an autoencoder trained on at "
                             "least 2 instruments with an instrument code (model.condition)")
    return run


def held_out_notes(model, *, limit: int | None = None) -> dict[str, list[Path]]:
    """The notes each instrument of a mixing run was *not* trained on: its clip-level held-out split.

    Rebuilt from the run's ``meta.json`` target and config exactly as training split it
    (:func:`models.train.split_indices` with the run's seed and ``train.valid_fraction``).

    Parameters
    ----------
    model : str, Path or LoadedRun
        A mixing run trained on a corpus selection (``CORPUS:family=a+b,...``).
    limit : int or None, keyword-only
        At most this many notes per instrument (evenly spaced, the same ones every time).

    Returns
    -------
    dict
        Instrument (a code name) -> its held-out note files, in the run's code order.

    Raises
    ------
    ParameterError
        Not a mixing run, a target that is not a corpus selection, or an instrument with no
        held-out note.
    """
    from models.train import split_indices
    from workbench.corpus.select import target_labels

    run = _run(model)
    target = str(run.meta.get("target", ""))
    if ":" not in target or not Path(target.partition(":")[0]).is_dir():
        raise ParameterError(f"the run's target {target!r} is not a corpus selection; expected CORPUS:selection "
                             "(held-out notes are read from the corpus)")
    paths, labels = target_labels(target, by=run.config.model.code_by)
    _, valid = split_indices(len(paths), valid_fraction=run.config.train.valid_fraction, seed=run.config.seed)
    out = {}
    for name in run.config.model.codes:
        notes = [paths[i] for i in valid if labels[i] == name]
        if not notes:
            raise ParameterError(f"instrument {name!r} has no held-out note in {target!r}; expected at least one")
        if limit is not None and len(notes) > limit:
            notes = [notes[i] for i in np.linspace(0, len(notes) - 1, limit).astype(int)]
        out[name] = notes
    return out


def instrument_programs(model, *, limit: int | None = None) -> dict[str, list[int]]:
    """The GM programs the run heard for each of its instruments (from its corpus's notes).

    Parameters
    ----------
    model : str, Path or LoadedRun
        A mixing run trained on a corpus selection.
    limit : int or None, keyword-only
        At most this many programs per instrument, evenly spaced over the sorted list (each
        program's reference costs its pitch tracking, about 10 s on 2 cores).

    Returns
    -------
    dict
        Instrument -> sorted GM programs of its training notes.
    """
    from workbench.corpus.nsynth import NSynth
    from workbench.corpus.select import target_labels

    run = _run(model)
    target = str(run.meta.get("target", ""))
    paths, labels = target_labels(target, by=run.config.model.code_by)
    meta = {str(Path(e["path"])): e for e in NSynth(target.partition(":")[0]).examples}
    out: dict[str, set] = {name: set() for name in run.config.model.codes}
    for p, lab in zip(paths, labels):
        prog = meta[str(p)].get("program")
        if prog is None:
            prog = int(str(meta[str(p)]["instrument_str"]).rsplit("_", 1)[-1])
        out[lab].add(int(prog))
    out = {k: sorted(v) for k, v in out.items()}
    if limit is not None:
        out = {k: [v[i] for i in np.unique(np.linspace(0, len(v) - 1, min(limit, len(v))).astype(int))]
               for k, v in out.items()}
    return out


def soundfont_of(model) -> str | None:
    """The SoundFont the run's corpus was rendered with (its ``render.json``), or None."""
    run = _run(model)
    root = Path(str(run.meta.get("target", "")).partition(":")[0])
    f = root / "render.json"
    if f.is_file():
        return json.loads(f.read_text()).get("soundfont")
    return None


@dataclass
class InstrumentReferences:
    """Matched-pitch references of several instruments, one :class:`HarmonicReference` per program.

    Attributes
    ----------
    references : dict
        Instrument -> {program: fitted HarmonicReference}.
    floors : dict
        Instrument -> the distance (dB) of its own held-out reference notes (the best a sound of
        the instrument does; the ``1`` of a gap).
    seconds : float
        Wall time of fitting.
    """

    references: dict
    floors: dict
    seconds: float = 0.0

    @property
    def instruments(self) -> list[str]:
        """The instruments, in order."""
        return list(self.references)

    def distances(self, x: np.ndarray, outputs: Mapping[str, np.ndarray], *, sr: int) -> dict:
        """Each output's distance to every instrument, judged at the input's pitch.

        Parameters
        ----------
        x : np.ndarray [shape=(n,)]
            The input (its pitch is where the outputs' harmonics are read).
        outputs : mapping
            Name -> mono output time-aligned with ``x`` (the input itself may be one of them).
        sr : int, Hz, keyword-only
            Rate of all.

        Returns
        -------
        dict
            Output name -> {instrument: dB or None}; None when the output sounds in less than half
            of the input's pitched frames (or the input has none). An instrument's distance is
            that of its closest program.
        """
        from analysis.harmonic_levels import judged_frames

        first = next(iter(next(iter(self.references.values())).values()))
        out = {}
        for name, y in outputs.items():
            jf = judged_frames(x, y, sr=sr, **first.levels)
            ok = jf.input_frames and jf.frames >= first.min_judged * jf.input_frames
            out[name] = {inst: (min(float(r.frame_distances(jf.midi, jf.output_levels).mean()) for r in progs.values())
                                if ok else None) for inst, progs in self.references.items()}
        return out


def fit_references(programs: Mapping[str, Sequence[int]], work: str | Path, *, sr: int = 16000,
                   soundfont: str | Path | None = None, step: int = 3, hold: float = 1.0, seconds: float = 1.4,
                   progress: bool = False) -> InstrumentReferences:
    """Render reference notes of each program (once, into ``work``) and fit a reference per program.

    Parameters
    ----------
    programs : mapping
        Instrument -> GM programs (:func:`instrument_programs`).
    work : str or Path
        Folder of the rendered notes (``<soundfont stem>/program_<p>/``); kept between calls.
    sr : int, Hz, keyword-only
        Rate.
    soundfont : str or Path, optional, keyword-only
        The sample set (the run's corpus's, so the references are the instruments the run heard,
        played apart); default :func:`workbench.corpus.synth.find_soundfont`.
    step : int, semitones, keyword-only
        Between reference pitches.
    hold, seconds : float, s, keyword-only
        Note-on time and file length of each reference note.
    progress : bool, keyword-only
        Show progress bars.

    Returns
    -------
    InstrumentReferences

    Raises
    ------
    ParameterError
        An instrument without programs, or a program with too little pitched material.
    """
    from analysis.harmonic_timbre import HarmonicReference
    from models.train import split_indices
    from workbench.corpus.reference import note_layers, render_reference_notes
    from workbench.corpus.synth import find_soundfont

    t0 = time.perf_counter()
    sf = Path(find_soundfont(soundfont))
    refs, floors = {}, {}
    for inst, progs in programs.items():
        if not progs:
            raise ParameterError(f"instrument {inst!r} has no GM program; expected at least one to render")
        refs[inst], held = {}, []
        for p in progs:
            folder = Path(work) / sf.stem / f"program_{int(p):03d}_s{step}"
            if not (folder / "index.json").is_file():
                render_reference_notes(folder, program=int(p), step=step, hold=hold, seconds=seconds, sr=sr,
                                       soundfont=sf, progress=progress)
            files = sorted(folder.glob("note_*.wav"))
            fit, floor = split_indices(len(files), valid_fraction=0.1, seed=0)
            clips = [load(f, sr=sr, mono=True)[0][0] for f in files]
            layers = note_layers([files[i] for i in fit])
            refs[inst][int(p)] = HarmonicReference(min_seconds=1.0).fit(
                [clips[i] for i in fit], sr=sr, name=f"{sf.stem} program {p}", layers=layers)
            held += [clips[i] for i in floor]
        d = [min(float(r.distance(h, sr=sr).distance_db or np.inf) for r in refs[inst].values()) for h in held]
        floors[inst] = float(np.mean([v for v in d if np.isfinite(v)])) if any(np.isfinite(d)) else None
    return InstrumentReferences(refs, floors, round(time.perf_counter() - t0, 1))


def mixing_judge(model, *, work: str | Path, voice: Sequence[str | Path] = (), progress: bool = False):
    """The instrument judge fitted on the run's instruments (corpus families), plus voice files.

    Parameters
    ----------
    model : str, Path or LoadedRun
        A mixing run whose instruments are corpus families (``model.code_by="family"``).
    work : str or Path, keyword-only
        Feature cache folder.
    voice : sequence of paths, keyword-only
        Files for the ``voice`` class (keep the evaluated phrases out).
    progress : bool, keyword-only
        Show progress bars.

    Returns
    -------
    InstrumentJudge or None
        None when the run's instruments are not families (nothing to fit the judge on).
    """
    from analysis.instrument_judge import InstrumentJudge

    run = _run(model)
    if run.config.model.code_by != "family":
        log.warning("instruments named by %s: no instrument judge (it knows families)", run.config.model.code_by)
        return None
    corpus = str(run.meta.get("target", "")).partition(":")[0]
    return InstrumentJudge(families=list(run.config.model.codes)).fit(
        corpus, voice=list(voice) or None, cache_dir=Path(work) / "judge-cache", progress=progress)


def _judge_shares(judge, y: np.ndarray, names: Sequence[str], *, sr: int) -> dict:
    labels = judge.predict(y, sr=sr)
    return {n: (float(np.mean(labels == n)) if labels.size else None) for n in names}


def _closest(d: Mapping[str, float | None], *, largest: bool = False) -> str | None:
    ok = {k: v for k, v in d.items() if v is not None and np.isfinite(v)}
    if not ok or (largest and max(ok.values()) <= 0):
        return None
    return (max if largest else min)(ok, key=ok.get)


def _lsd(x: np.ndarray, y: np.ndarray) -> float:
    from workbench.metrics import log_spectral_distance
    from workbench.spectral import stft

    n = min(x.size, y.size)
    return log_spectral_distance(stft(x[:n], n_fft=1024, hop_length=256).abs(),
                                 stft(y[:n], n_fft=1024, hop_length=256).abs())


def _through(run, y: np.ndarray, code: str, sr: int) -> np.ndarray:
    from effects.autoencoder import AutoencoderEffect

    return AutoencoderEffect(model=run, instrument=code).process(y[None], sr)[0]


def code_confusion(model, notes: Mapping[str, Sequence[str | Path]], references: InstrumentReferences, *,
                   judge=None, seconds: float = 2.5) -> dict:
    """Held-out notes of each instrument reconstructed with each code, judged by both measures.

    Parameters
    ----------
    model : str, Path or LoadedRun
        A mixing run.
    notes : mapping
        Instrument -> note files (:func:`held_out_notes`).
    references : InstrumentReferences
        :func:`fit_references` for the same instruments.
    judge : InstrumentJudge, optional, keyword-only
        :func:`mixing_judge`; None leaves the judge's columns empty.
    seconds : float, s, keyword-only
        Each note's first ``seconds`` are used (the sustained part; the release is silence).

    Returns
    -------
    dict
        ``instruments``, ``codes`` (with :data:`DRY` first), ``cells``: one per (instrument,
        code) with ``timbre_db`` (instrument -> mean dB over the notes), ``timbre_closest``,
        ``judge_share`` (instrument -> share of windows), ``judge_closest``, ``lsd_db`` (to the
        note itself), ``notes``; and ``diagonal``: whether every instrument's notes with its own
        code are closest to themselves, per measure.
    """
    run = _run(model)
    sr = run.config.audio.sr
    names = list(run.config.model.codes)
    cols = [DRY, *names]
    acc = {(i, c): {"timbre": {n: [] for n in names}, "judge": {n: [] for n in names}, "lsd": []}
           for i in notes for c in cols}
    for inst, files in notes.items():
        for f in files:
            x = load(f, sr=sr, mono=True)[0][0][: int(seconds * sr)]
            outs = {DRY: x, **{c: _through(run, x, c, sr) for c in names}}
            dist = references.distances(x, outs, sr=sr)
            for c, y in outs.items():
                a = acc[(inst, c)]
                for n in names:
                    if dist[c][n] is not None:
                        a["timbre"][n].append(dist[c][n])
                if judge is not None:
                    for n, v in _judge_shares(judge, y, names, sr=sr).items():
                        if v is not None:
                            a["judge"][n].append(v)
                a["lsd"].append(_lsd(x, y))
    cells = []
    for (inst, c), a in acc.items():
        t = {n: (float(np.mean(v)) if v else None) for n, v in a["timbre"].items()}
        j = {n: (float(np.mean(v)) if v else None) for n, v in a["judge"].items()}
        cells.append({"instrument": inst, "code": c, "timbre_db": t, "timbre_closest": _closest(t),
                      "judge_share": j, "judge_closest": _closest(j, largest=True) if judge is not None else None,
                      "lsd_db": float(np.mean(a["lsd"])), "notes": len(notes[inst])})
    diag = {m: all(next(x for x in cells if x["instrument"] == i and x["code"] == i)[f"{m}_closest"] == i
                   for i in notes) for m in ("timbre", "judge")}
    dry = {m: all(next(x for x in cells if x["instrument"] == i and x["code"] == DRY)[f"{m}_closest"] == i
                  for i in notes) for m in ("timbre", "judge")}
    return {"instruments": list(notes), "codes": cols, "cells": cells, "diagonal": diag, "dry_named": dry,
            "floors_db": references.floors}


def monotone(values: Sequence[float | None], *, increasing: bool, tol: float) -> bool:
    """Whether a path moves one way only, allowing dips of ``tol``, and ends further than it starts.

    Parameters
    ----------
    values : sequence of float or None
        The values along alpha (None: not measured, which fails).
    increasing : bool, keyword-only
        The direction expected.
    tol : float, keyword-only
        Largest step the wrong way still counted as monotone (measurement noise).

    Returns
    -------
    bool
    """
    if len(values) < 2 or any(v is None or not np.isfinite(v) for v in values):
        return False
    v = np.asarray(values, float) * (1 if increasing else -1)
    return bool(np.all(np.diff(v) >= -tol) and v[-1] > v[0])


def alpha_paths(model, voice: Mapping[str, np.ndarray], references: InstrumentReferences, *, judge=None,
                modes: Sequence[str] = MODES, alphas: Sequence[float] = ALPHAS,
                pairs: Sequence[tuple[str, str]] | None = None) -> list[dict]:
    """A voice mixed from A to B: distances to A and to B along alpha, both measures, every direction and mode.

    Parameters
    ----------
    model : str, Path or LoadedRun
        A mixing run.
    voice : mapping
        Name -> mono input at the run's rate ``(n,)``; distances pool all inputs (mean of their
        per-input values).
    references : InstrumentReferences
        :func:`fit_references` for the run's instruments.
    judge : InstrumentJudge, optional, keyword-only
        :func:`mixing_judge`; None leaves the judge's columns empty.
    modes : sequence of str, keyword-only
        Of :data:`effects.latent_mix.MODES` (morph needs a second input; not here).
    alphas : sequence of float, keyword-only
        The mix values, ascending.
    pairs : sequence of (A, B), optional, keyword-only
        Directions; default every ordered pair of the run's instruments.

    Returns
    -------
    list of dict
        One per (A, B, mode): ``source``, ``target``, ``mode``, ``alphas``, ``timbre_a`` /
        ``timbre_b`` (dB per alpha, None where not scored), ``judge_a`` / ``judge_b`` (shares),
        and ``monotone`` (``timbre``, ``judge``: A's distance grows and B's shrinks) and ``ends``
        (``timbre``, ``judge``: at alpha 0 closest to A, at alpha 1 closest to B among the two).
    """
    from effects.latent_mix import LatentMixEffect

    run = _run(model)
    sr = run.config.audio.sr
    names = list(run.config.model.codes)
    pairs = [(a, b) for a in names for b in names if a != b] if pairs is None else list(pairs)
    rows = []
    for a, b in pairs:
        for mode in modes:
            fx = LatentMixEffect(model=run, mode=mode, source=a, target=b)
            ta, tb, ja, jb = [], [], [], []
            for alpha in alphas:
                fx.set_params(alpha=float(alpha))
                da, db, sa, sb = [], [], [], []
                for x in voice.values():
                    y = fx.process(np.asarray(x, np.float32)[None], sr)[0]
                    d = references.distances(x, {"y": y}, sr=sr)["y"]
                    if d[a] is not None:
                        da.append(d[a])
                        db.append(d[b])
                    if judge is not None:
                        s = _judge_shares(judge, y, [a, b], sr=sr)
                        if s[a] is not None:
                            sa.append(s[a])
                            sb.append(s[b])
                ta.append(float(np.mean(da)) if da else None)
                tb.append(float(np.mean(db)) if db else None)
                ja.append(float(np.mean(sa)) if sa else None)
                jb.append(float(np.mean(sb)) if sb else None)
            mono = {"timbre": monotone(ta, increasing=True, tol=_MONOTONE_TOL_DB)
                    and monotone(tb, increasing=False, tol=_MONOTONE_TOL_DB)}
            ends = {"timbre": None not in (ta[0], tb[0], ta[-1], tb[-1]) and ta[0] < tb[0] and tb[-1] < ta[-1]}
            if judge is not None:
                mono["judge"] = (monotone(ja, increasing=False, tol=_MONOTONE_TOL_SHARE)
                                 and monotone(jb, increasing=True, tol=_MONOTONE_TOL_SHARE))
                ends["judge"] = None not in (ja[0], jb[0], ja[-1], jb[-1]) and ja[0] > jb[0] and jb[-1] > ja[-1]
            rows.append({"source": a, "target": b, "mode": mode, "alphas": [float(v) for v in alphas],
                         "timbre_a": ta, "timbre_b": tb, "judge_a": ja, "judge_b": jb, "monotone": mono,
                         "ends": ends})
            log.info("alpha path %s -> %s %s: timbre %s, judge %s", a, b, mode, mono.get("timbre"), mono.get("judge"))
    return rows


def input_path(model, x: np.ndarray, sr: int, *, mode: str, source: str, target: str, work: str | Path,
               alphas: Sequence[float] = ALPHAS, programs_per_instrument: int | None = 1,
               references: InstrumentReferences | None = None, judge=None) -> dict:
    """One input's alpha path from ``source`` to ``target``: what the dashboard's latent page plots.

    Parameters
    ----------
    model : str, Path or LoadedRun
        A mixing run trained on a corpus selection.
    x : np.ndarray [shape=(n,) or (1, n)]
        The input, mono.
    sr : int, Hz
        Its rate (resampled to the run's).
    mode, source, target : str, keyword-only
        As :class:`effects.latent_mix.LatentMixEffect`.
    work : str or Path, keyword-only
        Folder of reference notes and the judge's cache.
    alphas : sequence of float, keyword-only
        The mix values.
    programs_per_instrument : int or None, keyword-only
        Reference programs per instrument (fewer: faster, coarser).
    references, judge : optional, keyword-only
        Fitted ones to reuse (:func:`fit_references`, :func:`mixing_judge`); fitted here when None.

    Returns
    -------
    dict
        :func:`alpha_paths`'s row for this input.
    """
    from workbench.audio import resample

    run = _run(model)
    rate = run.config.audio.sr
    y = np.asarray(x, np.float32)
    y = y.mean(0) if y.ndim == 2 else y.reshape(-1)
    if int(sr) != rate:
        y = resample(y[None], int(sr), rate)[0]
    names = list(run.config.model.codes)
    for name, v in (("source", source), ("target", target)):
        if v not in names:
            raise ParameterError(f"{name}={v!r} is not one of the run's instruments ({', '.join(names)})")
    if source == target:
        raise ParameterError(f"source and target are both {source!r}; expected two different instruments")
    if references is None:
        progs = instrument_programs(run, limit=programs_per_instrument)
        references = fit_references({k: progs[k] for k in (source, target)}, work, sr=rate,
                                    soundfont=soundfont_of(run))
    if judge is None:
        judge = mixing_judge(run, work=work)
    return alpha_paths(run, {"input": y}, references, judge=judge, modes=(mode,), alphas=alphas,
                       pairs=[(source, target)])[0]


def code_figure(model, notes: Mapping[str, Sequence[str | Path]], path: str | Path, *, seconds: float = 2.5,
                voice: np.ndarray | None = None) -> Path:
    """Spectrograms of one held-out note per instrument (and a voice) through each code.

    Rows: the input, then each code; columns: the inputs. Written with matplotlib (Agg).

    Parameters
    ----------
    model : str, Path or LoadedRun
        A mixing run.
    notes : mapping
        Instrument -> note files; the first of each is drawn.
    path : str or Path
        The PNG written (its folder is created).
    seconds : float, s, keyword-only
        Length drawn of each note.
    voice : np.ndarray [shape=(n,)], optional, keyword-only
        A voice at the run's rate, as one more column (its first 4 s).

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workbench.spectral import stft

    run = _run(model)
    sr = run.config.audio.sr
    codes = list(run.config.model.codes)
    inputs = {f"{i} note": load(files[0], sr=sr, mono=True)[0][0][: int(seconds * sr)] for i, files in notes.items()}
    if voice is not None:
        inputs["voice"] = np.asarray(voice, np.float32).reshape(-1)[: 4 * sr]
    fig, axes = plt.subplots(len(codes) + 1, len(inputs), figsize=(3.2 * len(inputs), 1.9 * (len(codes) + 1)),
                             squeeze=False)
    for j, (name, x) in enumerate(inputs.items()):
        rows = [("input", x)] + [(f"{c} code", _through(run, x, c, sr)) for c in codes]
        for i, (label, y) in enumerate(rows):
            S = stft(y, n_fft=1024, hop_length=256).abs().numpy()
            db = 20 * np.log10(S / max(S.max(), 1e-9) + 1e-6)
            ax = axes[i, j]
            ax.imshow(db, origin="lower", aspect="auto", vmin=-80, vmax=0, cmap="magma",
                      extent=[0, len(y) / sr, 0, sr / 2000])
            ax.set_title(f"{name}: {label}", fontsize=8)
            ax.tick_params(labelsize=7)
            if j == 0:
                ax.set_ylabel("kHz", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def evaluate_mixing(model, *, voice: Mapping[str, np.ndarray], work: str | Path, out: str | Path | None = None,
                    judge_voice: Sequence[str | Path] = (), notes_per_instrument: int | None = 6,
                    modes: Sequence[str] = MODES, reference_step: int = 3, programs_per_instrument: int | None = 3,
                    progress: bool = False) -> dict:
    """Confusion table, alpha paths and the code figure of a mixing run (this module's whole measurement).

    Parameters
    ----------
    model : str, Path or LoadedRun
        A mixing run trained on a corpus selection.
    voice : mapping, keyword-only
        Name -> mono voice at the run's rate for the alpha paths (keep them out of ``judge_voice``).
    work : str or Path, keyword-only
        Folder for reference notes and the judge's feature cache (kept between calls).
    out : str or Path, optional, keyword-only
        Where ``mixing.json``, ``mixing.md`` and ``codes.png`` go (None: nothing written).
    judge_voice : sequence of paths, keyword-only
        The judge's voice class.
    notes_per_instrument : int or None, keyword-only
        Held-out notes per instrument in the confusion table.
    modes : sequence of str, keyword-only
        Modes of the alpha paths.
    reference_step : int, semitones, keyword-only
        Between reference notes.
    programs_per_instrument : int or None, keyword-only
        Reference programs per instrument (:func:`instrument_programs`'s ``limit``).
    progress : bool, keyword-only
        Show progress bars.

    Returns
    -------
    dict
        ``run``, ``confusion`` (:func:`code_confusion`), ``paths`` (:func:`alpha_paths`),
        ``summary`` (pass/fail counts), ``seconds`` per step, ``figure``.
    """
    run = _run(model)
    t = {}
    t0 = time.perf_counter()
    notes = held_out_notes(run, limit=notes_per_instrument)
    refs = fit_references(instrument_programs(run, limit=programs_per_instrument), work, sr=run.config.audio.sr,
                          soundfont=soundfont_of(run),
                          step=reference_step, progress=progress)
    t["references"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    judge = mixing_judge(run, work=work, voice=judge_voice, progress=progress)
    t["judge"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    conf = code_confusion(run, notes, refs, judge=judge)
    t["confusion"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    paths = alpha_paths(run, voice, refs, judge=judge, modes=modes)
    t["paths"] = round(time.perf_counter() - t0, 1)
    res = {"run": str(run.path), "train_seconds": run.meta.get("train_seconds"), "confusion": conf, "paths": paths,
           "programs": {k: list(v) for k, v in ((i, sorted(p)) for i, p in refs.references.items())},
           "voice": list(voice), "summary": _summary(conf, paths), "seconds": t}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        first_voice = next(iter(voice.values()), None)
        res["figure"] = str(code_figure(run, notes, out / "codes.png", voice=first_voice))
        (out / "mixing.json").write_text(json.dumps(res, indent=1))
        (out / "mixing.md").write_text(mixing_markdown(res))
    return res


def _summary(conf: dict, paths: list[dict]) -> dict:
    s = {"diagonal": conf["diagonal"], "dry_named": conf["dry_named"]}
    for m in ("timbre", "judge"):
        rows = [p for p in paths if m in p["monotone"]]
        s[f"monotone_{m}"] = f"{sum(p['monotone'][m] for p in rows)}/{len(rows)}"
        s[f"ends_{m}"] = f"{sum(p['ends'][m] for p in rows)}/{len(rows)}"
    return s


def _f(v, spec=".1f") -> str:
    return "-" if v is None else format(v, spec)


def confusion_markdown(conf: dict) -> str:
    """:func:`code_confusion`'s tables as markdown: timbre distances, judge shares, log-spectral distances.

    Parameters
    ----------
    conf : dict
        :func:`code_confusion`'s result.

    Returns
    -------
    str
    """
    names = conf["instruments"]
    cell = {(c["instrument"], c["code"]): c for c in conf["cells"]}
    lines = [f"Held-out notes per instrument: {', '.join(str(i) + ' ' + str(cell[(i, DRY)]['notes']) for i in names)}.",
             "", "**Matched-pitch timbre** (mean dB to each instrument's reference notes at the note's pitch; "
             "**bold** = closest; floors, own held-out reference notes: "
             + ", ".join(f"{k} {_f(v, '.2f')}" for k, v in conf["floors_db"].items()) + ")", "",
             "| notes \\ code | " + " | ".join(conf["codes"]) + " |", "|---" * (len(conf["codes"]) + 1) + "|"]
    for i in names:
        row = []
        for c in conf["codes"]:
            x = cell[(i, c)]
            row.append(" / ".join(f"**{_f(x['timbre_db'][n])}**" if n == x["timbre_closest"] else _f(x["timbre_db"][n])
                                  for n in names) + f" -> {x['timbre_closest'] or '-'}")
        lines.append(f"| {i} | " + " | ".join(row) + " |")
    lines += ["", f"(each cell: distance to {' / '.join(names)} -> closest)", "",
              "**Instrument judge** (share of windows labelled each instrument; -> the most)", "",
              "| notes \\ code | " + " | ".join(conf["codes"]) + " |", "|---" * (len(conf["codes"]) + 1) + "|"]
    for i in names:
        row = []
        for c in conf["codes"]:
            x = cell[(i, c)]
            row.append(" / ".join(_f(x["judge_share"].get(n), ".2f") for n in names)
                       + f" -> {x['judge_closest'] or '-'}")
        lines.append(f"| {i} | " + " | ".join(row) + " |")
    lines += ["", "**Log-spectral distance of the output to the note itself (dB)**", "",
              "| notes \\ code | " + " | ".join(conf["codes"][1:]) + " |", "|---" * len(conf["codes"]) + "|"]
    for i in names:
        lines.append(f"| {i} | " + " | ".join(_f(cell[(i, c)]["lsd_db"], ".2f") for c in conf["codes"][1:]) + " |")
    lines += ["", f"Own code closest to itself: timbre {conf['diagonal']['timbre']}, judge "
              f"{conf['diagonal']['judge']}; dry notes named right: timbre {conf['dry_named']['timbre']}, judge "
              f"{conf['dry_named']['judge']}.", ""]
    return "\n".join(lines)


def mixing_markdown(res: dict) -> str:
    """The confusion tables and alpha paths of :func:`evaluate_mixing` as markdown.

    Parameters
    ----------
    res : dict
        :func:`evaluate_mixing`'s result (or ``mixing.json`` read back).

    Returns
    -------
    str
    """
    conf = res["confusion"]
    lines = [f"Run `{res['run']}` ({_f(res.get('train_seconds'), '.0f')} s of training); reference programs: "
             + "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in res.get("programs", {}).items()) + ".", "",
             confusion_markdown(conf)]
    s = res["summary"]
    lines += ["", f"**Alpha paths** (voice: {', '.join(res['voice'])}): distance to A / to B in dB (timbre) and share "
              "labelled A / B (judge) at alpha " + ", ".join(f"{a:g}" for a in ALPHAS) + "; mono = A's distance grows "
              "and B's shrinks; ends = alpha 0 nearer A and alpha 1 nearer B.", "",
              "| A -> B | mode | timbre A | timbre B | mono | ends | judge A | judge B | mono | ends |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    yn = {True: "yes", False: "no", None: "-"}
    for p in res["paths"]:
        lines.append(f"| {p['source']} -> {p['target']} | {p['mode']} | "
                     f"{' '.join(_f(v) for v in p['timbre_a'])} | {' '.join(_f(v) for v in p['timbre_b'])} | "
                     f"{yn[p['monotone']['timbre']]} | {yn[p['ends']['timbre']]} | "
                     f"{' '.join(_f(v, '.2f') for v in p['judge_a'])} | {' '.join(_f(v, '.2f') for v in p['judge_b'])} | "
                     f"{yn[p['monotone'].get('judge')]} | {yn[p['ends'].get('judge')]} |")
    lines += ["", f"Monotone: timbre {s['monotone_timbre']}, judge {s['monotone_judge']}; ends right: timbre "
              f"{s['ends_timbre']}, judge {s['ends_judge']}.", ""]
    return "\n".join(lines)
