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

import numpy as np

from analysis.embeddings import embedding_files
from models.run_info import list_runs, run_info
from workbench.audio import load, resample, validate_audio
from workbench.corpus.select import is_corpus
from workbench.corpus.truth import note_segments
from workbench.errors import ParameterError
from workbench.pitch import hz_to_midi
from workbench.report_io import read_json

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
    sr : int
        Rate of the returned audio in Hz (resampled with soxr).
    min_samples : int
        Fewest samples accepted at ``sr``.

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
    """``audio[:, start:start+seconds]`` in seconds (the whole rest when ``seconds`` is None)."""
    a = validate_audio(audio, sr=sr, name="input")
    i = int(round(max(start, 0.0) * sr))
    j = a.shape[1] if seconds is None else i + int(round(seconds * sr))
    out = a[:, i:j]
    if out.shape[1] == 0:
        raise ParameterError(f"start={start} s is past the end of the input ({a.shape[1] / sr:.2f} s)")
    return out


def ground_truth_notes(path) -> list[dict] | None:
    """The notes (onset, offset in s, MIDI pitch) stored beside rendered material as ``<stem>.json``,
    or None when the file has none (uploads, corpus notes, spoken phrases)."""
    meta = Path(path).with_suffix(".json")
    if not meta.is_file():
        return None
    try:
        notes = json.loads(meta.read_text()).get("notes")
    except (json.JSONDecodeError, AttributeError):
        return None
    return notes or None


def list_corpora(data) -> list[Path]:
    """NSynth-format corpus folders directly under ``data`` (``data/gm``...), sorted."""
    data = Path(data)
    if not data.is_dir():
        return []
    return sorted(p for p in data.iterdir() if p.is_dir() and is_corpus(p))


def corpus_notes(corpus) -> list[dict]:
    """Every note of a corpus: its NSynth metadata plus ``split`` and ``path``."""
    from workbench.corpus.nsynth import NSynth

    return NSynth(corpus).examples


def corpus_note_truth(corpus, note: dict) -> list[dict] | None:
    """A rendered corpus note as one ground-truth note: its pitch, held from 0 s for the
    corpus's ``hold`` (``render.json``); None for corpora without it (a real NSynth download)."""
    hold = read_json(Path(corpus) / "render.json").get("config", {}).get("hold")
    if not hold:
        return None
    return [{"onset": 0.0, "offset": float(hold), "pitch": int(note["pitch"])}]


# ---------------------------------------------------------------------------------------------
# runs


# ---------------------------------------------------------------------------------------------
# the compare page: one method on one input, with its measures


def make_effect(method: str, *, model=None, target=None, mix: float = 1.0):
    """The effect of ``method`` on the Compare page: a run's methods take ``model``, the baselines ``target``."""
    from effects.registry import MODEL_METHODS
    from effects.registry import make_effect as build

    if method not in COMPARE_METHODS:
        raise ParameterError(f"method={method!r} is not valid; expected one of {', '.join(COMPARE_METHODS)}")
    return build(method, model=model, mix=mix) if method in MODEL_METHODS else build(method, target=target, mix=mix)


def spectrogram_db(y: np.ndarray, *, sr: int, n_fft: int = 1024, hop_length: int = 256, floor_db: float = -80.0,
                   max_frames: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Magnitude spectrogram in dB relative to its peak, for display.

    Returns ``(times (T,) in s, freqs (F,) in Hz, db (F, T))`` with values in ``[floor_db, 0]``;
    frames are max-pooled down to at most ``max_frames`` so a long input stays light in the browser.
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


def save_outputs(folder, outputs: Mapping[str, np.ndarray], *, sr: int, metrics: Mapping[str, dict] | None = None) -> list[Path]:
    """Write each named signal as ``<folder>/<name>.wav`` (and ``metrics.json``); returns the files."""
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


def compare_method(effect, audio: np.ndarray, sr: int, *, notes: list[dict] | None = None, probe=None,
                   family: str | None = None, tracker: str = "pyin", input_track=None, reference=None) -> dict:
    """Play mono ``audio`` through ``effect`` and measure the result against the input.

    Parameters
    ----------
    effect : Effect
        Any Effect; its ``required_sample_rate`` (a trained model's) sets the processing rate.
    audio : np.ndarray, shape ``(1, samples)``
    sr : int
        Rate of ``audio`` in Hz.
    notes : list of dict, optional
        The input's notes (onset, offset, pitch): then pitch kept is the share of notes whose
        output median f0 stays within 50 cents, and timbre is judged per note.
    probe : TimbreProbe, optional
        A fitted family probe (:class:`analysis.scoreboard.TimbreProbe`) for target-timbre accuracy.
    family : str, optional
        The target's family; the accuracy is the share of segments the probe labels so.
    input_track : (times, f0), optional
        The input's f0 track, when already computed.
    reference : (HarmonicReference, float), optional
        The target material's matched-pitch reference and its held-out distance
        (:func:`analysis.harmonic_timbre.target_reference`): adds ``timbre_distance_db`` and
        ``timbre_gap_closed`` (None, with ``timbre_status`` "no pitched frames", when there are none).

    Returns
    -------
    dict
        ``sr``, ``output (samples,)``, ``input_track`` and ``output_track`` (times, f0 in Hz, 0 when
        unvoiced), ``metrics`` (``pitch_kept`` share or None, ``raw_pitch_accuracy``,
        ``voicing_recall``, ``loudness_correlation``, ``loudness_l1_db``, ``timbre_accuracy`` or None,
        ``labelled_as``, ``rtf``) and ``notes`` (per-note records or None).
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
    metrics.update(timbre_distance_db=None, timbre_gap_closed=None, timbre_status=None)
    if reference is not None:
        from analysis.harmonic_timbre import score_methods

        ref, held = reference
        row = score_methods(ref, inputs={"x": x[0]}, outputs={"y": {"x": y}}, target_db=held, sr=sr)[1]
        metrics.update(timbre_distance_db=row["distance_db"], timbre_gap_closed=row["gap_closed"],
                       timbre_status=row["status"])
    return {"sr": sr, "output": y.astype(np.float32), "input_track": in_track, "output_track": out_track,
            "metrics": metrics, "notes": rows}


# ---------------------------------------------------------------------------------------------
# reports


_SKIP_DIRS = {"inputs", "outputs", "tracks", "cache", "screenshots", "audio"}


def scan_reports(reports, *, depth: int = 3) -> dict[str, list[Path]]:
    """Report folders under ``reports`` by kind, each list sorted.

    Kinds: ``evaluation`` (``results.json`` with a ``scoreboard``, or ``pitch.json``), ``probe``
    (``results.json`` with ``probes``), ``pitchcnn`` (``results.json`` with ``history`` and
    ``within_semitone``), ``embedding`` (``<method>.csv`` with ``<method>_1`` coordinates) and
    ``mesh`` (``mesh.json``). Symbolic links are followed; audio and cache folders are not entered.
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


def track_file(path, *, sr: int = 16000, tracker: str = "pyin") -> tuple[np.ndarray, np.ndarray]:
    """f0 track ``(times, f0 Hz, 0 when unvoiced)`` of a mono-mixed audio file at ``sr``
    (:func:`workbench.pitch.track_f0`)."""
    from workbench.pitch import track_f0

    y, _ = load(path, sr=sr, mono=True)
    return track_f0(y[0], sr=sr, tracker=tracker)


def note_window(notes: list[dict], rows: list[dict], in_track, out_track, *, note: int,
                pad: float = 1.0) -> dict:
    """The f0 tracks around note ``note`` of a melody, with every note's target pitch in view.

    Parameters
    ----------
    notes : list of dict
        The melody's notes (onset, offset, pitch).
    rows : list of dict
        notes.csv rows of this melody, method and class (``note``, ``kept``...).
    in_track, out_track : (times, f0)
    pad : float
        Seconds shown before the note's onset and after its offset.

    Returns
    -------
    dict
        ``start``, ``end`` (s), ``times``, ``input_midi``, ``output_midi`` (NaN when unvoiced),
        ``targets`` (one dict per note in view: ``note``, ``onset``, ``offset``, ``pitch``,
        ``kept``, ``chosen``).
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


def note_audio_path(note_str: str, split: str, *, corpora: Sequence) -> Path | None:
    """The audio file of a corpus note, looked up in each corpus of ``corpora`` in turn."""
    for c in corpora:
        c = Path(c)
        for cand in (c / f"nsynth-{split}" / "audio" / f"{note_str}.wav", c / "audio" / f"{note_str}.wav"):
            if cand.is_file():
                return cand
    return None


# ---------------------------------------------------------------------------------------------
# latent mixing


def latent_mix_shape(model) -> tuple[list[str], int]:
    """``(codes, latent_dim)`` of a multi-instrument run, as the latent mixing effect reads them."""
    from effects.latent_mix import LatentMixEffect

    fx = LatentMixEffect(model=str(model))
    return list(fx.codes), int(fx.latent_dim)


def render_latent_mix(audio: np.ndarray, sr: int, *, model, morph: np.ndarray | None = None, **params) -> dict:
    """Play mono ``audio`` through :class:`effects.latent_mix.LatentMixEffect`.

    Parameters
    ----------
    audio : np.ndarray, shape ``(1, samples)``
    sr : int
        Rate of ``audio`` (and of ``morph``); both are resampled to the model's rate, the output back.
    model : path
        A multi-instrument run folder (see :func:`multi_instrument_runs`).
    morph : np.ndarray, optional
        The second input of the ``morph`` mode, mono at ``sr``.
    **params
        The effect's other keyword parameters: ``mode``, ``source``, ``target``, ``alpha``,
        ``scale``, ``offset``, ``faders``, ``mix``...

    Returns
    -------
    dict
        ``output (samples,)`` at ``sr``, ``trajectory (frames, latent_dim)``, ``frame_seconds``
        (time between latent frames), ``codes`` and ``latent_dim``.
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
def synth_runs(runs) -> list[Path]:
    """Run folders a latent synthesizer can play: weights present and ``model.output = spectrum``."""
    out = []
    for r in list_runs(runs):
        info = run_info(r)
        if info["has_weights"] and info["config"].get("config", {}).get("model", {}).get("output") == "spectrum":
            out.append(r)
    return out


def synth_shape(model) -> tuple[int, bool]:
    """``(latent units, has chroma)`` of a synth run."""
    cfg = run_info(model)["config"].get("config", {}).get("model", {})
    return int(cfg.get("latent", 0)), bool(cfg.get("chroma", False))


def synth_map(model, *, latent, chroma=None, points: int = 11) -> dict:
    """Spectral centroid (Hz) of the decoded frame over a ``points x points`` grid of units 1 and 2
    in [0, 1], the other units held at ``latent``: ``{"u1", "u2", "centroid_hz"}`` (flat lists)."""
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


def render_synth_point(model, *, latent, chroma=None, seconds: float = 2.0, phase: str = "pghi",
                       release_ms: float = 150.0) -> tuple[np.ndarray, int]:
    """One note of the latent synthesizer, offline, through the very code ``workbench play`` streams
    (:meth:`effects.play.LatentSynth.render`): gate on at 0, off ``release_ms`` before the end.

    Returns ``(audio (samples,), sample rate)``.
    """
    from effects.play import LatentSynth

    synth = LatentSynth(model=str(model), latent=latent, chroma=0 if chroma is None else int(chroma),
                        phase=phase, release_ms=release_ms)
    off = max(0.0, seconds - release_ms / 1000 - 0.02)
    y = synth.render(seconds, schedule=[(off, {"gate": False})])
    return y[0], synth.model_sr


def play_command(model, *, latent, chroma=None, phase: str = "pghi") -> str:
    """The command line that plays this point live."""
    from analysis.latent_space import PITCH_CLASSES

    z = ",".join(f"{float(v):.3g}" for v in latent)
    ch = f" --chroma {PITCH_CLASSES[int(chroma)]}" if chroma is not None else ""
    return f"workbench play --model {model} --latent {z}{ch} --phase {phase}"
