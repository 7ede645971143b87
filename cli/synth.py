"""The ``workbench synth`` and ``workbench mesh`` verbs: decoding points of a run's latent space."""

from __future__ import annotations

import argparse

from cli.options import integer, number


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the synth verbs to the ``workbench`` command."""
    sy = sub.add_parser("synth", help="synthesize from the latent space",
                        description="Decode one latent point (and, for a chroma model, a pitch class) into a held "
                                    "frame; phase from Griffin-Lim or random. Needs a model trained with "
                                    "--set model.output=spectrum.")
    sy.add_argument("--model", required=True)
    sy.add_argument("--latent", required=True, help="comma list, one number per latent unit (sigmoid: 0..1)")
    sy.add_argument("--chroma", help="pitch class C, C#, D ... B (chroma models)")
    sy.add_argument("--instrument", help="instrument code (multi-instrument models)")
    sy.add_argument("--seconds", type=number, default=2.0)
    sy.add_argument("--phase", choices=("griffinlim", "pghi", "noise"), default="griffinlim",
                    help="Griffin-Lim, or frame by frame as `workbench play` does (default griffinlim)")
    sy.add_argument("--seed", type=integer, default=0)
    sy.add_argument("--out", required=True)

    ms = sub.add_parser("mesh", help="chroma mesh of the latent space",
                        description="Seed 002, Table V: for each pitch class, decode a mesh of latent points and report "
                                    "the share whose frame's dominant chroma is the conditioning class; PNG map per "
                                    "class; plus synthesized notes tracked with pYIN.")
    ms.add_argument("--model", required=True)
    ms.add_argument("--points", type=integer, default=50, help="mesh points per axis (2-D) or sqrt of random points")
    ms.add_argument("--instrument", help="instrument code (multi-instrument models)")
    ms.add_argument("--synth-check", type=integer, default=4, help="synthesized notes per class to track (0: none)")
    ms.add_argument("--seed", type=integer, default=0)
    ms.add_argument("--out", required=True)
    sy.set_defaults(handler=run_synth)
    ms.set_defaults(handler=run_mesh)


def run_synth(args: argparse.Namespace) -> int:
    """Write the audio of one latent point; returns the exit status."""
    from analysis.latent_space import synthesize
    from workbench.audio import save

    y, sr = synthesize(args.model, args.latent, chroma=args.chroma, instrument=args.instrument, seconds=args.seconds,
                       phase=args.phase, seed=args.seed)
    save(args.out, y, sr)
    print(f"wrote {args.out} ({y.size / sr:.2f} s at {sr} Hz, phase {args.phase})")
    return 0


def run_mesh(args: argparse.Namespace) -> int:
    """Write the chroma mesh report; returns the exit status."""
    from analysis.latent_space import mesh

    r = mesh(args.model, points=args.points, instrument=args.instrument, synth_check=args.synth_check, seed=args.seed,
             out=args.out, progress=not args.quiet)
    extra = f"; synthesized notes match {r['synth']['share']:.0%}" if "synth" in r else ""
    print(f"mesh of {r['points']} points x 12 classes: mean share matching {r['mean']:.2f}{extra}; "
          f"report in {args.out}/mesh.md")
    return 0
