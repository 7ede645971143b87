"""The ``workbench`` command, a face: it parses arguments and calls the library, nothing more.

Each verb (or small group of related verbs) has its module here, with ``add_parser(sub)`` that
builds its subparser and a ``run(args)`` that calls the library: ``corpus``, ``train``,
``transfer``, ``mix``, ``synth`` (synth, mesh), ``doctor``, ``devices``, ``live``, ``play``, ``probe``
(probe, pitchcnn), ``embed``, ``evaluate``, ``info``, ``demo``, ``dashboard``, ``export``;
``console`` drives the live and play streams in a terminal. The options several verbs share
(argument types, compute options, the method options of transfer and live and the effect they
build, the stream and control options of live and play) live in :mod:`cli.options`; what live
and play share once parsed (stream checks, the console run, MIDI/OSC control) in
:mod:`cli.stream`. This module holds only :func:`main` (error handling and exit codes) and the
wiring; no verb imports it. Verbs import their library modules lazily so ``--help`` stays fast.

``add_parser(sub)`` gets the ``workbench`` parser's subparsers and sets its verb's ``handler``
(what :func:`main` calls); ``run(args)`` gets the parsed command line and returns the exit
status: 0 done, 1 a failure the output names. User mistakes (``ParameterError``) print one line
and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys

from workbench.errors import DeviceError, ParameterError

__all__ = ["main", "build_parser"]

_VERBS = """verbs:
  corpus render     render an NSynth-format corpus of GM SoundFont notes
  corpus melodies   render random melodies of one GM instrument with MIDI + ground truth
  corpus voice      sung (Festival) and spoken (espeak-ng) phrases with ground truth
  corpus info       summarise an NSynth-format corpus (a real NSynth download too)
  doctor            check training material (levels, noise, reverb, pitch coverage) and say if it is enough
  train             train an instrument autoencoder on a file, a folder or a corpus selection
  transfer          play an audio file through a method (autoencoder, cepstral, mosaic)
  mix               latent mixing between instruments (blend, shift, linear map, morph, faders)
  synth             audio from a latent point and a pitch class (chroma model), no input
  mesh              MANNe's chroma mesh: which pitch class each latent point decodes to
  probe             classifier probes of MFCC / scattering / latent features, instrument-disjoint
  pitchcnn          raw-audio pitch CNN (seed 001) trained and tested on unseen instruments
  evaluate pitch    seed 003's pitch-tracking protocol: % of notes each method loses
  evaluate scoreboard  every method on the same inputs: pitch, timbre, loudness, distance, speed
  evaluate timbre   timbre at matched pitch of files against target material
  embed             PCA / t-SNE / UMAP maps of note features (CSV, PNG, interactive HTML)
  devices           list audio input and output devices (host API, channels, default rates)
  live              play a microphone through a method in real time (keys, MIDI/OSC, status line, --record)
  play              the latent space as a real-time synthesizer (MIDI notes and faders, OSC)
  info              check an audio file and print its shape, rate, length and level
  demo              the main job on the embedded corpus (what `make demo` runs)
  dashboard         the Streamlit dashboard: compare methods, pitch evaluation, embeddings, runs
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``workbench`` parser: each verb module adds its subparser and the ``handler`` that runs it.

    Verb modules import only argparse, :mod:`cli.options` and the core's errors at module level
    (their library loads in ``run``), so ``--help`` stays fast.

    Returns
    -------
    argparse.ArgumentParser
    """
    from cli import (
        corpus,
        dashboard,
        demo,
        devices,
        doctor,
        embed,
        evaluate,
        export,
        info,
        live,
        mix,
        play,
        probe,
        synth,
        train,
        transfer,
    )

    p = argparse.ArgumentParser(
        prog="workbench",
        description="Timbre workbench: train instrument autoencoders, transfer timbre, compare methods.",
        epilog=_VERBS, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    # the order of the verbs in --help
    for verbs in (corpus, doctor, train, transfer, mix, synth, devices, live, play, probe, embed, evaluate, info, demo,
                  dashboard, export):
        verbs.add_parser(sub)
    return p


def _notices() -> None:
    """The packages' logged notices on stderr as "workbench: ..." lines; other libraries stay at warnings."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("workbench: %(message)s"))
    for name in ("workbench", "effects", "live", "models", "analysis"):
        lg = logging.getLogger(name)
        if not lg.handlers:
            lg.addHandler(handler)
            lg.setLevel(logging.INFO)
            lg.propagate = False


def main(argv: list[str] | None = None) -> int:
    """The ``workbench`` command: parse, run the verb's handler, turn user mistakes into one line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 done, 1 a failure the output names, 2 a user mistake (one line on
        stderr, no traceback) or no verb, 130 interrupted.
    """
    _notices()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)  # set by each verb module's add_parser
    except ParameterError as err:
        print(f"workbench: error: {err}", file=sys.stderr)
        if isinstance(err, DeviceError):  # show what there is to choose from
            from workbench.devices import format_devices

            print(format_devices(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

