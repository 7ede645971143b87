"""What the dashboard pages compute and read, as plain functions (no Streamlit here).

``streamlit_app.py`` and ``dashboard/`` arrange widgets; everything they show comes from this
module: the data/runs/reports roots, reading uploads with limits, finding runs and reports,
rendering one method on one input with its measures, per-note f0 views of an evaluation
report, embedding maps with their notes' audio, probe and pitch-CNN reports, and the latent
mixing effect when a multi-instrument model exists.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis.embeddings import embedding_files
from models.run_info import list_runs, run_info
from workbench.audio import load, resample, validate_audio
from workbench.corpus.select import is_corpus
from workbench.corpus.truth import note_segments
from workbench.errors import ParameterError
from workbench.pitch import hz_to_midi
from workbench.report_io import read_json

if TYPE_CHECKING:
    from analysis.harmonic_timbre import HarmonicReference
    from analysis.scoreboard import TimbreProbe
    from effects.base import Effect

__all__ = [
    "UPLOAD_FORMATS", "MAX_UPLOAD_BYTES", "MIN_INPUT_SAMPLES", "read_upload", "excerpt", "ground_truth_notes",
    "list_corpora", "corpus_notes", "corpus_note_truth", "save_outputs", "COMPARE_METHODS", "make_effect",
    "spectrogram_db", "compare_method", "scan_reports", "track_file", "note_window", "note_audio_path",
    "latent_mix_shape", "render_latent_mix",
    "synth_runs", "synth_shape", "synth_map", "render_synth_point", "play_command",
]

UPLOAD_FORMATS = ("wav", "flac", "ogg", "mp3")
MAX_UPLOAD_BYTES = 20 * 2 ** 20
MIN_INPUT_SAMPLES = 2048  # two analysis frames at n_fft 1024: shorter clips give no f0 or timbre
COMPARE_METHODS = ("autoencoder", "ddsp", "cepstral", "mosaic")
MODEL_METHODS = ("autoencoder", "ddsp")  # the methods that play a trained run


# ---------------------------------------------------------------------------------------------
# roots and inputs


def read_upload(name: str, data: bytes, *, sr: int = 16000, max_bytes: int = MAX_UPLOAD_BYTES,
                formats: Sequence[str] = UPLOAD_FORMATS, min_samples: int = MIN_INPUT_SAMPLES) -> np.ndarray:
    """Decode uploaded audio bytes into mono float32 ``(1, samples)`` at ``sr``.

    Parameters
    ----------
    name : str
        The uploaded file's name; its extension must be one of ``formats``.
    data : bytes
        The file's contents, at most ``max_bytes``.
    sr : int, Hz, keyword-only
        Rate of the returned audio (resampled with soxr).
    max_bytes : int, keyword-only
        Largest upload accepted.
    formats : sequence of str, keyword-only
        Extensions accepted.
    min_samples : int, samples, keyword-only
        Fewest samples accepted at ``sr``.

    Returns
    -------
    np.ndarray [shape=(1, n), dtype=float32]
        The audio, mono.

    Raises
    ------
    ParameterError
        Wrong format, empty or too large, not decodable as audio, NaN/Inf samples, too short;
        one line naming the upload.

    Examples
    --------
    >>> read_upload("notes.txt", b"hello")
    Traceback (most recent call last):
    ...
    workbench.errors.ParameterError: upload 'notes.txt' has format 'txt'; expected one of wav, flac, ogg, mp3
    """
    ext = Path(name).suffix.lower().lstrip(".")
    if ext not in formats:
        raise ParameterError(f"upload {name!r} has format {ext or 'none'!r}; expected one of {', '.join(formats)}")
    if not data:
        raise ParameterError(f"upload {name!r} is empty (0 bytes); expected audio")
    if len(data) > max_bytes:
        raise ParameterError(f"upload {name!r} is {len(data) / 2 ** 20:.1f} MB; expected at most "
                             f"{max_bytes / 2 ** 20:.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload.{ext}"
        path.write_bytes(data)
        try:
            audio, _ = load(path, sr=sr, mono=True, min_samples=min_samples)
        except ParameterError as err:  # name the upload, not the temporary file
            raise ParameterError(str(err).replace(f"path={str(path)!r}", f"upload {name!r}")
                                 .replace(str(path), name)) from None
    return audio


def excerpt(audio: np.ndarray, sr: int, *, start: float = 0.0, seconds: float | None = None) -> np.ndarray:
    """A part of the input, by time.

    Parameters
    ----------
    audio : np.ndarray [shape=(channels, n)]
        The input.
    sr : int, Hz
        Its sample rate.
    start : float, seconds, keyword-only
        Where the part begins (negative: 0).
    seconds : float or None, seconds, keyword-only
        Its length (None: the whole rest).

    Returns
    -------
    np.ndarray [shape=(channels, m), dtype=float32]
        ``audio[:, start:start+seconds]`` in samples (a view), cut at the input's end.

    Raises
    ------
    ParameterError
        A bad input, or a part that starts past its end.
    """
    a = validate_audio(audio, sr=sr, name="input")
    i = int(round(max(start, 0.0) * sr))
    j = a.shape[1] if seconds is None else i + int(round(seconds * sr))
    out = a[:, i:j]
    if out.shape[1] == 0:
        raise ParameterError(f"start={start} s is past the end of the input ({a.shape[1] / sr:.2f} s)")
    return out


def ground_truth_notes(path: str | Path) -> list[dict] | None:
    """The notes stored beside rendered material as ``<stem>.json``.

    Parameters
    ----------
    path : str or Path
        The audio file.

    Returns
    -------
    list of dict or None
        Its notes (``onset``, ``offset`` in seconds, ``pitch`` in MIDI); None when there is no
        JSON, it does not parse, or it lists no notes (uploads, corpus notes, spoken phrases).
    """
    meta = Path(path).with_suffix(".json")
    if not meta.is_file():
        return None
    try:
        notes = json.loads(meta.read_text()).get("notes")
    except (json.JSONDecodeError, AttributeError):
        return None
    return notes or None


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


# ---------------------------------------------------------------------------------------------
# runs


# ---------------------------------------------------------------------------------------------
# the compare page: one method on one input, with its measures


def make_effect(method: str, *, model: str | Path | None = None, target: str | Path | None = None,
                mix: float = 1.0) -> Effect:
    """The effect of ``method`` on the Compare page (:func:`effects.registry.make_effect`).

    Parameters
    ----------
    method : str
        One of :data:`COMPARE_METHODS`.
    model : str or Path, optional, keyword-only
        The run the model methods (autoencoder, ddsp) play.
    target : str or Path, optional, keyword-only
        The target material of the baselines (cepstral, mosaic).
    mix : float, keyword-only
        Wet share, in [0, 1].

    Returns
    -------
    Effect
        Built, not prepared.

    Raises
    ------
    ParameterError
        A method not on the page, or what the registry refuses.
    """
    from effects.registry import MODEL_METHODS
    from effects.registry import make_effect as build

    if method not in COMPARE_METHODS:
        raise ParameterError(f"method={method!r} is not valid; expected one of {', '.join(COMPARE_METHODS)}")
    return build(method, model=model, mix=mix) if method in MODEL_METHODS else build(method, target=target, mix=mix)


def spectrogram_db(y: np.ndarray, *, sr: int, n_fft: int = 1024, hop_length: int = 256, floor_db: float = -80.0,
                   max_frames: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Magnitude spectrogram in dB relative to its peak, for display.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (1, n)]
        The signal shown, mono.
    sr : int, Hz, keyword-only
        Its sample rate.
    n_fft, hop_length : int, samples, keyword-only
        STFT frame and hop (centred, :func:`workbench.spectral.stft`).
    floor_db : float, dB, keyword-only
        Lowest value shown.
    max_frames : int, keyword-only
        Frames are max-pooled down to at most this many, so a long input stays light in the browser.

    Returns
    -------
    times : np.ndarray [shape=(T,)], seconds
    freqs : np.ndarray [shape=(n_fft // 2 + 1,)], Hz
    db : np.ndarray [shape=(n_fft // 2 + 1, T), dtype=float32], dB
        In ``[floor_db, 0]``.
    """
    from workbench.spectral import stft

    y = np.asarray(y, np.float32).reshape(-1)
    S = stft(y, n_fft=n_fft, hop_length=hop_length).abs().numpy().reshape(n_fft // 2 + 1, -1)
    db = 20 * np.log10(S / max(float(S.max()), 1e-9) + 1e-9)
    step = max(1, int(np.ceil(db.shape[1] / max_frames)))
    if step > 1:
        pad = (-db.shape[1]) % step
        db = np.pad(db, ((0, 0), (0, pad)), constant_values=floor_db).reshape(db.shape[0], -1, step).max(axis=2)
    times = np.arange(db.shape[1]) * step * hop_length / sr
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    return times, freqs, np.maximum(db, floor_db).astype(np.float32)


def _timbre_segments(y: np.ndarray, sr: int, notes: list[dict] | None, *, seconds: float = 1.0,
                     range_db: float = 40.0) -> list[np.ndarray]:
    """Note segments when the notes are known, else 1-s windows within ``range_db`` of the loudest."""
    if notes:
        return note_segments(y, notes, sr=sr, min_samples=MIN_INPUT_SAMPLES)
    n = int(seconds * sr)
    wins = [y[i:i + n] for i in range(0, max(len(y) - n // 2, 1), n)]
    wins = [w for w in wins if len(w) >= MIN_INPUT_SAMPLES]
    rms = np.array([np.sqrt(np.mean(w.astype(np.float64) ** 2)) + 1e-12 for w in wins])
    if not len(wins):
        return [y]
    keep = 20 * np.log10(rms / rms.max()) > -range_db
    return [w for w, k in zip(wins, keep) if k]


def save_outputs(folder: str | Path, outputs: Mapping[str, np.ndarray], *, sr: int,
                 metrics: Mapping[str, dict] | None = None) -> list[Path]:
    """Write each named signal as a wav file, and the measures as ``metrics.json``.

    Parameters
    ----------
    folder : str or Path
        Where (created).
    outputs : mapping of str to np.ndarray [shape=(channels, n) or (n,)]
        Name -> signal; the file is ``<name>.wav`` with characters other than letters, digits and
        ``-_.`` replaced by ``_``.
    sr : int, Hz, keyword-only
        Their sample rate.
    metrics : mapping, optional, keyword-only
        Written as ``metrics.json`` when given.

    Returns
    -------
    list of Path
        The files written.
    """
    from workbench.audio import save

    folder = Path(folder)
    written = []
    for name, y in outputs.items():
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        written.append(save(folder / f"{slug}.wav", np.asarray(y, np.float32), sr))
    if metrics is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float))
        written.append(folder / "metrics.json")
    return written


def compare_method(effect: Effect, audio: np.ndarray, sr: int, *, notes: list[dict] | None = None,
                   probe: TimbreProbe | None = None, family: str | None = None, tracker: str = "pyin",
                   input_track: tuple[np.ndarray, np.ndarray] | None = None,
                   reference: tuple[HarmonicReference, float] | None = None) -> dict:
    """Play mono ``audio`` through ``effect`` and measure the result against the input.

    Parameters
    ----------
    effect : Effect
        Any Effect; its ``required_sample_rate`` (a trained model's) sets the processing rate.
    audio : np.ndarray [shape=(1, n)]
        The input, mono (a first channel is taken).
    sr : int, Hz
        Rate of ``audio``.
    notes : list of dict, optional, keyword-only
        The input's notes (onset, offset, pitch): then pitch kept is the share of notes whose
        output median f0 stays within 50 cents, and timbre is judged per note.
    probe : TimbreProbe, optional, keyword-only
        A fitted family probe (:class:`analysis.scoreboard.TimbreProbe`) for target-timbre accuracy.
    family : str, optional, keyword-only
        The target's family; the accuracy is the share of segments the probe labels so.
    tracker : str, keyword-only
        f0 tracker (:data:`workbench.pitch.TRACKERS`).
    input_track : (times, f0), optional, keyword-only
        The input's f0 track, when already computed.
    reference : (HarmonicReference, float), optional, keyword-only
        The target material's matched-pitch reference and its held-out distance
        (:func:`analysis.harmonic_timbre.target_reference`): adds the output judged at the input's
        pitch, ``timbre_distance_db`` (the output's), ``timbre_input_db`` (the input's, same
        frames), ``timbre_target_db``, ``timbre_gap_closed`` (at most 1), ``timbre_judged_share``
        and ``timbre_pitch_error_share`` (distances and gap None, with ``timbre_status`` saying
        why, when there is no score).

    Returns
    -------
    dict
        ``sr``, ``output`` (float32 ``(n,)`` at ``sr``), ``input_track`` and ``output_track`` (times, f0 in Hz, 0 when
        unvoiced), ``metrics`` (``pitch_kept`` share or None, ``raw_pitch_accuracy``,
        ``voicing_recall``, ``loudness_correlation``, ``loudness_l1_db``, ``timbre_accuracy`` or None,
        ``labelled_as``, ``rtf``, the ``timbre_*`` keys above, ``timbre_status``)
        and ``notes`` (per-note records or None).
    """
    from analysis.pitch_notes import measure_notes
    from analysis.scoreboard import loudness_match
    from effects.base import OFFLINE_BLOCK
    from workbench.pitch import melody_scores, track_f0

    x = validate_audio(audio, sr=sr, min_samples=MIN_INPUT_SAMPLES, name="input")[:1]
    proc_sr = int(effect.required_sample_rate or sr)
    xp = resample(x, sr, proc_sr) if proc_sr != sr else x
    effect.prepare(proc_sr, 1, OFFLINE_BLOCK)  # loading targets and fitting indexes is set-up, not processing time
    t0 = time.perf_counter()
    y = effect.process(xp, proc_sr)
    spent = time.perf_counter() - t0
    y = resample(np.asarray(y, np.float32), proc_sr, sr)[0][: x.shape[1]] if proc_sr != sr else np.asarray(y)[0]
    in_track = input_track if input_track is not None else track_f0(x[0], sr=sr, tracker=tracker)
    out_track = track_f0(y, sr=sr, tracker=tracker)
    scores = melody_scores(in_track, out_track)
    loud = loudness_match(x[0], y, sr=sr)
    rows = measure_notes(notes, in_track, out_track) if notes else None
    metrics = {
        "pitch_kept": float(np.mean([r["kept"] for r in rows])) if rows else None,
        "raw_pitch_accuracy": scores["raw_pitch_accuracy"], "voicing_recall": scores["voicing_recall"],
        **loud, "timbre_accuracy": None, "labelled_as": None, "rtf": float(x.shape[1] / sr / max(spent, 1e-9)),
    }
    if probe is not None:
        labels = list(probe.predict(_timbre_segments(y, sr, notes), sr=sr))
        if labels:
            metrics["labelled_as"] = str(max(set(labels), key=labels.count))
            if family:
                metrics["timbre_accuracy"] = float(np.mean([lab == family for lab in labels]))
    metrics.update(timbre_distance_db=None, timbre_input_db=None, timbre_target_db=None, timbre_gap_closed=None,
                   timbre_judged_share=None, timbre_pitch_error_share=None, timbre_status=None)
    if reference is not None:
        from analysis.harmonic_timbre import score_methods

        ref, held = reference
        row = score_methods(ref, inputs={"x": x[0]}, outputs={"y": {"x": y}}, target_db=held, sr=sr)[1]
        metrics.update(timbre_distance_db=row["distance_db"], timbre_input_db=row["input_db"],
                       timbre_target_db=row["target_db"], timbre_gap_closed=row["gap_closed"],
                       timbre_judged_share=row["judged_share"], timbre_pitch_error_share=row["pitch_error_share"],
                       timbre_status=row["status"])
    return {"sr": sr, "output": y.astype(np.float32), "input_track": in_track, "output_track": out_track,
            "metrics": metrics, "notes": rows}


# ---------------------------------------------------------------------------------------------
# reports


_SKIP_DIRS = {"inputs", "outputs", "tracks", "cache", "screenshots", "audio"}


def scan_reports(reports: str | Path, *, depth: int = 3) -> dict[str, list[Path]]:
    """Report folders under ``reports`` by kind, each list sorted.

    Kinds: ``evaluation`` (``results.json`` with a ``scoreboard``, or ``pitch.json``), ``probe``
    (``results.json`` with ``probes``), ``pitchcnn`` (``results.json`` with ``history`` and
    ``within_semitone``), ``embedding`` (``<method>.csv`` with ``<method>_1`` coordinates) and
    ``mesh`` (``mesh.json``). Symbolic links are followed; audio and cache folders are not entered.

    Parameters
    ----------
    reports : str or Path
        The reports root (itself a candidate).
    depth : int, keyword-only
        How many folder levels below it are searched.

    Returns
    -------
    dict of str to list of Path
        Kind -> folders; every kind is present, empty when none is found.
    """
    found: dict[str, list[Path]] = {k: [] for k in ("evaluation", "probe", "pitchcnn", "embedding", "mesh")}
    root = Path(reports)
    if not root.is_dir():
        return found

    def visit(folder: Path, level: int) -> None:
        res = read_json(folder / "results.json") if (folder / "results.json").is_file() else {}
        if "scoreboard" in res or (folder / "pitch.json").is_file():
            found["evaluation"].append(folder)
        if "probes" in res:
            found["probe"].append(folder)
        if "history" in res and "within_semitone" in res:
            found["pitchcnn"].append(folder)
        if (folder / "mesh.json").is_file():
            found["mesh"].append(folder)
        if embedding_files(folder):
            found["embedding"].append(folder)
        if level < depth:
            try:
                subs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in _SKIP_DIRS)
            except OSError:
                subs = []
            for sub in subs:
                visit(sub, level + 1)

    visit(root, 0)
    return {k: sorted(v) for k, v in found.items()}


def track_file(path: str | Path, *, sr: int = 16000, tracker: str = "pyin") -> tuple[np.ndarray, np.ndarray]:
    """f0 track of an audio file, mixed to mono (:func:`workbench.pitch.track_f0`).

    Parameters
    ----------
    path : str or Path
        The audio file.
    sr : int, Hz, keyword-only
        Rate it is loaded (resampled) at.
    tracker : str, keyword-only
        One of :data:`workbench.pitch.TRACKERS`.

    Returns
    -------
    times : np.ndarray [shape=(T,)], seconds
    f0 : np.ndarray [shape=(T,)], Hz
        0 where unvoiced.
    """
    from workbench.pitch import track_f0

    y, _ = load(path, sr=sr, mono=True)
    return track_f0(y[0], sr=sr, tracker=tracker)


def note_window(notes: list[dict], rows: list[dict], in_track: Sequence[np.ndarray], out_track: Sequence[np.ndarray], *,
                note: int, pad: float = 1.0) -> dict:
    """The f0 tracks around note ``note`` of a melody, with every note's target pitch in view.

    Parameters
    ----------
    notes : list of dict
        The melody's notes (onset, offset, pitch).
    rows : list of dict
        notes.csv rows of this melody, method and class (``note``, ``kept``...).
    in_track, out_track : (times, f0)
        Tracks of input and output (seconds, Hz; 0 where unvoiced), read on the input's times.
    note : int, keyword-only
        Index of the chosen note.
    pad : float, seconds, keyword-only
        Shown before the note's onset and after its offset.

    Returns
    -------
    dict
        ``start``, ``end`` (s), ``times``, ``input_midi``, ``output_midi`` (NaN when unvoiced),
        ``targets`` (one dict per note in view: ``note``, ``onset``, ``offset``, ``pitch``,
        ``kept``, ``chosen``).

    Raises
    ------
    ParameterError
        ``note`` is not an index of ``notes``.
    """
    if not 0 <= note < len(notes):
        raise ParameterError(f"note={note} is not valid; the melody has {len(notes)} notes")
    n = notes[note]
    start, end = max(n["onset"] - pad, 0.0), n["offset"] + pad
    kept = {int(r["note"]): bool(r["kept"]) for r in rows}
    t, f_in = in_track
    f_out = out_track[1]
    m = min(len(t), len(f_out))
    t, f_in, f_out = np.asarray(t[:m]), np.asarray(f_in[:m]), np.asarray(f_out[:m])
    sel = (t >= start) & (t <= end)

    targets = [{"note": i, "onset": float(x["onset"]), "offset": float(x["offset"]), "pitch": int(x["pitch"]),
                "kept": kept.get(i), "chosen": i == note}
               for i, x in enumerate(notes) if x["offset"] > start and x["onset"] < end]
    return {"start": start, "end": end, "times": t[sel], "input_midi": hz_to_midi(f_in[sel]),
            "output_midi": hz_to_midi(f_out[sel]), "targets": targets}


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


# ---------------------------------------------------------------------------------------------
# latent mixing


def latent_mix_shape(model: str | Path) -> tuple[list[str], int]:
    """The instrument codes and latent width of a multi-instrument run, as the latent mixing effect reads them.

    Parameters
    ----------
    model : str or Path
        A multi-instrument run folder.

    Returns
    -------
    codes : list of str
    latent_dim : int
    """
    from effects.latent_mix import LatentMixEffect

    fx = LatentMixEffect(model=str(model))
    return list(fx.codes), int(fx.latent_dim)


def render_latent_mix(audio: np.ndarray, sr: int, *, model: str | Path, morph: np.ndarray | None = None,
                      **params: object) -> dict:
    """Play mono ``audio`` through :class:`effects.latent_mix.LatentMixEffect`.

    Parameters
    ----------
    audio : np.ndarray [shape=(1, n)]
        The input, mono.
    sr : int, Hz
        Rate of ``audio`` (and of ``morph``); both are resampled to the model's rate, the output back.
    model : str or Path, keyword-only
        A multi-instrument run folder (see :func:`models.run_info.multi_instrument_runs`).
    morph : np.ndarray [shape=(1, m)], optional, keyword-only
        The second input of the ``morph`` mode, mono at ``sr``.
    **params
        The effect's other keyword parameters: ``mode``, ``source``, ``target``, ``alpha``,
        ``scale``, ``offset``, ``faders``, ``mix``...

    Returns
    -------
    dict
        ``output`` ``(n,)`` at ``sr``, ``trajectory`` ``(frames, latent_dim)``, ``frame_seconds``
        (time between latent frames), ``codes`` and ``latent_dim``.

    Raises
    ------
    ParameterError
        A run without instrument codes, or a bad input.
    """
    from effects.latent_mix import LatentMixEffect

    info = run_info(model)
    if not info["codes"]:
        raise ParameterError(f"model={str(model)!r} has no instrument codes in meta.json; expected a "
                             "multi-instrument run (workbench train --set model.condition=onehot)")
    x = validate_audio(audio, sr=sr, min_samples=MIN_INPUT_SAMPLES, name="input")[:1]
    msr = int(info["sr"] or sr)
    if morph is not None:
        m = validate_audio(morph, sr=sr, min_samples=MIN_INPUT_SAMPLES, name="morph input")[:1]
        params["morph"] = np.ascontiguousarray((resample(m, sr, msr) if msr != sr else m)[0])
    fx = LatentMixEffect(model=str(model), **params)
    y = fx.process(resample(x, sr, msr) if msr != sr else x, msr)
    y = resample(np.asarray(y, np.float32), msr, sr) if msr != sr else np.asarray(y, np.float32)
    traj = np.asarray(fx.latent_trajectory, np.float32)
    hop = info["config"].get("config", {}).get("audio", {}).get("hop_length") or 256
    return {"output": y[0][: x.shape[1]], "trajectory": traj, "frame_seconds": hop / msr,
            "codes": list(fx.codes), "latent_dim": int(fx.latent_dim)}


# -- the latent synthesizer (issue 15) ------------------------------------------------------------
def synth_runs(runs: str | Path) -> list[Path]:
    """Run folders a latent synthesizer can play.

    Parameters
    ----------
    runs : str or Path
        The runs root (:func:`models.run_info.list_runs`).

    Returns
    -------
    list of Path
        The runs with weights and ``model.output = spectrum``, in ``list_runs``'s order.
    """
    out = []
    for r in list_runs(runs):
        info = run_info(r)
        if info["has_weights"] and info["config"].get("config", {}).get("model", {}).get("output") == "spectrum":
            out.append(r)
    return out


def synth_shape(model: str | Path) -> tuple[int, bool]:
    """What a synth run's latent point is made of.

    Parameters
    ----------
    model : str or Path
        A synth run folder (its config.json is read).

    Returns
    -------
    latent : int
        Latent units (0 when the config does not say).
    chroma : bool
        Whether it is chroma-conditioned.
    """
    cfg = run_info(model)["config"].get("config", {}).get("model", {})
    return int(cfg.get("latent", 0)), bool(cfg.get("chroma", False))


def synth_map(model: str | Path, *, latent: Sequence[float] | np.ndarray, chroma: int | None = None,
              points: int = 11) -> dict:
    """Spectral centroid of the decoded frame over a grid of latent units 1 and 2.

    Parameters
    ----------
    model : str or Path
        A synth run.
    latent : sequence of float, keyword-only
        The point; units 1 and 2 are replaced by the grid, the others held.
    chroma : int, optional, keyword-only
        Pitch class for a chroma model.
    points : int, keyword-only
        Grid points per side, over [0, 1].

    Returns
    -------
    dict
        ``u1``, ``u2`` and ``centroid_hz`` (Hz): flat lists of ``points ** 2``.
    """
    import torch

    from effects.play import decode_frames
    from models.checkpoint import load_run

    run = load_run(model)
    a = run.config.audio
    g = np.linspace(0.0, 1.0, points, dtype=np.float32)
    u1, u2 = (v.reshape(-1) for v in np.meshgrid(g, g, indexing="xy"))
    z = np.repeat(np.asarray(latent, np.float32)[None], len(u1), 0)
    z[:, 0], z[:, 1] = u1, u2
    mag = decode_frames(run, torch.from_numpy(z), chroma=chroma).numpy()
    freqs = np.arange(mag.shape[1]) * a.sr / a.n_fft
    centroid = (mag * freqs).sum(1) / np.maximum(mag.sum(1), 1e-12)
    return {"u1": u1.tolist(), "u2": u2.tolist(), "centroid_hz": centroid.tolist()}


def render_synth_point(model: str | Path, *, latent: Sequence[float] | np.ndarray, chroma: int | None = None,
                       seconds: float = 2.0, phase: str = "pghi", release_ms: float = 150.0) -> tuple[np.ndarray, int]:
    """One note of the latent synthesizer, offline, through the very code ``workbench play`` streams
    (:meth:`effects.play.LatentSynth.render`): gate on at 0, off ``release_ms`` (and 20 ms) before the end.

    Parameters
    ----------
    model : str or Path
        A synth run.
    latent : sequence of float, keyword-only
        The latent point.
    chroma : int, optional, keyword-only
        Pitch class (0 when None).
    seconds : float, seconds, keyword-only
        Length of the note.
    phase : str, keyword-only
        Phase maker (:data:`workbench.phase.PHASE_METHODS`).
    release_ms : float, ms, keyword-only
        Release time.

    Returns
    -------
    audio : np.ndarray [shape=(n,)]
        The first channel.
    sr : int, Hz
        The run's rate.
    """
    from effects.play import LatentSynth

    synth = LatentSynth(model=str(model), latent=latent, chroma=0 if chroma is None else int(chroma),
                        phase=phase, release_ms=release_ms)
    off = max(0.0, seconds - release_ms / 1000 - 0.02)
    y = synth.render(seconds, schedule=[(off, {"gate": False})])
    return y[0], synth.model_sr


def play_command(model: str | Path, *, latent: Sequence[float] | np.ndarray, chroma: int | None = None,
                 phase: str = "pghi") -> str:
    """The command line that plays this point live.

    Parameters
    ----------
    model : str or Path
        A synth run.
    latent : sequence of float, keyword-only
        The point (each value to 3 significant digits).
    chroma : int, optional, keyword-only
        Pitch class, written by name.
    phase : str, keyword-only
        Phase maker.

    Returns
    -------
    str
        ``workbench play --model ... --latent ... [--chroma ...] --phase ...``.
    """
    from analysis.latent_space import PITCH_CLASSES

    z = ",".join(f"{float(v):.3g}" for v in latent)
    ch = f" --chroma {PITCH_CLASSES[int(chroma)]}" if chroma is not None else ""
    return f"workbench play --model {model} --latent {z}{ch} --phase {phase}"
