"""General MIDI programs mapped to NSynth's 11 instrument families and 3 sources.

The mapping follows the GM program groups (piano, chromatic percussion, organ, guitar, bass,
strings, ensemble, brass, reed, pipe, synth lead) with a few strays assigned where they sound
(kalimba to mallet, sitar to guitar, bagpipe to reed...). Playable ranges are the usual
written ranges of the real instruments, widened a little; FluidR3 extrapolates any sample
outside them, which is why the renderer also checks every note.
"""

from __future__ import annotations

from collections.abc import Iterable

from workbench.errors import ParameterError

__all__ = [
    "FAMILIES",
    "SOURCES",
    "QUALITIES",
    "GM_NAMES",
    "program_family",
    "program_source",
    "programs_for",
    "playable_range",
    "instrument_str",
    "parse_family_list",
    "parse_int_ranges",
]

# NSynth's index order (instrument_family / instrument_source / qualities).
FAMILIES = (
    "bass", "brass", "flute", "guitar", "keyboard", "mallet",
    "organ", "reed", "string", "synth_lead", "vocal",
)
SOURCES = ("acoustic", "electronic", "synthetic")
QUALITIES = (
    "bright", "dark", "distortion", "fast_decay", "long_release",
    "multiphonic", "nonlinear_env", "percussive", "reverb", "tempo-synced",
)

_FAMILY_PROGRAMS: dict[str, list[int]] = {
    "keyboard": list(range(0, 8)),
    "mallet": list(range(8, 16)) + [108, 112, 114],
    "organ": list(range(16, 21)),
    "guitar": list(range(24, 32)) + [104, 105, 106],
    "bass": list(range(32, 40)),
    "string": list(range(40, 47)) + list(range(48, 52)) + [110],
    "vocal": [52, 53, 54],
    "brass": list(range(56, 64)),
    "reed": list(range(64, 72)) + [109, 111],
    "flute": list(range(72, 80)),
    "synth_lead": list(range(80, 88)),
}
_PROGRAM_FAMILY = {p: fam for fam, ps in _FAMILY_PROGRAMS.items() for p in ps}

_ELECTRONIC = {4, 5, 7, 16, 17, 18, 26, 27, 28, 29, 30, 31, 33, 34, 35, 36, 37}
_SYNTHETIC = {38, 39, 50, 51, 54, 62, 63, *range(80, 88)}

GM_NAMES = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel",
    "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion",
    "Harmonica", "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)", "Electric Guitar (clean)", "Electric Guitar (muted)",
    "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics", "Acoustic Bass",
    "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
    "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani", "String Ensemble 1",
    "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
    "Synth Voice", "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2", "Soprano Sax", "Alto Sax",
    "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet", "Piccolo",
    "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)",
    "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)",
    "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)", "FX 1 (rain)", "FX 2 (soundtrack)",
    "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)", "FX 6 (goblins)",
    "FX 7 (echoes)", "FX 8 (sci-fi)", "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba",
    "Bagpipe", "Fiddle", "Shanai", "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal", "Guitar Fret Noise",
    "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
)

# Usable MIDI range per family, and tighter ranges for programs that differ from it.
_FAMILY_RANGE = {
    "keyboard": (21, 108), "mallet": (53, 96), "organ": (36, 96), "guitar": (40, 84),
    "bass": (28, 60), "string": (36, 96), "vocal": (48, 79), "brass": (40, 82),
    "reed": (46, 88), "flute": (60, 96), "synth_lead": (36, 96),
}
_PROGRAM_RANGE = {
    8: (60, 108), 9: (67, 108), 10: (60, 96), 11: (53, 89), 12: (45, 96), 13: (65, 108),
    14: (60, 77), 15: (48, 84), 32: (28, 55), 40: (55, 100), 41: (48, 88), 42: (36, 76),
    43: (28, 60), 45: (36, 96), 46: (24, 103), 56: (54, 82), 57: (40, 72), 58: (28, 58),
    59: (54, 82), 60: (41, 77), 64: (56, 88), 65: (49, 81), 66: (44, 76), 67: (36, 69),
    68: (58, 91), 69: (52, 81), 70: (34, 75), 71: (50, 91), 72: (74, 108), 73: (60, 96),
    74: (60, 96), 75: (60, 91), 76: (60, 91), 77: (55, 88), 78: (67, 96), 79: (60, 91),
    104: (48, 84), 105: (48, 84), 106: (50, 84), 108: (60, 96), 109: (55, 80), 110: (55, 100),
    111: (60, 88), 112: (72, 108), 114: (55, 88),
}


def _spans(values) -> str:
    """``[8, 9, 10, 108]`` -> ``"8-10,108"``."""
    vals, out = sorted(values), []
    start = prev = vals[0]
    for v in vals[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(f"{start}-{prev}" if prev > start else str(start))
        if v is not None:
            start = prev = v
    return ",".join(out)


def program_family(program: int) -> str:
    """NSynth family name of a GM program.

    Parameters
    ----------
    program : int
        A General MIDI program, 0-127.

    Returns
    -------
    str
        Its family (one of :data:`FAMILIES`).

    Raises
    ------
    ParameterError
        A program no family maps (the message lists the mapped ones).
    """
    if program not in _PROGRAM_FAMILY:
        raise ParameterError(
            f"program={program!r} has no NSynth family; expected one of the mapped GM programs "
            f"({'; '.join(f'{f} {_spans(p)}' for f, p in _FAMILY_PROGRAMS.items())})"
        )
    return _PROGRAM_FAMILY[program]


def program_source(program: int) -> str:
    """NSynth source of a GM program.

    Parameters
    ----------
    program : int
        A mapped General MIDI program (:func:`program_family`).

    Returns
    -------
    str
        ``"acoustic"``, ``"electronic"`` or ``"synthetic"``.
    """
    program_family(program)
    if program in _SYNTHETIC:
        return "synthetic"
    if program in _ELECTRONIC:
        return "electronic"
    return "acoustic"


def programs_for(families: Iterable[str] | None = None, programs: Iterable[int] | None = None) -> list[int]:
    """The GM programs selected by family names and/or explicit programs.

    Parameters
    ----------
    families : iterable of str, optional
        NSynth family names; each adds all of its programs.
    programs : iterable of int, optional
        Mapped GM programs, added as they are.

    Returns
    -------
    list of int
        The union, sorted; every mapped program when neither is given.

    Raises
    ------
    ParameterError
        An unknown family or an unmapped program.
    """
    out: set[int] = set()
    if families:
        for fam in families:
            if fam not in _FAMILY_PROGRAMS:
                raise ParameterError(f"family={fam!r} is not an NSynth family; expected one of {', '.join(FAMILIES)}")
            out.update(_FAMILY_PROGRAMS[fam])
    if programs:
        for p in programs:
            program_family(p)
            out.add(int(p))
    if not families and not programs:
        out = set(_PROGRAM_FAMILY)
    return sorted(out)


def playable_range(program: int) -> tuple[int, int]:
    """The pitch range in which a GM program sounds like its instrument.

    Parameters
    ----------
    program : int
        The GM program whose range is asked (a mapped one).

    Returns
    -------
    tuple of int (low, high), MIDI
        Inclusive bounds: the program's own range where one is known, else its family's.
    """
    return _PROGRAM_RANGE.get(program, _FAMILY_RANGE[program_family(program)])


def instrument_str(program: int) -> str:
    """NSynth-style instrument name of a GM program.

    Parameters
    ----------
    program : int
        The GM program to name (a mapped one).

    Returns
    -------
    str
        ``family_source_program``, e.g. ``brass_acoustic_056`` (the number is the GM program).
    """
    return f"{program_family(program)}_{program_source(program)}_{program:03d}"


def parse_family_list(text: str | None) -> list[str] | None:
    """Parse a comma-separated list of NSynth family names.

    Parameters
    ----------
    text : str or None
        E.g. ``"brass,flute"``; blanks around names are dropped.

    Returns
    -------
    list of str or None
        ``["brass", "flute"]``; None for None or an empty string.

    Raises
    ------
    ParameterError
        A name that is not one of :data:`FAMILIES`.
    """
    if not text:
        return None
    fams = [t.strip() for t in text.split(",") if t.strip()]
    for fam in fams:
        if fam not in FAMILIES:
            raise ParameterError(f"family={fam!r} is not an NSynth family; expected one of {', '.join(FAMILIES)}")
    return fams


def parse_int_ranges(text: str | None, *, name: str, lo: int, hi: int) -> list[int] | None:
    """Parse integer ranges and lists: ``"21..108"``, ``"60,64,67"`` or ``"48..72:2"`` (with a step).

    Parameters
    ----------
    text : str or None
        Comma-separated integers or inclusive ranges ``a..b[:step]``.
    name : str, keyword-only
        The option's name in error messages.
    lo, hi : int, keyword-only
        Inclusive bounds every value must lie in.

    Returns
    -------
    list of int or None
        The values, sorted without repeats; None for None or a blank string.

    Raises
    ------
    ParameterError
        A part that does not parse, an empty or downward range, a step <= 0, or a value outside
        ``[lo, hi]``.
    """
    if text is None or str(text).strip() == "":
        return None
    out: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        try:
            if ".." in part:
                rng, _, step = part.partition(":")
                a, b = (int(v) for v in rng.split(".."))
                s = int(step) if step else 1
                if s <= 0 or b < a:
                    raise ValueError
                out.update(range(a, b + 1, s))
            else:
                out.add(int(part))
        except ValueError:
            raise ParameterError(
                f"{name}={text!r} is not a list of integers; expected e.g. '21..108', '60,64,67' or '48..72:2'"
            ) from None
    bad = [v for v in out if not lo <= v <= hi]
    if bad:
        raise ParameterError(f"{name}={text!r} has values outside [{lo}, {hi}]: {sorted(bad)[:5]}")
    return sorted(out)
