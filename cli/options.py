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
           "effect_from_args", "add_stream_args", "add_control_args"]


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
    x.add_argument("--method", default="autoencoder",
                   choices=("autoencoder", "ddsp", "cepstral", "mosaic", "latent-mix"),
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


def effect_from_args(args):
    """The effect ``args`` ask for (built by :func:`effects.registry.make_effect`)."""
    from effects.registry import MODEL_METHODS, make_effect

    if args.method != "ddsp" and (args.octave_shift or args.auto_register):
        raise ParameterError(f"--octave-shift and --auto-register are for --method ddsp, not {args.method}")
    if args.method in MODEL_METHODS and not args.model:
        kind = {"ddsp": "`workbench train --method ddsp`", "latent-mix": "a multi-instrument run"}
        raise ParameterError(f"--method {args.method} needs --model RUN_DIR "
                             f"({kind.get(args.method, 'from `workbench train`')})")
    if args.method not in MODEL_METHODS and not args.target:
        raise ParameterError(f"--method {args.method} needs --target (audio file, folder or CORPUS:key=value)")
    device = getattr(args, "device", None)  # transfer's --device; live runs on the CPU
    if device is not None:
        from models.distributed import resolve_device

        device = resolve_device(device)
        cpu_only = args.method not in MODEL_METHODS or getattr(args, "torchscript", False)
        if device != "cpu" and cpu_only and args.device == "auto":
            device = "cpu"  # auto: the CPU is where this method (or the traced step) runs
        elif device != "cpu" and args.method not in MODEL_METHODS:
            raise ParameterError(f"--device {args.device} is for the model methods ({', '.join(MODEL_METHODS)}); "
                                 f"{args.method} runs on the CPU")
        if args.method not in MODEL_METHODS:
            device = None  # the classical methods take no device
    window = getattr(args, "window", None)
    synthesis_length = getattr(args, "synthesis_length", None)
    if getattr(args, "torchscript", False) and args.method != "autoencoder":
        raise ParameterError(f"--torchscript is for --method autoencoder, not {args.method}")
    if args.method in ("ddsp", "mosaic") and (window or synthesis_length):
        raise ParameterError(f"--window and --synthesis-length are for autoencoder, cepstral and latent-mix, "
                             f"not {args.method}")
    common = dict(mix=args.mix, gate_db=args.gate_db)
    windows = dict(window=window, synthesis_length=synthesis_length)
    if args.method == "autoencoder":
        return make_effect("autoencoder", model=args.model, torchscript=getattr(args, "torchscript", False) or None,
                           device=device, **windows, **common)
    if args.method == "ddsp":
        return make_effect("ddsp", model=args.model, octave_shift=args.octave_shift,
                           auto_register=getattr(args, "auto_register", False), device=device, **common)
    if args.method == "latent-mix":
        return make_effect("latent-mix", model=args.model, mode=args.latent_mode, source=args.mix_from,
                           target=args.mix_to, alpha=args.alpha, device=device, **windows, **common)
    common.update(target=args.target, n_fft=args.n_fft, hop_length=args.hop)
    if args.method == "cepstral":
        return make_effect("cepstral", lifter_input=args.lifter, lifter_target=args.lifter, envelope=args.envelope,
                           length_policy=args.length_policy, **windows, **common)
    return make_effect("mosaic", k=args.k, continuity=args.continuity, repeat_window=args.repeat_window, **common)


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
