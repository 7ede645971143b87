"""The corpora under a data root and their notes: which corpora there are, every note of one,
the audio file of a note found by name, and a rendered note as a ground-truth note.

The layout is NSynth's (:mod:`workbench.corpus.nsynth`); a corpus rendered here also holds
``render.json`` (:mod:`workbench.corpus.render`), which says how long each note is held.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from workbench.corpus.select import is_corpus
from workbench.report_io import read_json

__all__ = ["list_corpora", "corpus_notes", "corpus_note_truth", "note_audio_path"]


def list_corpora(data: str | Path) -> list[Path]:
    """The corpora of a data folder.

    Parameters
    ----------
    data : str or Path
        The data root.

    Returns
    -------
    list of Path
        NSynth-format corpus folders directly under it (``data/gm``...), sorted; empty when it
        is not a folder.
    """
    data = Path(data)
    if not data.is_dir():
        return []
    return sorted(p for p in data.iterdir() if p.is_dir() and is_corpus(p))


def corpus_notes(corpus: str | Path) -> list[dict]:
    """Every note of a corpus.

    Parameters
    ----------
    corpus : str or Path
        An NSynth-format corpus.

    Returns
    -------
    list of dict
        Each note's NSynth metadata plus ``split`` and ``path``.
    """
    from workbench.corpus.nsynth import NSynth

    return NSynth(corpus).examples


def corpus_note_truth(corpus: str | Path, note: dict) -> list[dict] | None:
    """A rendered corpus note as one ground-truth note.

    Parameters
    ----------
    corpus : str or Path
        The corpus the note is from.
    note : dict
        Its metadata (:func:`corpus_notes`).

    Returns
    -------
    list of dict or None
        One note: its pitch, held from 0 s for the corpus's ``hold`` (``render.json``); None for
        corpora without it (a real NSynth download).
    """
    hold = read_json(Path(corpus) / "render.json").get("config", {}).get("hold")
    if not hold:
        return None
    return [{"onset": 0.0, "offset": float(hold), "pitch": int(note["pitch"])}]


def note_audio_path(note_str: str, split: str, *, corpora: Sequence[str | Path]) -> Path | None:
    """The audio file of a corpus note, looked up in each corpus in turn.

    Parameters
    ----------
    note_str : str
        The note's name (NSynth's ``note_str``).
    split : str
        Its split (``nsynth-<split>/audio`` is looked in, then ``audio/``).
    corpora : sequence of str or Path, keyword-only
        Corpus folders.

    Returns
    -------
    Path or None
        The first file found; None when no corpus has it.
    """
    for c in corpora:
        c = Path(c)
        for cand in (c / f"nsynth-{split}" / "audio" / f"{note_str}.wav", c / "audio" / f"{note_str}.wav"):
            if cand.is_file():
                return cand
    return None
