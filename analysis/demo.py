"""The main job on the embedded corpus, run by ``make demo`` / ``workbench demo``.

1. Render material: the demo corpus (every NSynth family from the GM SoundFont), 40 trumpet
   melodies (the target instrument) and sung/spoken voice (the input).
2. Train a trumpet autoencoder (preset ``nsynth``, capped at 150 s of training).
3. Transfer a sung phrase through every method.
4. Write ``reports/demo/``: input and output WAVs, spectrograms, an f0 plot and ``report.md``
   with the measured figures. Steps whose results exist are skipped.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from workbench.audio import load, save
from workbench.corpus.families import programs_for
from workbench.corpus.melodies import render_melodies
from workbench.corpus.render import RenderConfig, render_corpus
from workbench.corpus.voice import render_voice

__all__ = ["run_demo", "render_material", "DEMO_CORPUS", "DEMO_TRAIN"]

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
SUNG = "sung_000"


def render_material(data="data", *, seed: int = 0, progress: bool = True) -> dict:
    """Render the demo corpus, trumpet melodies and voice material into ``data`` (missing parts only)."""
    return _render(Path(data), seed, progress)


def _render(data: Path, seed: int, progress: bool) -> dict:
    steps = {}
    corpus, trumpet, voice = data / "gm", data / "trumpet", data / "voice"
    if not (corpus / "render.json").is_file():
        s = render_corpus(corpus, replace(DEMO_CORPUS, seed=seed), progress=progress)
        steps["corpus"] = {"notes": s["written"], "notes_per_second": s["notes_per_second"]}
    if not (trumpet / "index.json").is_file():
        render_melodies(trumpet, program=56, count=40, seconds=8.0, seed=seed, progress=progress)
        steps["trumpet"] = {"melodies": 40}
    if not (voice / "index.json").is_file():
        render_voice(voice, count=8, spoken=3, seed=seed, progress=progress)
        steps["voice"] = {"sung": 8, "spoken": 3}
    return steps


def _train(data: Path, runs: Path, seed: int, progress: bool) -> Path:
    from models.train import train
    from workbench.config import config_hash, make_config
    from workbench.corpus.select import resolve_target

    cfg = make_config(preset="nsynth", overrides=DEMO_TRAIN, seed=seed)
    out = runs / "demo-trumpet"
    meta = out / "meta.json"
    if meta.is_file():
        m = json.loads(meta.read_text())
        if m.get("status") == "done" and m.get("config_hash") == config_hash(cfg):
            return out
    train(resolve_target(data / "trumpet"), cfg, out, progress=progress,
          describe={"target": str(data / "trumpet"), "preset": "nsynth", "config_hash": config_hash(cfg)})
    return out


def _figures(out: Path, sr: int, inp: np.ndarray, outputs: dict, pitch: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workbench.spectral import stft

    rows = [("input (sung)", inp), *outputs.items()]
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 2.4 * len(rows)), sharex=True)
    for ax, (name, y) in zip(np.atleast_1d(axes), rows):
        S = stft(y, n_fft=1024, hop_length=256).abs().numpy()
        db = 20 * np.log10(S / max(S.max(), 1e-9) + 1e-6)
        ax.imshow(db, origin="lower", aspect="auto", vmin=-80, vmax=0, cmap="magma",
                  extent=[0, len(y) / sr, 0, sr / 2000])
        ax.set_ylabel("kHz")
        ax.set_title(name, fontsize=9)
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(out / "spectrograms.png", dpi=90)
    plt.close(fig)

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


def run_demo(data="data", *, runs="runs", reports="reports", seed: int = 0, progress: bool = True) -> dict:
    """Run the whole demo (skipping finished steps); returns the figures written to the report."""
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
    from models.train import split_indices

    data, runs, reports = Path(data), Path(runs), Path(reports)
    t0 = time.perf_counter()
    rendered = _render(data, seed, progress)
    run_dir = _train(data, runs, seed, progress)
    run = load_run(run_dir)
    sr = run.config.audio.sr

    out = reports / "demo"
    out.mkdir(parents=True, exist_ok=True)
    voice, _ = load(data / "voice" / f"{SUNG}.wav", sr=sr, mono=True)
    save(out / "input.wav", voice, sr)
    trumpet_dir = data / "trumpet"
    methods = {
        "autoencoder": AutoencoderEffect(model=run),
        "cepstral (mean envelope)": CepstralEffect(target=trumpet_dir, envelope="mean"),
        "cepstral (time-varying)": CepstralEffect(target=trumpet_dir, envelope="timevarying"),
        "mosaic": MosaicEffect(target=trumpet_dir),
    }
    outputs, pitch, timbre, rtf = {}, {}, {}, {}
    trumpet_files = sorted((data / "trumpet").glob("melody_*.wav"))
    profile = mfcc_profile([load(p, sr=sr, mono=True)[0] for p in trumpet_files], sr=sr)
    timbre["input"] = timbre_distance(voice, profile, sr=sr)
    for name, fx in methods.items():
        y = fx.process(voice, sr)
        save(out / f"{_slug(name)}.wav", y, sr)
        outputs[name] = y[0]
        pitch[name] = raw_pitch_accuracy(voice[0], y[0], sr=sr)
        timbre[name] = timbre_distance(y, profile, sr=sr)
        rtf[name] = real_time_factor(fx, voice, sr)  # after the first run: targets are loaded once
    _figures(out, sr, voice[0], outputs, pitch)

    # held-out reconstruction on the clips the training left out (the same clip-level split)
    _, valid_i = split_indices(len(trumpet_files), valid_fraction=run.config.train.valid_fraction,
                               seed=run.config.seed)
    valid_files = [trumpet_files[i] for i in valid_i]
    recon = reconstruction(run, valid_files)
    meta = run.meta
    figures = {
        "rendered_now": rendered,
        "training": {"seconds": meta.get("train_seconds"), "epochs": meta.get("epochs_run"),
                     "stopped_by": meta.get("stopped_by"), "best_valid_loss": meta.get("best_valid_loss"),
                     "parameters": meta.get("parameters"), "train_frames": meta.get("data", {}).get("train_frames")},
        "reconstruction": recon,
        "transfer": {name: {"raw_pitch_accuracy": pitch[name]["raw_pitch_accuracy"],
                            "voicing_recall": pitch[name]["voicing_recall"],
                            "mfcc_distance_to_trumpet": timbre[name], "real_time_factor": rtf[name]}
                     for name in methods},
        "input_mfcc_distance_to_trumpet": timbre["input"],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    figures["scoreboard"] = _scoreboard(data, run_dir, out / "scoreboard", seed, progress)
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    (out / "figures.json").write_text(json.dumps(figures, indent=1, default=float))
    _report(out, figures, run_dir, data)
    print(f"report      {out / 'report.md'}")
    print(f"audio       {out / 'input.wav'}  " + "  ".join(str(out / f'{_slug(m)}.wav') for m in methods))
    print(f"figures     {out / 'spectrograms.png'}  {out / 'f0.png'}")
    print(f"model       {run_dir}  (loss curve: {run_dir / 'loss.png'})")
    print(f"material    {data / 'gm'}  {data / 'trumpet'}  {data / 'voice'}")
    return figures


def _scoreboard(data: Path, run_dir: Path, out: Path, seed: int, progress: bool) -> dict:
    """The scoreboard of the demo's methods on a small pitch protocol (brass as the target class)."""
    from analysis.pitch_eval import Protocol, method_factories
    from analysis.scoreboard import run_scoreboard

    protocol = Protocol(melodies=DEMO_PROTOCOL["melodies"], notes=DEMO_PROTOCOL["notes"], classes=("brass",), seed=seed)
    factories = method_factories(["autoencoder", "cepstral", "mosaic", "dry"], corpus=data / "gm",
                                 models={"brass": str(run_dir)}, progress=progress)
    res = run_scoreboard(protocol, factories, corpus=data / "gm", out=out, progress=progress)
    return {"rows": res["scoreboard"], "reference": res["reference"], "seconds": res["seconds"],
            "markdown": (out / "scoreboard.md").read_text()}


def _slug(name: str) -> str:
    return name.replace(" (", "_").replace(")", "").replace(" ", "-")


def _report(out: Path, f: dict, run_dir: Path, data: Path) -> None:
    r, tr = f["reconstruction"], f["training"]
    lines = [
        "# Timbre workbench demo",
        "",
        f"A sung phrase (`{data / 'voice' / SUNG}.wav`, Festival) played through a trumpet model trained on "
        f"40 rendered trumpet melodies (`{data / 'trumpet'}`), and through the two classical baselines with the "
        f"same melodies as their target: cepstral-envelope hybridization (the trumpet's mean envelope, and "
        f"frame by frame) and MFCC mosaicing. Figures measured by this run.",
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
        f"The pitch protocol in small ({DEMO_PROTOCOL['melodies']} sung melodies x {DEMO_PROTOCOL['notes']} random "
        "notes), brass as the target class: the trumpet model above, and cepstral/mosaic with the corpus's "
        f"brass notes as target. Full report: `{out / 'scoreboard'}` (run the full 1000-note protocol with "
        "`workbench evaluate scoreboard --out reports/eval`).",
        "",
        *f["scoreboard"]["markdown"].splitlines()[2:],
        "",
        "Look and listen in the dashboard: `make dashboard` (or `workbench dashboard`).",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
