"""The ``workbench mix`` verb: latent mixing between instruments."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.options import comma_floats
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
    mx.add_argument("--alpha", default="0.5", help="0 = A, 1 = B, a number in [0, 1] (default 0.5)")
    mx.add_argument("--mode", default="blend", choices=("blend", "shift", "linear", "morph"))
    mx.add_argument("--morph-input", help="second input for --mode morph")
    mx.add_argument("--scale", help="per-unit fader gains, comma list of latent-width numbers")
    mx.add_argument("--offset", help="per-unit fader offsets, comma list of latent-width numbers")
    mx.add_argument("--trajectory", help="also write the latent trajectory (frames x units) to this CSV")
    mx.add_argument("--out", required=True)
    mx.set_defaults(handler=run)


def _alpha(text: str) -> float:
    """``--alpha`` as a number in [0, 1], or one line saying what was wrong."""
    from workbench.validate import check_number

    try:
        value = float(text)
    except ValueError:
        raise ParameterError(f"--alpha={text!r} is not a number; expected a number in [0, 1] (0 = A, 1 = B)") from None
    check_number(value, "--alpha", lo=0, hi=1, what=" (0 = A, 1 = B)")
    return value


def _writable(path: str, flag: str) -> Path:
    """``path`` if a file can be written there (its folder exists or can be made, it is no folder itself)."""
    import os

    p = Path(path)
    if p.is_dir():
        raise ParameterError(f"{flag} {path!r} is a folder; expected a file path")
    parent = p.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ParameterError(f"{flag} {path!r} cannot be written: {str(parent)!r} is not a writable folder")
    return p


def run(args: argparse.Namespace) -> int:
    """Render the input through a latent mix; returns the exit status.

    Every user mistake is found before anything is written: an alpha that is not a number in
    [0, 1], an output or trajectory path that cannot be written, an instrument the run lacks, the
    same instrument as A and B, or a run with fewer than two instruments (except ``morph``).
    """
    import os
    import tempfile

    import numpy as np

    from effects.latent_mix import LatentMixEffect
    from effects.render import render_file
    from workbench.audio import load

    alpha = _alpha(args.alpha)
    out = _writable(args.out, "--out")
    traj = _writable(args.trajectory, "--trajectory") if args.trajectory else None
    if traj is not None and traj.resolve() == out.resolve():
        raise ParameterError(f"--trajectory {args.trajectory!r} is the --out file; expected another path")
    fx = LatentMixEffect(model=args.model, mode=args.mode, source=args.source, target=args.target, alpha=alpha,
                         scale=comma_floats(args.scale, "scale"), offset=comma_floats(args.offset, "offset"))
    if args.mode != "morph":
        if len(fx.names) < 2:
            raise ParameterError(f"--model {args.model!r} has {len(fx.names)} instrument(s) "
                                 f"({', '.join(fx.names) or 'no instrument code'}); --mode {args.mode} needs a run "
                                 "trained on at least 2 (--set model.condition=onehot on several instruments)")
        if fx.source == fx.target:
            raise ParameterError(f"--from and --to are both {fx.source!r}; expected two different instruments of "
                                 f"the run ({', '.join(fx.names)})")
    sr = fx.model_sr
    if args.mode == "morph":
        if not args.morph_input:
            raise ParameterError("--mode morph needs --morph-input (the second input)")
        fx.set_params(morph=load(args.morph_input, sr=sr, mono=True)[0])
    r = render_file(fx, args.input, out, sr=sr, channels="mono")  # processed at the model's rate, written at the input's
    if traj is not None:
        traj.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=traj.parent, prefix=f".{traj.name}.", suffix=".partial")
        try:
            with os.fdopen(fd, "w") as f:
                np.savetxt(f, fx.latent_trajectory, delimiter=",", fmt="%.6f",
                           header=",".join(f"z{i}" for i in range(fx.latent_dim)), comments="")
            os.replace(tmp, traj)
        except OSError as err:  # nothing half: the audio goes too
            Path(tmp).unlink(missing_ok=True)
            out.unlink(missing_ok=True)
            raise ParameterError(f"--trajectory {str(traj)!r} could not be written ({err.strerror}); nothing "
                                 "written") from None
    print(f"wrote {args.out} ({r.samples / r.sr:.2f} s at {r.sr} Hz; {args.mode} {fx.source} -> {fx.target}, "
          f"alpha {fx.alpha})" + (f" and {args.trajectory}" if traj is not None else ""))
    return 0
