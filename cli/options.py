"""The options several verbs share, and the argument types every verb uses.

- argument types: :func:`integer` and :func:`number` (one-line errors naming the bad text), and
  the comma lists :func:`comma_choices` and :func:`comma_floats`;
- the compute options (``--device``, ``--workers``, ``--ray-address``) of probe, embed and
  evaluate, and the :class:`~analysis.parallel.Compute` they ask for;
- the method options of transfer and live (``--method``, ``--model``, ``--target`` and each
  method's settings), and the effect they build (:func:`effect_from_args`);
- the stream and control options of live and play (devices, rate, block, buffering, recording,
  MIDI/OSC).

Only argparse and the core's errors load here, so ``--help`` stays fast; the library loads when
a verb runs.
"""

from __future__ import annotations

import argparse

from workbench.errors import ParameterError

__all__ = ["integer", "number", "comma_choices", "comma_floats", "add_compute_args", "compute_from_args", "add_method_args",
           "EFFECT_OPTIONS", "effect_from_args", "add_stream_args", "add_control_args"]


def integer(text: str) -> int:
    """An ``int`` argument type whose error names the text (argparse prints it as one line)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def number(text: str) -> float:
    """A ``float`` argument type whose error names the text (argparse prints it as one line)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def add_compute_args(p, *, ray: bool = True) -> None:
    """``--device`` (and ``--workers``, ``--ray-address`` where tasks can go to Ray)."""
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    if ray:
        p.add_argument("--workers", type=integer, default=0,
                       help="0: in this process (default); N: a local Ray with N worker processes")
        p.add_argument("--ray-address", default=None, help="run the tasks on this Ray cluster (e.g. ray://head:10001)")


def compute_from_args(args):
    """The :class:`analysis.parallel.Compute` the command line asks for (device checked here)."""
    from analysis.parallel import Compute
    from models.distributed import resolve_device

    return Compute(device=resolve_device(args.device), workers=getattr(args, "workers", 0),
                   ray_address=getattr(args, "ray_address", None))


def comma_choices(text: str, name: str, allowed) -> list[str]:
    """A comma list of names, each checked against ``allowed`` (one-line error naming the bad one)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    for item in items:
        if item not in allowed:
            raise ParameterError(f"{name}={item!r} is not valid; expected one of {', '.join(allowed)}")
    if not items:
        raise ParameterError(f"{name} list {text!r} is empty; expected one or more of {', '.join(allowed)}")
    return items


def comma_floats(text: str | None, name: str):
    """A comma list of numbers (``None`` stays ``None``), or a one-line error naming ``--name``."""
    if text is None:
        return None
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ParameterError(f"--{name} {text!r} is not a comma list of numbers") from None


def add_method_args(x, *, n_fft: int, hop: int) -> None:
    """The options that choose and configure a method (shared by transfer and live)."""
    x.add_argument("--method", default="autoencoder", choices=tuple(EFFECT_OPTIONS),
                   help="autoencoder, ddsp or latent-mix (need --model), cepstral or mosaic (need --target)")
    x.add_argument("--model", help="run folder from `workbench train` (autoencoder, ddsp, latent-mix)")
    x.add_argument("--octave-shift", type=integer, default=0, help="ddsp: octaves added to the input's pitch (-4..4)")
    x.add_argument("--auto-register", action="store_true",
                   help="ddsp: shift the input by whole octaves so its median pitch lands nearest the "
                        "instrument's trained median (files: measured first; live: not available)")
    x.add_argument("--from", dest="mix_from", help="latent-mix: instrument A (default: the run's first)")
    x.add_argument("--to", dest="mix_to", help="latent-mix: instrument B (default: the run's last)")
    x.add_argument("--alpha", type=number, default=0.0, help="latent-mix: 0 = A, 1 = B (default 0)")
    x.add_argument("--latent-mode", choices=("blend", "shift", "linear"), default="blend",
                   help="latent-mix: blend the instrument code, shift by class means, or a linear map")
    x.add_argument("--target", help="timbre source for cepstral/mosaic: audio file, folder, CORPUS:key=value, "
                                    "or a saved mosaic index folder")
    x.add_argument("--n-fft", type=integer, default=n_fft, help=f"cepstral/mosaic frame (default {n_fft})")
    x.add_argument("--hop", type=integer, default=hop, help=f"cepstral/mosaic hop (default {hop})")
    x.add_argument("--lifter", type=integer, help="cepstral lifter order, input and target (default 30 at n_fft 1024)")
    x.add_argument("--envelope", choices=("timevarying", "mean"), default="timevarying", help="cepstral target envelope")
    x.add_argument("--length-policy", choices=("loop", "stretch", "truncate"), default="loop",
                   help="cepstral: when the input outlasts the target (default loop; stretch is offline only)")
    x.add_argument("--k", type=integer, default=5, help="mosaic kNN candidates (default 5)")
    x.add_argument("--continuity", type=number, default=0.5, help="mosaic bonus for the next grain (default 0.5)")
    x.add_argument("--repeat-window", type=integer, default=8, help="mosaic: no grain twice within N frames (default 8)")
    x.add_argument("--window", choices=("hann", "low-delay"),
                   help="autoencoder/cepstral/latent-mix STFT windows: hann (latency n_fft - 1) or low-delay (long "
                        "analysis, short synthesis window: latency 2 * hop - 1); default: the run's, or hann")
    x.add_argument("--synthesis-length", type=integer,
                   help="low-delay synthesis window in samples, hop < L <= 2 * hop (default 2 * hop)")
    x.add_argument("--torchscript", action="store_true",
                   help="autoencoder: run each hop as a traced TorchScript step (same output, about 30%% less "
                        "compute per hop; single-instrument runs without chroma)")
    x.add_argument("--mix", type=number, default=1.0, help="0 = dry, 1 = fully transferred (default 1)")
    x.add_argument("--gate-db", type=number, default=-60.0, help="input level below which output is silent")


# The method options as each effect takes them: effect keyword <- the option's argparse ``dest``.
# The constructors are the registry's (effects.registry.make_effect); this table only says which
# option feeds which keyword, and so which method takes which option. The model methods also get
# the ``--device`` that transfer asks for.
_LEVEL = {"mix": "mix", "gate_db": "gate_db"}
_WINDOWS = {"window": "window", "synthesis_length": "synthesis_length"}
_FRAMES = {"target": "target", "n_fft": "n_fft", "hop_length": "hop"}
EFFECT_OPTIONS = {
    "autoencoder": {"model": "model", "torchscript": "torchscript", **_WINDOWS, **_LEVEL},
    "ddsp": {"model": "model", "octave_shift": "octave_shift", "auto_register": "auto_register", **_LEVEL},
    "cepstral": {**_FRAMES, "lifter_input": "lifter", "lifter_target": "lifter", "envelope": "envelope",
                 "length_policy": "length_policy", **_WINDOWS, **_LEVEL},
    "mosaic": {**_FRAMES, "k": "k", "continuity": "continuity", "repeat_window": "repeat_window", **_LEVEL},
    "latent-mix": {"model": "model", "mode": "latent_mode", "source": "mix_from", "target": "mix_to", "alpha": "alpha",
                   **_WINDOWS, **_LEVEL},
}
# options refused (the others are ignored) when set for a method that does not take them; the
# ddsp pair is checked before --model/--target, the rest after --device
_REFUSED_FOR_OTHERS = (("octave_shift", "auto_register"), ("torchscript",), ("window", "synthesis_length"))


def effect_from_args(args):
    """The effect the method options in ``args`` ask for (transfer's or live's parsed command line).

    :func:`effects.registry.make_effect` builds it from the keywords :data:`EFFECT_OPTIONS` maps
    the options to. Raises a one-line ``ParameterError``, checked in this order, for an option
    only ddsp takes, a missing ``--model`` or ``--target``, a ``--device`` the method cannot
    use, and ``--torchscript``, ``--window`` or ``--synthesis-length`` for a method that does
    not take it.
    """
    from effects.registry import MODEL_METHODS, make_effect

    _refuse_if_not_taken(args, _REFUSED_FOR_OTHERS[0])
    if args.method in MODEL_METHODS and not args.model:
        kind = {"ddsp": "`workbench train --method ddsp`", "latent-mix": "a multi-instrument run"}
        raise ParameterError(f"--method {args.method} needs --model RUN_DIR "
                             f"({kind.get(args.method, 'from `workbench train`')})")
    if args.method not in MODEL_METHODS and not args.target:
        raise ParameterError(f"--method {args.method} needs --target (audio file, folder or CORPUS:key=value)")
    device = _device(args)
    for dests in _REFUSED_FOR_OTHERS[1:]:
        _refuse_if_not_taken(args, dests)
    options = {keyword: getattr(args, dest) for keyword, dest in EFFECT_OPTIONS[args.method].items()}
    if args.method in MODEL_METHODS:
        options["device"] = device
    return make_effect(args.method, **options)


def _refuse_if_not_taken(args, dests: tuple[str, ...]) -> None:
    """One line when an option of ``dests`` is set and ``--method`` does not take it (per the table)."""
    if not any(getattr(args, d) for d in dests) or set(dests) <= set(EFFECT_OPTIONS[args.method].values()):
        return
    takers = sorted(m for m, options in EFFECT_OPTIONS.items() if set(dests) <= set(options.values()))
    who = f"--method {takers[0]}" if len(takers) == 1 else f"{', '.join(takers[:-1])} and {takers[-1]}"
    flags = " and ".join("--" + d.replace("_", "-") for d in dests)
    raise ParameterError(f"{flags} {'is' if len(dests) == 1 else 'are'} for {who}, not {args.method}")


def _device(args) -> str | None:
    """Transfer's ``--device`` for the method (None for live, which runs on the CPU, and for the
    classical methods, which take no device)."""
    from effects.registry import MODEL_METHODS

    if getattr(args, "device", None) is None:
        return None
    from models.distributed import resolve_device

    device = resolve_device(args.device)
    cpu_only = args.method not in MODEL_METHODS or args.torchscript
    if device != "cpu" and cpu_only and args.device == "auto":
        device = "cpu"  # auto: the CPU is where this method (or the traced step) runs
    elif device != "cpu" and args.method not in MODEL_METHODS:
        raise ParameterError(f"--device {args.device} is for the model methods ({', '.join(MODEL_METHODS)}); "
                             f"{args.method} runs on the CPU")
    return device if args.method in MODEL_METHODS else None


def add_stream_args(p, *, input_help: str, rate_help: str, prefill_help: str, record_help: str) -> None:
    """The stream options `live` and `play` share: devices, rate, block, buffering, recording, MIDI/OSC."""
    p.add_argument("--input-device", help=input_help)
    p.add_argument("--output-device", help="device index or part of its name (default: the default output)")
    p.add_argument("--samplerate", type=integer, help=rate_help)
    p.add_argument("--blocksize", type=integer, default=128, help="frames per callback (default 128)")
    p.add_argument("--latency", default="low", help="PortAudio device latency: low, high or seconds (default low)")
    p.add_argument("--prefill", type=integer, help=prefill_help)
    p.add_argument("--record", help=record_help)
    p.add_argument("--seconds", type=number, help="stop after this long (required when stdin is not a terminal)")
    p.add_argument("--stats", help="write the run's statistics (JSON) to this file")
    add_control_args(p)


def add_control_args(x) -> None:
    x.add_argument("--midi", metavar="PORT", help="MIDI source port (or part of its name) for faders, knobs, notes")
    x.add_argument("--midi-api", choices=("alsa", "jack"), help="MIDI system (default: ALSA sequencer if present, "
                                                                "else JACK MIDI)")
    x.add_argument("--osc", metavar="PORT", type=integer, help="UDP port for OSC control on --osc-host")
    x.add_argument("--osc-host", default="127.0.0.1", help="address to listen on for OSC (default 127.0.0.1)")
    x.add_argument("--map", dest="mapping", metavar="FILE",
                   help="control mapping TOML (default: an 8-fader layout; with --learn the file is written)")
    x.add_argument("--learn", metavar="PARAM", help="bind the next control that moves to PARAM (mix, bypass, gain, "
                                                    "alpha, mode, fader.N.scale, fader.N.offset, latent.N, octave)")
    x.add_argument("--smooth-ms", type=number, default=5.0, help="ramp time of controlled parameters (default 5)")
