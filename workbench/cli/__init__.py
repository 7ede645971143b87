"""The ``workbench`` command. Verbs import their modules lazily so ``--help`` stays fast.

User mistakes (``ParameterError``) print one line and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from workbench.errors import DeviceError, ParameterError

__all__ = ["main", "build_parser"]

_VERBS = """verbs:
  corpus render     render an NSynth-format corpus of GM SoundFont notes
  corpus melodies   render random melodies of one GM instrument with MIDI + ground truth
  corpus voice      sung (Festival) and spoken (espeak-ng) phrases with ground truth
  corpus info       summarise an NSynth-format corpus (a real NSynth download too)
  train             train an instrument autoencoder on a file, a folder or a corpus selection
  transfer          play an audio file through a method (autoencoder, cepstral, mosaic)
  mix               latent mixing between instruments (blend, shift, linear map, morph, faders)
  synth             audio from a latent point and a pitch class (chroma model), no input
  mesh              MANNe's chroma mesh: which pitch class each latent point decodes to
  probe             classifier probes of MFCC / scattering / latent features, instrument-disjoint
  pitchcnn          raw-audio pitch CNN (seed 001) trained and tested on unseen instruments
  evaluate pitch    seed 003's pitch-tracking protocol: % of notes each method loses
  evaluate scoreboard  every method on the same inputs: pitch, timbre, loudness, distance, speed
  evaluate timbre   timbre at matched pitch of files against target material
  embed             PCA / t-SNE / UMAP maps of note features (CSV, PNG, interactive HTML)
  devices           list audio input and output devices (host API, channels, default rates)
  live              play a microphone through a method in real time (keys, MIDI/OSC, status line, --record)
  play              the latent space as a real-time synthesizer (MIDI notes and faders, OSC)
  info              check an audio file and print its shape, rate, length and level
  demo              the main job on the embedded corpus (what `make demo` runs)
  dashboard         the Streamlit dashboard: compare methods, pitch evaluation, embeddings, runs
"""


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="workbench",
        description="Timbre workbench: train instrument autoencoders, transfer timbre, compare methods.",
        epilog=_VERBS, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = p.add_subparsers(dest="verb", metavar="VERB")

    corpus = sub.add_parser("corpus", help="render or inspect corpora", description="Render or inspect corpora.")
    csub = corpus.add_subparsers(dest="action", metavar="ACTION")
    r = csub.add_parser("render", help="NSynth-format notes from the GM SoundFont",
                        description="Render NSynth-style dry notes (hold then release) from FluidR3 GM, "
                                    "level-normalised per instrument, split instrument-disjointly.")
    r.add_argument("--out", required=True, help="output corpus folder (gets nsynth-train/valid/test)")
    r.add_argument("--families", help="comma-separated NSynth families (default: all)")
    r.add_argument("--programs", help="GM programs, e.g. '56,57' or '56..63' (added to --families)")
    r.add_argument("--pitches", default="21..108", help="MIDI pitches, e.g. '21..108' or '36..96:3' (default 21..108)")
    r.add_argument("--velocities", default="25,50,75,100,127", help="MIDI velocities (default 25,50,75,100,127)")
    r.add_argument("--sr", type=_int, default=16000, help="sample rate in Hz (default 16000)")
    r.add_argument("--seconds", type=_float, default=4.0, help="note length in s (default 4)")
    r.add_argument("--hold", type=_float, default=3.0, help="note-on time in s before release (default 3)")
    r.add_argument("--max-notes", type=_int, help="at most this many notes per program, drawn with --seed")
    r.add_argument("--full-range", action="store_true", help="do not limit pitches to each program's playable range")
    r.add_argument("--workers", type=_int, help="worker processes (default: all cores)")
    r.add_argument("--seed", type=_int, default=0, help="seed for note sampling and splits (default 0)")

    m = csub.add_parser("melodies", help="random melodies of one GM program",
                        description="Random monophonic melodies inside a program's range, rendered with "
                                    "FluidSynth, each with its MIDI file and ground-truth notes JSON.")
    m.add_argument("--program", type=_int, required=True, help="GM program (0-127), e.g. 56 = trumpet")
    m.add_argument("--count", type=_int, default=40)
    m.add_argument("--seconds", type=_float, default=8.0)
    m.add_argument("--sr", type=_int, default=16000)
    m.add_argument("--low", type=_int, help="lowest MIDI pitch (default: the program's range)")
    m.add_argument("--high", type=_int, help="highest MIDI pitch (default: the program's range)")
    m.add_argument("--seed", type=_int, default=0)
    m.add_argument("--out", required=True)

    v = csub.add_parser("voice", help="sung and spoken phrases with ground truth",
                        description="Sung phrases from Festival's singing mode (with their notes) and "
                                    "spoken sentences from espeak-ng.")
    v.add_argument("--out", required=True)
    v.add_argument("--count", type=_int, default=8, help="sung phrases (default 8)")
    v.add_argument("--spoken", type=_int, default=3, help="spoken sentences (default 3)")
    v.add_argument("--low", type=_int, default=45, help="lowest sung MIDI pitch (default 45)")
    v.add_argument("--high", type=_int, default=60, help="highest sung MIDI pitch (default 60)")
    v.add_argument("--sr", type=_int, default=16000)
    v.add_argument("--seed", type=_int, default=0)

    ci = csub.add_parser("info", help="summarise a corpus", description="Notes per split, family and source.")
    ci.add_argument("path")

    t = sub.add_parser("train", help="train an instrument model (autoencoder or ddsp)",
                       description="Train the LSTM-context STFT autoencoder (default) or the DDSP-style "
                                   "harmonic-plus-noise model (--method ddsp) on the target instrument. Writes a "
                                   "run folder: model.safetensors, config.json, meta.json, loss.csv.")
    t.add_argument("--method", choices=("autoencoder", "ddsp"), default="autoencoder",
                   help="autoencoder (default) or ddsp: CREPE f0 + loudness -> GRU -> harmonics + filtered noise")
    t.add_argument("--target", required=True,
                   help="audio file, folder of audio, or corpus selection CORPUS:key=value,... "
                        "(e.g. data/gm:family=brass,split=train or data/gm:program=56)")
    t.add_argument("--out", required=True, help="run folder, e.g. runs/trumpet")
    t.add_argument("--preset", choices=("nsynth", "quality", "low-latency", "low-delay"),
                   help="nsynth: 16 kHz, n_fft 1024; quality: 44.1 kHz, n_fft 2048; low-latency: 44.1 kHz, n_fft 512; "
                        "low-delay: low-latency trained and played with the low-delay STFT windows (5.8 ms)")
    t.add_argument("--config", help="TOML file with [audio], [model], [train] tables")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting, e.g. --set train.epochs=20 (repeatable)")
    t.add_argument("--seed", type=_int, default=0)
    t.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    t.add_argument("--device", default="cpu",
                   help="cpu, cuda, cuda:N or auto (default cpu). Under torchrun each process takes its "
                        "LOCAL_RANK's GPU, or the CPU with the gloo backend")

    x = sub.add_parser("transfer", help="process an audio file with a method",
                       description="Play an input file, or every audio file of a folder, through a "
                                   "timbre-transfer method. The input is resampled to the model's rate (with one "
                                   "notice) and the output written at the input's rate and channel count; a model "
                                   "at 16 kHz leaves nothing above 8 kHz. Files stream in blocks, so any length "
                                   "fits in memory, and an interrupted file leaves nothing under its name.")
    _add_method_args(x, n_fft=1024, hop=256)
    x.add_argument("--sr", type=_int, help="processing rate for cepstral/mosaic (default: the input's)")
    x.add_argument("--save-index", help="mosaic: save the fitted index (arrays + JSON) to this folder")
    x.add_argument("--input", required=True, help="audio file (wav, flac, ogg, mp3...), or a folder of them")
    x.add_argument("--out", required=True, help="output audio file, or a folder when --input is a folder")
    x.add_argument("--out-sr", type=_int, help="output sample rate in Hz (default: the input's)")
    x.add_argument("--channels", default="keep",
                   help="keep (default: process and write every channel), mono (mix down first), or N: write N "
                        "channels (the input's own when it has N, else its mono mix on each)")

    mx = sub.add_parser("mix", help="latent mixing between instruments",
                        description="Play an input through an autoencoder while moving its latent from instrument A "
                                    "to B: blend the instrument code (a model trained with --set model.condition="
                                    "onehot), shift by class means, a least-squares linear map, or morph with a second "
                                    "input; then per-unit faders.")
    mx.add_argument("--model", required=True, help="run folder (several instruments for --mode blend)")
    mx.add_argument("--input", required=True)
    mx.add_argument("--from", dest="source", help="instrument A (default: the run's first)")
    mx.add_argument("--to", dest="target", help="instrument B (default: the run's last)")
    mx.add_argument("--alpha", type=_float, default=0.5, help="0 = A, 1 = B (default 0.5)")
    mx.add_argument("--mode", default="blend", choices=("blend", "shift", "linear", "morph"))
    mx.add_argument("--morph-input", help="second input for --mode morph")
    mx.add_argument("--scale", help="per-unit fader gains, comma list of latent-width numbers")
    mx.add_argument("--offset", help="per-unit fader offsets, comma list of latent-width numbers")
    mx.add_argument("--trajectory", help="also write the latent trajectory (frames x units) to this CSV")
    mx.add_argument("--out", required=True)

    sy = sub.add_parser("synth", help="synthesize from the latent space",
                        description="Decode one latent point (and, for a chroma model, a pitch class) into a held "
                                    "frame; phase from Griffin-Lim or random. Needs a model trained with "
                                    "--set model.output=spectrum.")
    sy.add_argument("--model", required=True)
    sy.add_argument("--latent", required=True, help="comma list, one number per latent unit (sigmoid: 0..1)")
    sy.add_argument("--chroma", help="pitch class C, C#, D ... B (chroma models)")
    sy.add_argument("--instrument", help="instrument code (multi-instrument models)")
    sy.add_argument("--seconds", type=_float, default=2.0)
    sy.add_argument("--phase", choices=("griffinlim", "pghi", "noise"), default="griffinlim",
                    help="Griffin-Lim, or frame by frame as `workbench play` does (default griffinlim)")
    sy.add_argument("--seed", type=_int, default=0)
    sy.add_argument("--out", required=True)

    ms = sub.add_parser("mesh", help="chroma mesh of the latent space",
                        description="Seed 002, Table V: for each pitch class, decode a mesh of latent points and report "
                                    "the share whose frame's dominant chroma is the conditioning class; PNG map per "
                                    "class; plus synthesized notes tracked with pYIN.")
    ms.add_argument("--model", required=True)
    ms.add_argument("--points", type=_int, default=50, help="mesh points per axis (2-D) or sqrt of random points")
    ms.add_argument("--instrument", help="instrument code (multi-instrument models)")
    ms.add_argument("--synth-check", type=_int, default=4, help="synthesized notes per class to track (0: none)")
    ms.add_argument("--seed", type=_int, default=0)
    ms.add_argument("--out", required=True)
    dv = sub.add_parser("devices", help="list audio input and output devices",
                        description="List PortAudio's devices: index, host API, input and output channels, "
                                    "default rate and low latency (> default input, < default output). Under JACK "
                                    "each client is a device; `system` is the sound card.")
    dv.add_argument("--json", action="store_true", help="print JSON instead of a table")

    lv = sub.add_parser("live", help="play a microphone through a method in real time",
                        description="Run a method on live input (PortAudio: ALSA, JACK...) and play the result. "
                                    "Keys in a terminal: b or space bypass, +/- mix, ]/[ alpha (effects with an "
                                    "alpha), q quit. The status line shows the latency (effect + buffer + the "
                                    "stream's reported input and output latency), callback and effect load, "
                                    "xruns, late blocks and whether processing fell behind (then the output "
                                    "crossfades to the dry input until it keeps up again).")
    _add_method_args(lv, n_fft=512, hop=128)
    _add_stream_args(lv, input_help="device index or part of its name (default: the default input)",
                     rate_help="stream rate in Hz (default: the model's, else the device's)",
                     prefill_help="output blocks buffered ahead of the worker (default: 5 ms past one block, "
                                  "3 blocks of 128 at 44.1 kHz; at least 2)",
                     record_help="write a float WAV: input channel(s), then output channel(s)")
    lv.add_argument("--channels", type=_int, default=1, help="input channels processed (default 1)")

    pl = sub.add_parser("play", help="the latent space as a real-time synthesizer",
                        description="Stream audio decoded from a latent point of a run trained with --set "
                                    "model.output=spectrum; every bottleneck unit is a live control (MIDI faders, "
                                    "OSC /workbench/latent/N), and for a chroma model MIDI notes choose the pitch "
                                    "class (mono, last-note priority; velocity sets the gain, note-off releases). "
                                    "Phase by real-time phase-gradient heap integration (pghi) or random (noise). "
                                    "The status line shows latency, load, xruns and control counts.")
    pl.add_argument("--model", required=True, help="run folder (model.output=spectrum; model.chroma=true for notes)")
    pl.add_argument("--latent", help="starting point, comma list, one number per unit (default 0.5 each)")
    pl.add_argument("--chroma", default="C", help="starting pitch class C ... B (chroma models; default C)")
    pl.add_argument("--phase", choices=("pghi", "noise"), default="pghi", help="phase reconstruction (default pghi)")
    pl.add_argument("--glide-ms", type=_float, default=0.0, help="chroma glide between notes (default 0)")
    pl.add_argument("--release-ms", type=_float, default=150.0, help="release after note-off (default 150)")
    _add_stream_args(pl, input_help="device whose stream clocks the synth (its input is ignored)",
                     rate_help="stream rate in Hz (must be the model's; default the model's)",
                     prefill_help="output blocks buffered ahead of the synth thread",
                     record_help="write a float WAV: the (ignored) input channel, then what was played")

    pr = sub.add_parser("probe", help="classifier probes of note features",
                        description="What does each representation know? Fits StandardScaler pipelines on "
                                    "features of the corpus notes, with instrument-grouped folds and the "
                                    "held-out test split; writes results.json, results.md and confusion matrices.")
    pr.add_argument("--corpus", required=True, help="NSynth-format corpus folder")
    pr.add_argument("--features", default="mfcc,scattering", help="comma list of mfcc, scattering, latent:RUN_DIR; "
                                                                 "join sets with + (e.g. mfcc+scattering)")
    pr.add_argument("--label", default="family", choices=("family", "pitch_class", "velocity", "source"))
    pr.add_argument("--classifiers", default="logreg,svm,knn,rf,mlp", help="comma list of logreg,svm,knn,rf,mlp")
    pr.add_argument("--folds", type=_int, default=5)
    pr.add_argument("--cache", default="reports/cache", help="feature cache folder")
    pr.add_argument("--out", required=True)
    pr.add_argument("--seed", type=_int, default=0)

    pc = sub.add_parser("pitchcnn", help="raw-audio pitch CNN probe",
                        description="Train seed 001's raw-waveform pitch classifier (conv + average pooling, "
                                    "128 MIDI pitches) on the corpus's train+valid notes and score it on the "
                                    "instrument-disjoint test split; writes results.json/md, history.csv, accuracy.png.")
    pc.add_argument("--corpus", required=True, help="NSynth-format corpus folder")
    pc.add_argument("--epochs", type=_int, default=15)
    pc.add_argument("--seconds", type=_float, default=4.0, help="audio per note in s (default 4, as in the seed)")
    pc.add_argument("--lr", type=_float, default=1e-3)
    pc.add_argument("--out", required=True)
    pc.add_argument("--seed", type=_int, default=0)

    em = sub.add_parser("embed", help="2-D/3-D maps of note features",
                        description="Embed the corpus notes' features with PCA, t-SNE (2-D, 3-D) and UMAP; "
                                    "writes coordinates with note metadata (CSV), PNGs and plotly HTML.")
    em.add_argument("--corpus", required=True)
    em.add_argument("--features", default="mfcc", help="mfcc, scattering or latent:RUN_DIR (one; + joins sets)")
    em.add_argument("--methods", default="pca,tsne,tsne3d,umap")
    em.add_argument("--color", default="family,pitch", help="comma list of family, pitch, velocity, source")
    em.add_argument("--split", help="only this split (train, valid, test); default all")
    em.add_argument("--cache", default="reports/cache")
    em.add_argument("--out", required=True)
    em.add_argument("--seed", type=_int, default=0)

    ev = sub.add_parser("evaluate", help="pitch protocol and scoreboard",
                        description="Evaluate methods on the same rendered inputs.")
    esub = ev.add_subparsers(dest="action", metavar="ACTION")
    for action, text in (("pitch", "Seed 003's protocol: M melodies x N random notes, sung by Festival (or a GM "
                                   "instrument), through every method with every target class; a note is lost when "
                                   "its output median f0 is more than --tolerance cents off. Writes pitch.json/md, "
                                   "notes.csv, f0_<method>.png."),
                         ("scoreboard", "The pitch protocol plus timbre at matched pitch (harmonic levels against "
                                        "the target family's notes at the same pitch, gap closed), target-timbre "
                                        "accuracy (the instrument judge labels 2 s windows of the outputs), "
                                        "loudness correlation/L1, Fréchet distance to the target material "
                                        "and real-time factor, per method; with the dry input and the target "
                                        "material as reference rows. Writes results.json, scoreboard.md, CSVs, bar charts.")):
        e = esub.add_parser(action, help=text.split(":")[0].split(";")[0], description=text)
        e.add_argument("--corpus", default="data/gm", help="corpus with the target families' notes (default data/gm)")
        e.add_argument("--melodies", type=_int, default=5, help="M input melodies (default 5)")
        e.add_argument("--notes", type=_int, default=20, help="N random notes per melody (default 20)")
        e.add_argument("--classes", default="10",
                       help="target families: a count (first N of bass, brass, flute, guitar, keyboard, mallet, organ, "
                            "reed, string, synth_lead) or a comma list (default 10)")
        e.add_argument("--methods", default="autoencoder,cepstral,mosaic" + (",dry" if action == "scoreboard" else ""),
                       help="comma list of autoencoder, ddsp, cepstral, mosaic, dry (the unprocessed input)")
        e.add_argument("--source", default="voice", help="input source: voice (Festival singing) or gm:PROGRAM")
        e.add_argument("--low", type=_int, default=45, help="lowest input MIDI note (default 45)")
        e.add_argument("--high", type=_int, default=60, help="highest input MIDI note (default 60)")
        e.add_argument("--tolerance", type=_float, default=50.0, help="cents for a note to count as kept (default 50)")
        e.add_argument("--tracker", default="pyin", help="pyin, crepe-tiny or crepe-full (default pyin)")
        e.add_argument("--model", action="append", default=[], metavar="FAMILY=RUN",
                       help="use this run (autoencoder or ddsp) for a class instead of training runs/eval-FAMILY "
                            "or runs/eval-ddsp-FAMILY (repeatable)")
        e.add_argument("--runs", default="runs", help="where class models are trained and reused (default runs)")
        e.add_argument("--train-seconds", type=_float, default=60.0, help="training budget per class model (default 60)")
        e.add_argument("--ddsp-seconds", type=_float, default=300.0,
                       help="training budget per ddsp class model (default 300)")
        e.add_argument("--out", required=True)
        e.add_argument("--seed", type=_int, default=0)

    t = esub.add_parser("timbre", help="timbre at matched pitch of files against target material",
                        description="Each voiced frame's harmonic levels (dB) against the target material's own "
                                    "notes at the same pitch. Prints the distance of the input, of each output and "
                                    "of held-out target material, and the share of the input-to-target gap each "
                                    "output closes (0 unchanged, 1 the instrument itself).")
    t.add_argument("--target", required=True, help="target material: audio file, folder or CORPUS:key=value")
    t.add_argument("--input", required=True, help="the unprocessed input")
    t.add_argument("outputs", nargs="*", help="processed versions of the input")
    t.add_argument("--sr", type=_int, default=16000, help="analysis rate in Hz (default 16000)")
    t.add_argument("--seed", type=_int, default=0)

    i = sub.add_parser("info", help="check an audio file", description="Load an audio file with the "
                       "workbench's checks and print its shape, sample rate, duration and peak level.")
    i.add_argument("path")
    i.add_argument("--sr", type=_int, help="resample to this rate first")
    i.add_argument("--min-samples", type=_int, default=1, help="fewest samples accepted (e.g. one n_fft frame)")

    d = sub.add_parser("demo", help="the main job on the embedded corpus",
                       description="Render the demo corpus, trumpet melodies and voice material into --data "
                                   "and print where everything is.")
    d.add_argument("--data", default="data", help="data folder (default: data)")
    d.add_argument("--seed", type=_int, default=0)

    db = sub.add_parser("dashboard", help="the Streamlit dashboard",
                        description="Start the dashboard (streamlit run streamlit_app.py, headless) on the data, "
                                    "runs and reports folders; open the printed URL in a browser.")
    db.add_argument("--port", type=_int, default=8501, help="port to serve on (default 8501)")
    db.add_argument("--data", default="data", help="data folder (default: data)")
    db.add_argument("--runs", default="runs", help="runs folder (default: runs)")
    db.add_argument("--reports", default="reports", help="reports folder (default: reports)")

    ex = sub.add_parser("export", help="a trained autoencoder as a streaming TorchScript file",
                        description="Write a run as a TorchScript module that processes audio block by block with "
                                    "its state inside (load it with torch.jit.load in Python or torch::jit::load in "
                                    "C++). forward(x): (batch, channels, n) or (channels, n) float32 at the model's "
                                    "rate, n a multiple of its block_multiple (the hop); attributes sampling_rate, "
                                    "latency_samples, block_multiple, channels; reset().")
    ex.add_argument("--model", required=True, help="run folder from `workbench train` (one instrument)")
    ex.add_argument("--out", required=True, help="the .ts file to write")
    ex.add_argument("--channels", type=_int, default=1, help="channels processed, each on its own (default 1)")
    ex.add_argument("--mix", type=_float, default=1.0, help="0 = dry, 1 = fully transferred (fixed in the file)")
    ex.add_argument("--gate-db", type=_float, default=-60.0, help="input level below which output is silent")
    ex.add_argument("--window", choices=("hann", "low-delay"),
                    help="STFT windows: hann or low-delay (latency 2 * hop - 1); default: the run's")
    ex.add_argument("--synthesis-length", type=_int, help="low-delay synthesis window in samples (default 2 * hop)")
    return p


def _cmd_corpus(args) -> int:
    from workbench.corpus.families import parse_family_list, parse_int_ranges, programs_for

    progress = not args.quiet
    if args.action == "render":
        from workbench.corpus.render import RenderConfig, render_corpus

        fams = parse_family_list(args.families)
        progs = parse_int_ranges(args.programs, name="programs", lo=0, hi=127)
        cfg = RenderConfig(
            programs=tuple(programs_for(fams, progs)),
            pitches=tuple(parse_int_ranges(args.pitches, name="pitches", lo=0, hi=127)),
            velocities=tuple(parse_int_ranges(args.velocities, name="velocities", lo=1, hi=127)),
            sr=args.sr, seconds=args.seconds, hold=args.hold, max_notes_per_program=args.max_notes,
            limit_to_range=not args.full_range, seed=args.seed,
        )
        s = render_corpus(args.out, cfg, workers=args.workers, progress=progress)
        print(f"wrote {s['written']} notes to {args.out} "
              f"(train {s['splits']['train']['notes']}, valid {s['splits']['valid']['notes']}, "
              f"test {s['splits']['test']['notes']}); skipped {s['skipped']}; "
              f"{s['notes_per_second']} notes/s with {s['workers']} workers")
    elif args.action == "melodies":
        from workbench.corpus.melodies import render_melodies

        s = render_melodies(args.out, program=args.program, count=args.count, seconds=args.seconds,
                            seed=args.seed, sr=args.sr, low=args.low, high=args.high, progress=progress)
        print(f"wrote {s['count']} melodies of {s['instrument']} (MIDI {s['range'][0]}-{s['range'][1]}) to {args.out}")
    elif args.action == "voice":
        from workbench.corpus.voice import render_voice

        s = render_voice(args.out, count=args.count, spoken=args.spoken, seed=args.seed, sr=args.sr,
                         low=args.low, high=args.high, progress=progress)
        print(f"wrote {s['count']} sung and {s['spoken']} spoken phrases to {args.out}")
    elif args.action == "info":
        from collections import Counter

        from workbench.corpus.nsynth import NSynth

        ds = NSynth(args.path)
        print(f"{args.path}: {len(ds)} notes")
        for split in sorted(set(ds.column("split")), key=("train", "valid", "test", "all").index):
            sub = [e for e in ds.examples if e["split"] == split]
            fam = Counter(e["instrument_family_str"] for e in sub)
            print(f"  {split:5s} {len(sub):6d} notes, {len({e['instrument'] for e in sub})} instruments: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(fam.items())))
    else:
        print("usage: workbench corpus {render,melodies,voice,info} ... (see --help)", file=sys.stderr)
        return 2
    return 0


def _cmd_info(args) -> int:
    import numpy as np

    from workbench.audio import load

    audio, sr = load(args.path, sr=args.sr, min_samples=args.min_samples)
    peak = float(np.abs(audio).max())
    print(json.dumps({"path": args.path, "channels": audio.shape[0], "samples": audio.shape[1], "sr": sr,
                      "seconds": round(audio.shape[1] / sr, 4),
                      "peak_dbfs": round(20 * np.log10(max(peak, 1e-12)), 2)}))
    return 0


def _cmd_train(args) -> int:
    from workbench.config import make_config
    from workbench.corpus.select import resolve_target, target_labels

    cfg = make_config(preset=args.preset, file=args.config, overrides=args.set, seed=args.seed, method=args.method)
    if args.method == "ddsp":
        from models.ddsp_train import train_ddsp

        if args.resume or args.device != "cpu":
            raise ParameterError("--method ddsp trains on the CPU from the start; --resume and --device are for "
                                 "the autoencoder")
        meta = train_ddsp(resolve_target(args.target), cfg, args.out, progress=not args.quiet,
                          describe={"target": args.target})
        p = meta["pitch_midi"]
        print(f"trained {meta['epochs_run']} epochs in {meta['train_seconds']} s ({meta['stopped_by']}); best valid "
              f"loss {meta['best_valid_loss']:.4f} at epoch {meta['best_epoch']}; pitch range MIDI {p['p5']:.0f}-"
              f"{p['p95']:.0f}; run in {args.out}")
        return 0
    from models.distributed import process_group
    from models.train import train

    labels = None
    if cfg.model.condition != "none":
        paths, labels = target_labels(args.target, by=cfg.model.code_by)
    else:
        paths = resolve_target(args.target)
    with process_group(args.device) as where:  # under torchrun: this rank's device, joined to the others
        meta = train(paths, cfg, args.out, labels=labels, resume=args.resume, progress=not args.quiet,
                     device=where.device, world_size=where.world_size, rank=where.rank,
                     describe={"target": args.target, "preset": args.preset})
    if where.rank:
        return 0
    print(f"trained {meta['epochs_run']} epochs in {meta['train_seconds']} s ({meta['stopped_by']}); best valid "
          f"loss {meta['best_valid_loss']:.5f} at epoch {meta['best_epoch']}; run in {args.out}")
    return 0


def _add_method_args(x, *, n_fft: int, hop: int) -> None:
    """The options that choose and configure a method (shared by transfer and live)."""
    x.add_argument("--method", default="autoencoder",
                   choices=("autoencoder", "ddsp", "cepstral", "mosaic", "latent-mix"),
                   help="autoencoder, ddsp or latent-mix (need --model), cepstral or mosaic (need --target)")
    x.add_argument("--model", help="run folder from `workbench train` (autoencoder, ddsp, latent-mix)")
    x.add_argument("--octave-shift", type=_int, default=0, help="ddsp: octaves added to the input's pitch (-4..4)")
    x.add_argument("--auto-register", action="store_true",
                   help="ddsp: shift the input by whole octaves so its median pitch lands nearest the "
                        "instrument's trained median (files: measured first; live: not available)")
    x.add_argument("--from", dest="mix_from", help="latent-mix: instrument A (default: the run's first)")
    x.add_argument("--to", dest="mix_to", help="latent-mix: instrument B (default: the run's last)")
    x.add_argument("--alpha", type=_float, default=0.0, help="latent-mix: 0 = A, 1 = B (default 0)")
    x.add_argument("--latent-mode", choices=("blend", "shift", "linear"), default="blend",
                   help="latent-mix: blend the instrument code, shift by class means, or a linear map")
    x.add_argument("--target", help="timbre source for cepstral/mosaic: audio file, folder, CORPUS:key=value, "
                                    "or a saved mosaic index folder")
    x.add_argument("--n-fft", type=_int, default=n_fft, help=f"cepstral/mosaic frame (default {n_fft})")
    x.add_argument("--hop", type=_int, default=hop, help=f"cepstral/mosaic hop (default {hop})")
    x.add_argument("--lifter", type=_int, help="cepstral lifter order, input and target (default 30 at n_fft 1024)")
    x.add_argument("--envelope", choices=("timevarying", "mean"), default="timevarying", help="cepstral target envelope")
    x.add_argument("--length-policy", choices=("loop", "stretch", "truncate"), default="loop",
                   help="cepstral: when the input outlasts the target (default loop; stretch is offline only)")
    x.add_argument("--k", type=_int, default=5, help="mosaic kNN candidates (default 5)")
    x.add_argument("--continuity", type=_float, default=0.5, help="mosaic bonus for the next grain (default 0.5)")
    x.add_argument("--repeat-window", type=_int, default=8, help="mosaic: no grain twice within N frames (default 8)")
    x.add_argument("--window", choices=("hann", "low-delay"),
                   help="autoencoder/cepstral/latent-mix STFT windows: hann (latency n_fft - 1) or low-delay (long "
                        "analysis, short synthesis window: latency 2 * hop - 1); default: the run's, or hann")
    x.add_argument("--synthesis-length", type=_int,
                   help="low-delay synthesis window in samples, hop < L <= 2 * hop (default 2 * hop)")
    x.add_argument("--torchscript", action="store_true",
                   help="autoencoder: run each hop as a traced TorchScript step (same output, about 40%% less "
                        "compute per hop; single-instrument runs without chroma)")
    x.add_argument("--mix", type=_float, default=1.0, help="0 = dry, 1 = fully transferred (default 1)")
    x.add_argument("--gate-db", type=_float, default=-60.0, help="input level below which output is silent")


def _make_effect(args, sr: int):
    """The effect ``args`` ask for (built by :func:`effects.registry.make_effect`)."""
    from effects.registry import MODEL_METHODS, make_effect

    if args.method != "ddsp" and (args.octave_shift or args.auto_register):
        raise ParameterError(f"--octave-shift and --auto-register are for --method ddsp, not {args.method}")
    if args.method in MODEL_METHODS and not args.model:
        kind = {"ddsp": "`workbench train --method ddsp`", "latent-mix": "a multi-instrument run"}
        raise ParameterError(f"--method {args.method} needs --model RUN_DIR "
                             f"({kind.get(args.method, 'from `workbench train`')})")
    if args.method not in MODEL_METHODS and not args.target:
        raise ParameterError(f"--method {args.method} needs --target (audio file, folder or CORPUS:key=value)")
    window = getattr(args, "window", None)
    synthesis_length = getattr(args, "synthesis_length", None)
    if getattr(args, "torchscript", False) and args.method != "autoencoder":
        raise ParameterError(f"--torchscript is for --method autoencoder, not {args.method}")
    if args.method in ("ddsp", "mosaic") and (window or synthesis_length):
        raise ParameterError(f"--window and --synthesis-length are for autoencoder, cepstral and latent-mix, "
                             f"not {args.method}")
    common = dict(mix=args.mix, gate_db=args.gate_db)
    windows = dict(window=window, synthesis_length=synthesis_length)
    if args.method == "autoencoder":
        return make_effect("autoencoder", model=args.model, torchscript=getattr(args, "torchscript", False) or None,
                           **windows, **common)
    if args.method == "ddsp":
        return make_effect("ddsp", model=args.model, octave_shift=args.octave_shift, **common)
    if args.method == "latent-mix":
        return make_effect("latent-mix", model=args.model, mode=args.latent_mode, source=args.mix_from,
                           target=args.mix_to, alpha=args.alpha, **windows, **common)
    common.update(target=args.target, n_fft=args.n_fft, hop_length=args.hop)
    if args.method == "cepstral":
        return make_effect("cepstral", lifter_input=args.lifter, lifter_target=args.lifter, envelope=args.envelope,
                           length_policy=args.length_policy, **windows, **common)
    return make_effect("mosaic", k=args.k, continuity=args.continuity, repeat_window=args.repeat_window, **common)


def _processing_rate(fx, args, file_sr: int) -> tuple[int, str]:
    """The rate ``fx`` processes at and whose it is: the model's, --sr, a mosaic index's, or the file's."""
    index = getattr(fx, "index", None)  # a loaded mosaic index fixes its own rate
    if fx.required_sample_rate:
        return fx.required_sample_rate, "the model's "
    if args.sr:
        return args.sr, "--sr "
    if index is not None:
        return index.params["sr"], "the index's "
    return file_sr, ""


def _audio_files(folder) -> list:
    """Audio files directly in ``folder`` that libsndfile can read, sorted by name."""
    import soundfile as sf

    exts = {"." + f.lower() for f in sf.available_formats()} | {".aif", ".oga", ".opus"}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in exts and not p.name.startswith("."))


def _cmd_transfer(args) -> int:
    """One file, or every audio file of a folder, through one effect loaded once (issue 18)."""
    from pathlib import Path

    from effects.render import parse_channels, render_file
    from workbench.audio import info

    src, dst = Path(args.input), Path(args.out)
    chans = parse_channels(args.channels)
    if src.is_dir():
        files = _audio_files(src)
        if not files:
            raise ParameterError(f"--input {str(src)!r} is a folder with no audio files; expected .wav, .flac, "
                                 f".ogg, .mp3 or another format libsndfile reads")
        if dst.exists() and not dst.is_dir():
            raise ParameterError(f"--out {str(dst)!r} is a file; with a folder --input, expected an output folder")
        pairs = [(f, dst / f.name) for f in files]
    else:
        info(src)  # a missing or unreadable input is reported before a model or target is loaded
        pairs = [(src, dst)]
    fx = _make_effect(args, None)
    limit = None
    if args.method == "cepstral" and args.length_policy == "truncate":
        def limit(e):
            return e.target_frames * e.hop_length + e.n_fft
    noticed, failed = set(), []
    from tqdm import tqdm

    batch = len(pairs) > 1 or src.is_dir()
    for f, out in tqdm(pairs, desc="transfer", unit="file", disable=not batch or args.quiet):
        try:
            file_sr = info(f).samplerate
            sr, whose = _processing_rate(fx, args, file_sr)
            out_sr = args.out_sr or file_sr
            cause = (file_sr, sr, out_sr)
            if file_sr != sr and cause not in noticed:  # one notice per cause, not per file
                noticed.add(cause)
                band = f"; the output has nothing above {sr // 2} Hz" if out_sr > sr else ""
                tqdm.write(f"workbench: note: processing at {whose}{sr} Hz (input {file_sr} Hz), writing "
                           f"{out_sr} Hz{band}", file=sys.stderr)
            if args.method == "ddsp" and args.auto_register:
                from effects.ddsp import auto_octave_for_file

                shift, med = auto_octave_for_file(fx, f)
                fx.set_params(octave_shift=shift)
                tqdm.write(f"workbench: auto-register: {f.name}: octave shift {shift:+d} (input median MIDI "
                           f"{'none voiced' if med is None else f'{med:.0f}'}, instrument {fx.trained_median:.0f})",
                           file=sys.stderr)
            r = render_file(fx, f, out, sr=sr, out_sr=out_sr, channels=chans, max_samples=limit,
                            progress=not batch and not args.quiet)
            notice = fx.pitch_notice() if args.method == "ddsp" else None
            if notice:
                tqdm.write(f"workbench: note: {f.name}: {notice}", file=sys.stderr)
        except ParameterError as err:
            if not batch:
                raise
            failed.append(f.name)
            tqdm.write(f"workbench: skipped {f}: {err}", file=sys.stderr)
            continue
        if args.method == "mosaic" and args.save_index:
            fx.index.save(args.save_index)
        if not batch:
            print(f"wrote {r.path} ({r.channels} channel(s), {r.samples / r.sr:.2f} s at {r.sr} Hz, "
                  f"method {args.method}, processed at {r.processing_sr} Hz)")
    if batch:
        print(f"wrote {len(pairs) - len(failed)} of {len(pairs)} file(s) to {dst} (method {args.method})")
    if failed:
        print(f"workbench: error: {len(failed)} file(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _cmd_devices(args) -> int:
    from workbench.devices import format_devices, list_devices

    devices = list_devices()
    print(json.dumps(devices, indent=1) if args.json else format_devices(devices))
    return 0


def _latency_arg(text: str):
    """``low``, ``high`` or seconds; anything else is passed on for LiveEngine to reject."""
    try:
        return float(text)
    except ValueError:
        return text


def _add_stream_args(p, *, input_help: str, rate_help: str, prefill_help: str, record_help: str) -> None:
    """The stream options `live` and `play` share: devices, rate, block, buffering, recording, MIDI/OSC."""
    p.add_argument("--input-device", help=input_help)
    p.add_argument("--output-device", help="device index or part of its name (default: the default output)")
    p.add_argument("--samplerate", type=_int, help=rate_help)
    p.add_argument("--blocksize", type=_int, default=128, help="frames per callback (default 128)")
    p.add_argument("--latency", default="low", help="PortAudio device latency: low, high or seconds (default low)")
    p.add_argument("--prefill", type=_int, help=prefill_help)
    p.add_argument("--record", help=record_help)
    p.add_argument("--seconds", type=_float, help="stop after this long (required when stdin is not a terminal)")
    p.add_argument("--stats", help="write the run's statistics (JSON) to this file")
    _add_control_args(p)


def _add_control_args(x) -> None:
    x.add_argument("--midi", metavar="PORT", help="MIDI source port (or part of its name) for faders, knobs, notes")
    x.add_argument("--midi-api", choices=("alsa", "jack"), help="MIDI system (default: ALSA sequencer if present, "
                                                                "else JACK MIDI)")
    x.add_argument("--osc", metavar="PORT", type=_int, help="UDP port for OSC control on --osc-host")
    x.add_argument("--osc-host", default="127.0.0.1", help="address to listen on for OSC (default 127.0.0.1)")
    x.add_argument("--map", dest="mapping", metavar="FILE",
                   help="control mapping TOML (default: an 8-fader layout; with --learn the file is written)")
    x.add_argument("--learn", metavar="PARAM", help="bind the next control that moves to PARAM (mix, bypass, gain, "
                                                    "alpha, mode, fader.N.scale, fader.N.offset, latent.N, octave)")
    x.add_argument("--smooth-ms", type=_float, default=5.0, help="ramp time of controlled parameters (default 5)")


def _open_control(args, engine, fx, *, synth: bool):
    """The controller and its MIDI/OSC inputs for ``args`` (nothing when none was asked for)."""
    from effects.control import Controller, MidiInput, OscInput
    from effects.mapping import default_mapping, load_mapping

    if not (args.midi or args.osc is not None or args.learn):
        return None, []
    from pathlib import Path

    user = args.mapping and Path(args.mapping).is_file()
    mapping = load_mapping(args.mapping) if user else default_mapping(synth=synth)
    if args.learn and not (args.midi or args.osc is not None):
        raise ParameterError(f"--learn {args.learn} needs a control to listen to: give --midi PORT or --osc PORT")

    def learned(b):
        print(f"\nlearned: {b.source} -> {b.target}\n{b.to_toml()}", flush=True)
        if args.mapping:
            ctl.mapping.save(args.mapping)
            print(f"wrote {args.mapping}", flush=True)

    ctl = Controller(fx, mapping, engine=engine, learn=args.learn, on_learn=learned, strict=bool(user))
    inputs = []
    try:
        if args.midi:
            inputs.append(MidiInput(ctl, args.midi, api=args.midi_api, priority=engine.worker_priority))
        if args.osc is not None:
            inputs.append(OscInput(ctl, args.osc, host=args.osc_host, priority=engine.worker_priority))
    except ParameterError:
        for i in inputs:
            i.close()
        raise
    engine.status_extra = ctl.status
    where = ", ".join(f"MIDI {i.port_name} ({i.api})" if hasattr(i, "port_name") else f"OSC udp {i.host}:{i.port}"
                      for i in inputs)
    print(f"control: {where}; {len(ctl.mapping)} bindings" + (f"; learning {args.learn}: move a control" if args.learn
                                                               else ""), flush=True)
    return ctl, inputs


def _control_stats(ctl, fx) -> dict:
    import numpy as np

    lg = fx.control_log()
    d = lg["delay_s"][np.isfinite(lg["delay_s"])] * 1e3
    return {**ctl.counts(), "changes_applied": len(lg["block"]),
            "arrival_to_applied_ms": None if not d.size else {"median": round(float(np.median(d)), 3),
                                                               "max": round(float(d.max()), 3)}}


def _exit_device_lost(engine) -> None:
    """One line, then exit 1 at once: PortAudio's exit handler would abort the process (SIGABRT)
    trying to terminate a stream whose JACK server is gone (see LiveEngine.stop)."""
    print(f"workbench: error: the audio device was lost while streaming: {engine.device_error}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def _cmd_live(args) -> int:
    if args.auto_register:
        raise ParameterError("--auto-register measures a file before playing it; live, give --octave-shift N")
    if args.seconds is not None and not args.seconds > 0:
        raise ParameterError(f"--seconds {args.seconds} must be a positive number of seconds")
    if args.seconds is None and not sys.stdin.isatty():
        raise ParameterError("stdin is not a terminal, so no key can stop the stream; give --seconds N")
    from workbench.devices import check_stream_settings, list_devices, resolve_device

    latency = _latency_arg(args.latency)
    check_stream_settings(blocksize=args.blocksize, samplerate=args.samplerate, channels=args.channels,
                          latency=latency)
    devices = list_devices()  # a missing device is reported before torch and the model load
    resolve_device(args.input_device, kind="input", channels=args.channels, devices=devices)
    resolve_device(args.output_device, kind="output", channels=args.channels, devices=devices)
    from effects.live import LiveEngine
    from workbench.cli.console import key_help, run_console, summary_line

    fx = _make_effect(args, args.samplerate)
    if args.midi or args.osc is not None or args.learn:
        from effects.controlled import ControlledEffect

        fx = ControlledEffect(fx, smooth_ms=args.smooth_ms)
    engine = LiveEngine(fx, samplerate=args.samplerate, blocksize=args.blocksize, input_device=args.input_device,
                        output_device=args.output_device, channels=args.channels, latency=latency,
                        prefill=args.prefill, record=args.record)
    ctl, inputs = _open_control(args, engine, fx, synth=False)
    try:
        engine.start()
    except BaseException:
        for i in inputs:
            i.close()
        raise
    din, dout = engine.devices
    print(f"live: {args.method} at {engine.sr} Hz, blocksize {engine.blocksize}; input "
          f"{din['index']} {din['name']} ({din['hostapi']}), output {dout['index']} {dout['name']}; "
          f"latency {engine.latency.describe()}; effect load at warm-up {100 * engine.warmup_load:.0f}% of a block",
          flush=True)
    if sys.stdin.isatty():
        print(key_help(engine), flush=True)
    try:
        s = run_console(engine, seconds=args.seconds)
    finally:
        for i in inputs:
            i.close()
    if ctl is not None:
        s["control"] = _control_stats(ctl, fx)
        print("live: " + ctl.status(), flush=True)
    print("live: " + summary_line(s) + (f"; recorded {args.record} (input, then output channels)" if args.record else ""))
    if args.stats:
        from pathlib import Path

        Path(args.stats).write_text(json.dumps(s, indent=1))
    if engine.device_error:  # the recording (if any) is closed and holds everything up to the loss
        _exit_device_lost(engine)
    if engine.worker_error:
        print(f"workbench: error: the effect failed while streaming: {engine.worker_error}", file=sys.stderr)
        return 1
    return 0


def _cmd_play(args) -> int:
    if args.seconds is not None and not args.seconds > 0:
        raise ParameterError(f"--seconds {args.seconds} must be a positive number of seconds")
    if args.seconds is None and not sys.stdin.isatty():
        raise ParameterError("stdin is not a terminal, so no key can stop the stream; give --seconds N")
    from workbench.devices import check_stream_settings, list_devices, resolve_device

    latency = _latency_arg(args.latency)
    check_stream_settings(blocksize=args.blocksize, samplerate=args.samplerate, channels=1, latency=latency)
    devices = list_devices()
    resolve_device(args.input_device, kind="input", channels=1, devices=devices)
    resolve_device(args.output_device, kind="output", channels=1, devices=devices)
    from analysis.latent_space import parse_chroma, parse_latent
    from effects.controlled import ControlledEffect
    from effects.live import LiveEngine
    from effects.play import LatentSynth
    from workbench.cli.console import key_help, run_console, summary_line

    synth = LatentSynth(model=args.model, chroma=parse_chroma(args.chroma), phase=args.phase,
                        glide_ms=args.glide_ms, release_ms=args.release_ms, gate=not args.midi)
    if args.latent:
        synth.set_params(latent=parse_latent(args.latent, dim=synth.latent_dim))
    fx = ControlledEffect(synth, smooth_ms=args.smooth_ms)
    engine = LiveEngine(fx, samplerate=args.samplerate, blocksize=args.blocksize, input_device=args.input_device,
                        output_device=args.output_device, channels=1, latency=latency, prefill=args.prefill,
                        record=args.record)
    ctl, inputs = _open_control(args, engine, fx, synth=True)
    try:
        engine.start()
    except BaseException:
        for i in inputs:
            i.close()
        raise
    dout = engine.devices[1]
    print(f"play: {args.model} ({synth.latent_dim} units{', chroma' if synth.has_chroma else ''}, phase "
          f"{args.phase}) at {engine.sr} Hz, blocksize {engine.blocksize}; output {dout['index']} {dout['name']} "
          f"({dout['hostapi']}); latency {engine.latency.describe()}; synth load at warm-up "
          f"{100 * engine.warmup_load:.0f}% of a block" + ("; waiting for a MIDI note" if args.midi else ""), flush=True)
    if sys.stdin.isatty():
        print(key_help(engine), flush=True)
    try:
        s = run_console(engine, seconds=args.seconds)
    finally:
        for i in inputs:
            i.close()
    s["synth"] = {"frames": synth.frames, "decodes": synth.decodes}
    if ctl is not None:
        s["control"] = _control_stats(ctl, fx)
        print("play: " + ctl.status(), flush=True)
    print("play: " + summary_line(s) + (f"; recorded {args.record} (input, then output)" if args.record else ""))
    if args.stats:
        from pathlib import Path

        Path(args.stats).write_text(json.dumps(s, indent=1, default=str))
    if engine.device_error:  # the recording (if any) is closed and holds everything up to the loss
        _exit_device_lost(engine)
    if engine.worker_error:
        print(f"workbench: error: the synth failed while streaming: {engine.worker_error}", file=sys.stderr)
        return 1
    return 0


def _choices(text: str, name: str, allowed) -> list[str]:
    """A comma list of names, each checked against ``allowed`` (one-line error naming the bad one)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    for item in items:
        if item not in allowed:
            raise ParameterError(f"{name}={item!r} is not valid; expected one of {', '.join(allowed)}")
    if not items:
        raise ParameterError(f"{name} list {text!r} is empty; expected one or more of {', '.join(allowed)}")
    return items


def _cmd_probe(args) -> int:
    from analysis.probes import CLASSIFIERS, probe_corpus

    res = probe_corpus(args.corpus, features=args.features, label=args.label,
                       classifiers=_choices(args.classifiers, "classifier", CLASSIFIERS), folds=args.folds,
                       cache=args.cache, out=args.out, seed=args.seed, progress=not args.quiet)
    best = max(res["probes"], key=lambda r: r["test_accuracy"])
    print(f"probed {len(res['probes'])} feature/classifier pairs on {res['train_notes']}+{res['test_notes']} notes; "
          f"best test accuracy {best['test_accuracy']:.3f} ({best['features']} + {best['classifier']}); "
          f"report in {args.out}/results.md")
    return 0


def _cmd_pitchcnn(args) -> int:
    from analysis.pitch_probe import run_pitch_cnn

    r = run_pitch_cnn(args.corpus, out=args.out, epochs=args.epochs, seconds=args.seconds, lr=args.lr,
                      seed=args.seed, progress=not args.quiet)
    print(f"pitch CNN: test accuracy {r['test_accuracy']:.3f} on {r['test_notes']} notes of unseen instruments "
          f"(within a semitone {r['within_semitone']:.3f}; majority pitch {r['chance_majority']:.3f}); "
          f"report in {args.out}/results.md")
    return 0


def _cmd_embed(args) -> int:
    from analysis.embeddings import COLOR_FIELDS, METHODS, embed_corpus

    methods = _choices(args.methods, "method", METHODS)
    r = embed_corpus(args.corpus, features=args.features, methods=methods,
                     color=_choices(args.color, "color", tuple(COLOR_FIELDS)), split=args.split, cache=args.cache,
                     out=args.out, seed=args.seed)
    print(f"embedded {r['notes']} notes ({args.features}, {r['dims']} dims) with {', '.join(methods)}; "
          f"maps in {args.out}")
    return 0


def _cmd_evaluate(args) -> int:
    from analysis.pitch_eval import method_factories, run_pitch_protocol
    from analysis.pitch_protocol import DEFAULT_CLASSES, METHODS, Protocol
    from workbench.corpus.families import FAMILIES

    if args.action == "timbre":
        return _evaluate_timbre(args)
    if args.action not in ("pitch", "scoreboard"):
        print("usage: workbench evaluate {pitch,scoreboard,timbre} ... (see --help)", file=sys.stderr)
        return 2
    if args.classes.strip().isdigit():
        n = int(args.classes)
        if not 1 <= n <= len(DEFAULT_CLASSES):
            raise ParameterError(f"classes={n} is not valid; expected 1-{len(DEFAULT_CLASSES)} or a comma list of families")
        classes = DEFAULT_CLASSES[:n]
    else:
        classes = tuple(_choices(args.classes, "class", FAMILIES))
    methods = _choices(args.methods, "method", METHODS)
    models = {}
    for item in args.model:
        fam, sep, run = item.partition("=")
        if not sep or fam not in FAMILIES or not run:
            raise ParameterError(f"--model {item!r} is not valid; expected FAMILY=RUN_DIR with FAMILY one of "
                                 f"{', '.join(FAMILIES)}")
        models.setdefault(fam, []).append(run)
    protocol = Protocol(melodies=args.melodies, notes=args.notes, classes=classes, source=args.source, low=args.low,
                        high=args.high, tolerance=args.tolerance, tracker=args.tracker, seed=args.seed).validate()
    factories = method_factories(methods, corpus=args.corpus, models=models, runs=args.runs,
                                 train_seconds=args.train_seconds, ddsp_seconds=args.ddsp_seconds, seed=args.seed,
                                 progress=not args.quiet)
    if args.action == "pitch":
        r = run_pitch_protocol(protocol, factories, out=args.out, progress=not args.quiet)
        print("notes lost: " + ", ".join(f"{m} {s['lost_percent']:.1f} %" for m, s in r["by_method"].items())
              + f" ({r['note_evaluations_per_method']} note evaluations per method, {r['seconds']} s); "
              f"report in {args.out}/pitch.md")
    else:
        from analysis.scoreboard import run_scoreboard

        r = run_scoreboard(protocol, factories, corpus=args.corpus, out=args.out, progress=not args.quiet)
        print("scoreboard: " + "; ".join(f"{row['method']} kept {row['kept_percent']:.0f} %, timbre "
                                         f"{row['timbre_accuracy']:.2f}" for row in r["scoreboard"])
              + f" ({r['seconds']} s); report in {args.out}/scoreboard.md")
    return 0


def _evaluate_timbre(args) -> int:
    from analysis.harmonic_timbre import score_methods, target_reference
    from workbench.audio import load

    ref, held = target_reference(args.target, sr=args.sr, seed=args.seed)
    x = load(args.input, sr=args.sr, mono=True)[0][0]
    outs = {str(p): {"input": load(p, sr=args.sr, mono=True)[0][0]} for p in args.outputs}
    print(f"reference: {args.target}, {ref.seconds_:.0f} pitched s, MIDI {ref.pitches_[0]:.0f}-{ref.pitches_[-1]:.0f}; "
          f"held-out target material {held:.2f} dB")
    for r in score_methods(ref, inputs={"input": x}, outputs=outs, target_db=held, sr=args.sr):
        name = args.input if r["method"] == "input" else r["method"]
        if r["distance_db"] is None:
            print(f"{name}: {r['status']}")
        else:
            gap = "-" if r["gap_closed"] is None else f"{r['gap_closed']:.2f}"
            print(f"{name}: {r['distance_db']:.2f} dB over {r['frames']} frames, gap closed {gap}")
    return 0


def _floats(text: str | None, name: str):
    if text is None:
        return None
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ParameterError(f"--{name} {text!r} is not a comma list of numbers") from None


def _cmd_mix(args) -> int:
    import numpy as np

    from effects.latent_mix import LatentMixEffect
    from effects.render import render_file
    from workbench.audio import load

    fx = LatentMixEffect(model=args.model, mode=args.mode, source=args.source, target=args.target, alpha=args.alpha,
                         scale=_floats(args.scale, "scale"), offset=_floats(args.offset, "offset"))
    sr = fx.model_sr
    if args.mode == "morph":
        if not args.morph_input:
            raise ParameterError("--mode morph needs --morph-input (the second input)")
        fx.set_params(morph=load(args.morph_input, sr=sr, mono=True)[0])
    r = render_file(fx, args.input, args.out, sr=sr, channels="mono")  # processed at the model's rate, written at the input's
    if args.trajectory:
        np.savetxt(args.trajectory, fx.latent_trajectory, delimiter=",", fmt="%.6f",
                   header=",".join(f"z{i}" for i in range(fx.latent_dim)), comments="")
    print(f"wrote {args.out} ({r.samples / r.sr:.2f} s at {r.sr} Hz; {args.mode} {fx.source} -> {fx.target}, "
          f"alpha {fx.alpha})")
    return 0


def _cmd_synth(args) -> int:
    from analysis.latent_space import synthesize
    from workbench.audio import save

    y, sr = synthesize(args.model, args.latent, chroma=args.chroma, instrument=args.instrument, seconds=args.seconds,
                       phase=args.phase, seed=args.seed)
    save(args.out, y, sr)
    print(f"wrote {args.out} ({y.size / sr:.2f} s at {sr} Hz, phase {args.phase})")
    return 0


def _cmd_mesh(args) -> int:
    from analysis.latent_space import mesh

    r = mesh(args.model, points=args.points, instrument=args.instrument, synth_check=args.synth_check, seed=args.seed,
             out=args.out, progress=not args.quiet)
    extra = f"; synthesized notes match {r['synth']['share']:.0%}" if "synth" in r else ""
    print(f"mesh of {r['points']} points x 12 classes: mean share matching {r['mean']:.2f}{extra}; "
          f"report in {args.out}/mesh.md")
    return 0


def _cmd_demo(args) -> int:
    from analysis.demo import run_demo

    figures = run_demo(args.data, seed=args.seed, progress=not args.quiet)
    for what, items in figures["files"].items():
        print(f"{what:<11} " + "  ".join(items))
    print(f"done in {figures['seconds']:.0f} s; look and listen: make dashboard")
    return 0


def _cmd_export(args) -> int:
    from effects.export import export_autoencoder, load_exported

    out = export_autoencoder(args.model, args.out, channels=args.channels, mix=args.mix, gate_db=args.gate_db,
                             window=args.window, synthesis_length=args.synthesis_length)
    m = load_exported(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {m.sampling_rate} Hz, blocks of a multiple of "
          f"{m.block_multiple} samples, latency {m.latency_samples} samples, {m.channels} channel(s)")
    return 0


def _cmd_dashboard(args) -> int:
    import importlib.util
    import os
    import subprocess
    from pathlib import Path

    spec = importlib.util.find_spec("dashboard.app")  # installed with the package, or this checkout's
    if spec is None or spec.origin is None:
        raise ParameterError("the dashboard package is missing; expected the workbench installed with its "
                             "dashboard (pip install timbre-workbench)")
    app = Path(spec.origin)
    if not 1 <= args.port <= 65535:
        raise ParameterError(f"--port {args.port} is not valid; expected 1-65535")
    roots = [f"--{k}={os.path.abspath(getattr(args, k))}" for k in ("data", "runs", "reports")]
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.port", str(args.port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--", *roots]
    print(f"dashboard on http://localhost:{args.port} ({' '.join(roots)}); Ctrl-C stops it", flush=True)
    proc = subprocess.Popen(cmd, cwd=app.parent)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches streamlit too: let it shut down before returning
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
        return 130


def _notices() -> None:
    """The packages' logged notices on stderr as "workbench: ..." lines; other libraries stay at warnings."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("workbench: %(message)s"))
    for name in ("workbench", "effects", "models", "analysis"):
        lg = logging.getLogger(name)
        if not lg.handlers:
            lg.addHandler(handler)
            lg.setLevel(logging.INFO)
            lg.propagate = False


def main(argv=None) -> int:
    _notices()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    handlers = {"corpus": _cmd_corpus, "train": _cmd_train, "transfer": _cmd_transfer, "probe": _cmd_probe,
                "embed": _cmd_embed, "pitchcnn": _cmd_pitchcnn, "evaluate": _cmd_evaluate, "mix": _cmd_mix,
                "synth": _cmd_synth, "mesh": _cmd_mesh, "info": _cmd_info, "demo": _cmd_demo,
                "devices": _cmd_devices, "live": _cmd_live, "play": _cmd_play, "dashboard": _cmd_dashboard,
                "export": _cmd_export}
    try:
        return handlers[args.verb](args)
    except ParameterError as err:
        print(f"workbench: error: {err}", file=sys.stderr)
        if isinstance(err, DeviceError):  # show what there is to choose from
            from workbench.devices import format_devices

            print(format_devices(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
