"""The main job on the embedded corpus, run by ``make demo`` / ``workbench demo``.

1. Render material: the demo corpus (every NSynth family from the GM SoundFont), 40 trumpet
   melodies (the target instrument) and sung/spoken voice (the input).
2. Train a trumpet autoencoder (preset ``nsynth``, capped at 150 s of training).
3. Transfer a sung and a spoken phrase through every method.
4. Write ``reports/demo/``: input and output WAVs, spectrograms, an f0 plot and ``report.md``
   with the measured figures, and a small scoreboard.
5. Fill the rest of the dashboard: a three-instrument model (brass, flute, string) for latent
   mixing (``runs/demo-multi``), MFCC maps of the corpus (``reports/demo-embed``) and a family
   probe (``reports/demo-probe``). Steps whose results exist are skipped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from workbench.audio import load, save
from workbench.corpus.families import programs_for
from workbench.corpus.melodies import render_melodies
from workbench.corpus.reference import note_layers, render_reference_notes
from workbench.corpus.render import RenderConfig, render_corpus
from workbench.corpus.voice import render_voice
from workbench.errors import ParameterError

__all__ = ["run_demo", "render_material", "material_split", "MaterialSplit", "DemoSize", "DEMO", "DEMO_CORPUS",
           "DEMO_TRAIN"]

# Every family, a third of the pitches, two velocities, at most 12 notes per instrument:
# about a thousand notes, enough for family probes, rendered in about a minute on 2 cores.
DEMO_CORPUS = RenderConfig(
    programs=tuple(programs_for()),
    pitches=tuple(range(24, 103, 3)),
    velocities=(75, 127),
    max_notes_per_program=12,
    seed=0,
)
DEMO_TRAIN = ["train.max_seconds=150", "train.epochs=60"]
DEMO_PROTOCOL = {"melodies": 2, "notes": 8}
# Issue 30 (BENCHMARKS.md): the earlier harmonics=0 model (2.4 M parameters) got 2 epochs in its
# 60 s, and its codes were not learned apart (held-out flute notes with the flute code judged
# string). Per-harmonic levels from the decoder (harmonics=32: the input's harmonic levels are
# flattened, so only the code and the pitch can supply them) and a model 2.3x smaller at twice the
# learning rate: 5 epochs in the same 60 s, and every instrument's held-out notes with its own code
# judged as that instrument.
DEMO_MULTI = ["model.condition=onehot", "model.encoder=256", "model.lstm=128", "model.latent=16",
              "model.decoder=128,256", "train.lr=0.002", "train.max_seconds=60", "train.epochs=40"]
DEMO_MULTI_FAMILIES = "brass+flute+string"


@dataclass(frozen=True)
class DemoSize:
    """How much the demo trains and measures: ``--set`` overrides for the trumpet model and the
    multi-instrument model, the pitch protocol's size, and the voices the instrument judge is
    fitted with. ``DEMO`` is what ``make demo`` runs; tests run the same code smaller."""

    train: tuple = tuple(DEMO_TRAIN)
    multi: tuple = tuple(DEMO_MULTI)
    protocol: tuple = (DEMO_PROTOCOL["melodies"], DEMO_PROTOCOL["notes"])
    judge_voices: int = 8
    reference_step: int = 1  # semitones between the timbre measure's reference notes
    # the mixing model's confusion table (analysis.mix_eval): held-out notes per instrument and
    # reference programs per instrument (each costs ~10 s of pitch tracking); 0 notes: no table
    mixing_notes: int = 3
    mixing_programs: int = 1


DEMO = DemoSize()
SUNG = "sung_000"
SPOKEN = "spoken_000"
TARGET_FAMILY = "brass"
TRUMPET = 56


@dataclass(frozen=True)
class MaterialSplit:
    """Which trumpet clips each part of the demo may see.

    ``target``: the clips the autoencoder trains on and the baselines (cepstral, mosaic) take as
    target material; ``held``: the training's held-out clips (reconstruction). ``reference`` and
    ``floor``: the timbre measure's reference notes, rendered apart from the melodies, and those
    held out from it, whose distance is the ``1`` of the gap. The floor is in no other part: a
    method whose target held the floor clips could copy them and score as the instrument.
    """

    target: tuple[Path, ...]
    held: tuple[Path, ...]
    reference: tuple[Path, ...]
    floor: tuple[Path, ...]


def material_split(data: str | Path, *, valid_fraction: float, seed: int) -> MaterialSplit:
    """The demo's split of ``data/trumpet`` (melodies) and ``data/trumpet-reference`` (reference notes).

    Parameters
    ----------
    data : str or Path
        The data folder.
    valid_fraction : float, keyword-only
        The training's held-out share (``train.valid_fraction`` of the run), so ``target`` is the
        clips the model trained on.
    seed : int, keyword-only
        The run's seed (the training's clip split) and the reference notes' split (10 % held out).

    Returns
    -------
    MaterialSplit

    Raises
    ------
    ParameterError
        A part with no file, or a file in two parts (the folders overlap).
    """
    from models.train import split_indices

    data = Path(data)
    melodies = sorted((data / "trumpet").glob("melody_*.wav"))
    notes = sorted((data / "trumpet-reference").glob("note_*.wav"))
    if len(melodies) < 2 or len(notes) < 2:
        raise ParameterError(f"{data}: {len(melodies)} trumpet melodies and {len(notes)} reference notes found; "
                             "expected at least 2 of each (run the demo's rendering)")
    tr, va = split_indices(len(melodies), valid_fraction=valid_fraction, seed=seed)
    fit, floor = split_indices(len(notes), valid_fraction=0.1, seed=seed)
    split = MaterialSplit(target=tuple(melodies[i] for i in tr), held=tuple(melodies[i] for i in va),
                          reference=tuple(notes[i] for i in fit), floor=tuple(notes[i] for i in floor))
    keys = ("target", "held", "reference", "floor")
    parts = {k: {p.resolve() for p in getattr(split, k)} for k in keys}
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if parts[a] & parts[b]:
                raise ParameterError(f"{sorted(parts[a] & parts[b])[0]} is in both {a} and {b}; expected disjoint "
                                     "material")
    return split


def render_material(data: str | Path = "data", *, seed: int = 0, progress: bool = True) -> dict:
    """Render the demo corpus, trumpet melodies, voice material and trumpet reference notes into
    ``data`` (missing parts only).

    Parameters
    ----------
    data : str or Path
        The data folder: ``gm/`` (corpus), ``trumpet/`` (40 melodies of 8 s) and ``voice/``
        (8 sung, 3 spoken phrases), ``trumpet-reference/`` (sustained notes at other velocities,
        for the timbre measure); a part whose ``render.json`` / ``index.json`` exists is kept.
    seed : int, keyword-only
        Seed of every part.
    progress : bool, keyword-only
        Show progress bars.

    Returns
    -------
    dict
        The parts rendered now: ``corpus`` (notes, notes per second), ``trumpet``, ``voice``,
        ``reference``.
    """
    return _render(Path(data), seed, progress)


def _render(data: Path, seed: int, progress: bool, size: DemoSize = DEMO) -> dict:
    steps = {}
    corpus, trumpet, voice = data / "gm", data / "trumpet", data / "voice"
    reference = data / "trumpet-reference"
    if not (corpus / "render.json").is_file():
        s = render_corpus(corpus, replace(DEMO_CORPUS, seed=seed), progress=progress)
        steps["corpus"] = {"notes": s["written"], "notes_per_second": s["notes_per_second"]}
    if not (trumpet / "index.json").is_file():
        render_melodies(trumpet, program=TRUMPET, count=40, seconds=8.0, seed=seed, progress=progress)
        steps["trumpet"] = {"melodies": 40}
    if not (voice / "index.json").is_file():
        render_voice(voice, count=8, spoken=3, seed=seed, progress=progress)
        steps["voice"] = {"sung": 8, "spoken": 3}
    if not (reference / "index.json").is_file():
        s = render_reference_notes(reference, program=TRUMPET, step=size.reference_step, progress=progress)
        steps["reference"] = {"notes": len(s["items"])}
    return steps


def _train(data: Path, runs: Path, seed: int, progress: bool, size: DemoSize = DEMO) -> Path:
    return _train_run(str(data / "trumpet"), list(size.train), runs / "demo-trumpet", seed, progress)


def _train_run(target: str, overrides: list[str], out: Path, seed: int, progress: bool) -> Path:
    """Train ``target`` (a folder or a corpus selection) into ``out`` unless a finished run with
    the same configuration is there."""
    from models.training import train_or_reuse
    from workbench.config import make_config

    cfg = make_config(preset="nsynth", overrides=overrides, seed=seed)
    train_or_reuse(target, cfg, out, progress=progress, describe={"preset": "nsynth"})
    return out


def _dashboard_extras(data: Path, runs: Path, reports: Path, seed: int, progress: bool, size: DemoSize) -> dict:
    """What the dashboard's other pages show: a multi-instrument model, corpus maps, a probe."""
    from analysis.embeddings import embed_corpus
    from analysis.probes import probe_corpus

    t = time.perf_counter()
    corpus = data / "gm"
    multi = _train_run(f"{corpus}:family={DEMO_MULTI_FAMILIES},split=train", list(size.multi), runs / "demo-multi", seed,
                       progress)
    steps = {"multi": {"run": str(multi), "seconds": round(time.perf_counter() - t, 1)}}
    if size.mixing_notes:
        t = time.perf_counter()
        steps["mixing"] = _mixing_confusion(multi, data, reports, size)
        steps["mixing"]["seconds"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    embed, probe = reports / "demo-embed", reports / "demo-probe"
    if not (embed / "umap.csv").is_file():
        embed_corpus(corpus, features="mfcc", methods=("pca", "tsne", "umap"), color=("family", "pitch"),
                     cache=reports / "cache", out=embed, seed=seed)
    steps["embed"] = {"folder": str(embed), "seconds": round(time.perf_counter() - t, 1)}
    t = time.perf_counter()
    if not (probe / "results.json").is_file():
        probe_corpus(corpus, features="mfcc", classifiers=("logreg", "svm"), cache=reports / "cache", out=probe,
                     seed=seed, progress=progress)
    steps["probe"] = {"folder": str(probe), "seconds": round(time.perf_counter() - t, 1)}
    return steps


def _mixing_confusion(run_dir: Path, data: Path, reports: Path, size: DemoSize) -> dict:
    """Held-out notes of the mixing model x its codes, judged by the matched-pitch measure and the
    instrument judge (analysis.mix_eval), with the spectrograms of the notes through each code."""
    from analysis.instrument_judge import FIT_VOICES
    from analysis.mix_eval import (
        code_confusion,
        code_figure,
        fit_references,
        held_out_notes,
        instrument_programs,
        mixing_judge,
        soundfont_of,
    )

    work = reports / "mixing-work"
    notes = held_out_notes(run_dir, limit=size.mixing_notes)
    refs = fit_references(instrument_programs(run_dir, limit=size.mixing_programs), work,
                          soundfont=soundfont_of(run_dir))
    voice = [data / "voice" / f"{v}.wav" for v in FIT_VOICES if (data / "voice" / f"{v}.wav").is_file()]
    conf = code_confusion(run_dir, notes, refs, judge=mixing_judge(run_dir, work=work, voice=voice))
    figure = code_figure(run_dir, notes, reports / "demo" / "mixing_codes.png")
    return {"confusion": conf, "figure": figure.name}


def _spectrograms(path: Path, sr: int, rows: list) -> None:
    """One spectrogram per ``(title, audio)`` row, stacked, into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workbench.spectral import stft

    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 2.2 * len(rows)), sharex=True)
    for ax, (name, y) in zip(np.atleast_1d(axes), rows):
        S = stft(y, n_fft=1024, hop_length=256).abs().numpy()
        db = 20 * np.log10(S / max(S.max(), 1e-9) + 1e-6)
        ax.imshow(db, origin="lower", aspect="auto", vmin=-80, vmax=0, cmap="magma",
                  extent=[0, len(y) / sr, 0, sr / 2000])
        ax.set_ylabel("kHz")
        ax.set_title(name, fontsize=9)
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _figures(out: Path, sr: int, inputs: dict, outputs: dict, pitch: dict, target: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for kind, x in inputs.items():
        rows = [(f"input ({kind})", x), *((m, o[kind]) for m, o in outputs.items()),
                ("trumpet (held-out clip, for reference)", target)]
        _spectrograms(out / ("spectrograms.png" if kind == "sung" else f"spectrograms_{kind}.png"), sr, rows)

    fig, ax = plt.subplots(figsize=(9, 3.2))
    first = next(iter(pitch.values()))
    t = first["times"]
    ref = np.where(first["f0_reference"] > 0, first["f0_reference"], np.nan)
    ax.plot(t, ref, color="k", lw=2.5, label="input f0")
    for name, p in pitch.items():
        est = np.where(p["f0_estimate"] > 0, p["f0_estimate"], np.nan)
        ax.plot(p["times"], est, lw=1, label=f"{name} (RPA {p['raw_pitch_accuracy']:.2f})")
    ax.set_yscale("log")
    ax.set_ylabel("f0 (Hz)")
    ax.set_xlabel("time (s)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "f0.png", dpi=90)
    plt.close(fig)


def run_demo(data: str | Path = "data", *, runs: str | Path = "runs", reports: str | Path = "reports", seed: int = 0,
             progress: bool = True, size: DemoSize = DEMO) -> dict:
    """Run the whole demo, skipping finished steps: material, training, transfer, scoreboard and
    the dashboard's extras; the report goes to ``reports/demo``.

    Parameters
    ----------
    data, runs, reports : str or Path
        The data, runs and reports folders.
    seed : int, keyword-only
        Seed of material, training and protocol.
    progress : bool, keyword-only
        Show progress bars.
    size : DemoSize, keyword-only
        How much it trains and measures (:data:`DEMO` for ``make demo``).

    Returns
    -------
    dict
        The figures written to ``figures.json`` (rendering, training, reconstruction, matched
        pitch, transfer per method, scoreboard, dashboard extras, seconds), plus ``files``: what
        the demo left, by kind, for the face to show.
    """
    from analysis.transfer_eval import (
        mfcc_profile,
        raw_pitch_accuracy,
        real_time_factor,
        reconstruction,
        timbre_distance,
    )
    from effects.autoencoder import AutoencoderEffect
    from effects.cepstral import CepstralEffect
    from effects.mosaic import MosaicEffect
    from models.checkpoint import load_run

    data, runs, reports = Path(data), Path(runs), Path(reports)
    t0 = time.perf_counter()
    rendered = _render(data, seed, progress, size)
    run_dir = _train(data, runs, seed, progress, size)
    run = load_run(run_dir)
    sr = run.config.audio.sr

    out = reports / "demo"
    out.mkdir(parents=True, exist_ok=True)
    voice, _ = load(data / "voice" / f"{SUNG}.wav", sr=sr, mono=True)
    spoken, _ = load(data / "voice" / f"{SPOKEN}.wav", sr=sr, mono=True)
    save(out / "input.wav", voice, sr)
    save(out / "input_spoken.wav", spoken, sr)
    split = material_split(data, valid_fraction=run.config.train.valid_fraction, seed=run.config.seed)
    target = list(split.target)  # the baselines see what the model trained on, nothing held out
    methods = {
        "autoencoder": AutoencoderEffect(model=run),
        "cepstral (mean envelope)": CepstralEffect(target=target, envelope="mean"),
        "cepstral (time-varying)": CepstralEffect(target=target, envelope="timevarying"),
        "mosaic": MosaicEffect(target=target),
    }
    outputs, pitch, timbre, rtf = {}, {}, {}, {}
    profile = mfcc_profile([load(p, sr=sr, mono=True)[0] for p in target], sr=sr)
    timbre["input"] = timbre_distance(voice, profile, sr=sr)
    spoken_out = {}
    for name, fx in methods.items():
        y = fx.process(voice, sr)
        save(out / f"{_slug(name)}.wav", y, sr)
        outputs[name] = y[0]
        spoken_out[name] = fx.process(spoken, sr)[0]
        save(out / f"{_slug(name)}_spoken.wav", spoken_out[name], sr)
        pitch[name] = raw_pitch_accuracy(voice[0], y[0], sr=sr)
        timbre[name] = timbre_distance(y, profile, sr=sr)
        rtf[name] = real_time_factor(fx, voice, sr)  # after the first run: targets are loaded once
    # held-out reconstruction on the clips the training left out (the same clip-level split)
    valid_files = list(split.held)
    held = [load(p, sr=sr, mono=True)[0][0] for p in valid_files]
    _figures(out, sr, {"sung": voice[0], "spoken": spoken[0]}, {m: {"sung": outputs[m], "spoken": spoken_out[m]}
                                                                  for m in methods}, pitch, held[0])
    matched = _matched_pitch(split, {SUNG: voice[0], SPOKEN: spoken[0]},
                             {m: {SUNG: outputs[m], SPOKEN: spoken_out[m]} for m in methods}, sr, data=data,
                             work=reports / "judge", voices=size.judge_voices)
    recon = reconstruction(run, valid_files)
    meta = run.meta
    figures = {
        "rendered_now": rendered,
        "training": {"seconds": meta.get("train_seconds"), "epochs": meta.get("epochs_run"),
                     "stopped_by": meta.get("stopped_by"), "best_valid_loss": meta.get("best_valid_loss"),
                     "parameters": meta.get("parameters"), "train_frames": meta.get("data", {}).get("train_frames")},
        "reconstruction": recon,
        "matched_pitch": matched,
        "transfer": {name: {"raw_pitch_accuracy": pitch[name]["raw_pitch_accuracy"],
                            "voicing_recall": pitch[name]["voicing_recall"],
                            "mfcc_distance_to_trumpet": timbre[name], "real_time_factor": rtf[name]}
                     for name in methods},
        "input_mfcc_distance_to_trumpet": timbre["input"],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    figures["scoreboard"] = _scoreboard(data, run_dir, out / "scoreboard", seed, progress, size.protocol)
    figures["dashboard"] = _dashboard_extras(data, runs, reports, seed, progress, size)
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    (out / "figures.json").write_text(json.dumps(figures, indent=1, default=float))
    _report(out, figures, run_dir, data)
    d = figures["dashboard"]
    # what the demo left, for the face to show (library code does not print)
    figures["files"] = {
        "report": [str(out / "report.md")],
        "audio": [str(out / "input.wav")] + [str(out / f"{_slug(m)}.wav") for m in methods],
        "figures": [str(out / "spectrograms.png"), str(out / "f0.png")],
        "model": [str(run_dir), f"(loss curve: {run_dir / 'loss.png'})"],
        "material": [str(data / "gm"), str(data / "trumpet"), str(data / "voice")],
        "dashboard": [str(d["multi"]["run"]), str(d["embed"]["folder"]), str(d["probe"]["folder"])],
    }
    return figures


def _matched_pitch(split: MaterialSplit, inputs: dict, outputs: dict, sr: int, *, data: Path,
                   work: Path, voices: int) -> dict:
    """Timbre at the input's pitch (analysis.harmonic_timbre) against the trumpet reference notes,
    with the instrument judge's share of windows labelled brass for every row."""
    from analysis.harmonic_timbre import fit_reference, score_methods
    from analysis.instrument_judge import fitted_judge

    floor = [load(p, sr=sr, mono=True)[0][0] for p in split.floor]
    # one reference layer per velocity: soft and loud notes pooled describe neither (BENCHMARKS.md)
    ref, target_db = fit_reference([load(p, sr=sr, mono=True)[0][0] for p in split.reference], floor, sr=sr,
                                   name="trumpet reference notes", layers=note_layers(split.reference))
    rows = score_methods(ref, inputs=inputs, outputs=outputs, target_db=target_db, sr=sr)
    judge = fitted_judge(data / "gm", voice_dir=data / "voice", work=work, extra={TARGET_FAMILY: list(split.target)},
                         voices=voices)
    for r in rows:
        y = inputs[r["input"]] if r["method"] == "input" else outputs[r["method"]][r["input"]]
        r["judge"] = judge.share(y, TARGET_FAMILY, sr=sr)
    return {"target_db": target_db, "reference_seconds": ref.seconds_,
            "reference_range": [float(ref.pitches_[0]), float(ref.pitches_[-1])], "rows": rows,
            "target_judge": judge.share(floor, TARGET_FAMILY, sr=sr),
            "split": {k: [p.name for p in getattr(split, k)] for k in ("target", "held", "reference", "floor")}}


def _scoreboard(data: Path, run_dir: Path, out: Path, seed: int, progress: bool, size: tuple) -> dict:
    """The scoreboard of the demo's methods on a small pitch protocol (brass as the target class)."""
    from analysis.pitch_eval import method_factories
    from analysis.pitch_protocol import Protocol
    from analysis.scoreboard import run_scoreboard

    protocol = Protocol(melodies=size[0], notes=size[1], classes=("brass",), seed=seed)
    factories = method_factories(["autoencoder", "cepstral", "mosaic", "dry"], corpus=data / "gm",
                                 models={"brass": str(run_dir)}, progress=progress)
    res = run_scoreboard(protocol, factories, corpus=data / "gm", out=out, progress=progress)
    return {"rows": res["scoreboard"], "reference": res["reference"], "seconds": res["seconds"], "protocol": list(size),
            "markdown": (out / "scoreboard.md").read_text()}


def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _matched_rows(rows: list[dict]) -> list[str]:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    out = []
    for m in methods:
        cells = []
        for name in (SUNG, SPOKEN):
            r = next(r for r in rows if r["method"] == m and r["input"] == name)
            if r["distance_db"] is None:  # no score: say why in place of the numbers
                cells += [r["status"], "-", "-", _fmt(r["pitch_error_share"], ".2f"), _fmt(r["judge"], ".2f")]
                continue
            cells += [_fmt(r["distance_db"], ".2f"), _fmt(r["input_db"], ".2f"), _fmt(r["gap_closed"], ".2f"),
                      _fmt(r["pitch_error_share"], ".2f"), _fmt(r["judge"], ".2f")]
        out.append(f"| {'input (no processing)' if m == 'input' else m} | " + " | ".join(cells) + " |")
    return out


def _matched_verdict(rows: list[dict]) -> list[str]:
    """Say which method closes most of the gap per input, and whether another beats the autoencoder."""
    lines = []
    for name in (SUNG, SPOKEN):
        scored = [r for r in rows if r["input"] == name and r["method"] != "input" and r["gap_closed"] is not None]
        if not scored:
            lines.append(f"- {name}: no method scored, no verdict.")
            continue
        best = max(scored, key=lambda r: r["gap_closed"])
        ae = next((r for r in scored if r["method"] == "autoencoder"), None)
        text = f"- {name}: {best['method']} closes most of the gap ({best['gap_closed']:.2f})"
        if ae is not None and best["method"] != "autoencoder":
            text += f"; it beats the autoencoder ({ae['gap_closed']:.2f}) on this measure"
        judged = [r for r in scored if r.get("judge") is not None and r["judge"] == r["judge"]]  # not NaN
        top = max(judged, key=lambda r: r["judge"], default=None)
        if ae is not None and top is not None and ae.get("judge") is not None and top["judge"] > ae["judge"]:
            text += (f"; the judge labels {top['method']} brass more often ({top['judge']:.2f} of its windows, "
                     f"the autoencoder {ae['judge']:.2f})")
        lines.append(text + ".")
    return lines


def _mixing_lines(m: dict | None) -> list[str]:
    """The report's confusion table of the mixing model (codes x held-out notes)."""
    if not m:
        return []
    from analysis.mix_eval import confusion_markdown

    return ["", "### Does each code sound like its instrument?",
            "Held-out notes of each instrument (not trained on) played through the mixing model with each code, "
            "and the notes themselves (dry), judged from outside the model: harmonic levels at the note's pitch "
            "against reference notes of each instrument rendered apart from the training, and the instrument "
            f"judge. Measured in {m['seconds']} s. Spectrograms: `{m['figure']}`.", "",
            confusion_markdown(m["confusion"]), f"![codes]({m['figure']})", ""]


def _slug(name: str) -> str:
    return name.replace(" (", "_").replace(")", "").replace(" ", "-")


def _report(out: Path, f: dict, run_dir: Path, data: Path) -> None:
    r, tr, mp = f["reconstruction"], f["training"], f["matched_pitch"]
    lines = [
        "# Timbre workbench demo",
        "",
        f"A sung phrase (`{data / 'voice' / SUNG}.wav`, Festival) and a spoken one (`{SPOKEN}.wav`, espeak-ng) "
        f"played through a trumpet model trained on 40 rendered trumpet melodies (`{data / 'trumpet'}`), and "
        f"through the two classical baselines with the same training melodies as their target: cepstral-envelope "
        f"hybridization (the trumpet's mean envelope, and frame by frame) and MFCC mosaicing. Figures measured "
        f"by this run.",
        "",
        "## Does it sound like the trumpet? Timbre at the input's pitch",
        "For each of the input's pitched frames, the output's harmonic levels (dB, relative), read at the "
        "*input's* pitch, against trumpet reference notes at that pitch: sustained notes rendered apart from "
        f"the training melodies, at other velocities (`{data / 'trumpet-reference'}`, MIDI "
        f"{mp['reference_range'][0]:.0f}-{mp['reference_range'][1]:.0f}, nearest notes below or above). "
        "Output and input distances are on the same frames. Gap closed: 0 = the input unchanged, 1 = as close "
        f"as held-out reference notes ({mp['target_db']:.2f} dB), never more. Pitch errors: share of frames "
        "where the output's own pitch is more than 50 cents from the input's (judged at the input's pitch all "
        "the same). No score when the output sounds in less than half of the input's pitched frames.",
        "",
        "| method | " + " | ".join(f"{n}: output dB | input dB | gap closed | pitch errors | judged brass"
                                   for n in (SUNG, SPOKEN)) + " |",
        "|---|" + "---|---|---|---|---|" * 2,
        *_matched_rows(mp["rows"]),
        f"| trumpet (held-out reference notes) | {mp['target_db']:.2f} | | 1 | | {mp['target_judge']:.2f} "
        f"| {mp['target_db']:.2f} | | 1 | | {mp['target_judge']:.2f} |",
        "",
        "Judged brass: the share of 2 s windows the instrument judge (analysis.instrument_judge: corpus families "
        "plus a voice class, phrase-level features) labels as brass.",
        "",
        *_matched_verdict(mp["rows"]),
        "",
        "![sung: spectrograms](spectrograms.png)",
        "",
        "![spoken: spectrograms](spectrograms_spoken.png)",
        "",
        "## Training",
        f"- {tr['epochs']} epochs in {tr['seconds']} s ({tr['stopped_by']}), {tr['parameters']:,} parameters, "
        f"{tr['train_frames']:,} training frames; best valid loss {tr['best_valid_loss']:.5f}. "
        f"Loss curve: `{run_dir / 'loss.png'}`.",
        "",
        "## Held-out reconstruction (trumpet clips not seen in training)",
        "| | spectral convergence | log-spectral distance (dB) |",
        "|---|---|---|",
        f"| autoencoder | {r['spectral_convergence']:.3f} | {r['log_spectral_distance_db']:.2f} |",
        f"| mean-spectrum baseline | {r['baseline_spectral_convergence']:.3f} | "
        f"{r['baseline_log_spectral_distance_db']:.2f} |",
        "",
        "## Transfer of the sung phrase",
        "| method | raw pitch accuracy (50 cents) | voicing recall | MFCC distance to trumpet | real-time factor |",
        "|---|---|---|---|---|",
        f"| input (no processing) | 1.000 | 1.000 | {f['input_mfcc_distance_to_trumpet']:.1f} | |",
    ]
    for name, t in f["transfer"].items():
        lines.append(f"| {name} | {t['raw_pitch_accuracy']:.3f} | {t['voicing_recall']:.3f} | "
                     f"{t['mfcc_distance_to_trumpet']:.1f} | {t['real_time_factor']:.0f}x |")
    lines += [
        "",
        "Raw pitch accuracy: share of the input's voiced frames (pYIN) where the output's f0 is within 50 cents "
        "(mir_eval). MFCC distance: Euclidean distance of mean MFCC 1-19 over non-silent frames to the trumpet "
        "material's; smaller is closer to the trumpet.",
        "",
        "![spectrograms](spectrograms.png)",
        "",
        "![f0](f0.png)",
        "",
        "## Scoreboard",
        f"The pitch protocol in small ({f['scoreboard']['protocol'][0]} sung melodies x {f['scoreboard']['protocol'][1]} random "
        "notes), brass as the target class: the trumpet model above, and cepstral/mosaic with the corpus's "
        f"brass notes as target. Full report: `{out / 'scoreboard'}` (run the full 1000-note protocol with "
        "`workbench evaluate scoreboard --out reports/eval`).",
        "",
        *f["scoreboard"]["markdown"].splitlines()[2:],
        "",
        "## For the dashboard",
        f"- Latent mixing: `{f['dashboard']['multi']['run']}`, one model of three instruments "
        f"({DEMO_MULTI_FAMILIES.replace('+', ', ')}) with an instrument code, trained {f['dashboard']['multi']['seconds']} s.",
        *_mixing_lines(f["dashboard"].get("mixing")),
        f"- Embeddings: MFCC maps (PCA, t-SNE, UMAP) of the corpus's notes in `{f['dashboard']['embed']['folder']}`.",
        f"- Probe: family from MFCC (logistic regression, SVM) in `{f['dashboard']['probe']['folder']}`.",
        "",
        "Look and listen in the dashboard: `make dashboard` (or `workbench dashboard`).",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
