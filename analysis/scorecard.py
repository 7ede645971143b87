"""The training scorecard: is the model good yet, measured while it trains (issue 26).

Every ``train.scorecard_every`` epochs and after the last one, :class:`Scorecard` (a
:class:`models.callbacks.TrainingCallback`) plays a sung voice phrase through the current
weights with the run's own streaming effect and writes one row of ``scorecard.csv`` in the run
folder (:data:`COLUMNS`):

- ``timbre_db``, ``input_db``, ``floor_db``, ``gap``: the matched-pitch timbre distance of the
  output and of the voice itself to the instrument, judged at the voice's pitch
  (:meth:`analysis.harmonic_timbre.HarmonicReference.compare_input`), against a reference fitted
  on clips the run never trained on (its valid split); the floor is the distance of part of
  those clips held out from the reference, and ``gap`` the share of the voice-to-floor distance
  the output closed, capped at 1 (:func:`analysis.harmonic_timbre.gap_closed`);
- ``pitch_accuracy``: raw pitch accuracy at 50 cents of the output's pYIN track against the
  voice's (:func:`workbench.pitch.melody_scores`; pYIN is the tracker neither model plays with:
  the autoencoder keeps its input's phase, the DDSP method tracks with CREPE);
- ``loudness_correlation``: of the A-weighted levels (:func:`analysis.scoreboard.loudness_match`);
- ``ms_per_hop`` and ``hop_load``: the streaming effect's cost per hop (median over blocks of
  one hop, wall clock) and its share of the hop's duration (above 1: slower than real time);
- ``epoch``, ``seconds`` (training wall time at the measurement) and ``measure_seconds``.

With ``train.stop_on="scorecard"`` the run stops when the gap has plateaued (:func:`plateau`).
The voice phrase is sung by Festival once per run (``scorecard_voice.wav``, a fixed phrase) or
given (``voice=``). :func:`read_scorecard` reads the file back. What the phrase sounded like
through the weights of each measurement is kept too (``scorecard_audio/epoch_NNNN.wav``, about
130 kB each at 16 kHz, where a snapshot of the weights would be megabytes), and
:func:`snapshot_audio` lists those files.
"""

from __future__ import annotations

import copy
import csv
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.callbacks import RunState, TrainingCallback
from models.checkpoint import RunFolder
from workbench.errors import ParameterError

__all__ = ["Scorecard", "plateau", "read_scorecard", "snapshot_audio", "voice_phrase", "COLUMNS", "SCORECARD_FILE",
           "VOICE_FILE", "SNAPSHOT_DIR"]

log = logging.getLogger(__name__)

SCORECARD_FILE = RunFolder.SCORECARD  # the run folder names its files (models.checkpoint)
VOICE_FILE = "scorecard_voice.wav"
SNAPSHOT_DIR = "scorecard_audio"  # the phrase through the weights of each measurement: epoch_NNNN.wav
VOICE_SEED = 26  # the fixed phrase: random_phrase of this seed (A2-C4, a low voice's range)
COLUMNS = ("epoch", "seconds", "timbre_db", "input_db", "floor_db", "gap", "judged_share", "pitch_accuracy",
           "loudness_correlation", "ms_per_hop", "hop_load", "measure_seconds")
_HOP_BLOCKS = 48  # hop-sized blocks timed for the per-hop cost (after 8 of warm-up)
# pitched-seconds caps of the reference's material and of its floor: pYIN costs about 0.2 s per
# second of audio on 2 cores, and the set-up is most of the scorecard's overhead
REFERENCE_SECONDS, FLOOR_SECONDS = 12.0, 4.0


def plateau(values: Sequence[float | None], *, patience: int, margin: float) -> bool:
    """Whether a higher-is-better figure has stopped improving.

    True when the last ``patience`` values all stay below the best value before them plus
    ``margin``: ``max(v[-patience:]) < max(v[:-patience]) + margin``. Missing values (None,
    NaN) never count as an improvement, and with no value before the last ``patience`` there is
    nothing to plateau from.

    Parameters
    ----------
    values : sequence of float or None
        The figure at each measurement, oldest first.
    patience : int, keyword-only
        Measurements without an improvement before it is a plateau (>= 1).
    margin : float, keyword-only
        Smallest rise that counts as an improvement (>= 0).

    Returns
    -------
    bool

    Examples
    --------
    >>> plateau([0.1, 0.3, 0.31, 0.305], patience=2, margin=0.02)
    True
    >>> plateau([0.1, 0.3, 0.35], patience=2, margin=0.02)
    False
    """
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise ParameterError(f"patience={patience!r} must be a positive integer (measurements)")
    if not margin >= 0:
        raise ParameterError(f"margin={margin!r} must be >= 0")
    v = [-math.inf if x is None or not math.isfinite(x) else float(x) for x in values]
    if len(v) <= patience:
        return False
    before, recent = max(v[:-patience]), max(v[-patience:])
    if before == -math.inf:
        return False  # nothing measured before: no evidence of a plateau
    return recent < before + margin


def voice_phrase(path: str | Path, *, sr: int) -> np.ndarray:
    """The scorecard's sung phrase at ``sr``: rendered by Festival into ``path`` once, then read.

    Parameters
    ----------
    path : str or Path
        Where the phrase is kept (a run folder's ``scorecard_voice.wav``).
    sr : int, Hz, keyword-only
        The rate it is rendered and read at.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        About 4 s of a low voice singing six to eight notes (MIDI 45-60).

    Raises
    ------
    ParameterError
        Festival missing or failing.
    """
    from workbench.audio import load
    from workbench.corpus.voice import random_phrase, sing

    path = Path(path)
    if path.is_file():
        return load(path, sr=sr, mono=True)[0][0]
    path.parent.mkdir(parents=True, exist_ok=True)
    y, _ = sing(random_phrase(np.random.default_rng(VOICE_SEED)), path, sr=sr)
    return y


def read_scorecard(run: str | Path) -> list[dict]:
    """The rows of a run folder's ``scorecard.csv`` (empty when it has none).

    Parameters
    ----------
    run : str or Path
        A run folder.

    Returns
    -------
    list of dict
        One per measurement, oldest first: ``epoch`` (int) and the other :data:`COLUMNS` as
        floats (None where the figure could not be measured).
    """
    path = RunFolder(run).scorecard
    if not path.is_file():
        return []
    rows = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            out: dict = {}
            for k, v in row.items():
                try:
                    out[k] = float(v) if v not in ("", None) else None
                except ValueError:
                    out[k] = None
            if out.get("epoch") is not None:
                out["epoch"] = int(out["epoch"])
            rows.append(out)
    return rows


def snapshot_audio(run: str | Path) -> list[tuple[int, Path]]:
    """The voice phrase as each scorecard measurement heard it through the run's weights then.

    Parameters
    ----------
    run : str or Path
        A run folder.

    Returns
    -------
    list of (int, Path)
        ``(epoch, wav file)`` per measurement, oldest first; empty for a run trained without the
        scorecard or before the snapshots were kept.
    """
    out = []
    for p in sorted((Path(run) / SNAPSHOT_DIR).glob("epoch_*.wav")):
        try:
            out.append((int(p.stem.split("_", 1)[1]), p))
        except ValueError:
            continue
    return sorted(out)


def _split_reference(clips: list[np.ndarray], *, sr: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Held-out clips cut into the reference's part and the floor's part: the last of three or more
    clips; of fewer, every fifth second (so both parts span the material, not only its end)."""
    clips = [c for c in clips if c.size]
    if len(clips) >= 3:
        return clips[:-1], clips[-1:]
    y = np.concatenate(clips) if clips else np.zeros(0, np.float32)
    seconds = [y[i: i + sr] for i in range(0, y.size, sr)]
    return [s for i, s in enumerate(seconds) if i % 5 != 4], [s for i, s in enumerate(seconds) if i % 5 == 4]


def _spread(clips: list[np.ndarray], samples: float) -> list[np.ndarray]:
    """At most ``samples`` of ``clips`` in all: the same share of each, from their starts."""
    total = sum(c.size for c in clips)
    if total <= samples:
        return clips
    share = samples / total
    return [c[: max(1, int(c.size * share))] for c in clips]


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None or not math.isfinite(v) else format(v, spec)


class Scorecard(TrainingCallback):
    """Measure a training run on a voice phrase every few epochs; write ``scorecard.csv``.

    The period, the plateau rule and whether the plateau stops training come from the run's
    config (``train.scorecard_every``, ``scorecard_patience``, ``scorecard_margin``,
    ``stop_on``), read when training starts.

    Parameters
    ----------
    voice : str or Path, optional, keyword-only
        The input phrase (any audio file; mono at the model's rate). Default: the fixed sung
        phrase (:func:`voice_phrase`), kept in the run folder.
    reference : sequence of str or Path, optional, keyword-only
        Audio of the instrument to fit the timbre reference and floor on instead of the run's
        held-out clips (e.g. reference notes, or clean material to judge a run on a noisy take
        against); it should not be material the run trains on.
    min_reference_seconds : float, seconds, keyword-only
        Pitched held-out seconds the timbre reference needs; with less, the timbre columns stay
        empty (the reason is logged and kept in ``meta.json``) and the rest is measured.

    Attributes
    ----------
    rows_ : list of dict
        The measurements so far (:data:`COLUMNS`).
    reference_status_ : str
        ``"ok"`` or why there is no timbre reference.
    setup_seconds_, measure_seconds_ : float, seconds
        Time spent preparing (voice, reference) and measuring: the scorecard's overhead.

    Examples
    --------
    >>> from models.train import train
    >>> train(paths, cfg, "runs/trumpet", callbacks=[Scorecard()])  # doctest: +SKIP
    """

    def __init__(self, *, voice: str | Path | None = None, reference: Sequence[str | Path] | None = None,
                 min_reference_seconds: float = 3.0):
        self.voice, self.reference_files = voice, None if reference is None else [Path(p) for p in reference]
        self.min_reference_seconds = float(min_reference_seconds)
        self.stop_reason = None
        self.rows_: list[dict] = []
        self.reference_status_ = "not started"
        self.setup_seconds_ = self.measure_seconds_ = 0.0

    # -- hooks ------------------------------------------------------------------------------------
    def on_train_start(self, state: RunState) -> None:
        """Render or load the voice, fit the timbre reference on the held-out clips, open the file."""
        from analysis.harmonic_timbre import fit_reference
        from workbench.audio import load
        from workbench.pitch import track_f0

        t0 = time.perf_counter()
        cfg = state.config
        t, self.sr = cfg.train, cfg.audio.sr
        self.every, self.patience, self.margin, self.stops = (t.scorecard_every, t.scorecard_patience,
                                                              t.scorecard_margin, t.stop_on == "scorecard")
        try:
            self.x = (load(self.voice, sr=self.sr, mono=True)[0][0] if self.voice is not None
                      else voice_phrase(Path(state.out) / VOICE_FILE, sr=self.sr))
        except ParameterError as err:
            raise ParameterError(f"scorecard: {err}; give a voice phrase (--scorecard-voice FILE) or train with "
                                 f"--no-scorecard") from None
        self.x_track = track_f0(self.x, sr=self.sr)
        self.reference, self.floor_db, self.inp = None, None, None
        try:
            clips = (state.held_out() if self.reference_files is None
                     else [load(p, sr=self.sr, mono=True)[0][0] for p in self.reference_files])
            fit, held = _split_reference(clips, sr=self.sr)
            self.reference, self.floor_db = fit_reference(fit, _spread(held, FLOOR_SECONDS * self.sr), sr=self.sr,
                                                          name="the held-out clips", max_seconds=REFERENCE_SECONDS,
                                                          min_seconds=self.min_reference_seconds)
            self.inp = self.reference.analyse_input(self.x, sr=self.sr)
            self.reference_status_ = "ok"
        except ParameterError as err:
            self.reference_status_ = str(err)
            log.warning("scorecard: no timbre figures (%s)", err)
            if self.stops:
                raise ParameterError(f"train.stop_on='scorecard' needs the timbre gap, which cannot be measured: "
                                     f"{err}; stop on the loss") from None
        path = RunFolder(state.out).scorecard
        self.rows_ = [r for r in read_scorecard(state.out) if r["epoch"] <= state.epoch] if state.resumed else []
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows({k: ("" if r.get(k) is None else r[k]) for k in COLUMNS} for r in self.rows_)
        self.setup_seconds_ = time.perf_counter() - t0
        log.info("scorecard: every %d epochs; reference %s (floor %s dB); set up in %.1f s", self.every,
                 self.reference_status_, _fmt(self.floor_db, ".2f"), self.setup_seconds_)

    def on_epoch_end(self, state: RunState) -> dict[str, str] | None:
        """Measure when the epochs done are a multiple of the period."""
        if state.done % self.every:
            return None
        return self.figures(self._record(state))

    def on_train_end(self, state: RunState) -> None:
        """Measure the final weights unless the last epoch was just measured."""
        if state.done > 0 and (not self.rows_ or self.rows_[-1]["epoch"] != state.epoch):
            self._record(state)

    def summary(self) -> dict:
        """``scorecard`` (the last row), its reference's status and its overhead, for ``meta.json``."""
        return {"scorecard": self.rows_[-1] if self.rows_ else None, "scorecard_reference": self.reference_status_,
                "scorecard_overhead_seconds": round(self.setup_seconds_ + self.measure_seconds_, 2)}

    # -- measuring ------------------------------------------------------------------------------
    @staticmethod
    def figures(row: dict) -> dict[str, str]:
        """A row's figures, short, for a progress bar or a log line."""
        return {"gap": _fmt(row.get("gap"), ".2f"), "rpa": _fmt(row.get("pitch_accuracy"), ".2f"),
                "loud": _fmt(row.get("loudness_correlation"), ".2f"), "hop_ms": _fmt(row.get("ms_per_hop"), ".2f")}

    def _effect(self, state: RunState):
        from models.checkpoint import LoadedRun

        model = copy.deepcopy(state.model).to("cpu").eval()
        run = LoadedRun(Path(state.out), model, state.config, dict(state.meta))
        if state.method == "ddsp":
            from effects.ddsp import DDSPEffect

            return DDSPEffect(model=run)
        from effects.autoencoder import AutoencoderEffect

        return AutoencoderEffect(model=run)

    def _hop_cost(self, fx) -> float:
        hop = int(self.hop)
        fx.prepare(self.sr, 1, hop)
        fx.reset()
        x = np.zeros((1, hop * (_HOP_BLOCKS + 8)), np.float32)
        n = min(self.x.size, x.shape[1])
        x[0, :n] = self.x[:n]
        times = []
        for i in range(_HOP_BLOCKS + 8):
            t = time.perf_counter()
            fx.process_block(x[:, i * hop:(i + 1) * hop])
            times.append(time.perf_counter() - t)
        return float(np.median(times[8:]) * 1000)

    def measure(self, state: RunState) -> dict:
        """One row of the scorecard for the current weights (not written; see :meth:`on_epoch_end`).

        Parameters
        ----------
        state : RunState
            The run after an epoch.

        Returns
        -------
        dict
            The :data:`COLUMNS`; timbre figures None without a reference or a score.
        """
        import torch

        from analysis.scoreboard import loudness_match
        from workbench.pitch import melody_scores, track_f0

        t0 = time.perf_counter()
        self.hop = state.config.audio.hop_length
        threads = torch.get_num_threads()
        fx = self._effect(state)
        y = fx.process(self.x[None], self.sr)[0]
        ms = self._hop_cost(fx)
        torch.set_num_threads(threads)
        s = self.reference.compare_input(self.inp, y, sr=self.sr, target_db=self.floor_db) if self.reference else None
        rpa = melody_scores(self.x_track, track_f0(y, sr=self.sr))["raw_pitch_accuracy"]
        loud = loudness_match(self.x, y, sr=self.sr)["loudness_correlation"]
        row = {"epoch": int(state.epoch), "seconds": round(state.seconds, 2),
               "timbre_db": None if s is None else s.output_db, "input_db": None if s is None else s.input_db,
               "floor_db": self.floor_db, "gap": None if s is None else s.gap_closed,
               "judged_share": None if s is None else s.judged_share, "pitch_accuracy": rpa,
               "loudness_correlation": loud if math.isfinite(loud) else None, "ms_per_hop": ms,
               "hop_load": ms / (1000 * self.hop / self.sr)}
        row = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
        row["measure_seconds"] = round(time.perf_counter() - t0, 3)
        self.output_ = y
        return row

    def _record(self, state: RunState) -> dict:
        from workbench.audio import save

        row = self.measure(state)
        # what the measurement heard, to listen to later (the Training page plays these)
        save(Path(state.out) / SNAPSHOT_DIR / f"epoch_{row['epoch']:04d}.wav", self.output_, self.sr)
        self.measure_seconds_ += row["measure_seconds"]
        self.rows_.append(row)
        with (RunFolder(state.out).scorecard).open("a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=COLUMNS).writerow({k: ("" if row.get(k) is None else row[k])
                                                             for k in COLUMNS})
        log.info("scorecard epoch %d: %s (%.1f s)", row["epoch"],
                 " ".join(f"{k}={v}" for k, v in self.figures(row).items()), row["measure_seconds"])
        if self.stops and plateau([r["gap"] for r in self.rows_], patience=self.patience, margin=self.margin):
            best = max((r["gap"] for r in self.rows_ if r["gap"] is not None), default=None)
            self.stop_reason = (f"the gap has not improved by {self.margin} for {self.patience} measurements "
                                f"(best {_fmt(best, '.3f')})")
        return row
