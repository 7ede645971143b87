"""Corpora: the NSynth-format index and loader, the GM SoundFont renderer, melodies and voice.

Submodules are imported on use so ``import workbench.corpus`` stays cheap.
"""

from workbench.corpus.families import FAMILIES, SOURCES, instrument_str, program_family, programs_for
from workbench.corpus.nsynth import NSynth

__all__ = ["FAMILIES", "SOURCES", "NSynth", "instrument_str", "program_family", "programs_for"]
