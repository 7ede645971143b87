"""The ``workbench transfer`` verb: audio files through a method."""

from __future__ import annotations

import argparse
import sys

from workbench.cli import _add_method_args, _int, _make_effect
from workbench.errors import ParameterError

_WHOSE = {"model": "the model's ", "sr": "--sr ", "index": "the index's ", "file": ""}  # processing_rate's sources


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the transfer verb to the ``workbench`` command."""
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
    x.add_argument("--device", default="cpu",
                   help="where a model method (autoencoder, ddsp, latent-mix) runs: cpu, cuda, cuda:N or auto "
                        "(default cpu; files are read and written on the CPU either way, and --torchscript is "
                        "CPU only)")
    x.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """One file, or every audio file of a folder, through one effect loaded once (issue 18); returns the exit status."""
    from pathlib import Path

    from effects.cepstral import truncated_length
    from effects.render import parse_channels, processing_rate, render_file
    from workbench.audio import audio_files, info

    src, dst = Path(args.input), Path(args.out)
    chans = parse_channels(args.channels)
    if src.is_dir():
        files = audio_files(src)
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
    noticed, failed = set(), []
    from tqdm import tqdm

    batch = len(pairs) > 1 or src.is_dir()
    for f, out in tqdm(pairs, desc="transfer", unit="file", disable=not batch or args.quiet):
        try:
            file_sr = info(f).samplerate
            sr, source = processing_rate(fx, file_sr=file_sr, sr=args.sr)
            out_sr = args.out_sr or file_sr
            cause = (file_sr, sr, out_sr)
            if file_sr != sr and cause not in noticed:  # one notice per cause, not per file
                noticed.add(cause)
                band = f"; the output has nothing above {sr // 2} Hz" if out_sr > sr else ""
                tqdm.write(f"workbench: note: processing at {_WHOSE[source]}{sr} Hz (input {file_sr} Hz), writing "
                           f"{out_sr} Hz{band}", file=sys.stderr)
            if args.method == "ddsp" and args.auto_register:
                from effects.ddsp import auto_octave_for_file

                shift, med = auto_octave_for_file(fx, f)
                fx.set_params(octave_shift=shift)
                tqdm.write(f"workbench: auto-register: {f.name}: octave shift {shift:+d} (input median MIDI "
                           f"{'none voiced' if med is None else f'{med:.0f}'}, instrument {fx.trained_median:.0f})",
                           file=sys.stderr)
            r = render_file(fx, f, out, sr=sr, out_sr=out_sr, channels=chans, max_samples=truncated_length,
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
