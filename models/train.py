"""Training the LSTM-context autoencoder on an instrument's audio.

Data goes through a ``Dataset`` of frame sequences and a ``Sampler``; device, world size and
rank are passed in and nothing lives at module level, so corpus-scale training can launch
under ``torchrun`` (DistributedDataParallel, one process per device) without a rewrite.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, SequentialSampler

from models.augment import add_noise, random_envelope, shift_pitch, whiten
from models.checkpoint import save_run
from models.lstm_ae import LSTMAutoencoder, input_options, prepare_input, stack_context
from workbench.audio import load
from workbench.config import Config
from workbench.errors import ParameterError
from workbench.spectral import causal_frames, chroma_onehot

__all__ = [
    "EpochSampler", "FrameSequences", "clip_magnitudes", "split_clips", "split_indices", "build_model",
    "train", "model_kwargs",
]


def clip_magnitudes(paths, cfg: Config) -> list[torch.Tensor]:
    """Load each file (mono, at ``cfg.audio.sr``) and return its causal STFT magnitudes ``(T, bins)``."""
    a = cfg.audio
    out = []
    for p in paths:
        y, _ = load(p, sr=a.sr, mono=True, min_samples=a.n_fft)
        out.append(causal_frames(torch.from_numpy(y[0]), n_fft=a.n_fft, hop_length=a.hop_length,
                                 window=a.window).abs().T.contiguous())
    return out


def split_indices(n: int, *, valid_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Clip-level split of ``n`` clips: sorted (train, valid) indices, at least one valid clip."""
    order = np.random.default_rng(seed).permutation(n)
    n_valid = max(1, int(round(n * valid_fraction)))
    return sorted(order[n_valid:].tolist()), sorted(order[:n_valid].tolist())


def split_clips(mags: list[torch.Tensor], *, valid_fraction: float, seed: int, min_frames: int):
    """Clip-level train/valid split (no frame of a valid clip is seen in training).

    With a single clip, its last ``valid_fraction`` of frames is held out instead.
    """
    if not mags:
        raise ParameterError("no training clips; expected at least one audio file")
    if len(mags) == 1:
        m = mags[0]
        cut = int(round(m.shape[0] * (1 - valid_fraction)))
        if cut < min_frames or m.shape[0] - cut < min_frames:
            raise ParameterError(f"one clip of {m.shape[0]} frames is too short to split; expected at least "
                                 f"{math.ceil(min_frames / min(valid_fraction, 1 - valid_fraction))} frames")
        return [m[:cut]], [m[cut:]]
    train_i, valid_i = split_indices(len(mags), valid_fraction=valid_fraction, seed=seed)
    return [mags[i] for i in train_i], [mags[i] for i in valid_i]


class FrameSequences(Dataset):
    """Sequences of ``seq_len`` frames (plus ``context`` frames of history) cut from clips.

    Items are ``(x, target, code, chroma, f0)``: ``x`` ``(seq_len, context + 1, bins)`` compressed
    normalised input windows (augmented when ``augment``), ``target`` ``(seq_len, bins)`` the
    clean compressed normalised frames, ``code`` ``(seq_len, codes)`` the clip's instrument
    one-hot and ``chroma`` ``(seq_len, 12)`` the input frames' one-hot chroma (both width 0 when
    the model does not use them) and ``f0`` ``(seq_len,)`` the input frames' pitch in bins for a
    ``harmonics`` model (empty otherwise). Augmentation is drawn from a generator seeded by
    ``(seed, epoch, index)``, so results do not depend on worker count or sampling order.
    """

    def __init__(self, mags: list[torch.Tensor], cfg: Config, *, augment: bool, seed: int = 0, stride: int | None = None,
                 codes: list[int] | None = None):
        self.cfg, self.augment, self.seed, self.epoch = cfg, augment, seed, 0
        L, C = cfg.train.seq_len, cfg.model.context
        stride = stride or L
        self.clips, self.index, self.codes = [], [], []
        for j, m in enumerate(mags):
            if m.shape[0] < 2:
                continue
            padded = torch.cat([m.new_zeros(C, m.shape[1]), m])  # zero history before the first frame
            self.clips.append(padded)
            self.codes.append(codes[j] if codes is not None else 0)
            starts = list(range(0, max(m.shape[0] - L, 0) + 1, stride))
            self.index += [(len(self.clips) - 1, s) for s in starts]
        if not self.index:
            raise ParameterError(f"clips are shorter than one training sequence of {L} frames; lower train.seq_len")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        ci, s = self.index[i]
        m, t, C, L = self.cfg.model, self.cfg.train, self.cfg.model.context, self.cfg.train.seq_len
        win = self.clips[ci][s: s + C + L]
        if win.shape[0] < C + L:  # a clip shorter than seq_len: pad with silence at the end
            win = torch.cat([win, win.new_zeros(C + L - win.shape[0], win.shape[1])])
        clean = win
        noisy = win
        if self.augment:
            g = torch.Generator().manual_seed(hash((self.seed, self.epoch, i)) & 0x7FFFFFFF)
            lo, hi = t.pitch_shift
            if hi > lo and torch.rand((), generator=g) < t.pitch_shift_prob:
                semis = float(lo + (hi - lo) * torch.rand((), generator=g))
                clean = shift_pitch(win, semis, order=30 if t.pitch_shift_mode == "formant" else 0)
            noisy = clean
            if torch.rand((), generator=g) < t.corrupt_prob:
                # replace the instrument's envelope by a foreign one, one per sequence
                env = random_envelope(win.shape[1], order=t.corrupt_order, std_db=t.corrupt_db, generator=g)
                noisy = whiten(noisy) * env
            if t.noise_db > -200:
                level = t.noise_db - 20 * float(torch.rand((), generator=g))
                noisy = add_noise(noisy, level_db=level, generator=g)
        kw = input_options(m)
        x, _, f0 = prepare_input(noisy, **kw)
        y, _, _ = prepare_input(clean[C:], **{**kw, "whiten": 0, "harmonics": 0})  # the target keeps its timbre
        x = stack_context(x[C:][None], C, x[:C][None])[0]
        n_codes = len(m.codes) if m.condition != "none" else 0
        code = torch.nn.functional.one_hot(torch.full((L,), self.codes[ci]), n_codes).float() if n_codes \
            else x.new_zeros(L, 0)
        # chroma of the input's current frames, as the effect will see it
        chroma = chroma_onehot(noisy[C:], sr=self.cfg.audio.sr, n_fft=self.cfg.audio.n_fft) if m.chroma \
            else x.new_zeros(L, 0)
        f0 = f0[C:] if f0 is not None else x.new_zeros(0)
        return x, y, code, chroma, f0


class EpochSampler(torch.utils.data.Sampler):
    """Shuffles with a permutation drawn from ``(seed, epoch)``: the order of any epoch is the same
    whether training ran straight through or was resumed (DistributedSampler does the same)."""

    def __init__(self, n: int, *, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


def model_kwargs(cfg: Config) -> dict:
    m = cfg.model
    kw = {"n_bins": cfg.audio.n_fft // 2 + 1, "context": m.context, "encoder": list(m.encoder), "lstm": m.lstm,
          "latent": m.latent, "bottleneck": m.bottleneck, "decoder": list(m.decoder), "output": m.output}
    if m.condition != "none":
        kw.update(condition=m.condition, codes=len(m.codes), code_dim=m.code_dim)
    if m.chroma:
        kw["chroma"] = True
    if m.active_harmonics:
        kw["harmonics"] = m.active_harmonics
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
    return LSTMAutoencoder(**model_kwargs(cfg))


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


def _conditioning(code, chroma, f0, device) -> dict:
    return {"code": code.to(device) if code.shape[-1] else None,
            "chroma": chroma.to(device) if chroma.shape[-1] else None,
            "f0": f0.to(device) if f0.numel() else None}


def _valid_loss(model, loader, device) -> float:
    model.eval()
    total, n = 0.0, 0
    with torch.inference_mode():
        for x, y, code, chroma, f0 in loader:
            pred, _, _ = model(x.to(device), **_conditioning(code, chroma, f0, device))
            total += float(torch.nn.functional.mse_loss(pred, y.to(device), reduction="sum"))
            n += y.numel()
    return total / max(n, 1)


def train(paths, cfg: Config, out, *, labels=None, device: str | torch.device = "cpu", world_size: int = 1,
          rank: int = 0, resume: bool = False, progress: bool = True, describe: dict | None = None) -> dict:
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
        initialised (``torchrun``) and the model is wrapped in DistributedDataParallel.
    labels : list of str, optional
        The instrument of each file; needed when ``cfg.model.condition`` is not ``"none"``
        (the model's ``codes`` become the sorted distinct labels unless the config names them).
    resume : bool
        Continue from ``out/resume.pt``.

    Returns
    -------
    dict
        The ``meta.json`` content: data summary, epochs, best valid loss, seconds.
    """
    from tqdm import tqdm

    cfg.validate()
    out = Path(out)
    t = cfg.train
    # Subnormal floats (tiny gradients and Adam moments) are 10-100x slower on x86 CPUs: without
    # this, epochs of the default model slowed from 3.7 s to 12 s within two minutes. Process-wide.
    torch.set_flush_denormal(True)
    if t.threads:
        torch.set_num_threads(t.threads)
    torch.manual_seed(cfg.seed)
    paths = [Path(p) for p in paths]
    cfg, codes = _with_codes(cfg, paths, labels)
    mags = clip_magnitudes(paths, cfg)
    target = str((describe or {}).get("target") or (
        paths[0] if len(paths) == 1 else paths[0].parent if len({p.parent for p in paths}) == 1
        else f"{len(paths)} files"))
    cfg = _with_pitch_range(cfg, mags, target)
    train_m, valid_m = split_clips(mags, valid_fraction=t.valid_fraction, seed=cfg.seed, min_frames=cfg.model.context + 2)
    train_c = valid_c = codes
    if codes is not None and len(mags) > 1:  # the same clip-level split as split_clips
        tr_i, va_i = split_indices(len(mags), valid_fraction=t.valid_fraction, seed=cfg.seed)
        train_c, valid_c = [codes[i] for i in tr_i], [codes[i] for i in va_i]
    train_ds = FrameSequences(train_m, cfg, augment=True, seed=cfg.seed, stride=max(t.seq_len // 2, 1), codes=train_c)
    # Valid scores the training task (perturbed input -> clean frame) with draws fixed at epoch 0;
    # on clean input the identity map would win and stop training at once.
    valid_ds = FrameSequences(valid_m, cfg, augment=True, seed=cfg.seed + 1, codes=valid_c)
    if world_size > 1:
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(train_ds, num_replicas=world_size, rank=rank, seed=cfg.seed)
    else:
        sampler = EpochSampler(len(train_ds), seed=cfg.seed)
    train_dl = DataLoader(train_ds, batch_size=t.batch_size, sampler=sampler, drop_last=False)
    valid_dl = DataLoader(valid_ds, batch_size=t.batch_size, sampler=SequentialSampler(valid_ds))

    model = build_model(cfg).to(device)
    net = model
    if world_size > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(net.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    rows: list[dict] = []
    best, bad_epochs, start = math.inf, 0, 0
    resume_path = out / "resume.pt"
    if resume:
        if not resume_path.is_file():
            raise ParameterError(f"--resume: {str(resume_path)!r} does not exist; expected an interrupted run folder")
        st = torch.load(resume_path, weights_only=True)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        start, best, bad_epochs, rows = int(st["epoch"]) + 1, float(st["best"]), int(st["bad_epochs"]), \
            [{**dict(zip(st["row_keys"], r)), "epoch": int(r[0])} for r in st["rows"].tolist()]
        torch.set_rng_state(st["rng"])
    t0 = time.perf_counter()
    stopped = "epochs"
    bar = tqdm(range(start, t.epochs), desc="train", unit="epoch", disable=not progress or rank != 0)
    for epoch in bar:
        train_ds.set_epoch(epoch)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        net.train()
        total, n = 0.0, 0
        for x, y, code, chroma, f0 in train_dl:
            pred, _, _ = net(x.to(device), **_conditioning(code, chroma, f0, device))
            loss = torch.nn.functional.mse_loss(pred, y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            total += loss.item() * y.numel()
            n += y.numel()
        train_loss = total / max(n, 1)
        valid_loss = _valid_loss(model, valid_dl, device)
        if world_size > 1:
            v = torch.tensor([valid_loss], device=device)
            torch.distributed.all_reduce(v)
            valid_loss = float(v) / world_size
        rows.append({"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
                     "seconds": round(time.perf_counter() - t0, 3)})
        bar.set_postfix(train=f"{train_loss:.4f}", valid=f"{valid_loss:.4f}")
        improved = valid_loss < best - 1e-7
        if improved:
            best, bad_epochs = valid_loss, 0
        else:
            bad_epochs += 1
        if rank == 0:
            if improved:
                save_run(out, model, config=cfg, model_kwargs=model_kwargs(cfg),
                         meta={"status": "training", "best_epoch": epoch, "best_valid_loss": best})
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch, "best": best,
                        "bad_epochs": bad_epochs, "rng": torch.get_rng_state(),
                        "row_keys": list(rows[0]), "rows": torch.tensor([list(r.values()) for r in rows],
                                                                       dtype=torch.float64)}, resume_path)
        reason = "early stopping" if bad_epochs >= t.patience else \
            "time limit" if t.max_seconds and time.perf_counter() - t0 > t.max_seconds else None
        if world_size > 1:  # every rank must stop together, or the others wait forever
            flag = torch.tensor([0 if reason is None else 1 if reason == "early stopping" else 2], device=device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            reason = {0: None, 1: "early stopping", 2: "time limit"}[int(flag)]
        if reason is not None:
            stopped = reason
            break
    bar.close()
    seconds = time.perf_counter() - t0
    meta = {
        "status": "done", "stopped_by": stopped, "epochs_run": len(rows),
        "best_epoch": min(rows, key=lambda r: r["valid_loss"])["epoch"] if rows else None,
        "best_valid_loss": best, "train_seconds": round(seconds, 2),
        "data": {"files": len(list(paths)), "train_clips": len(train_m), "valid_clips": len(valid_m),
                 "train_frames": int(sum(m.shape[0] for m in train_m)),
                 "valid_frames": int(sum(m.shape[0] for m in valid_m)), "sr": cfg.audio.sr},
        "parameters": sum(p.numel() for p in model.parameters()),
        "config": asdict(cfg), **(describe or {}),
    }
    if codes is not None:
        meta["codes"] = list(cfg.model.codes)
        meta["code_clips"] = {name: int(sum(c == i for c in codes)) for i, name in enumerate(cfg.model.codes)}
    if rank == 0:
        if not (out / "model.safetensors").is_file():  # no epoch improved on inf: keep the last weights
            save_run(out, model, config=cfg, model_kwargs=model_kwargs(cfg), meta={})
        import json

        cfg_meta = json.loads((out / "meta.json").read_text())
        cfg_meta.update(meta)
        (out / "meta.json").write_text(json.dumps(cfg_meta, indent=1, default=str))
        with (out / "loss.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["epoch", "train_loss", "valid_loss", "seconds"])
            w.writeheader()
            w.writerows(rows)
        _loss_plot(rows, out / "loss.png")
    return meta
