"""NSynth-format corpus index and loader (ours and a real NSynth download alike).

Layout: a split folder holds ``examples.json`` (note_str -> metadata with NSynth's keys) and
``audio/<note_str>.wav``. A corpus root holds ``nsynth-train/``, ``nsynth-valid/`` and
``nsynth-test/`` split folders, as NSynth's archives unpack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from workbench.audio import load
from workbench.corpus.families import FAMILIES, SOURCES
from workbench.errors import ParameterError

__all__ = ["NSynth", "REQUIRED_KEYS"]

REQUIRED_KEYS = (
    "note", "note_str", "instrument", "instrument_str", "pitch", "velocity", "sample_rate",
    "instrument_family", "instrument_family_str", "instrument_source", "instrument_source_str",
    "qualities", "qualities_str",
)
_SPLITS = ("train", "valid", "test")


def _as_set(values, name: str, allowed: Sequence | None = None) -> set | None:
    if values is None:
        return None
    if isinstance(values, (str, int)):
        values = [values]
    vals = set(values)
    if allowed is not None:
        bad = sorted(str(v) for v in vals - set(allowed))
        if bad:
            raise ParameterError(f"{name}={bad[0]!r} is not valid; expected one of {', '.join(map(str, allowed))}")
    return vals


class NSynth(torch.utils.data.Dataset):
    """Index of an NSynth-format corpus with filters; a torch ``Dataset`` of notes.

    Parameters
    ----------
    root : path
        A corpus root with ``nsynth-<split>/`` folders, or one split folder with ``examples.json``.
    split, family, source, program, pitch, velocity : optional filters
        Each a value or an iterable of values. ``program`` matches our ``program`` key, or
        NSynth's ``instrument`` id when absent (a real NSynth download).
    sr : int, optional
        Resample on load.

    Items are ``(audio, meta)``: float32 tensor ``(1, samples)`` and the note's metadata dict
    (with ``split`` and ``path`` added).

    Examples
    --------
    >>> ds = NSynth("data/gm", family="brass", split="train")  # doctest: +SKIP
    >>> audio, meta = ds[0]  # doctest: +SKIP
    """

    def __init__(self, root: str | Path, *, split: str | Iterable[str] | None = None,
                 family: str | Iterable[str] | None = None, source: str | Iterable[str] | None = None,
                 program: int | Iterable[int] | None = None, pitch: int | Iterable[int] | None = None,
                 velocity: int | Iterable[int] | None = None, sr: int | None = None):
        self.root = Path(root)
        if not self.root.exists():
            raise ParameterError(f"corpus={str(self.root)!r} does not exist; expected an NSynth-format folder "
                                 f"(render one with `workbench corpus render --out {self.root}`)")
        self.sr = sr
        folders = self._split_folders(self.root)
        splits = _as_set(split, "split", _SPLITS)
        self.examples: list[dict] = []
        for name, folder in folders:
            if splits is not None and name not in splits:
                continue
            index = json.loads((folder / "examples.json").read_text())
            for key, meta in index.items():
                missing = [k for k in REQUIRED_KEYS if k not in meta]
                if missing:
                    raise ParameterError(f"{folder / 'examples.json'}: note {key!r} lacks keys {missing}")
                self.examples.append({**meta, "split": name, "path": str(folder / "audio" / f"{key}.wav")})
        self.examples = self._filter(self.examples, family=family, source=source, program=program,
                                     pitch=pitch, velocity=velocity)

    @staticmethod
    def _split_folders(root: Path) -> list[tuple[str, Path]]:
        if (root / "examples.json").is_file():
            name = root.name.removeprefix("nsynth-")
            return [(name if name in _SPLITS else "all", root)]
        found = [(s, root / f"nsynth-{s}") for s in _SPLITS if (root / f"nsynth-{s}" / "examples.json").is_file()]
        if not found:
            raise ParameterError(
                f"corpus={str(root)!r} has no examples.json nor nsynth-<split>/examples.json; "
                f"expected an NSynth-format folder"
            )
        return found

    @staticmethod
    def _filter(examples: list[dict], **filters) -> list[dict]:
        fam = _as_set(filters["family"], "family", FAMILIES)
        src = _as_set(filters["source"], "source", SOURCES)
        prog = _as_set(filters["program"], "program")
        pitch = _as_set(filters["pitch"], "pitch")
        vel = _as_set(filters["velocity"], "velocity")
        out = []
        for e in examples:
            if fam is not None and e["instrument_family_str"] not in fam:
                continue
            if src is not None and e["instrument_source_str"] not in src:
                continue
            if prog is not None and e.get("program", e["instrument"]) not in prog:
                continue
            if pitch is not None and e["pitch"] not in pitch:
                continue
            if vel is not None and e["velocity"] not in vel:
                continue
            out.append(e)
        return out

    def select(self, **filters: object) -> NSynth:
        """A filtered copy of this index.

        Parameters
        ----------
        **filters
            ``split``, ``family``, ``source``, ``program``, ``pitch``, ``velocity``: as the
            constructor's, each a value or an iterable of values.

        Returns
        -------
        NSynth
            The notes of this index that pass every filter given, with the same root and rate.
        """
        new = object.__new__(NSynth)
        new.root, new.sr = self.root, self.sr
        full = {k: filters.get(k) for k in ("family", "source", "program", "pitch", "velocity")}
        new.examples = self._filter(self.examples, **full)
        if filters.get("split") is not None:
            splits = _as_set(filters["split"], "split", _SPLITS)
            new.examples = [e for e in new.examples if e["split"] in splits]
        return new

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict]:
        meta = self.examples[i]
        audio, _ = load(meta["path"], sr=self.sr, mono=True)
        return torch.from_numpy(audio), meta

    def paths(self) -> list[str]:
        """The audio file of every note.

        Returns
        -------
        list of str
            One path per note, in index order.
        """
        return [e["path"] for e in self.examples]

    def column(self, key: str) -> np.ndarray:
        """One metadata field over all notes.

        Parameters
        ----------
        key : str
            A metadata key, e.g. ``"instrument_family_str"`` or ``"pitch"``.

        Returns
        -------
        np.ndarray [shape=(notes,)]
            Its value for every note, in index order.
        """
        return np.array([e[key] for e in self.examples])

    def instruments(self) -> dict[str, set]:
        """The instruments of each split (for disjointness checks).

        Returns
        -------
        dict of str to set
            Split name -> the set of NSynth instrument ids present in it.
        """
        out: dict[str, set] = {}
        for e in self.examples:
            out.setdefault(e["split"], set()).add(e["instrument"])
        return out

    def __repr__(self) -> str:
        return f"NSynth(root={str(self.root)!r}, notes={len(self)})"

