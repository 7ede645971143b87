"""The ``workbench export`` verb: a trained run (autoencoder or DDSP) as a streaming TorchScript file."""

from __future__ import annotations

import argparse

from cli.options import integer, number


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the export verb to the ``workbench`` command."""
    ex = sub.add_parser("export", help="a trained run (autoencoder or ddsp) as a streaming TorchScript file",
                        description="Write a run as a TorchScript module that processes audio block by block with "
                                    "its state inside (load it with torch.jit.load in Python or torch::jit::load in "
                                    "C++). An autoencoder run or a ddsp run (`train --method ddsp`), told apart by "
                                    "its config.json. forward(x): (batch, channels, n) or (channels, n) float32 at "
                                    "the model's rate, n a multiple of its block_multiple (the hop); attributes "
                                    "sampling_rate, latency_samples, block_multiple, channels, n_fft; reset().")
    ex.add_argument("--model", required=True, help="run folder from `workbench train` (autoencoder: one instrument)")
    ex.add_argument("--out", required=True, help="the .ts file to write")
    ex.add_argument("--channels", type=integer, default=1, help="channels processed, each on its own (default 1)")
    ex.add_argument("--mix", type=number, default=1.0, help="0 = dry, 1 = fully transferred (fixed in the file)")
    ex.add_argument("--gate-db", type=number, default=-60.0, help="input level below which output is silent")
    ex.add_argument("--window", choices=("hann", "low-delay"),
                    help="autoencoder: STFT windows, hann or low-delay (latency 2 * hop - 1); default: the run's")
    ex.add_argument("--synthesis-length", type=integer,
                    help="autoencoder: low-delay synthesis window in samples (default 2 * hop)")
    ex.add_argument("--octave-shift", type=integer, help="ddsp: octaves added to the input's pitch (-4..4, default 0)")
    ex.add_argument("--seed", type=integer, help="ddsp: seed of the noise (default 0; reset() restarts it)")
    ex.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the TorchScript file and describe it; returns the exit status."""
    from effects.export import load_exported
    from models.checkpoint import run_method
    from workbench.errors import ParameterError

    method = run_method(args.model)
    if method == "ddsp":
        from effects.export_ddsp import export_ddsp

        if args.window is not None or args.synthesis_length is not None:
            raise ParameterError("--window and --synthesis-length are for autoencoder runs; "
                                 f"{args.model} is a ddsp run")
        out = export_ddsp(args.model, args.out, channels=args.channels, mix=args.mix, gate_db=args.gate_db,
                          octave_shift=args.octave_shift or 0, seed=0 if args.seed is None else args.seed)
    else:
        from effects.export import export_autoencoder

        if args.octave_shift is not None or args.seed is not None:
            raise ParameterError(f"--octave-shift and --seed are for ddsp runs; {args.model} is not one")
        out = export_autoencoder(args.model, args.out, channels=args.channels, mix=args.mix, gate_db=args.gate_db,
                                 window=args.window, synthesis_length=args.synthesis_length)
    m = load_exported(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {method}, {m.sampling_rate} Hz, blocks of a multiple of "
          f"{m.block_multiple} samples, latency {m.latency_samples} samples, {m.channels} channel(s)")
    return 0
