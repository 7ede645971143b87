"""The ``workbench demo`` verb: the main job on the embedded corpus."""

from __future__ import annotations

import argparse

from cli.options import integer


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the demo verb to the ``workbench`` command."""
    d = sub.add_parser("demo", help="the main job on the embedded corpus",
                       description="Render the demo corpus, trumpet melodies and voice material into --data "
                                   "and print where everything is.")
    d.add_argument("--data", default="data", help="data folder (default: data)")
    d.add_argument("--seed", type=integer, default=0)
    d.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the demo material and print where it is; returns the exit status."""
    from analysis.demo import run_demo

    figures = run_demo(args.data, seed=args.seed, progress=not args.quiet)
    for what, items in figures["files"].items():
        print(f"{what:<11} " + "  ".join(items))
    print(f"done in {figures['seconds']:.0f} s; look and listen: make dashboard")
    return 0
