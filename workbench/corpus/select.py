"""Resolve a training or dictionary target: an audio file, a folder of audio, or a corpus selection.

A corpus selection is ``CORPUS:key=value[,key=value...]`` with the :class:`NSynth` filters, values
joined by ``+`` for several: ``data/gm:family=brass,split=train`` or ``data/gm:program=56+57``.
A corpus folder without filters selects every note.
"""

from __future__ import annotations

from pathlib import Path

from workbench.errors import ParameterError

__all__ = ["target_labels", "resolve_target", "is_corpus", "AUDIO_EXTENSIONS", "parse_selection"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")
_INT_KEYS = ("program", "pitch", "velocity")
_KEYS = ("family", "source", "split", *_INT_KEYS)


def parse_selection(text: str) -> dict:
    """Parse the filters of a corpus selection.

    Parameters
    ----------
    text : str
        ``key=value`` pairs joined by ``,``, values by ``+``: ``"family=brass,split=train"``.
        Keys: family, source, split, program, pitch, velocity (the last three take integers).

    Returns
    -------
    dict
        Key -> list of values: ``{"family": ["brass"], "split": ["train"]}``.

    Raises
    ------
    ParameterError
        An unknown key, a pair without ``=`` or value, or a non-integer where one is expected.
    """
    out: dict[str, list] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key not in _KEYS or not value:
            raise ParameterError(f"corpus selection {part!r} must be key=value with key one of {', '.join(_KEYS)}")
        vals = value.split("+")
        if key in _INT_KEYS:
            try:
                vals = [int(v) for v in vals]
            except ValueError:
                raise ParameterError(f"corpus selection {part!r}: {key} takes integers") from None
        out[key] = vals
    return out


def is_corpus(p: Path) -> bool:
    """Whether a folder is a corpus in NSynth's layout.

    Parameters
    ----------
    p : Path
        The folder to look in.

    Returns
    -------
    bool
        True when ``examples.json`` is at its top or in an ``nsynth-{train,valid,test}`` folder.
    """
    return (p / "examples.json").is_file() or any((p / f"nsynth-{s}" / "examples.json").is_file()
                                                  for s in ("train", "valid", "test"))


def resolve_target(target: str | Path) -> list[Path]:
    """The audio files a target names.

    Parameters
    ----------
    target : str or Path
        An audio file, a folder of audio (searched recursively), a corpus folder or a corpus
        selection ``CORPUS:key=value[,...]`` (:func:`parse_selection`).

    Returns
    -------
    list of Path
        The files: sorted for a folder, in the corpus's order for a selection.

    Raises
    ------
    ParameterError
        The target does not exist or names no audio.
    """
    text = str(target)
    path, sep, sel = text.partition(":")
    p = Path(path)
    if sep or (p.is_dir() and is_corpus(p)):
        from workbench.corpus.nsynth import NSynth

        ds = NSynth(p, **parse_selection(sel))
        if not len(ds):
            raise ParameterError(f"target={text!r} selects no notes; check the filters against `workbench corpus info {p}`")
        return [Path(x) for x in ds.paths()]
    if not p.exists():
        raise ParameterError(f"target={text!r} does not exist; expected an audio file, a folder or CORPUS:key=value")
    if p.is_file():
        return [p]
    files = sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise ParameterError(f"target={text!r} is a folder with no audio files ({', '.join(AUDIO_EXTENSIONS)})")
    return files


_LABEL_KEYS = {"family": "instrument_family_str", "instrument": "instrument_str", "program": "program"}


def target_labels(target: str | Path, *, by: str = "family") -> tuple[list[Path], list[str]]:
    """The files of a target and an instrument name for each.

    Parameters
    ----------
    target : str or Path
        As :func:`resolve_target`.
    by : str, keyword-only
        For a corpus: name each note by its ``"family"``, ``"instrument"`` or ``"program"``.
        Plain files and folders are named by the folder that holds each file.

    Returns
    -------
    paths : list of Path
        As :func:`resolve_target`.
    labels : list of str
        One name per path.
    """
    if by not in _LABEL_KEYS:
        raise ParameterError(f"by={by!r} is not valid; expected one of {', '.join(_LABEL_KEYS)}")
    paths = resolve_target(target)
    path, sep, _ = str(target).partition(":")
    p = Path(path)
    if sep or (p.is_dir() and is_corpus(p)):
        from workbench.corpus.nsynth import NSynth

        meta = {str(Path(e["path"])): e for e in NSynth(p).examples}
        return paths, [str(meta[str(q)].get(_LABEL_KEYS[by], meta[str(q)]["instrument_str"])) for q in paths]
    return paths, [q.parent.name for q in paths]
