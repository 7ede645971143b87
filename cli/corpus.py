"""The ``workbench corpus`` verbs: render, melodies, voice, info."""

from __future__ import annotations

import argparse
import sys

from cli.options import integer, number


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the corpus verb to the ``workbench`` command."""
    corpus = sub.add_parser("corpus", help="render or inspect corpora", description="Render or inspect corpora.")
    csub = corpus.add_subparsers(dest="action", metavar="ACTION")
    r = csub.add_parser("render", help="NSynth-format notes from the GM SoundFont",
                        description="Render NSynth-style dry notes (hold then release) from FluidR3 GM, "
                                    "level-normalised per instrument, split instrument-disjointly.")
    r.add_argument("--out", required=True, help="output corpus folder (gets nsynth-train/valid/test)")
    r.add_argument("--families", help="comma-separated NSynth families (default: all)")
    r.add_argument("--programs", help="GM programs, e.g. '56,57' or '56..63' (added to --families)")
    r.add_argument("--pitches", default="21..108", help="MIDI pitches, e.g. '21..108' or '36..96:3' (default 21..108)")
    r.add_argument("--velocities", default="25,50,75,100,127", help="MIDI velocities (default 25,50,75,100,127)")
    r.add_argument("--sr", type=integer, default=16000, help="sample rate in Hz (default 16000)")
    r.add_argument("--seconds", type=number, default=4.0, help="note length in s (default 4)")
    r.add_argument("--hold", type=number, default=3.0, help="note-on time in s before release (default 3)")
    r.add_argument("--max-notes", type=integer, help="at most this many notes per program, drawn with --seed")
    r.add_argument("--full-range", action="store_true", help="do not limit pitches to each program's playable range")
    r.add_argument("--workers", type=integer, help="worker processes (default: all cores)")
    r.add_argument("--seed", type=integer, default=0, help="seed for note sampling and splits (default 0)")

    m = csub.add_parser("melodies", help="random melodies of one GM program",
                        description="Random monophonic melodies inside a program's range, rendered with "
                                    "FluidSynth, each with its MIDI file and ground-truth notes JSON.")
    m.add_argument("--program", type=integer, required=True, help="GM program (0-127), e.g. 56 = trumpet")
    m.add_argument("--count", type=integer, default=40)
    m.add_argument("--seconds", type=number, default=8.0)
    m.add_argument("--sr", type=integer, default=16000)
    m.add_argument("--low", type=integer, help="lowest MIDI pitch (default: the program's range)")
    m.add_argument("--high", type=integer, help="highest MIDI pitch (default: the program's range)")
    m.add_argument("--seed", type=integer, default=0)
    m.add_argument("--out", required=True)

    v = csub.add_parser("voice", help="sung and spoken phrases with ground truth",
                        description="Sung phrases from Festival's singing mode (with their notes) and "
                                    "spoken sentences from espeak-ng.")
    v.add_argument("--out", required=True)
    v.add_argument("--count", type=integer, default=8, help="sung phrases (default 8)")
    v.add_argument("--spoken", type=integer, default=3, help="spoken sentences (default 3)")
    v.add_argument("--low", type=integer, default=45, help="lowest sung MIDI pitch (default 45)")
    v.add_argument("--high", type=integer, default=60, help="highest sung MIDI pitch (default 60)")
    v.add_argument("--sr", type=integer, default=16000)
    v.add_argument("--seed", type=integer, default=0)

    ci = csub.add_parser("info", help="summarise a corpus", description="Notes per split, family and source.")
    ci.add_argument("path")
    corpus.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Render or summarise a corpus; returns the exit status."""
    from workbench.corpus.families import parse_family_list, parse_int_ranges, programs_for

    progress = not args.quiet
    if args.action == "render":
        from workbench.corpus.render import RenderConfig, render_corpus

        fams = parse_family_list(args.families)
        progs = parse_int_ranges(args.programs, name="programs", lo=0, hi=127)
        cfg = RenderConfig(
            programs=tuple(programs_for(fams, progs)),
            pitches=tuple(parse_int_ranges(args.pitches, name="pitches", lo=0, hi=127)),
            velocities=tuple(parse_int_ranges(args.velocities, name="velocities", lo=1, hi=127)),
            sr=args.sr, seconds=args.seconds, hold=args.hold, max_notes_per_program=args.max_notes,
            limit_to_range=not args.full_range, seed=args.seed,
        )
        s = render_corpus(args.out, cfg, workers=args.workers, progress=progress)
        print(f"wrote {s['written']} notes to {args.out} "
              f"(train {s['splits']['train']['notes']}, valid {s['splits']['valid']['notes']}, "
              f"test {s['splits']['test']['notes']}); skipped {s['skipped']}; "
              f"{s['notes_per_second']} notes/s with {s['workers']} workers")
    elif args.action == "melodies":
        from workbench.corpus.melodies import render_melodies

        s = render_melodies(args.out, program=args.program, count=args.count, seconds=args.seconds,
                            seed=args.seed, sr=args.sr, low=args.low, high=args.high, progress=progress)
        print(f"wrote {s['count']} melodies of {s['instrument']} (MIDI {s['range'][0]}-{s['range'][1]}) to {args.out}")
    elif args.action == "voice":
        from workbench.corpus.voice import render_voice

        s = render_voice(args.out, count=args.count, spoken=args.spoken, seed=args.seed, sr=args.sr,
                         low=args.low, high=args.high, progress=progress)
        print(f"wrote {s['count']} sung and {s['spoken']} spoken phrases to {args.out}")
    elif args.action == "info":
        from collections import Counter

        from workbench.corpus.nsynth import NSynth

        ds = NSynth(args.path)
        print(f"{args.path}: {len(ds)} notes")
        for split in sorted(set(ds.column("split")), key=("train", "valid", "test", "all").index):
            sub = [e for e in ds.examples if e["split"] == split]
            fam = Counter(e["instrument_family_str"] for e in sub)
            print(f"  {split:5s} {len(sub):6d} notes, {len({e['instrument'] for e in sub})} instruments: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(fam.items())))
    else:
        print("usage: workbench corpus {render,melodies,voice,info} ... (see --help)", file=sys.stderr)
        return 2
    return 0
