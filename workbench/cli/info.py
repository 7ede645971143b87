"""The ``workbench info`` verb: check an audio file."""

from __future__ import annotations

import argparse
import json

from workbench.cli import _int


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the info verb to the ``workbench`` command."""
    i = sub.add_parser("info", help="check an audio file", description="Load an audio file with the "
                       "workbench's checks and print its shape, sample rate, duration and peak level.")
    i.add_argument("path")
    i.add_argument("--sr", type=_int, help="resample to this rate first")
    i.add_argument("--min-samples", type=_int, default=1, help="fewest samples accepted (e.g. one n_fft frame)")
    i.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print an audio file's shape, rate, length and peak as JSON; returns the exit status."""
    import numpy as np

    from workbench.audio import load

    audio, sr = load(args.path, sr=args.sr, min_samples=args.min_samples)
    peak = float(np.abs(audio).max())
    print(json.dumps({"path": args.path, "channels": audio.shape[0], "samples": audio.shape[1], "sr": sr,
                      "seconds": round(audio.shape[1] / sr, 4),
                      "peak_dbfs": round(20 * np.log10(max(peak, 1e-12)), 2)}))
    return 0
