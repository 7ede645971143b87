"""Pieces every dashboard page shares: the roots, cached library calls, the input picker and
the empty state. Computation stays in the library (uploads: :mod:`workbench.upload`, corpora:
:mod:`workbench.corpus.catalog`, spectrograms: :mod:`workbench.spectrogram`...); this only caches and
arranges."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from dashboard import roots as dr
from workbench import upload
from workbench.audio import load
from workbench.corpus import catalog
from workbench.corpus.truth import ground_truth_notes
from workbench.errors import ParameterError
from workbench.spectrogram import spectrogram_db

SR = 16000  # the rate of the corpus and of every page's processing


def roots() -> dr.Roots:
    """The data/runs/reports roots: ``streamlit run streamlit_app.py -- --data DIR ...`` or
    ``WORKBENCH_DATA`` / ``WORKBENCH_RUNS`` / ``WORKBENCH_REPORTS``, else ./data, ./runs, ./reports."""
    return dr.resolve_roots(sys.argv[1:])


def page(title: str, caption: str) -> dr.Roots:
    """Every page's head: its title and what it shows.

    Parameters
    ----------
    title : str
        The page's title.
    caption : str
        One or two sentences under it.

    Returns
    -------
    dr.Roots
        The data/runs/reports roots the page reads (:func:`roots`).
    """
    st.title(title)
    st.caption(caption)
    return roots()


def empty_state(what: str, command: str) -> None:
    """Say what is missing and the command that creates it."""
    st.info(f"{what}. Create it with:")
    st.code(command, language="bash")


def pick_folder(label: str, folders, *, key: str, roots_: tuple = ()):
    """A selectbox of report or run folders, shown relative to the first root that holds each."""
    def rel(p):
        for root in roots_:
            if p.is_relative_to(root):
                return str(p.relative_to(root))
        return str(p)

    return st.selectbox(label, folders, format_func=rel, key=key)


def pick_report(r: dr.Roots, found: dict, kind: str, label: str, *, key: str, missing: str):
    """The folder of ``kind`` (a key of :func:`analysis.report_scan.scan_reports`) the user picks,
    or None after the empty state: ``missing`` and the command that writes one."""
    if not found[kind]:
        empty_state(missing, dr.COMMANDS[kind])
        return None
    return pick_folder(label, found[kind], key=key, roots_=(r.reports, r.runs))


def open_report(r: dr.Roots, found: dict, kind: str, label: str, *, key: str, missing: str,
                read: Callable[[Path], Any]) -> Any:
    """:func:`pick_report`, then the picked folder read by its module's reader.

    Parameters
    ----------
    r, found, kind, label, key, missing
        As :func:`pick_report`.
    read : callable, keyword-only
        The report module's reader (``probes.load_probe_report``...), given the folder.

    Returns
    -------
    object or None
        What ``read`` returns; None (after the empty state) when there is no such report.
    """
    folder = pick_report(r, found, kind, label, key=key, missing=missing)
    return None if folder is None else read(folder)


def mtime(path) -> float:
    """Modification time, so cached reads notice a rewritten file."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, max_entries=16)
def _read_cached(reader: str, path: str, stamp: float, _read: Callable[[str], Any]) -> Any:
    del stamp, reader  # part of the cache key only (streamlit does not hash the leading-underscore reader)
    return _read(path)


def read_cached(read: Callable[[str], Any], path: str | Path, *, stamp_of: str | Path | None = None) -> Any:
    """``read(str(path))``, cached per reader and path until a file is rewritten.

    Parameters
    ----------
    read : callable
        A module-level reader (its module and name are part of the cache key).
    path : str or Path
        What it reads.
    stamp_of : str or Path, optional, keyword-only
        The file whose modification time invalidates the cache (default: ``path``).

    Returns
    -------
    object
        What ``read`` returns (a cached copy after the first call).
    """
    return _read_cached(f"{read.__module__}.{read.__qualname__}", str(path), mtime(stamp_of or path), read)


@st.cache_data(show_spinner=False, max_entries=64)
def load_audio(path: str, stamp: float, sr: int = SR) -> np.ndarray:
    del stamp  # part of the cache key only
    return load(path, sr=sr, mono=True)[0]


@st.cache_data(show_spinner=False, max_entries=8)
def read_upload(name: str, data: bytes, sr: int = SR) -> np.ndarray:
    return upload.read_upload(name, data, sr=sr)


@st.cache_data(show_spinner=False, max_entries=8)
def corpus_notes(corpus: str, stamp: float) -> list[dict]:
    del stamp
    return catalog.corpus_notes(corpus)


@st.cache_data(show_spinner=False, ttl=60)
def target_choices(data: str, runs: str, reports: str) -> list[str]:
    return dr.target_choices(dr.Roots(Path(data), Path(runs), Path(reports)))


@st.cache_resource(show_spinner="Analysing the target's harmonic levels per pitch (once)...")
def harmonic_reference(target: str):
    """The matched-pitch reference of ``target`` and its held-out distance (None when it cannot be)."""
    from analysis.harmonic_timbre import target_reference
    from workbench.errors import ParameterError

    try:
        return target_reference(target, sr=16000)
    except ParameterError as err:
        st.warning(f"timbre at matched pitch: {err}")
        return None


@st.cache_resource(show_spinner="Fitting the instrument judge on the corpus (once)...")
def instrument_judge(corpus: str, data: str, reports: str):
    """The judge as the demo fits it (corpus families and a voice class), sharing the demo's
    ``reports/judge`` folder so its rendered voice phrases and feature cache are reused."""
    from analysis.instrument_judge import fitted_judge

    return fitted_judge(corpus, voice_dir=Path(data) / "voice", work=Path(reports) / "judge")


@st.cache_data(show_spinner="Tracking f0...", max_entries=64)
def track_audio(audio: np.ndarray, sr: int, tracker: str = "pyin"):
    from workbench.pitch import track_f0

    return track_f0(np.asarray(audio).reshape(-1), sr=sr, tracker=tracker)


@st.cache_data(show_spinner="Tracking f0...", max_entries=64)
def track_file(path: str, stamp: float, sr: int, tracker: str):
    from workbench.pitch import track_file as track

    del stamp
    return track(path, sr=sr, tracker=tracker)


@st.cache_data(show_spinner=False, max_entries=32)
def spectrogram(audio: np.ndarray, sr: int):
    return spectrogram_db(audio, sr=sr)


def _store_upload(key: str) -> None:
    """Keep the uploaded file's name and bytes in the session (the page reads them from there)."""
    f = st.session_state.get(f"{key}_uploader")
    st.session_state[f"{key}_upload"] = (f.name, f.getvalue()) if f is not None else None


@dataclass
class Input:
    """The audio a page works on: mono ``(1, samples)`` at ``sr``, its notes when known, a label."""

    audio: np.ndarray
    sr: int
    notes: list | None
    label: str


def pick_input(r: dr.Roots, *, key: str, default_seconds: float = 8.0) -> Input | None:
    """Input widgets: demo material, a corpus note or an upload, then the excerpt to use.

    Returns None (after saying why) when there is nothing to use yet or the upload is bad.
    """
    source = st.radio("Input", ("demo material", "corpus note", "upload"), horizontal=True, key=f"{key}_source")
    notes = None
    if source == "demo material":
        choices = dr.demo_inputs(r)
        if not choices:
            empty_state(f"No demo material under {r.data} yet", dr.COMMANDS["demo"])
            return None
        label = st.selectbox("Demo file", list(choices), key=f"{key}_demo")
        path = choices[label]
        audio = load_audio(str(path), mtime(path))
        notes = ground_truth_notes(path)
    elif source == "corpus note":
        corpora = catalog.list_corpora(r.data)
        if not corpora:
            empty_state(f"No corpus under {r.data} yet", dr.COMMANDS["corpus"])
            return None
        corpus = st.selectbox("Corpus", corpora, format_func=str, key=f"{key}_corpus")
        allnotes = corpus_notes(str(corpus), mtime(corpus))
        fams = sorted({e["instrument_family_str"] for e in allnotes})
        fam = st.selectbox("Family", fams, key=f"{key}_family")
        sel = [e for e in allnotes if e["instrument_family_str"] == fam]
        names = [e["note_str"] for e in sel]
        name = st.selectbox("Note", names, key=f"{key}_note")
        meta = sel[names.index(name)] if name in names else sel[0]
        label = f"corpus: {meta['note_str']}"
        audio = load_audio(meta["path"], mtime(meta["path"]))
        notes = catalog.corpus_note_truth(corpus, meta)
    else:
        st.file_uploader(f"Audio file ({', '.join(upload.UPLOAD_FORMATS)}; at most {upload.MAX_UPLOAD_BYTES // 2 ** 20} MB)",
                         type=list(upload.UPLOAD_FORMATS), key=f"{key}_uploader", on_change=_store_upload, args=(key,))
        up = st.session_state.get(f"{key}_upload")
        if not up:
            st.info("Upload an audio file to use it as the input.")
            return None
        name, data = up
        try:
            audio = read_upload(name, data)
        except ParameterError as err:
            st.error(str(err))
            return None
        label = f"upload: {name}"
    total = audio.shape[1] / SR
    start, end = 0.0, None
    if total > 1.0:
        top = np.floor(total / 0.25) * 0.25  # the slider's steps; its top end keeps the rest of the input
        start, end = st.slider("Excerpt (s)", 0.0, float(top), (0.0, float(min(top, default_seconds))), step=0.25,
                               key=f"{key}_excerpt")
        end = None if end >= top else end
    try:
        clip = upload.excerpt(audio, SR, start=start, seconds=None if end is None else end - start)
    except ParameterError as err:
        st.error(str(err))
        return None
    if clip.shape[1] < upload.MIN_INPUT_SAMPLES:
        st.error(f"the excerpt is {clip.shape[1]} samples long; choose at least {upload.MIN_INPUT_SAMPLES}")
        return None
    if notes:
        end = total if end is None else end
        notes = [{**n, "onset": max(n["onset"] - start, 0.0), "offset": min(n["offset"], end) - start}
                 for n in notes if n["offset"] - 0.1 > start and n["onset"] + 0.1 < end]
    return Input(clip, SR, notes or None, label)
