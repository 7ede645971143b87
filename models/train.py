"""Training the LSTM-context autoencoder on an instrument's audio.

Data goes through a ``Dataset`` of frame sequences and a ``Sampler``; device, world size and
rank are passed in and nothing lives at module level, so corpus-scale training can launch
under ``torchrun`` (DistributedDataParallel, one process per device) without a rewrite; the
set-up for that lives in :mod:`models.distributed`. :class:`Trainer` holds the steps of a run
(data and its one train/valid split, model, epochs, validation, checkpoints, summary);
:func:`train` runs them in order.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from models import distributed
from models.augment import augment_batch, random_envelope
from models.callbacks import (
    STOP_FILE,
    STOP_REQUESTED,
    RunState,
    TrainingCallback,
    epoch_figures,
    stop_reason,
    stop_requested,
)
from models.checkpoint import RunFolder, cpu_state, save_run, update_meta
from models.lstm_ae import LSTMAutoencoder, input_options, prepare_input, stack_context
from workbench.audio import describe_conversion, load
from workbench.config import Config
from workbench.errors import ParameterError
from workbench.spectral import causal_frames, chroma_onehot

log = logging.getLogger(__name__)

__all__ = [
    "EpochSampler", "FrameSequences", "prepare_batch", "DataSplit", "Trainer", "clip_magnitudes", "split_clips", "split_data",
    "split_indices", "build_model", "train", "model_kwargs", "device_schedule",
]


def clip_magnitudes(paths: Sequence[str | Path], cfg: Config) -> list[torch.Tensor]:
    """Load each file (mono, at ``cfg.audio.sr``) and return its causal STFT magnitudes.

    Parameters
    ----------
    paths : sequence of str or Path
        Audio files (each at least one ``n_fft`` frame long).
    cfg : Config
        ``cfg.audio`` gives the rate, frame, hop and window.

    Returns
    -------
    list of Tensor, each shape (T, bins)
        Linear magnitudes, ``bins = n_fft // 2 + 1``, one frame per hop.
    """
    a = cfg.audio
    out = []
    for p in paths:
        y, _ = load(p, sr=a.sr, mono=True, min_samples=a.n_fft)
        out.append(causal_frames(torch.from_numpy(y[0]), n_fft=a.n_fft, hop_length=a.hop_length,
                                 window=a.window).abs().T.contiguous())
    return out


def split_indices(n: int, *, valid_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Clip-level split of ``n`` clips: sorted (train, valid) indices, at least one valid clip.

    Parameters
    ----------
    n : int
        Number of clips.
    valid_fraction : float
        Share of clips held out (rounded; at least one).
    seed : int
        Seed of the permutation: the same seed splits the same way everywhere.

    Returns
    -------
    train, valid : list of int
        Sorted clip indices.
    """
    order = np.random.default_rng(seed).permutation(n)
    n_valid = max(1, int(round(n * valid_fraction)))
    return sorted(order[n_valid:].tolist()), sorted(order[:n_valid].tolist())


@dataclass(frozen=True)
class DataSplit:
    """The train/valid split of a run's clips, computed once (:func:`split_data`).

    Attributes
    ----------
    train, valid : list of Tensor, each shape (T, bins)
        Clip magnitudes (a single clip's frames are cut in two).
    train_codes, valid_codes : list of int or None
        The instrument code of each clip (None for an unconditioned model).
    """

    train: list[torch.Tensor]
    valid: list[torch.Tensor]
    train_codes: list[int] | None = None
    valid_codes: list[int] | None = None


def split_data(mags: list[torch.Tensor], codes: list[int] | None = None, *, valid_fraction: float, seed: int,
               min_frames: int) -> DataSplit:
    """Clip-level train/valid split (no frame of a valid clip is seen in training), clips and codes together.

    With a single clip, its last ``valid_fraction`` of frames is held out instead (its code goes
    to both sides).

    Parameters
    ----------
    mags : list of Tensor, each shape (T, bins)
        Clip magnitudes (:func:`clip_magnitudes`).
    codes : list of int, optional
        Each clip's instrument code.
    valid_fraction : float
        Share of clips (or of a single clip's frames) held out, 0 < valid_fraction < 1.
    seed : int
        Seed of the clip permutation (:func:`split_indices`).
    min_frames : int
        Fewest frames each side of a single clip's cut.

    Returns
    -------
    DataSplit
    """
    if not mags:
        raise ParameterError("no training clips; expected at least one audio file")
    if len(mags) == 1:
        m = mags[0]
        cut = int(round(m.shape[0] * (1 - valid_fraction)))
        if cut < min_frames or m.shape[0] - cut < min_frames:
            raise ParameterError(f"one clip of {m.shape[0]} frames is too short to split; expected at least "
                                 f"{math.ceil(min_frames / min(valid_fraction, 1 - valid_fraction))} frames")
        return DataSplit([m[:cut]], [m[cut:]], codes, codes)
    train_i, valid_i = split_indices(len(mags), valid_fraction=valid_fraction, seed=seed)
    if codes is None:
        return DataSplit([mags[i] for i in train_i], [mags[i] for i in valid_i])
    return DataSplit([mags[i] for i in train_i], [mags[i] for i in valid_i], [codes[i] for i in train_i],
                     [codes[i] for i in valid_i])


def split_clips(mags: list[torch.Tensor], *, valid_fraction: float, seed: int,
                min_frames: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Clip-level train/valid split of ``mags`` alone (see :func:`split_data`).

    Parameters
    ----------
    mags : list of Tensor, each shape (T, bins)
        Clip magnitudes.
    valid_fraction, seed, min_frames
        As for :func:`split_data`.

    Returns
    -------
    train, valid : list of Tensor, each shape (T, bins)
    """
    s = split_data(mags, valid_fraction=valid_fraction, seed=seed, min_frames=min_frames)
    return s.train, s.valid


class FrameSequences(Dataset):
    """Sequences of ``seq_len`` frames (plus ``context`` frames of history) cut from clips.

    The clips are framed once per run and kept as one tensor on ``device``. Item ``i`` is its
    window ``(context + seq_len, bins)`` of clean magnitudes and its augmentation draws (pitch
    shift, foreign envelope, noise level), drawn on the CPU from a generator seeded by
    ``(seed, epoch, i)``, so they do not depend on the device, batch or sampling order.
    :meth:`batch` gathers a batch's windows in one indexing operation and
    :func:`prepare_batch` augments them and prepares the network's input there, in batches
    (a GPU is then fed whole batches, not one sequence at a time).

    Parameters
    ----------
    mags : list of Tensor, each shape (T, bins)
        Clip magnitudes; clips under two frames are left out.
    cfg : Config
        ``train.seq_len``, ``model.context`` and the augmentation and input settings.
    augment : bool
        Perturb the input (pitch shift, foreign envelope, noise) as ``cfg.train`` says.
    seed : int
        Seed of the augmentation draws.
    stride : int, optional
        Frames between sequence starts (default ``seq_len``).
    codes : list of int, optional
        Each clip's instrument code (conditioned models).
    device : torch.device or str
        Where the framed clips are kept and batches are made.
    """

    def __init__(self, mags: list[torch.Tensor], cfg: Config, *, augment: bool, seed: int = 0, stride: int | None = None,
                 codes: list[int] | None = None, device: torch.device | str = "cpu"):
        self.cfg, self.augment, self.seed, self.epoch = cfg, augment, seed, 0
        L, C = cfg.train.seq_len, cfg.model.context
        stride = stride or L
        parts, starts, clip_codes = [], [], []
        offset = 0
        for j, m in enumerate(mags):
            if m.shape[0] < 2:
                continue
            # zero history before the first frame and silence after the last (a clip shorter than seq_len)
            padded = torch.cat([m.new_zeros(C, m.shape[1]), m, m.new_zeros(max(L - m.shape[0], 0), m.shape[1])])
            parts.append(padded)
            for s in range(0, max(m.shape[0] - L, 0) + 1, stride):
                starts.append(offset + s)
                clip_codes.append(codes[j] if codes is not None else 0)
            offset += padded.shape[0]
        if not starts:
            raise ParameterError(f"clips are shorter than one training sequence of {L} frames; lower train.seq_len")
        self.bins = parts[0].shape[1]
        self.frames = torch.cat(parts).to(device)
        self.starts = torch.tensor(starts, device=device)
        self.codes = torch.tensor(clip_codes, device=device)
        self.device = torch.device(device)

    def set_epoch(self, epoch: int) -> None:
        """Draw the next augmentations for ``epoch``.

        Parameters
        ----------
        epoch : int
            Epoch number, from 0.
        """
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return int(self.starts.numel())

    def draws(self, i: int) -> tuple[float, bool, torch.Tensor | None, float]:
        """Item ``i``'s augmentation draws this epoch: semitones, corrupt, envelope ``(bins,)``, noise dB.

        Parameters
        ----------
        i : int
            Item index.

        Returns
        -------
        tuple
            ``(semitones, corrupt, envelope or None, noise_db)``; ``noise_db`` is ``-inf`` for none.
        """
        t = self.cfg.train
        semis, corrupt, env, level = 0.0, False, None, -math.inf
        if not self.augment:
            return semis, corrupt, env, level
        g = torch.Generator().manual_seed(hash((self.seed, self.epoch, i)) & 0x7FFFFFFF)
        lo, hi = t.pitch_shift
        if hi > lo and torch.rand((), generator=g) < t.pitch_shift_prob:
            semis = float(lo + (hi - lo) * torch.rand((), generator=g))
        if torch.rand((), generator=g) < t.corrupt_prob:
            # replace the instrument's envelope by a foreign one, one per sequence
            corrupt = True
            env = random_envelope(self.bins, order=t.corrupt_order, std_db=t.corrupt_db, generator=g)
        if t.noise_db > -200:
            level = t.noise_db - 20 * float(torch.rand((), generator=g))
        return semis, corrupt, env, level

    def __getitem__(self, i: int) -> dict:
        return self.batch([i])

    def batch(self, items: Sequence[int]) -> dict:
        """The windows and draws of ``items``, stacked, on the dataset's device.

        Parameters
        ----------
        items : sequence of int
            Item indices.

        Returns
        -------
        dict
            ``win`` ``(B, context + seq_len, bins)``, ``code`` ``(B,)`` code indices, and the
            draws ``semitones``, ``corrupt``, ``envelope`` ``(B, bins)``, ``noise_db`` (:func:`augment_batch`).
        """
        C, L = self.cfg.model.context, self.cfg.train.seq_len
        idx = torch.as_tensor(list(items), device=self.device)
        rows = self.starts[idx][:, None] + torch.arange(C + L, device=self.device)
        d = [self.draws(int(i)) for i in items]
        ones = torch.ones(self.bins)
        return {"win": self.frames[rows], "code": self.codes[idx],
                "semitones": torch.tensor([x[0] for x in d]), "corrupt": torch.tensor([x[1] for x in d]),
                "envelope": torch.stack([ones if x[2] is None else x[2] for x in d]),
                "noise_db": torch.tensor([x[3] for x in d], dtype=torch.float32)}

    def batches(self, order: Sequence[int], batch_size: int) -> Iterator[dict]:
        """:meth:`batch` of consecutive ``batch_size`` items of ``order`` (the last one shorter).

        Parameters
        ----------
        order : sequence of int
            Item indices in sampling order.
        batch_size : int
            Items per batch.

        Yields
        ------
        dict
        """
        order = list(order)
        for k in range(0, len(order), batch_size):
            yield self.batch(order[k: k + batch_size])


def prepare_batch(batch: dict, cfg: Config, *, generator: torch.Generator | None = None) -> dict:
    """Augment a batch (:meth:`FrameSequences.batch`) and prepare the network's input, where it lives.

    Parameters
    ----------
    batch : dict
        Windows and draws.
    cfg : Config
        The model's input settings and the augmentation's shift mode.
    generator : torch.Generator, optional, keyword-only
        Draws the noise floor (on the batch's device).

    Returns
    -------
    dict
        ``x`` ``(B, seq_len, context + 1, bins)`` prepared input windows, ``y`` ``(B, seq_len,
        bins)`` the clean compressed normalised target, and the model's keyword arguments:
        ``code`` ``(B, seq_len, codes)``, ``chroma`` ``(B, seq_len, 12)`` of the input's frames
        as the effect will see them, ``f0`` ``(B, seq_len)`` in bins (each None when unused).
    """
    m, t, C = cfg.model, cfg.train, cfg.model.context
    win = batch["win"]
    clean, noisy = augment_batch(win, semitones=batch["semitones"], envelope=batch["envelope"], corrupt=batch["corrupt"],
                                 noise_db=batch["noise_db"], shift_order=30 if t.pitch_shift_mode == "formant" else 0,
                                 generator=generator)
    kw = input_options(m)
    x, _, f0 = prepare_input(noisy, **kw)
    y, _, _ = prepare_input(clean[:, C:], **{**kw, "whiten": 0, "harmonics": 0})  # the target keeps its timbre
    x = stack_context(x[:, C:], C, x[:, :C])
    B, L = x.shape[:2]
    n_codes = len(m.codes) if m.condition != "none" else 0
    code = torch.nn.functional.one_hot(batch["code"], n_codes).to(x.dtype)[:, None].expand(B, L, n_codes) \
        if n_codes else None
    chroma = chroma_onehot(noisy[:, C:], sr=cfg.audio.sr, n_fft=cfg.audio.n_fft) if m.chroma else None
    return {"x": x, "y": y, "code": code, "chroma": chroma, "f0": f0[:, C:] if f0 is not None else None}


class EpochSampler(torch.utils.data.Sampler):
    """Shuffles with a permutation drawn from ``(seed, epoch)``: the order of any epoch is the same
    whether training ran straight through or was resumed (DistributedSampler does the same).

    Parameters
    ----------
    n : int
        Number of items.
    seed : int
        Seed of the permutations.
    """

    def __init__(self, n: int, *, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Shuffle for ``epoch``.

        Parameters
        ----------
        epoch : int
            Epoch number, from 0.
        """
        self.epoch = int(epoch)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


def model_kwargs(cfg: Config) -> dict:
    """The :class:`LSTMAutoencoder` keyword arguments of a config (what ``config.json`` keeps).

    Parameters
    ----------
    cfg : Config
        ``model.codes`` and ``model.pitch_range`` filled in (:class:`Trainer` does).

    Returns
    -------
    dict
        JSON-serialisable keyword arguments.
    """
    m = cfg.model
    kw = {"n_bins": cfg.audio.n_fft // 2 + 1, "context": m.context, "encoder": list(m.encoder), "lstm": m.lstm,
          "latent": m.latent, "bottleneck": m.bottleneck, "decoder": list(m.decoder), "output": m.output}
    if m.condition != "none":
        kw.update(condition=m.condition, codes=len(m.codes), code_dim=m.code_dim)
    if m.chroma:
        kw["chroma"] = True
    if m.active_harmonics:
        kw["harmonics"] = m.active_harmonics
        kw["harmonic_read"] = m.harmonic_read
        if m.pitch_range:
            kw["pitch_range"] = list(m.pitch_range)
    return kw


def _with_codes(cfg: Config, paths, labels):
    """The config with the instrument names filled in, and each file's code index (None unconditioned)."""
    from dataclasses import replace

    m = cfg.model
    if m.condition == "none":
        return cfg, None
    if labels is None or len(labels) != len(paths):
        raise ParameterError(f"model.condition={m.condition!r} needs an instrument label per file; got "
                             f"{'none' if labels is None else len(labels)} for {len(paths)} files")
    names = tuple(m.codes) or tuple(sorted(set(map(str, labels))))
    unknown = sorted(set(map(str, labels)) - set(names))
    if unknown:
        raise ParameterError(f"instrument {unknown[0]!r} is not in model.codes={names}")
    if len(names) < 2:
        raise ParameterError(f"model.condition={m.condition!r} needs at least two instruments; the target has "
                             f"only {names}")
    return replace(cfg, model=replace(m, codes=names)), [names.index(str(v)) for v in labels]


MIN_PITCHED_SECONDS = 2.0  # what a harmonics model needs to learn an instrument's harmonic levels


def _with_pitch_range(cfg: Config, mags: list[torch.Tensor], target: str) -> Config:
    """A ``harmonics`` model's config with the training material's pitch range (bins) filled in:
    the 1st to 99th percentile of its pitched frames, widened by the pitch-shift augmentation."""
    from dataclasses import replace

    m, t = cfg.model, cfg.train
    if not m.active_harmonics or m.pitch_range:
        return cfg
    f0 = torch.cat([prepare_input(x, **input_options(m))[2] for x in mags])
    f0 = f0[f0 > 0]
    seconds = f0.numel() * cfg.audio.hop_length / cfg.audio.sr
    if seconds < MIN_PITCHED_SECONDS:
        raise ParameterError(f"{target}: {seconds:.1f} s of pitched material found; training with "
                             f"model.harmonics={m.harmonics} needs at least {MIN_PITCHED_SECONDS:g} s "
                             f"(or set model.harmonics=0 for unpitched sounds)")
    lo, hi = torch.quantile(f0, torch.tensor([0.01, 0.99])).tolist()
    lo *= 2 ** (min(t.pitch_shift[0], 0) / 12)
    hi *= 2 ** (max(t.pitch_shift[1], 0) / 12)
    return replace(cfg, model=replace(m, pitch_range=(round(lo, 3), round(hi, 3))))


def build_model(cfg: Config) -> LSTMAutoencoder:
    """A fresh autoencoder for ``cfg`` (weights drawn from torch's global generator).

    Parameters
    ----------
    cfg : Config
        As for :func:`model_kwargs`.

    Returns
    -------
    LSTMAutoencoder
    """
    return LSTMAutoencoder(**model_kwargs(cfg))


def _loss_rows(rows: list[dict]) -> list[dict]:
    """The columns ``loss.csv`` keeps of the trainer's per-epoch rows (the same every epoch and at the end)."""
    return [{k: r[k] for k in ("epoch", "train_loss", "valid_loss", "seconds")} for r in rows]


def _loss_plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ep = [r["epoch"] for r in rows]
    ax.plot(ep, [r["train_loss"] for r in rows], label="train (augmented)")
    ax.plot(ep, [r["valid_loss"] for r in rows], label="valid (fixed augmentation)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE on compressed magnitudes")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _autocast(device: torch.device | str, amp: str):
    """bf16 autocast on CUDA when ``train.amp`` asks (``auto``: on CUDA); a no-op elsewhere."""
    dev = torch.device(device)
    on = dev.type == "cuda" and amp in ("auto", "bf16")
    return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=on) if dev.type == "cuda" else contextlib.nullcontext()


def _loss(model, b: dict, amp: str, reduction: str = "mean") -> torch.Tensor:
    with _autocast(b["x"].device, amp):
        pred, _, _ = model(b["x"], code=b["code"], chroma=b["chroma"], f0=b["f0"])
    return torch.nn.functional.mse_loss(pred.float(), b["y"], reduction=reduction)


def _valid_loss(model, ds: FrameSequences, cfg: Config, seed: int) -> float:
    """Mean squared error over the valid sequences, with the same noise every time (a generator seeded anew)."""
    model.eval()
    total, n = 0.0, 0
    g = _generator(ds.device, seed)
    with torch.inference_mode():
        for b in ds.batches(range(len(ds)), cfg.train.batch_size):
            b = prepare_batch(b, cfg, generator=g)
            total += float(_loss(model, b, cfg.train.amp, reduction="sum"))
            n += b["y"].numel()
    return total / max(n, 1)


def _generator(device: torch.device, seed: int) -> torch.Generator | None:
    """A seeded generator on ``device`` (None on ``meta``, which has none: its draws are shapes only)."""
    return None if device.type == "meta" else torch.Generator(device=device).manual_seed(seed)


def device_schedule(cfg: Config, device: torch.device | str) -> Config:
    """The config a device trains with: on CUDA, ``train.gpu_batch_scale`` times the batch and the
    learning rate times its square root (Adam's usual rule), so a GPU gets enough work per step.

    Parameters
    ----------
    cfg : Config
        The config asked for.
    device : torch.device or str
        The training device.

    Returns
    -------
    Config
        ``cfg`` itself on other devices.
    """
    from dataclasses import replace

    k = cfg.train.gpu_batch_scale
    if torch.device(device).type != "cuda" or k == 1:
        return cfg
    t = cfg.train
    return replace(cfg, train=replace(t, batch_size=t.batch_size * k, lr=t.lr * math.sqrt(k)))


def _target_name(paths: list[Path]) -> str:
    """How a run names its material when the caller does not: the file, the folder, or a count."""
    if len(paths) == 1:
        return str(paths[0])
    return str(paths[0].parent if len({p.parent for p in paths}) == 1 else f"{len(paths)} files")


STOP_REASONS = ("early stopping", "scorecard plateau", "time limit", STOP_REQUESTED)  # in precedence order when ranks disagree


class Trainer:
    """One autoencoder training run, in named steps (:func:`train` runs them in order).

    :meth:`prepare_data` loads the clips, fills in the instrument codes and pitch range and
    splits train/valid once; :meth:`build` makes the model and optimizer; :meth:`resume`
    restores an interrupted run; :meth:`fit` repeats :meth:`train_epoch`, :meth:`validate`
    and :meth:`save_checkpoint` until a stop; :meth:`finish` writes the summary, loss curve and
    plot. Multi-process training goes through :mod:`models.distributed`.

    Parameters
    ----------
    cfg : Config
        Validated here; :meth:`prepare_data` fills in ``model.codes`` and ``model.pitch_range``.
    out : path
        The run folder.
    device, world_size, rank
        Where this process trains (see :func:`models.distributed.placement`).
    progress : bool
        An epoch progress bar on rank 0.
    callbacks : sequence of TrainingCallback, keyword-only
        Called on rank 0 at the start, after every epoch and at the end (:mod:`models.callbacks`;
        ``workbench train`` passes the scorecard). With ``train.stop_on="scorecard"`` the run
        stops when one of them asks to, not on the validation loss's patience.
    """

    def __init__(self, cfg: Config, out: str | Path, *, device: str | torch.device = "cpu", world_size: int = 1, rank: int = 0,
                 progress: bool = True, callbacks: Sequence[TrainingCallback] = ()):
        cfg.validate()
        if cfg.train.stop_on == "scorecard" and rank == 0 and not callbacks:
            raise ParameterError("train.stop_on='scorecard' needs the scorecard; train with `workbench train` (or pass "
                                 "analysis.scorecard.Scorecard as a callback), or stop on the loss")
        self.cfg, self.out = device_schedule(cfg, device), Path(out)
        self.device, self.world_size, self.rank, self.progress = device, world_size, rank, progress
        self.callbacks = list(callbacks) if rank == 0 else []
        self.rows: list[dict] = []
        self.best, self.bad_epochs, self.start, self.stopped, self.seconds = math.inf, 0, 0, "epochs", 0.0
        # Subnormal floats (tiny gradients and Adam moments) are 10-100x slower on x86 CPUs: without
        # this, epochs of the default model slowed from 3.7 s to 12 s within two minutes. Process-wide.
        torch.set_flush_denormal(True)
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        torch.manual_seed(cfg.seed)

    @property
    def resume_path(self) -> Path:
        """Optimizer state, epoch and loss rows of the last epoch (read with ``weights_only``)."""
        return RunFolder(self.out).resume

    def prepare_data(self, paths: Sequence[str | Path], *, labels: Sequence[str] | None = None,
                     target: str | None = None) -> Trainer:
        """Load the clips, complete the config, split train/valid once and make the loaders.

        Parameters
        ----------
        paths : list of path
            Target instrument audio (any length; one or many clips).
        labels : list of str, optional
            The instrument of each file (conditioned models).
        target : str, optional
            The material's name in error messages (default: the file, the folder or a count).

        Returns
        -------
        Trainer
            ``self``, with ``split`` (:class:`DataSplit`), ``codes`` and the loaders set.
        """
        self.paths = [Path(p) for p in paths]
        if self.rank == 0 and (changed := describe_conversion(self.paths, sr=self.cfg.audio.sr)):
            log.warning("%s: %s", target or _target_name(self.paths), changed)
        cfg, self.codes = _with_codes(self.cfg, self.paths, labels)
        mags = clip_magnitudes(self.paths, cfg)
        cfg = self.cfg = _with_pitch_range(cfg, mags, target or _target_name(self.paths))
        t = cfg.train
        self.split = split_data(mags, self.codes, valid_fraction=t.valid_fraction, seed=cfg.seed,
                                min_frames=cfg.model.context + 2)
        # framed once, kept on the training device; batches are augmented and prepared there
        self.train_ds = FrameSequences(self.split.train, cfg, augment=True, seed=cfg.seed, stride=max(t.seq_len // 2, 1),
                                       codes=self.split.train_codes, device=self.device)
        # Valid scores the training task (perturbed input -> clean frame) with draws fixed at epoch 0;
        # on clean input the identity map would win and stop training at once.
        self.valid_ds = FrameSequences(self.split.valid, cfg, augment=True, seed=cfg.seed + 1,
                                       codes=self.split.valid_codes, device=self.device)
        if self.world_size > 1:
            self.sampler = distributed.shard_sampler(self.train_ds, world_size=self.world_size, rank=self.rank,
                                                     seed=cfg.seed)
        else:
            self.sampler = EpochSampler(len(self.train_ds), seed=cfg.seed)
        return self

    def build(self) -> Trainer:
        """The model (``model``; ``net`` is what trains, DDP-wrapped with several ranks) and its optimizer.

        Returns
        -------
        Trainer
            ``self``, with ``model``, ``net`` and ``opt`` set.
        """
        t = self.cfg.train
        self.model = build_model(self.cfg).to(self.device)
        self.net = distributed.wrap(self.model, world_size=self.world_size)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=t.lr, weight_decay=t.weight_decay)
        return self

    def resume(self) -> Trainer:
        """Continue from ``resume.pt``: weights, optimizer, epoch, best loss, loss rows and RNG state.

        Returns
        -------
        Trainer
            ``self``, set to go on after the last finished epoch.

        Raises
        ------
        ParameterError
            No ``resume.pt`` in the run folder.
        """
        if not self.resume_path.is_file():
            raise ParameterError(f"--resume: {str(self.resume_path)!r} does not exist; expected an interrupted run "
                                 f"folder")
        st = torch.load(self.resume_path, weights_only=True, map_location=self.device)
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["optimizer"])
        self.start, self.best, self.bad_epochs = int(st["epoch"]) + 1, float(st["best"]), int(st["bad_epochs"])
        self.rows = [{**dict(zip(st["row_keys"], r)), "epoch": int(r[0])} for r in st["rows"].tolist()]
        torch.set_rng_state(st["rng"].cpu())
        return self

    def train_epoch(self, epoch: int) -> float:
        """One pass over this rank's training sequences.

        Parameters
        ----------
        epoch : int
            Sets the augmentation draws and the shuffle.

        Returns
        -------
        float
            Mean squared error per element of the compressed magnitudes.
        """
        self.train_ds.set_epoch(epoch)
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
        self.net.train()
        t = self.cfg.train
        total, n = torch.zeros((), device=self.device), 0
        # the noise floor's draws are seeded per epoch, so a resumed run draws what a straight one does
        noise = _generator(torch.device(self.device), self.cfg.seed * 100003 + epoch)
        for b in self.train_ds.batches(list(self.sampler), t.batch_size):
            b = prepare_batch(b, self.cfg, generator=noise)
            loss = _loss(self.net, b, t.amp)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
            self.opt.step()
            # summed on the device: one synchronisation per epoch, not per step
            total = total + loss.detach() * b["y"].numel()
            n += b["y"].numel()
        return float(total) / max(n, 1)

    def validate(self) -> float:
        """The validation loss, averaged over the ranks.

        Returns
        -------
        float
            Mean squared error per element of the compressed magnitudes (fixed augmentation).
        """
        loss = _valid_loss(self.model, self.valid_ds, self.cfg, self.cfg.seed + 1)
        return distributed.mean_over_ranks(loss, world_size=self.world_size, device=self.device)

    def save_checkpoint(self, epoch: int, *, improved: bool) -> None:
        """Rank 0: the weights when ``improved`` (through :func:`save_run`), and ``resume.pt`` every epoch.

        Parameters
        ----------
        epoch : int
            The epoch just finished.
        improved : bool
            Whether its validation loss is the best so far.
        """
        if self.rank != 0:
            return
        if improved:
            save_run(self.out, self.model, config=self.cfg, model_kwargs=model_kwargs(self.cfg),
                     meta={"status": "training", "best_epoch": epoch, "best_valid_loss": self.best})
        rows = self.rows
        RunFolder(self.out).write_loss(_loss_rows(rows))  # every epoch, so the curve can be watched while it grows
        torch.save({"model": cpu_state(self.model), "optimizer": self.opt.state_dict(), "epoch": epoch,
                    "best": self.best, "bad_epochs": self.bad_epochs, "rng": torch.get_rng_state(),
                    "row_keys": list(rows[0]), "rows": torch.tensor([list(r.values()) for r in rows],
                                                                   dtype=torch.float64)}, self.resume_path)

    def held_out_audio(self) -> list[np.ndarray]:
        """The audio of the valid split (never trained on), mono at ``cfg.audio.sr``.

        Returns
        -------
        list of np.ndarray [shape=(n,), dtype=float32]
            The held-out clips; with a single training file, its held-out last part.
        """
        a, t = self.cfg.audio, self.cfg.train
        if len(self.paths) == 1:
            y = load(self.paths[0], sr=a.sr, mono=True, min_samples=a.n_fft)[0][0]
            return [y[self.split.train[0].shape[0] * a.hop_length:]]
        _, valid = split_indices(len(self.paths), valid_fraction=t.valid_fraction, seed=self.cfg.seed)
        return [load(self.paths[i], sr=a.sr, mono=True, min_samples=a.n_fft)[0][0] for i in valid]

    def run_state(self, epoch: int, seconds: float) -> RunState:
        """What the callbacks see after ``epoch`` (:class:`models.callbacks.RunState`).

        Parameters
        ----------
        epoch : int
            The epoch just finished.
        seconds : float, seconds
            Wall time since :meth:`fit` started.

        Returns
        -------
        RunState
        """
        if getattr(self, "_state", None) is None:
            cache: list = []

            def held_out() -> list[np.ndarray]:
                if not cache:
                    cache.append(self.held_out_audio())
                return cache[0]

            self._state = RunState("autoencoder", self.model, self.cfg, model_kwargs(self.cfg), self.out, held_out,
                                   resumed=self.start > 0)
        self._state.epoch, self._state.done, self._state.seconds = epoch, epoch + 1, seconds
        return self._state

    def _stop_reason(self, t0: float) -> str | None:
        t = self.cfg.train
        by_loss = t.stop_on == "loss" and self.bad_epochs >= t.patience
        by_card = t.stop_on == "scorecard" and stop_reason(self.callbacks) is not None
        # the time limit is the training's: time spent in callbacks (the scorecard) does not count
        spent = time.perf_counter() - t0 - self.callback_seconds
        reason = "early stopping" if by_loss else "scorecard plateau" if by_card else \
            "time limit" if t.max_seconds and spent > t.max_seconds else \
            STOP_REQUESTED if self.rank == 0 and stop_requested(self.out) else None
        return distributed.agree_on_stop(reason, STOP_REASONS, world_size=self.world_size, device=self.device)

    def fit(self) -> Trainer:
        """Epochs from ``start`` until ``train.epochs``, early stopping (or the scorecard's plateau) or the time limit.

        The time limit (``train.max_seconds``) counts training, not the callbacks' time.

        Returns
        -------
        Trainer
            ``self``, with ``rows`` (one per epoch), ``stopped`` (the reason), ``seconds`` and
            ``callback_seconds`` (of them, the callbacks' time).
        """
        from tqdm import tqdm

        t0 = time.perf_counter()
        bar = tqdm(range(self.start, self.cfg.train.epochs), desc="train", unit="epoch",
                   disable=not self.progress or self.rank != 0)
        self.callback_seconds = 0.0
        for cb in self.callbacks:
            cb.on_train_start(self.run_state(self.start - 1, 0.0))
        self.callback_seconds = time.perf_counter() - t0
        figures: dict[str, str] = {}
        for epoch in bar:
            train_loss = self.train_epoch(epoch)
            valid_loss = self.validate()
            self.rows.append({"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
                              "seconds": round(time.perf_counter() - t0, 3)})
            improved = valid_loss < self.best - 1e-7
            if improved:
                self.best, self.bad_epochs = valid_loss, 0
            else:
                self.bad_epochs += 1
            self.save_checkpoint(epoch, improved=improved)
            t1 = time.perf_counter()
            figures.update(epoch_figures(self.callbacks, self.run_state(epoch, t1 - t0)))
            self.callback_seconds += time.perf_counter() - t1
            bar.set_postfix(train=f"{train_loss:.4f}", valid=f"{valid_loss:.4f}", **figures)
            reason = self._stop_reason(t0)
            if reason is not None:
                self.stopped = reason
                break
        bar.close()
        last = self.rows[-1]["epoch"] if self.rows else self.start - 1
        for cb in self.callbacks:
            cb.on_train_end(self.run_state(last, time.perf_counter() - t0))
        self.seconds = time.perf_counter() - t0
        return self

    def summary(self, describe: dict | None = None) -> dict:
        """The run's ``meta.json`` entries: data summary, epochs, stop reason, best valid loss, seconds.

        Parameters
        ----------
        describe : dict, optional
            Entries added as they are (``target``, ``preset``...).

        Returns
        -------
        dict
        """
        cfg, rows, split = self.cfg, self.rows, self.split
        meta = {
            "status": "done", "stopped_by": self.stopped, "epochs_run": len(rows),
            "best_epoch": min(rows, key=lambda r: r["valid_loss"])["epoch"] if rows else None,
            "best_valid_loss": self.best, "train_seconds": round(self.seconds, 2),
            "data": {"files": len(self.paths), "train_clips": len(split.train), "valid_clips": len(split.valid),
                     "train_frames": int(sum(m.shape[0] for m in split.train)),
                     "valid_frames": int(sum(m.shape[0] for m in split.valid)), "sr": cfg.audio.sr},
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "config": asdict(cfg), **(describe or {}),
        }
        for cb in self.callbacks:
            meta.update(cb.summary())
        if self.codes is not None:
            meta["codes"] = list(cfg.model.codes)
            meta["code_clips"] = {name: int(sum(c == i for c in self.codes)) for i, name in enumerate(cfg.model.codes)}
        return meta

    def finish(self, describe: dict | None = None) -> dict:
        """Rank 0 completes the run folder: summary into ``meta.json``, ``loss.csv``, ``loss.png``.

        Parameters
        ----------
        describe : dict, optional
            Entries added to the summary.

        Returns
        -------
        dict
            The summary (:meth:`summary`), on every rank.
        """
        meta = self.summary(describe)
        if self.rank == 0:
            run = RunFolder(self.out)
            if not run.weights.is_file():  # no epoch improved on inf: keep the last weights
                save_run(self.out, self.model, config=self.cfg, model_kwargs=model_kwargs(self.cfg), meta={})
            update_meta(self.out, meta)
            run.write_loss(_loss_rows(self.rows))
            if self.stopped == STOP_REQUESTED:  # honoured: a later --resume must not stop at once
                (self.out / STOP_FILE).unlink(missing_ok=True)
            _loss_plot(self.rows, run.loss_png)
        return meta


def train(paths: Sequence[str | Path], cfg: Config, out: str | Path, *, labels: Sequence[str] | None = None,
          device: str | torch.device = "cpu", world_size: int = 1, rank: int = 0, resume: bool = False,
          progress: bool = True, describe: dict | None = None, callbacks: Sequence[TrainingCallback] = ()) -> dict:
    """Train on the audio files ``paths`` and write the run folder ``out``.

    Parameters
    ----------
    paths : list of path
        Target instrument audio (any length; one or many clips).
    cfg : Config
    out : path
        Run folder: ``model.safetensors`` (best valid loss), ``config.json``, ``meta.json``,
        ``loss.csv``, ``loss.png``, ``resume.pt`` (optimizer state, read with weights_only).
    device, world_size, rank
        Where this process trains; with ``world_size > 1`` the process group must already be
        initialised (``torchrun``; :func:`models.distributed.process_group`) and the model is
        wrapped in DistributedDataParallel.
    labels : list of str, optional
        The instrument of each file; needed when ``cfg.model.condition`` is not ``"none"``
        (the model's ``codes`` become the sorted distinct labels unless the config names them).
    resume : bool
        Continue from ``out/resume.pt``.
    describe : dict, optional
        Entries added to ``meta.json`` (``target`` also names the material in messages).
    callbacks : sequence of TrainingCallback, keyword-only
        Training hooks (:class:`Trainer`); ``workbench train`` passes the scorecard.

    Returns
    -------
    dict
        The ``meta.json`` content: data summary, epochs, best valid loss, seconds.
    """
    trainer = Trainer(cfg, out, device=device, world_size=world_size, rank=rank, progress=progress,
                      callbacks=callbacks)
    target = (describe or {}).get("target")
    trainer.prepare_data(paths, labels=labels, target=str(target) if target else None)
    trainer.build()
    if resume:
        trainer.resume()
    return trainer.fit().finish(describe)
