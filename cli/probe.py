"""The ``workbench probe`` and ``workbench pitchcnn`` verbs: what note features and raw audio know."""

from __future__ import annotations

import argparse

from cli.options import add_compute_args, comma_choices, compute_from_args, integer, number


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the probe verbs to the ``workbench`` command."""
    pr = sub.add_parser("probe", help="classifier probes of note features",
                        description="What does each representation know? Fits StandardScaler pipelines on "
                                    "features of the corpus notes, with instrument-grouped folds and the "
                                    "held-out test split; writes results.json, results.md and confusion matrices.")
    pr.add_argument("--corpus", required=True, help="NSynth-format corpus folder")
    pr.add_argument("--features", default="mfcc,scattering", help="comma list of mfcc, scattering, latent:RUN_DIR; "
                                                                 "join sets with + (e.g. mfcc+scattering)")
    pr.add_argument("--label", default="family", choices=("family", "pitch_class", "velocity", "source"))
    pr.add_argument("--classifiers", default="logreg,svm,knn,rf,mlp", help="comma list of logreg,svm,knn,rf,mlp")
    pr.add_argument("--folds", type=integer, default=5)
    pr.add_argument("--cache", default="reports/cache", help="feature cache folder")
    pr.add_argument("--out", required=True)
    pr.add_argument("--seed", type=integer, default=0)
    add_compute_args(pr)

    pc = sub.add_parser("pitchcnn", help="raw-audio pitch CNN probe",
                        description="Train seed 001's raw-waveform pitch classifier (conv + average pooling, "
                                    "128 MIDI pitches) on the corpus's train+valid notes and score it on the "
                                    "instrument-disjoint test split; writes results.json/md, history.csv, accuracy.png.")
    pc.add_argument("--corpus", required=True, help="NSynth-format corpus folder")
    pc.add_argument("--epochs", type=integer, default=15)
    pc.add_argument("--seconds", type=number, default=4.0, help="audio per note in s (default 4, as in the seed)")
    pc.add_argument("--lr", type=number, default=1e-3)
    pc.add_argument("--out", required=True)
    pc.add_argument("--seed", type=integer, default=0)
    add_compute_args(pc, ray=False)
    pr.set_defaults(handler=run_probe)
    pc.set_defaults(handler=run_pitchcnn)


def run_probe(args: argparse.Namespace) -> int:
    """Fit and score the classifier probes; returns the exit status."""
    from analysis.probes import CLASSIFIERS, probe_corpus

    res = probe_corpus(args.corpus, features=args.features, label=args.label,
                       classifiers=comma_choices(args.classifiers, "classifier", CLASSIFIERS), folds=args.folds,
                       cache=args.cache, out=args.out, seed=args.seed, progress=not args.quiet, compute=compute_from_args(args))
    best = max(res["probes"], key=lambda r: r["test_accuracy"])
    print(f"probed {len(res['probes'])} feature/classifier pairs on {res['train_notes']}+{res['test_notes']} notes; "
          f"best test accuracy {best['test_accuracy']:.3f} ({best['features']} + {best['classifier']}); "
          f"report in {args.out}/results.md")
    return 0


def run_pitchcnn(args: argparse.Namespace) -> int:
    """Train and score the raw-audio pitch CNN; returns the exit status."""
    from analysis.pitch_probe import run_pitch_cnn

    r = run_pitch_cnn(args.corpus, out=args.out, epochs=args.epochs, seconds=args.seconds, lr=args.lr,
                      seed=args.seed, progress=not args.quiet, device=compute_from_args(args).device)
    print(f"pitch CNN: test accuracy {r['test_accuracy']:.3f} on {r['test_notes']} notes of unseen instruments "
          f"(within a semitone {r['within_semitone']:.3f}; majority pitch {r['chance_majority']:.3f}); "
          f"report in {args.out}/results.md")
    return 0
