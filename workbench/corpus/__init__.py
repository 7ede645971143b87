"""Corpora: the NSynth-format index and loader, the GM SoundFont renderer, melodies and voice.

``NSynth`` (which needs torch) is imported on first use so the CLI stays quick.
"""

from workbench.corpus.families import (
    FAMILIES,
    SOURCES,
    instrument_str,
    program_family,
    programs_for,
)

__all__ = ["FAMILIES", "SOURCES", "NSynth", "instrument_str", "program_family", "programs_for"]


def __getattr__(name):
    if name == "NSynth":
        from workbench.corpus.nsynth import NSynth

        return NSynth
    raise AttributeError(f"module 'workbench.corpus' has no attribute {name!r}")
