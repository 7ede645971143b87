"""Run folders: ``model.safetensors`` + ``config.json`` + ``meta.json`` (+ ``loss.csv``, ``loss.png``,
``resume.pt``, ``scorecard.csv``), their names in one place (:class:`RunFolder`).

Loading rebuilds the class named in ``config.json`` from its keyword arguments and loads the
weights strictly. Nothing is ever unpickled: a file that looks like a pickle or ``torch.save``
archive is refused, and resume state is read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from workbench.config import Config, DDSPConfig
from workbench.errors import ParameterError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["FORMAT_VERSION", "RunFolder", "cpu_state", "save_run", "update_meta", "load_run", "LoadedRun", "Encoding",
           "git_sha", "run_method", "METHOD_OF_CLASS"]

FORMAT_VERSION = 1


def _read_levels_as_trained(doc: dict) -> None:
    """Runs of a harmonics model saved before ``model.harmonic_read`` existed read their levels
    linearly: fill that in (in place), so they play as they were trained."""
    model = doc["config"].get("model") if isinstance(doc["config"], dict) else None
    if doc["class"] == "LSTMAutoencoder" and isinstance(model, dict) and "harmonic_read" not in model:
        model["harmonic_read"] = "linear"
        if isinstance(doc["model_kwargs"], dict) and doc["model_kwargs"].get("harmonics"):
            doc["model_kwargs"]["harmonic_read"] = "linear"


class RunFolder:
    """The files of one run folder, named in one place; reading it loads no weights.

    Parameters
    ----------
    path : str or Path
        The run folder (it need not exist yet).

    Examples
    --------
    >>> run = RunFolder("runs/demo-trumpet")
    >>> run.weights.name, run.loss_csv.name
    ('model.safetensors', 'loss.csv')
    """

    WEIGHTS, CONFIG, META = "model.safetensors", "config.json", "meta.json"
    LOSS_CSV, LOSS_PNG, RESUME, SCORECARD = "loss.csv", "loss.png", "resume.pt", "scorecard.csv"

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def weights(self) -> Path:
        """``model.safetensors``: the model's weights (:func:`save_run` replaces it whole)."""
        return self.path / self.WEIGHTS

    @property
    def config(self) -> Path:
        """``config.json``: the model's class, keyword arguments and full config."""
        return self.path / self.CONFIG

    @property
    def meta(self) -> Path:
        """``meta.json``: format, date, git sha, status and the training's summary."""
        return self.path / self.META

    @property
    def loss_csv(self) -> Path:
        """``loss.csv``: one row per epoch."""
        return self.path / self.LOSS_CSV

    @property
    def loss_png(self) -> Path:
        """``loss.png``: the loss curves."""
        return self.path / self.LOSS_PNG

    @property
    def resume(self) -> Path:
        """``resume.pt``: optimizer state for ``--resume`` (read with ``weights_only``)."""
        return self.path / self.RESUME

    @property
    def scorecard(self) -> Path:
        """``scorecard.csv``: the training scorecard's rows (``analysis.scorecard``)."""
        return self.path / self.SCORECARD

    def is_run(self) -> bool:
        """True when the folder holds a ``config.json`` (a run, finished or not)."""
        return self.config.is_file()

    def is_complete(self, *, config_hash: str | None = None) -> bool:
        """True when training finished here: weights, config and a ``meta.json`` whose status is
        ``done``, and (when given) made with the config of hash ``config_hash``.

        Parameters
        ----------
        config_hash : str, optional, keyword-only
            :func:`workbench.config.config_hash` of the config the run must have been trained with
            (``meta.json``'s ``config_hash``, which :func:`models.training.train_or_reuse` records).

        Returns
        -------
        bool
        """
        if not (self.weights.is_file() and self.config.is_file()):
            return False
        meta = self.read_meta()
        # DDSP runs written before the status entry were saved once, at the end: finished
        if meta.get("status", "done" if meta.get("method") == "ddsp" else None) != "done":
            return False
        # the hash of the config asked for, as training recorded it (the saved config is completed
        # by training: codes, statistics), so it is compared as given
        return config_hash is None or meta.get("config_hash") == config_hash

    def weights_token(self) -> str:
        """A token that changes whenever the weights file is replaced (size and mtime in ns), for
        caches of what a run computed.

        Returns
        -------
        str

        Raises
        ------
        ParameterError
            No weights file.
        """
        if not self.weights.is_file():
            raise ParameterError(f"model={str(self.path)!r} has no {self.WEIGHTS}; expected a run folder from "
                                 f"`workbench train`")
        st = self.weights.stat()
        return f"{st.st_size}|{st.st_mtime_ns}"

    def read_document(self) -> dict:
        """``config.json`` as written (``class``, ``model_kwargs``, ``config``, ``format_version``).

        Raises
        ------
        ParameterError
            Missing, unreadable, or of a newer format than this workbench reads.
        """
        if not self.config.is_file():
            raise ParameterError(f"model={str(self.path)!r} has no {self.CONFIG}; expected a run folder from "
                                 f"`workbench train`")
        try:
            doc = json.loads(self.config.read_text())
            doc["class"], doc["model_kwargs"], doc["config"]  # noqa: B018 - the keys every reader needs
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ParameterError(f"{str(self.config)!r} is not a valid run config ({type(err).__name__}: {err})") from None
        if doc.get("format_version", 0) > FORMAT_VERSION:
            raise ParameterError(f"{str(self.config)!r} has format_version={doc['format_version']}; this workbench "
                                 f"reads up to {FORMAT_VERSION}")
        _read_levels_as_trained(doc)
        return doc

    def read_config(self) -> Config | DDSPConfig:
        """The run's config, typed (:class:`Config` or :class:`DDSPConfig`), without its weights.

        Raises
        ------
        ParameterError
            As :meth:`read_document`, or a model class this workbench does not know.
        """
        doc = self.read_document()
        try:
            _, config_cls = _model_classes()[doc["class"]]
            return config_cls.from_dict(doc["config"])
        except (KeyError, TypeError) as err:
            raise ParameterError(f"{str(self.config)!r} is not a valid run config ({type(err).__name__}: {err})") from None

    def read_meta(self) -> dict:
        """``meta.json`` (empty when absent or unreadable: a run still training may be mid-write)."""
        try:
            return json.loads(self.meta.read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    def write_loss(self, rows: Sequence[dict]) -> Path:
        """Write one row per epoch to ``loss.csv`` (columns: the first row's keys).

        Parameters
        ----------
        rows : sequence of dict
            ``epoch``, ``train_loss``, ``valid_loss``, ``seconds`` and any others; nothing is
            written when empty.

        Returns
        -------
        Path
            ``loss.csv``.
        """
        if rows:
            self.path.mkdir(parents=True, exist_ok=True)
            part = self.loss_csv.with_suffix(".csv.part")  # replaced whole: a watcher never reads half a row
            with part.open("w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
            part.replace(self.loss_csv)
        return self.loss_csv

    def read_loss(self) -> dict[str, list[float]]:
        """``loss.csv`` as columns of floats (NaN where a cell is not a number); empty when missing."""
        cols: dict[str, list[float]] = {}
        if not self.loss_csv.is_file():
            return cols
        with self.loss_csv.open(newline="") as fh:
            for row in csv.DictReader(fh):
                for k, v in row.items():
                    try:
                        cols.setdefault(k, []).append(float(v))
                    except (TypeError, ValueError):
                        cols.setdefault(k, []).append(float("nan"))
        return cols


def _model_classes():
    """Class name in ``config.json`` -> (model class, config class)."""
    from models.ddsp import DDSPDecoder
    from models.lstm_ae import LSTMAutoencoder

    return {"LSTMAutoencoder": (LSTMAutoencoder, Config), "DDSPDecoder": (DDSPDecoder, DDSPConfig)}



METHOD_OF_CLASS = {"LSTMAutoencoder": "autoencoder", "DDSPDecoder": "ddsp"}  # which effect plays a run's model


def run_method(run: str | Path) -> str:
    """The method a run folder is played with, from its ``config.json`` alone (no weights loaded).

    Parameters
    ----------
    run : str or Path
        A run folder (only its config.json is read).

    Returns
    -------
    str
        ``"autoencoder"`` or ``"ddsp"``; ``"autoencoder"`` when it cannot tell (:func:`load_run`
        reports why).
    """
    try:
        cls = json.loads(RunFolder(run).config.read_text()).get("class")
    except (OSError, ValueError, AttributeError):
        return "autoencoder"
    return METHOD_OF_CLASS.get(cls, "autoencoder")


def git_sha() -> str | None:
    """The short commit of the checkout this code runs from, for a run's meta.json.

    Returns
    -------
    str or None
        None outside a git checkout, or when git is missing or slow (5 s).
    """
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A model's weights as contiguous CPU tensors of their own, whatever device trained them.

    ``safetensors.torch.save_model`` refuses weights that share storage, as cuDNN's flattened
    LSTM weights do on a GPU; own copies on the CPU save from any device and load on any.

    Parameters
    ----------
    model : torch.nn.Module
        Its ``state_dict()`` is copied (a DDP wrapper's ``module.`` prefix is not expected).

    Returns
    -------
    dict of str to torch.Tensor
    """
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def save_run(out: str | Path, model: torch.nn.Module, *, config: Config | DDSPConfig, model_kwargs: dict,
             meta: dict) -> Path:
    """Write ``model`` and its description into the run folder ``out``.

    One of the two writers of ``meta.json`` (:func:`update_meta` is the other); a save replaces
    the weights, ``config.json`` and ``meta.json`` together.

    Parameters
    ----------
    out : str or Path
        The run folder (created when missing).
    model : torch.nn.Module
        Its weights go to ``model.safetensors``; its class name to ``config.json``.
    config : Config or DDSPConfig
        The full configuration, written to ``config.json`` beside ``model_kwargs``.
    model_kwargs : dict
        The keyword arguments that rebuild ``model`` (:func:`load_run` passes them back).
    meta : dict
        Entries of ``meta.json``, after the format version, date (UTC) and git sha.

    Returns
    -------
    Path
        The run folder.
    """
    run = RunFolder(out)
    run.path.mkdir(parents=True, exist_ok=True)
    tmp = run.weights.with_name(run.WEIGHTS + ".part")
    save_file(cpu_state(model), str(tmp))
    tmp.replace(run.weights)  # a reader never sees half a file
    run.config.write_text(json.dumps({
        "format_version": FORMAT_VERSION,
        "class": type(model).__name__,
        "model_kwargs": model_kwargs,
        "config": config.to_dict(),
    }, indent=1))
    meta = {"format_version": FORMAT_VERSION, "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "git_sha": git_sha(), **meta}
    _write_meta(run.path, meta)
    return run.path


def update_meta(out: str | Path, meta: dict) -> dict:
    """Merge ``meta`` into the ``meta.json`` that :func:`save_run` wrote in the run folder ``out``.

    Training saves the best weights as it goes and learns the run's summary (epochs, stop
    reason, data) only at the end; this adds it without touching the weights. The format
    version, date and git sha of the last save are kept; keys of ``meta`` replace older ones.

    Parameters
    ----------
    out : str or Path
        A run folder that :func:`save_run` has written.
    meta : dict
        JSON-serialisable entries (others are written with ``str``).

    Returns
    -------
    dict
        The whole ``meta.json`` content now on disk.
    """
    doc = json.loads(RunFolder(out).meta.read_text())
    doc.update(meta)
    _write_meta(Path(out), doc)
    return doc


def _write_meta(out: Path, meta: dict) -> None:
    """The one writer of ``meta.json`` (:func:`save_run`, :func:`update_meta`)."""
    RunFolder(out).meta.write_text(json.dumps(meta, indent=1, default=str))


@dataclass
class Encoding:
    """What an autoencoder run makes of audio (:meth:`LoadedRun.encode`); B items, T frames.

    Attributes
    ----------
    mag : Tensor, shape (B, T, bins)
        Causal STFT magnitudes at the run's ``n_fft`` / ``hop_length``.
    inputs : Tensor, shape (B, T, context + 1, bins)
        The network's input: compressed frame shapes with their causal context.
    gain : Tensor, shape (B, T, 1)
        Each frame's level, taken out by the run's normalisation.
    f0 : Tensor, shape (B, T), or None
        Frame pitch in bins for a harmonic model.
    chroma : Tensor, shape (B, T, 12), or None
        One-hot chroma for a chroma model.
    z : Tensor, shape (B, T, latent)
        The bottleneck.
    """

    mag: torch.Tensor
    inputs: torch.Tensor
    gain: torch.Tensor
    f0: torch.Tensor | None
    chroma: torch.Tensor | None
    z: torch.Tensor


class LoadedRun:
    """A model rebuilt from a run folder, with its config and metadata (:func:`load_run` builds it).

    Parameters
    ----------
    path : Path
        The run folder.
    model : torch.nn.Module
        The model, weights loaded, in eval mode.
    config : Config or DDSPConfig
        The run's full config.
    meta : dict
        Its meta.json (empty when absent).
    """

    def __init__(self, path: Path, model: torch.nn.Module, config: Config | DDSPConfig, meta: dict):
        self.path, self.model, self.config, self.meta = path, model, config, meta

    @property
    def method(self) -> str:
        """The transfer method that plays this run: ``"ddsp"`` or ``"autoencoder"``."""
        return METHOD_OF_CLASS[type(self.model).__name__]

    def encode(self, y: np.ndarray | torch.Tensor) -> Encoding:
        """Audio through an autoencoder run's analysis, input shaping and encoder, from silence.

        The one home of "encode audio with a trained run" (latent probes, note latents,
        reconstruction); the streaming effect runs the same steps a block at a time.

        Parameters
        ----------
        y : np.ndarray or torch.Tensor [shape=(n,) or (B, n)]
            Mono audio at the run's sample rate (``config.audio.sr``).

        Returns
        -------
        Encoding
            Every stage, with ``B`` items (1 for a 1-D input) and ``T = n // hop_length`` frames.

        Raises
        ------
        ParameterError
            A ddsp run.
        """
        from models.lstm_ae import input_options, prepare_input, stack_context
        from workbench.spectral import causal_frames, chroma_onehot

        if self.method != "autoencoder":
            raise ParameterError(f"{str(self.path)!r} is a {self.method} run; expected an autoencoder run to encode")
        a, m = self.config.audio, self.config.model
        # the audio goes where the model is (a run moved to a GPU encodes there)
        x = torch.as_tensor(y, dtype=torch.float32, device=next(self.model.parameters()).device)
        x = x[None] if x.ndim == 1 else x
        with torch.inference_mode():
            mag = causal_frames(x, n_fft=a.n_fft, hop_length=a.hop_length, window=a.window).abs().transpose(-1, -2)
            shapes, gain, f0 = prepare_input(mag, **input_options(m))
            chroma = chroma_onehot(mag, sr=a.sr, n_fft=a.n_fft) if m.chroma else None
            inputs = stack_context(shapes, m.context)
            z, _ = self.model.encode(inputs, chroma=chroma)
        return Encoding(mag=mag, inputs=inputs, gain=gain, f0=f0, chroma=chroma, z=z)

    def __repr__(self) -> str:
        return f"LoadedRun({str(self.path)!r}, {type(self.model).__name__}, sr={self.config.audio.sr})"


def _looks_pickled(p: Path) -> bool:
    head = p.read_bytes()[:4]
    return head[:1] == b"\x80" or head[:2] == b"PK"  # pickle protocol 2+ / torch.save zip archive


def load_run(path: str | Path) -> LoadedRun:
    """Rebuild the model of a run folder in eval mode.

    Parameters
    ----------
    path : str or Path
        The run folder, or a file in it (its ``model.safetensors``).

    Returns
    -------
    LoadedRun
        The model (built from config.json's class and keyword arguments, weights loaded
        strictly), its config and metadata.

    Raises
    ------
    ParameterError
        Missing folder or files, a pickle instead of safetensors, a truncated or corrupt
        weights file, or weights that do not match ``config.json``.
    """
    p = Path(path)
    run = p.parent if p.is_file() else p
    if not run.exists():
        raise ParameterError(f"model={str(p)!r} does not exist; expected a run folder from `workbench train`")
    folder = RunFolder(run)
    doc = folder.read_document()
    weights = folder.weights
    if not weights.is_file():
        raise ParameterError(f"model={str(run)!r} has no model.safetensors; expected a run folder from `workbench train`")
    cls, config_cls = _model_classes().get(doc["class"], (None, None))
    if cls is None:
        raise ParameterError(f"{str(folder.config)!r} is not a valid run config (KeyError: {doc['class']!r})")
    kwargs, config = doc["model_kwargs"], folder.read_config()
    if _looks_pickled(weights):
        raise ParameterError(f"{str(weights)!r} is a pickle/torch.save file; refusing to unpickle it "
                             f"(expected safetensors)")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise ParameterError(f"{str(weights)!r} is truncated or corrupt ({err}); expected a complete safetensors "
                             f"file") from None
    model = cls(**kwargs)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ParameterError(f"{str(weights)!r} does not match config.json: missing {missing[:3]}, unexpected "
                             f"{extra[:3]}")
    for k, v in expected.items():
        if state[k].shape != v.shape:
            raise ParameterError(f"{str(weights)!r} does not match config.json: {k} has shape "
                                 f"{tuple(state[k].shape)}, the config builds {tuple(v.shape)}")
    model.load_state_dict(state, strict=True)
    model.eval()
    return LoadedRun(run, model, config, folder.read_meta())
