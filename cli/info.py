"""The ``workbench info`` verb: check an audio file, or summarise a run folder and its last scorecard."""

from __future__ import annotations

import argparse
import json

from cli.options import integer


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the info verb to the ``workbench`` command."""
    i = sub.add_parser("info", help="check an audio file, or summarise a run folder",
                       description="Load an audio file with the workbench's checks and print its shape, sample "
                                   "rate, duration and peak level as JSON. Given a run folder (workbench train "
                                   "--out), print its method, epochs, stop reason, best valid loss and the last "
                                   "row of its scorecard.csv.")
    i.add_argument("path", help="audio file or run folder")
    i.add_argument("--sr", type=integer, help="resample to this rate first")
    i.add_argument("--min-samples", type=integer, default=1, help="fewest samples accepted (e.g. one n_fft frame)")
    i.set_defaults(handler=run)


def _run_folder(path: str) -> int:
    """Print a run folder's summary and its last scorecard row (JSON, then a line per figure)."""
    from analysis.scorecard import read_scorecard
    from models.run_info import run_info

    info = run_info(path)
    meta = info["meta"]
    rows = read_scorecard(path)
    last = rows[-1] if rows else None
    print(json.dumps({"run": path, "method": info["method"], "status": meta.get("status"),
                      "epochs_run": meta.get("epochs_run"), "stopped_by": meta.get("stopped_by"),
                      "best_epoch": meta.get("best_epoch"), "best_valid_loss": meta.get("best_valid_loss"),
                      "scorecard_rows": len(rows), "scorecard": last}))
    if last is None:
        print("no scorecard.csv in this run (trained with --no-scorecard, or before issue 26)")
        return 0
    print(f"last scorecard (epoch {last['epoch']}, {last['seconds']} s into training):")
    for key in COLUMN_LABELS:
        v = last.get(key)
        print(f"  {COLUMN_LABELS[key]:<34} {'-' if v is None else v}")
    return 0


COLUMN_LABELS = {"gap": "timbre gap closed (1 = instrument)", "timbre_db": "timbre distance of the output (dB)",
                 "input_db": "timbre distance of the voice (dB)", "floor_db": "floor: held-out clips (dB)",
                 "judged_share": "judged share of the voice's frames", "pitch_accuracy": "raw pitch accuracy (50 c)",
                 "loudness_correlation": "loudness correlation", "ms_per_hop": "ms per hop (streaming)",
                 "hop_load": "share of the hop's duration", "measure_seconds": "seconds to measure"}


def run(args: argparse.Namespace) -> int:
    """Print an audio file's shape, rate, length and peak as JSON (a run folder: its summary and
    last scorecard); returns the exit status."""
    from pathlib import Path

    import numpy as np

    from workbench.audio import load

    if Path(args.path).is_dir():
        from models.checkpoint import RunFolder

        if not RunFolder(args.path).is_run():
            from workbench.errors import ParameterError

            raise ParameterError(f"{args.path!r} is a directory without config.json; expected an audio file or a run "
                                 f"folder (workbench train --out)")
        return _run_folder(args.path)

    audio, sr = load(args.path, sr=args.sr, min_samples=args.min_samples)
    peak = float(np.abs(audio).max())
    print(json.dumps({"path": args.path, "channels": audio.shape[0], "samples": audio.shape[1], "sr": sr,
                      "seconds": round(audio.shape[1] / sr, 4),
                      "peak_dbfs": round(20 * np.log10(max(peak, 1e-12)), 2)}))
    return 0
