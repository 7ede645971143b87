"""The ``workbench transfer`` verb: audio files through a method."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cli.options import add_method_args, effect_from_args, integer
from workbench.errors import ParameterError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the transfer verb to the ``workbench`` command."""
    x = sub.add_parser("transfer", help="process an audio file with a method",
                       description="Play an input file, or every audio file of a folder, through a "
                                   "timbre-transfer method. The input is resampled to the model's rate (with one "
                                   "notice) and the output written at the input's rate and channel count; a model "
                                   "at 16 kHz leaves nothing above 8 kHz. Files stream in blocks, so any length "
                                   "fits in memory, and an interrupted file leaves nothing under its name.")
    add_method_args(x, n_fft=1024, hop=256)
    x.add_argument("--sr", type=integer, help="processing rate for cepstral/mosaic (default: the input's)")
    x.add_argument("--save-index", help="mosaic: save the fitted index (arrays + JSON) to this folder")
    x.add_argument("--input", required=True, help="audio file (wav, flac, ogg, mp3...), or a folder of them")
    x.add_argument("--out", required=True, help="output audio file, or a folder when --input is a folder")
    x.add_argument("--out-sr", type=integer, help="output sample rate in Hz (default: the input's)")
    x.add_argument("--channels", default="keep",
                   help="keep (default: process and write every channel), mono (mix down first), or N: write N "
                        "channels (the input's own when it has N, else its mono mix on each)")
    x.add_argument("--device", default="cpu",
                   help="where a model method (autoencoder, ddsp, latent-mix) runs: cpu, cuda, cuda:N or auto "
                        "(default cpu; files are read and written on the CPU either way, and --torchscript is "
                        "CPU only)")
    x.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """One file, or every audio file of a folder, through one effect loaded once (issue 18); returns the exit status."""
    from tqdm import tqdm

    from effects.render import parse_channels, render_files

    pairs = _pairs(args.input, args.out)
    chans = parse_channels(args.channels)
    fx = effect_from_args(args)
    batch = len(pairs) > 1 or os.path.isdir(args.input)
    done, failed = render_files(fx, pairs, sr=args.sr, out_sr=args.out_sr, channels=chans, progress=not args.quiet,
                                notify=lambda line: tqdm.write(f"workbench: {line}", file=sys.stderr))
    if args.method == "mosaic" and args.save_index and done:
        fx.index.save(args.save_index)
    if not batch:
        r = done[0]
        print(f"wrote {r.path} ({r.channels} channel(s), {r.samples / r.sr:.2f} s at {r.sr} Hz, "
              f"method {args.method}, processed at {r.processing_sr} Hz)")
        return 0
    print(f"wrote {len(done)} of {len(pairs)} file(s) to {args.out} (method {args.method})")
    if failed:
        print(f"workbench: error: {len(failed)} file(s) failed: {', '.join(f.name for f, _ in failed)}",
              file=sys.stderr)
        return 1
    return 0


def _pairs(input: str, out: str) -> list[tuple[Path, Path]]:
    """(input, output) paths: one file, or each audio file of a folder into an output folder."""
    from workbench.audio import audio_files, info

    src, dst = Path(input), Path(out)
    if not src.is_dir():
        info(src)  # a missing or unreadable input is reported before a model or target is loaded
        return [(src, dst)]
    files = audio_files(src)
    if not files:
        raise ParameterError(f"--input {str(src)!r} is a folder with no audio files; expected .wav, .flac, "
                             f".ogg, .mp3 or another format libsndfile reads")
    if dst.exists() and not dst.is_dir():
        raise ParameterError(f"--out {str(dst)!r} is a file; with a folder --input, expected an output folder")
    return [(f, dst / f.name) for f in files]
