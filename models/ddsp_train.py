"""Training the DDSP-style instrument model on a target's audio (multi-resolution spectral loss).

Controls are computed once per file with the effect's own causal tracker, so the decoder learns
from exactly what it will be given when it plays. A crop of ``crop_frames`` segments is
synthesized from its ``crop_frames + 1`` frames and compared with the audio those segments
stand for: frame ``k``'s window is centred ``window / 2`` samples before ``k * hop``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from models.callbacks import (
    STOP_FILE,
    STOP_REQUESTED,
    RunState,
    TrainingCallback,
    epoch_figures,
    stop_reason,
    stop_requested,
)
from models.checkpoint import RunFolder, save_run
from models.ddsp import (
    CREPE_WINDOW,
    ControlTracker,
    DDSPDecoder,
    causal_windows,
    frame_parameters,
    hold_f0,
    multiscale_spectral_loss,
    synthesize,
    voicing_gate,
)
from models.train import split_indices
from workbench.audio import describe_conversion, load
from workbench.config import DDSPConfig
from workbench.errors import ParameterError
from workbench.pitch import hz_to_midi_t, midi_to_hz

__all__ = ["Controls", "clip_controls", "train_ddsp", "model_kwargs", "MIN_PITCHED_SECONDS"]

log = logging.getLogger(__name__)

MIN_PITCHED_SECONDS = 2.0


CONTROL_BATCH = 512  # CREPE frames per call on training material


class Controls:
    """One clip: audio ``(n,)`` at 16 kHz and its frame controls ``(k,)``: f0 (held, Hz), loudness (dB), gate.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n,)]
        Mono audio at 16 kHz.
    f0 : torch.Tensor [shape=(k,)], Hz
        Frame pitch.
    loudness : torch.Tensor [shape=(k,)], dB
        A-weighted loudness.
    gate : torch.Tensor [shape=(k,)]
        Voicing gate, 0-1.
    """

    def __init__(self, audio: torch.Tensor, f0: torch.Tensor, loudness: torch.Tensor, gate: torch.Tensor):
        self.audio, self.f0, self.loudness, self.gate = audio, f0, loudness, gate

    @property
    def frames(self) -> int:
        """Control frames ``k``."""
        return self.f0.numel()


def clip_controls(paths: Iterable[str | Path], cfg: DDSPConfig, tracker: ControlTracker | None = None, *,
                  progress: bool = False, device: torch.device | str = "cpu", batch: int = CONTROL_BATCH) -> list[Controls]:
    """Load each file (mono, 16 kHz) and compute its controls for frames ``0 .. ceil((n + window / 2) / hop)``.

    Parameters
    ----------
    paths : iterable of str or Path
        Audio files.
    cfg : DDSPConfig
        Rate, hop, CREPE size and voicing gate.
    tracker : ControlTracker, optional
        Reused when given (else one of ``cfg.model.crepe``'s size is built).
    progress : bool, keyword-only
        Show a progress bar.
    device : torch.device or str, keyword-only
        Where CREPE runs and the controls and audio are kept (the training device).
    batch : int, keyword-only
        CREPE frames per call (:meth:`ControlTracker.__call__`: the controls do not depend on it, the
        memory does, about 1.5 MB per frame for ``tiny``).

    Returns
    -------
    list of Controls
        One per file, in order.
    """
    from tqdm import tqdm

    tracker = (tracker or ControlTracker(capacity=cfg.model.crepe)).to(device)
    hop, (lo, hi) = cfg.audio.hop_length, cfg.model.voicing
    out = []
    for p in tqdm(paths, desc="controls", unit="file", disable=not progress):
        y, _ = load(p, sr=cfg.audio.sr, mono=True)
        x = torch.from_numpy(y[0]).to(device)
        k = -(-(x.numel() + CREPE_WINDOW // 2) // hop) + 1
        f0, conf, loud = tracker(causal_windows(x, hop=hop, frames=k), batch=batch)
        gate = voicing_gate(conf, low=lo, high=hi)
        out.append(Controls(x, f0, loud, gate))
    return out


def _pitch_stats(clips: list[Controls]) -> dict:
    f0 = torch.cat([c.f0[(c.gate > 0.5) & (c.f0 > 0) & (c.loudness > -60)] for c in clips])
    return {"voiced_frames": int(f0.numel()),
            **({} if not f0.numel() else dict(zip(("p5", "p50", "p95"),
                                                 torch.quantile(hz_to_midi_t(f0), f0.new_tensor([.05, .5, .95])).tolist())))}


def model_kwargs(cfg: DDSPConfig) -> dict:
    """The :class:`DDSPDecoder` keyword arguments of a config (what a run's config.json records).

    Parameters
    ----------
    cfg : DDSPConfig
        The config.

    Returns
    -------
    dict
        ``harmonics``, ``noise_bands``, ``hidden`` and ``gru``.
    """
    m = cfg.model
    return {"harmonics": m.harmonics, "noise_bands": m.noise_bands, "hidden": m.hidden, "gru": m.gru}


def _crop(c: Controls, start: int, frames: int, hop: int, median_hz: float):
    """Frames ``start .. start + frames`` (``frames + 1`` of them, padded past the end) and their audio."""
    k = frames + 1

    def take(v, fill):
        seg = v[start: start + k]
        return torch.cat([seg, seg.new_full((k - seg.numel(),), fill)]) if seg.numel() < k else seg

    f0 = take(c.f0, float(c.f0[-1]) if c.f0.numel() else median_hz)
    a0 = start * hop - CREPE_WINDOW // 2
    idx = torch.arange(a0, a0 + frames * hop, device=c.audio.device)
    ok = (idx >= 0) & (idx < c.audio.numel())
    audio = c.audio.new_zeros(frames * hop)
    audio[ok] = c.audio[idx[ok]]
    return f0, take(c.loudness, -100.0), take(c.gate, 0.0), audio


def _batch(clips, starts, frames, hop, median_hz):
    parts = [_crop(clips[ci], s, frames, hop, median_hz) for ci, s in starts]
    return [torch.stack(p) for p in zip(*parts)]


def _loss(model, batch, cfg: DDSPConfig, generator=None):
    f0, loud, gate, audio = batch
    hop, sr, B = cfg.audio.hop_length, cfg.audio.sr, cfg.model.noise_bands
    harm, bands, _ = frame_parameters(model, f0, loud, gate, sr=sr)
    shape = (audio.shape[0], 2 * (B - 1) - 1 + audio.shape[1])
    # a seeded generator draws where it lives (the CPU: the same valid noise on every device)
    noise = (torch.rand(shape, generator=generator, device=generator.device).to(audio.device) if generator is not None
             else torch.rand(shape, device=audio.device)) * 2 - 1
    y, _ = synthesize(f0, harm, bands[:, 1:], noise, sr=sr, hop=hop)
    return multiscale_spectral_loss(y, audio)


def _starts(clips, frames, rng, n):
    weights = np.array([max(c.frames - frames, 1) for c in clips], float)
    ci = rng.choice(len(clips), size=n, p=weights / weights.sum())
    return [(int(i), int(rng.integers(0, max(clips[i].frames - frames, 1)))) for i in ci]


def _split(clips: list[Controls], cfg: DDSPConfig):
    t = cfg.train
    if len(clips) == 1:  # one file: hold out its end
        c = clips[0]
        cut = int(c.frames * (1 - t.valid_fraction))
        if cut < t.crop_frames or c.frames - cut < 8:
            raise ParameterError(f"one clip of {c.frames} frames is too short to train and validate on; expected at "
                                 f"least {int(t.crop_frames / (1 - t.valid_fraction)) + 8} frames")
        n = (cut - 1) * cfg.audio.hop_length
        return [Controls(c.audio[:n], c.f0[:cut], c.loudness[:cut], c.gate[:cut])], \
            [Controls(c.audio[n:], c.f0[cut - 1:], c.loudness[cut - 1:], c.gate[cut - 1:])]
    tr, va = split_indices(len(clips), valid_fraction=t.valid_fraction, seed=cfg.seed)
    return [clips[i] for i in tr], [clips[i] for i in va]


def train_ddsp(paths: Sequence[str | Path], cfg: DDSPConfig, out: str | Path, *, progress: bool = True,
               describe: dict | None = None, device: torch.device | str = "cpu",
               callbacks: Sequence[TrainingCallback] = ()) -> dict:
    """Train a :class:`DDSPDecoder` on the audio files ``paths`` and write the run folder ``out``.

    Stops at ``train.epochs``, at ``train.max_seconds`` of training, or when the validation loss
    has not improved for ``train.patience`` epochs (the plateau). The best model is kept.

    Parameters
    ----------
    paths : sequence of str or Path
        The target material's audio files.
    cfg : DDSPConfig
        The config (validated here).
    out : str or Path
        The run folder (:func:`models.checkpoint.save_run`).
    progress : bool, keyword-only
        Show progress bars.
    describe : dict, optional, keyword-only
        Only its ``target`` is read: the material's name in meta.json and in messages (default:
        the one file's path, or the number of files).
    device : torch.device or str, keyword-only
        Where the controls are computed and the model trains (:func:`models.distributed.resolve_device`).
    callbacks : sequence of TrainingCallback, keyword-only
        Called at the start, after every epoch and at the end (before the best weights are put
        back), as :class:`models.train.Trainer` calls them; with ``train.stop_on="scorecard"``
        the run stops when one asks to, instead of on the validation loss's patience.

    Returns
    -------
    dict
        The ``meta.json`` content: data summary, pitch range (MIDI), epochs, losses, seconds.

    Raises
    ------
    ParameterError
        No files, or a target with less than ``MIN_PITCHED_SECONDS`` of pitched material.
    """
    from tqdm import tqdm

    cfg.validate()
    if cfg.train.stop_on == "scorecard" and not callbacks:
        raise ParameterError("train.stop_on='scorecard' needs the scorecard; train with `workbench train` (or pass "
                             "analysis.scorecard.Scorecard as a callback), or stop on the loss")
    t, hop, sr = cfg.train, cfg.audio.hop_length, cfg.audio.sr
    target = str((describe or {}).get("target") or (paths[0] if len(paths) == 1 else f"{len(paths)} files"))
    if not paths:
        raise ParameterError("no training files; expected at least one audio file")
    torch.set_flush_denormal(True)
    if t.threads:
        torch.set_num_threads(t.threads)
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    if changed := describe_conversion(paths, sr=sr):
        log.warning("%s: %s", target, changed)
    clips = clip_controls(paths, cfg, progress=progress, device=device)
    stats = _pitch_stats(clips)
    seconds = stats["voiced_frames"] * hop / sr
    if seconds < MIN_PITCHED_SECONDS:
        raise ParameterError(f"{target}: {seconds:.1f} s of pitched material found; the ddsp method needs at least "
                             f"{MIN_PITCHED_SECONDS:g} s of an instrument playing notes")
    stats["seconds"] = round(seconds, 1)
    median_hz = midi_to_hz(stats["p50"])
    for c in clips:
        c.f0, _ = hold_f0(c.f0, c.gate, last=median_hz)
    control_seconds = time.perf_counter() - t0
    train_clips, valid_clips = _split(clips, cfg)
    rng = np.random.default_rng(cfg.seed)
    valid_starts = _starts(valid_clips, t.crop_frames, np.random.default_rng(cfg.seed + 1), 16)
    valid_batch = _batch(valid_clips, valid_starts, t.crop_frames, hop, median_hz)
    model = DDSPDecoder(**model_kwargs(cfg)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=t.lr)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, best, best_epoch, best_state = [], float("inf"), 0, None
    steps = max(1, t.crops_per_epoch // t.batch_size)
    stopped_by = "epochs"
    t_train = time.perf_counter()
    bar = tqdm(range(1, t.epochs + 1), desc="ddsp", unit="epoch", disable=not progress)
    state = RunState("ddsp", model, cfg, model_kwargs(cfg), out,
                     lambda: [c.audio.detach().cpu().numpy().astype(np.float32) for c in valid_clips],
                     epoch=0, meta={"pitch_midi": stats})
    t_cb = time.perf_counter()
    for cb in callbacks:
        cb.on_train_start(state)
    callback_seconds = time.perf_counter() - t_cb  # the time limit counts training, not callbacks
    figures: dict[str, str] = {}
    for epoch in bar:
        model.train()
        total = 0.0
        for _ in range(steps):
            batch = _batch(train_clips, _starts(train_clips, t.crop_frames, rng, t.batch_size), t.crop_frames, hop,
                           median_hz)
            loss = _loss(model, batch, cfg)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 3.0)
            opt.step()
            total += float(loss.detach())
        model.eval()
        with torch.no_grad():
            valid = float(_loss(model, valid_batch, cfg, generator=torch.Generator().manual_seed(0)))
        rows.append({"epoch": epoch, "train_loss": total / steps, "valid_loss": valid,
                     "seconds": round(time.perf_counter() - t_train, 1)})
        RunFolder(out).write_loss(rows)  # every epoch, so the curve can be watched while it grows
        if valid < best - 1e-4:
            best, best_epoch = valid, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        state.epoch, state.done, state.seconds = epoch, epoch, time.perf_counter() - t_train
        t_cb = time.perf_counter()
        figures.update(epoch_figures(callbacks, state))
        callback_seconds += time.perf_counter() - t_cb
        bar.set_postfix(train=f"{total / steps:.3f}", valid=f"{valid:.3f}", **figures)
        if t.stop_on == "scorecard" and stop_reason(callbacks):
            stopped_by = "scorecard plateau"
            break
        if t.stop_on == "loss" and epoch - best_epoch >= t.patience:
            stopped_by = "plateau"
            break
        if t.max_seconds and time.perf_counter() - t_train - callback_seconds > t.max_seconds:
            stopped_by = "time"
            break
        if stop_requested(out):
            stopped_by = STOP_REQUESTED
            break
    state.seconds = time.perf_counter() - t_train
    for cb in callbacks:
        cb.on_train_end(state)
    model.load_state_dict(best_state)
    RunFolder(out).write_loss(rows)
    if stopped_by == STOP_REQUESTED:  # honoured: the folder can be trained into again
        (out / STOP_FILE).unlink(missing_ok=True)
    meta = {**{k: v for k, v in (describe or {}).items() if k != "target"}, "status": "done", "method": "ddsp",
            "target": target, "files": len(paths), "pitch_midi": stats,
            "train_seconds": round(time.perf_counter() - t_train, 1), "control_seconds": round(control_seconds, 1),
            "epochs_run": len(rows), "best_epoch": best_epoch, "best_valid_loss": best, "stopped_by": stopped_by}
    for cb in callbacks:
        meta.update(cb.summary())
    save_run(out, model, config=cfg, model_kwargs=model_kwargs(cfg), meta=meta)
    log.info("ddsp run %s: %d epochs, best valid %.4f", out, len(rows), best)
    return meta
