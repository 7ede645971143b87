"""Latent mixing between instruments (seeds 000, 004): an autoencoder effect whose latent frames
are moved, blended or scaled on their way to the decoder.

Modes (``alpha`` in [0, 1] sets how far; ``alpha = 0`` is the plain autoencoder effect):

- ``blend``: decode with the instrument code ``(1 - alpha) A + alpha B`` (a model trained with
  ``model.condition``).
- ``shift``: ``z + alpha (mu_B - mu_A)``, class means of the latents over material of A and B.
- ``linear``: ``(1 - alpha) z + alpha (z W + b)``, a ridge least-squares map from A's latents to
  B's, notes paired by nearest pitch (seed 000 moves embeddings with a linear map too).
- ``morph``: ``(1 - alpha) z_x + alpha z_y``, the latent of a second input ``morph`` frame by frame.

After the mode, per-unit faders ``z * scale + offset`` (seed 004), bypassed with ``faders=False``.
Every parameter can change between blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from effects.autoencoder import AutoencoderEffect
from models.checkpoint import LoadedRun
from models.lstm_ae import prepare_input, stack_context
from workbench.audio import load
from workbench.errors import ParameterError
from workbench.spectral import causal_frames
from workbench.validate import check_number

__all__ = ["LatentMixEffect", "MODES", "note_latents", "material_for"]

MODES = ("blend", "shift", "linear", "morph")


def note_latents(run: LoadedRun, paths: Iterable[str | Path], *, floor_db: float = -40.0) -> np.ndarray:
    """Mean latent of each file's loud frames.

    Parameters
    ----------
    run : LoadedRun
        An autoencoder run (:meth:`models.checkpoint.LoadedRun.encode`).
    paths : iterable of str or Path
        Audio files, loaded mono at the run's rate (at least ``n_fft`` samples each).
    floor_db : float, dB, keyword-only
        Frames count whose level is above the file's loudest plus this.

    Returns
    -------
    np.ndarray [shape=(files, latent), dtype=float32]
    """
    cfg = run.config
    rows = []
    for p in paths:
        y, _ = load(p, sr=cfg.audio.sr, mono=True, min_samples=cfg.audio.n_fft)
        enc = run.encode(y[0])
        level = 20 * torch.log10(enc.gain[0, :, 0] + 1e-12)
        keep = level > level.max() + floor_db
        rows.append(enc.z[0][keep].mean(0).numpy())
    return np.array(rows, np.float32)


def material_for(run: LoadedRun, name: str, *, split: str = "train", limit: int = 40) -> list[tuple[str, int | None]]:
    """Notes of an instrument from the corpus the run was trained on.

    Read from the run's ``meta.json`` target (``CORPUS:selection``).

    Parameters
    ----------
    run : LoadedRun
        A run trained on a corpus, instruments named by family or program.
    name : str
        The instrument (a family name, or a program number as text).
    split : str, keyword-only
        The split looked in first (all splits when it has none of the instrument's notes).
    limit : int, keyword-only
        At most this many notes, evenly spaced so the same ones come back every time.

    Returns
    -------
    list of (str, int)
        ``(path, MIDI pitch)`` of each note.

    Raises
    ------
    ParameterError
        The run's target is not a corpus, or its instruments are not named by family or program.
    """
    from workbench.corpus.nsynth import NSynth

    target = str(run.meta.get("target", ""))
    corpus, sep, _ = target.partition(":")
    if not corpus or not (Path(corpus).is_dir()):
        raise ParameterError(f"the run's target {target!r} is not a corpus; pass material={{name: [files]}} "
                             "for the shift and linear modes")
    by = run.config.model.code_by
    key = {"family": "family", "program": "program"}.get(by)
    if key is None:
        raise ParameterError(f"instruments named by {by!r} cannot be looked up in a corpus; pass material=")
    ds = NSynth(corpus, split=split, **{key: [int(name) if key == "program" else name]})
    if not len(ds):
        ds = NSynth(corpus, **{key: [int(name) if key == "program" else name]})
    ex = ds.examples
    if len(ex) > limit:
        ex = [ex[i] for i in np.linspace(0, len(ex) - 1, limit).astype(int)]
    return [(e["path"], int(e["pitch"])) for e in ex]


class LatentMixEffect(AutoencoderEffect):
    """Move an autoencoder's latent between instruments while audio plays through it.

    Parameters
    ----------
    model : str, Path or LoadedRun, keyword-only
        A run; ``blend`` needs one trained on several instruments (``model.condition``).
    mode : {"blend", "shift", "linear", "morph"}, keyword-only
        How the latent moves (see the module's docstring).
    source, target : str, keyword-only
        Instruments A and B (names from the run's codes, or keys of ``material``).
    alpha : float, keyword-only
        0 = A as it is, 1 = all the way to B (or to the second input for ``morph``).
    scale, offset : sequence of float, optional, keyword-only
        Per-unit faders, length ``latent``; default ones and zeros.
    faders : bool, keyword-only
        Apply the faders (False bypasses them).
    morph : np.ndarray [shape=(n,) or (channels, n)], optional, keyword-only
        Second input at the model's rate for ``morph``.
    material : dict, optional, keyword-only
        ``{name: [path, ...] or [(path, pitch), ...]}`` for the ``shift`` / ``linear`` statistics;
        default: the run's own corpus notes of each instrument (see :func:`material_for`).
    trajectory_frames : int, keyword-only
        Latent frames (of channel 0) kept for :attr:`latent_trajectory`, preallocated.
    window, synthesis_length : keyword-only
        As :class:`effects.autoencoder.AutoencoderEffect`.
    mix, gate_db, gain_db : float, keyword-only
        As :class:`effects.frame_effect.FrameEffect`.
    device : torch.device or str, keyword-only
        Where the model, statistics, second input and trajectory live, as
        :class:`effects.autoencoder.AutoencoderEffect` (the statistics are measured on the CPU).
    """

    _param_names = AutoencoderEffect._param_names + ("mode", "source", "target", "alpha", "scale", "offset",
                                                     "faders", "morph")

    def __init__(self, *, model: str | Path | LoadedRun, mode: str = "blend", source: str | None = None,
                 target: str | None = None, alpha: float = 0.0, scale: Sequence[float] | None = None,
                 offset: Sequence[float] | None = None, faders: bool = True, morph: np.ndarray | None = None,
                 material: Mapping[str, Sequence[str | Path | tuple[str | Path, int | None]]] | None = None,
                 trajectory_frames: int = 20000, window: str | None = None, synthesis_length: int | None = None,
                 mix: float = 1.0, gate_db: float = -60.0, gain_db: float = 0.0, device: torch.device | str = "cpu"):
        super().__init__(model=model, window=window, synthesis_length=synthesis_length, mix=mix, gate_db=gate_db,
                         gain_db=gain_db, device=device)
        names = tuple(self.codes) or tuple(material or ())
        self.names = names
        self.material = material
        self._stats: dict = {}
        self.mode, self.source, self.target, self.alpha, self.faders, self.morph = "blend", None, None, 0.0, True, None
        self.scale = np.ones(self.latent_dim, np.float32)
        self.offset = np.zeros(self.latent_dim, np.float32)
        self.set_params(mode=mode, source=source if source is not None else (names[0] if names else None),
                        target=target if target is not None else (names[-1] if names else None), alpha=alpha,
                        scale=self.scale if scale is None else scale, offset=self.offset if offset is None else offset,
                        faders=faders, morph=morph)
        # on the device: recording a frame reads nothing back to the host
        self._traj = torch.zeros(int(trajectory_frames), self.latent_dim, device=self.device)
        self._traj_n = 0

    # -- parameters -------------------------------------------------------------------------------
    def _check_param(self, name, value):
        super()._check_param(name, value)
        if name == "mode" and value not in MODES:
            raise ParameterError(f"mode={value!r} is not valid; expected one of {', '.join(MODES)}")
        if name in ("source", "target") and value is not None and value not in self.names:
            raise ParameterError(f"{name}={value!r} is not one of the instruments ({', '.join(self.names) or 'none'})")
        if name == "alpha":
            check_number(value, name, lo=0, hi=1)
        if name in ("scale", "offset"):
            a = np.asarray(value, dtype=np.float64)
            if a.shape != (self.latent_dim,) or not np.isfinite(a).all():
                raise ParameterError(f"{name} has shape {a.shape}; expected {self.latent_dim} finite numbers "
                                     "(one per latent unit)")

    def get_params(self) -> dict:
        """The live parameters, ``scale`` and ``offset`` as tuples of float (plain data).

        Returns
        -------
        dict
            Name -> current value.
        """
        p = super().get_params()
        p["scale"], p["offset"] = tuple(map(float, self.scale)), tuple(map(float, self.offset))  # plain data
        return p

    def set_params(self, **params: object) -> LatentMixEffect:
        """Change live parameters (checked first, so a bad value changes nothing).

        ``scale`` and ``offset`` are copied as float32 arrays; a new ``morph`` input is analysed
        when the effect is prepared; the statistics of ``shift`` / ``linear`` are computed when
        first needed.

        Parameters
        ----------
        **params
            Any live parameter of the class docstring (``mode``, ``alpha``, ``scale``...).

        Returns
        -------
        LatentMixEffect
            ``self``, for chaining.
        """
        super().set_params(**params)
        for k in ("scale", "offset"):
            if k in params:
                setattr(self, k, np.asarray(params[k], np.float32).copy())
        if "morph" in params and getattr(self, "_prepared", None) is not None:
            self._load_morph()
        if {"mode", "source", "target"} & set(params) and getattr(self, "mode", None) in ("shift", "linear"):
            self._need_stats()
        return self

    # -- statistics for shift / linear ------------------------------------------------------------
    def _notes(self, name):
        if self.material is not None:
            if name not in self.material:
                raise ParameterError(f"material has no notes for {name!r}; it names {', '.join(self.material)}")
            items = self.material[name]
            return [(it, None) if isinstance(it, (str, Path)) else (str(it[0]), it[1]) for it in items]
        return material_for(self.run, name)

    def _need_stats(self):
        """Class means and the A -> B linear map for the current source and target (cached)."""
        if self.source is None or self.target is None:
            raise ParameterError(f"mode={self.mode!r} needs a source and a target instrument")
        key = (self.source, self.target)
        if key in self._stats:
            return self._stats[key]
        lat, pitch = {}, {}
        for name in key:
            notes = self._notes(name)
            if not notes:
                raise ParameterError(f"no material for instrument {name!r}")
            lat[name] = note_latents(self.run, [p for p, _ in notes])
            pitch[name] = np.array([p if p is not None else i for i, (_, p) in enumerate(notes)], float)
        A, B = lat[self.source], lat[self.target]
        # pair each A note with the B note of the nearest pitch; ridge least squares with a bias
        pairs = np.abs(pitch[self.source][:, None] - pitch[self.target][None, :]).argmin(1)
        Xa = np.hstack([A, np.ones((len(A), 1), np.float32)])
        lam = 1e-2 * len(A)
        W = np.linalg.solve(Xa.T @ Xa + lam * np.eye(Xa.shape[1]), Xa.T @ B[pairs])
        dev = self.device
        self._stats[key] = {"mu_a": torch.from_numpy(A.mean(0)).to(dev), "mu_b": torch.from_numpy(B.mean(0)).to(dev),
                            "W": torch.from_numpy(W[:-1].astype(np.float32)).to(dev),
                            "b": torch.from_numpy(W[-1].astype(np.float32)).to(dev),
                            "notes": (len(A), len(B))}
        return self._stats[key]

    # -- morph input ------------------------------------------------------------------------------
    def _load_morph(self):
        self._morph_mag = None
        if self.morph is None:
            return
        y = np.asarray(self.morph, np.float32)
        y = np.ascontiguousarray(y.mean(0) if y.ndim == 2 else y.reshape(-1))  # torch needs positive strides
        if not np.isfinite(y).all():
            raise ParameterError("morph input contains NaN or Inf; expected finite samples")
        self._morph_mag = causal_frames(torch.from_numpy(y), n_fft=self.n_fft, hop_length=self.hop_length,
                                        window=self.window, synthesis_length=self.synthesis_length
                                        ).abs().T.contiguous().to(self.device)  # (T, bins)

    # -- lifecycle --------------------------------------------------------------------------------
    def _prepare_frames(self, sample_rate, channels):
        super()._prepare_frames(sample_rate, channels)
        self._load_morph()
        if self.mode in ("shift", "linear"):
            self._need_stats()

    def _reset_frames(self):
        super()._reset_frames()
        self._pos = 0
        self._traj_n = 0
        self._state_y = None
        self._history_y = torch.zeros(1, self.context, self.n_fft // 2 + 1, device=self.device)

    @property
    def latent_trajectory(self) -> np.ndarray:
        """Latent frames sent to the decoder for channel 0 since the last reset ``(frames, latent)``."""
        return self._traj[: self._traj_n].cpu().numpy().copy()

    def _code(self):
        if self.mode == "blend" and self.codes and self.source is not None and self.target is not None:
            return self.code_vector({self.source: 1.0 - self.alpha, self.target: self.alpha})
        if self.codes and self.source is not None:
            return self.code_vector({self.source: 1.0})
        return super()._code()

    def _morph_latent(self, k: int) -> torch.Tensor:
        """Latents of the second input's frames at the current positions ``(1, k, latent)``."""
        T, bins = self._morph_mag.shape
        idx = torch.arange(self._pos, self._pos + k, device=self.device)
        mag = torch.where((idx < T)[:, None], self._morph_mag[idx.clamp(max=T - 1)],
                          torch.zeros(1, bins, device=self.device))[None]
        x, _, _ = prepare_input(mag, **self._io)
        ctx = stack_context(x, self.context, self._history_y)
        if self.context:
            self._history_y = torch.cat([self._history_y, x], dim=1)[:, -self.context:]
        z, self._state_y = self.model.encode(ctx, self._state_y, chroma=self._chroma(mag))
        return z

    def _map_latent(self, z, mag):
        k = z.shape[1]
        a = float(self.alpha)
        if self.mode == "shift" and a:
            st = self._need_stats()
            z = z + a * (st["mu_b"] - st["mu_a"])
        elif self.mode == "linear" and a:
            st = self._need_stats()
            z = (1 - a) * z + a * (z @ st["W"] + st["b"])
        elif self.mode == "morph" and self._morph_mag is not None:
            zy = self._morph_latent(k)  # advance the second input even at alpha 0, to stay aligned
            if a:
                z = (1 - a) * z + a * zy
        if self.faders:
            z = z * torch.from_numpy(self.scale).to(z.device) + torch.from_numpy(self.offset).to(z.device)
        n = min(k, len(self._traj) - self._traj_n)
        if n > 0:
            self._traj[self._traj_n: self._traj_n + n] = z[0, :n]
            self._traj_n += n
        self._pos += k
        return z
