"""The ``workbench mix`` verb: latent mixing between instruments."""

from __future__ import annotations

import argparse

from workbench.cli import _float, _floats
from workbench.errors import ParameterError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the mix verb to the ``workbench`` command."""
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
    mx.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Render the input through a latent mix; returns the exit status."""
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
