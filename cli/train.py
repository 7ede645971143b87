"""The ``workbench train`` verb: an autoencoder or DDSP run folder from target material."""

from __future__ import annotations

import argparse

from cli.options import integer
from workbench.config import PRESETS
from workbench.errors import ParameterError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the train verb to the ``workbench`` command."""
    t = sub.add_parser("train", help="train an instrument model (autoencoder or ddsp)",
                       description="Train the LSTM-context STFT autoencoder (default) or the DDSP-style "
                                   "harmonic-plus-noise model (--method ddsp) on the target instrument. Writes a "
                                   "run folder: model.safetensors, config.json, meta.json, loss.csv, and scorecard.csv (the "
                                   "scorecard measured every --scorecard-every epochs and at the end).")
    t.add_argument("--method", choices=("autoencoder", "ddsp"), default="autoencoder",
                   help="autoencoder (default) or ddsp: CREPE f0 + loudness -> GRU -> harmonics + filtered noise")
    t.add_argument("--target", required=True,
                   help="audio file, folder of audio, or corpus selection CORPUS:key=value,... "
                        "(e.g. data/gm:family=brass,split=train or data/gm:program=56)")
    t.add_argument("--out", required=True, help="run folder, e.g. runs/trumpet")
    t.add_argument("--preset", choices=tuple(PRESETS),
                   help="nsynth: 16 kHz, n_fft 1024; voice: 16 kHz, n_fft 2048 (speech and low voices through "
                        "reeds, offline); quality: 44.1 kHz, n_fft 2048; low-latency: 44.1 kHz, n_fft 512; "
                        "low-delay: low-latency trained and played with the low-delay STFT windows (5.8 ms)")
    t.add_argument("--config", help="TOML file with [audio], [model], [train] tables")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting, e.g. --set train.epochs=20 (repeatable)")
    t.add_argument("--seed", type=integer, default=0)
    t.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    t.add_argument("--device", default="cpu",
                   help="cpu, cuda, cuda:N or auto (default cpu). Under torchrun each process takes its "
                        "LOCAL_RANK's GPU, or the CPU with the gloo backend")
    t.add_argument("--force", action="store_true",
                   help="train even on material `workbench doctor` calls not enough")
    t.add_argument("--scorecard-every", type=integer, metavar="N",
                   help="measure the scorecard every N epochs and at the end (default: train.scorecard_every, 10): "
                        "matched-pitch timbre gap against held-out clips, raw pitch accuracy and loudness "
                        "correlation of a sung phrase played through the current weights, ms per hop; written to "
                        "scorecard.csv in the run folder")
    t.add_argument("--stop-on", metavar="WHAT",
                   help="loss (default): stop when the valid loss has not improved for train.patience epochs; "
                        "scorecard: when the scorecard's gap has not improved by train.scorecard_margin for "
                        "train.scorecard_patience measurements")
    t.add_argument("--scorecard-voice", metavar="FILE",
                   help="the phrase the scorecard plays through the model (default: a fixed phrase sung by Festival)")
    t.add_argument("--no-scorecard", action="store_true", help="train without the scorecard")
    t.set_defaults(handler=run)


def _check_material(paths, target: str) -> None:
    """Refuse material the doctor calls "not enough" (a quick look: 20 s pitch-tracked)."""
    from analysis.doctor import examine

    verdict = examine(list(paths), name=target, pitch_seconds=20.0, budget_seconds=1800.0)["verdict"]
    if verdict["verdict"] == "not enough":
        raise ParameterError(f"{verdict['reason']}; `workbench doctor` explains, --force trains anyway")


def _scorecard_settings(args: argparse.Namespace) -> list[str]:
    """The ``--set`` overrides the scorecard flags stand for (checked here, so errors name the flag)."""
    from workbench.config import STOP_ON

    sets = []
    if args.scorecard_every is not None:
        if args.scorecard_every <= 0:
            raise ParameterError(f"--scorecard-every={args.scorecard_every} must be a positive number of epochs")
        sets.append(f"train.scorecard_every={args.scorecard_every}")
    if args.stop_on is not None:
        if args.stop_on not in STOP_ON:
            raise ParameterError(f"--stop-on={args.stop_on!r} is not valid; expected one of "
                                 f"{', '.join(map(repr, STOP_ON))}")
        sets.append(f"train.stop_on={args.stop_on}")
    if args.no_scorecard and (args.stop_on == "scorecard" or args.scorecard_every is not None or args.scorecard_voice):
        raise ParameterError("--no-scorecard cannot go with --stop-on scorecard, --scorecard-every or "
                             "--scorecard-voice")
    return sets


def _callbacks(args: argparse.Namespace, cfg) -> list:
    """The scorecard, unless --no-scorecard (then stopping on it is refused)."""
    if args.no_scorecard:
        if cfg.train.stop_on == "scorecard":
            raise ParameterError("train.stop_on='scorecard' needs the scorecard; drop --no-scorecard")
        return []
    from analysis.scorecard import Scorecard

    return [Scorecard(voice=args.scorecard_voice)]


def _print_scorecard(meta: dict) -> None:
    row = meta.get("scorecard")
    if not row:
        return
    cell = lambda k, spec=".3f": "-" if row.get(k) is None else format(row[k], spec)  # noqa: E731
    print(f"scorecard at epoch {row['epoch']}: gap {cell('gap')} (timbre {cell('timbre_db', '.2f')} dB, voice "
          f"{cell('input_db', '.2f')} dB, floor {cell('floor_db', '.2f')} dB), pitch accuracy "
          f"{cell('pitch_accuracy')}, loudness correlation {cell('loudness_correlation')}, "
          f"{cell('ms_per_hop', '.2f')} ms per hop; scorecard time {meta.get('scorecard_overhead_seconds')} s")


def run(args: argparse.Namespace) -> int:
    """Train a run folder (under torchrun: this rank's share); returns the exit status."""
    from models.distributed import process_group, resolve_device
    from models.training import train_or_reuse
    from workbench.config import make_config

    sets = [*args.set, *_scorecard_settings(args)]
    cfg = make_config(preset=args.preset, file=args.config, overrides=sets, seed=args.seed, method=args.method)
    callbacks = _callbacks(args, cfg)
    if args.method == "ddsp" and args.resume:
        raise ParameterError("--resume: --method ddsp trains from the start; --resume is for the autoencoder")
    check = None if args.force or args.resume else (lambda paths: _check_material(paths, args.target))
    kw = dict(reuse=False, resume=args.resume, check=check, callbacks=callbacks, progress=not args.quiet)
    if args.method == "ddsp":
        meta = train_or_reuse(args.target, cfg, args.out, describe={"target": args.target},
                              device=resolve_device(args.device), **kw)
        p = meta["pitch_midi"]
        print(f"trained {meta['epochs_run']} epochs in {meta['train_seconds']} s ({meta['stopped_by']}); best valid "
              f"loss {meta['best_valid_loss']:.4f} at epoch {meta['best_epoch']}; pitch range MIDI {p['p5']:.0f}-"
              f"{p['p95']:.0f}; run in {args.out}")
    else:
        with process_group(args.device) as where:  # under torchrun: this rank's device, joined to the others
            meta = train_or_reuse(args.target, cfg, args.out, describe={"target": args.target, "preset": args.preset},
                                  device=where.device, world_size=where.world_size, rank=where.rank, **kw)
        if where.rank:
            return 0
        print(f"trained {meta['epochs_run']} epochs in {meta['train_seconds']} s ({meta['stopped_by']}); best valid "
              f"loss {meta['best_valid_loss']:.5f} at epoch {meta['best_epoch']}; run in {args.out}")
    _print_scorecard(meta)
    return 0
