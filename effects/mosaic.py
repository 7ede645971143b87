"""MFCC mosaicing (Burred's approach, seed 003's second baseline).

The target is a dictionary of grains: its causal STFT frames, each described by MFCCs. For each
input frame an exact kNN search (a torch matrix product, or scikit-learn's KD-tree) proposes candidate grains; the pick minimises
the feature distance minus a bonus for continuing the previous pick (its successor in the
target) and excludes grains used within the last ``repeat_window`` frames. The output is the
chosen grains, with their own phase, overlap-added and gain-matched to the input frames.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from pathlib import Path

import numpy as np
import torch

from effects.frame_effect import FrameEffect, match_energy
from effects.targets import load_target
from workbench.errors import ParameterError
from workbench.spectral import causal_frames, mfcc_from_power
from workbench.validate import check_int, check_number

__all__ = ["MosaicIndex", "MosaicEffect", "grain_features"]

SILENT_DB = -60.0
INDEX_VERSION = 1


def grain_features(power: torch.Tensor, *, sr: int, n_mfcc: int, use_c0: bool) -> torch.Tensor:
    """MFCC descriptors of power frames.

    No ``top_db`` clipping (it depends on the whole signal, which a live stream never sees).

    Parameters
    ----------
    power : torch.Tensor [shape=(..., n_fft // 2 + 1, T)]
        Power frames.
    sr : int, Hz, keyword-only
        Sample rate.
    n_mfcc : int, keyword-only
        Coefficients computed.
    use_c0 : bool, keyword-only
        Keep c0 (the level).

    Returns
    -------
    torch.Tensor [shape=(..., T, n_mfcc or n_mfcc - 1)]
    """
    m = mfcc_from_power(power, sr=sr, n_mfcc=n_mfcc, top_db=None)
    m = m if use_c0 else m[..., 1:, :]
    return m.transpose(-1, -2)


class MosaicIndex:
    """The target's grains and their features, with a KD-tree for kNN queries.

    Build with :meth:`fit`; save with :meth:`save` (``index.json`` + ``features.npy``, no
    pickles) and reload with :meth:`load`, which re-reads the target audio (its hash must match)
    for the grains' complex spectra and rebuilds the tree.
    """

    def __init__(self):
        self.params: dict = {}
        self.files: list[dict] = []

    @classmethod
    def fit(cls, target: str | Path | list[str | Path] | np.ndarray, *, sr: int, n_fft: int = 1024, hop_length: int = 256,
            n_mfcc: int = 13, use_c0: bool = False, deltas: bool = False, target_sr: int | None = None) -> MosaicIndex:
        """Build an index of the target's grains (its causal STFT frames above -60 dB of the loudest).

        Parameters
        ----------
        target : str, Path, list of paths or np.ndarray
            The material (:func:`effects.targets.load_target`); only an index of files can be saved.
        sr : int, Hz, keyword-only
            The rate the effect runs at.
        n_fft, hop_length : int, samples, keyword-only
            Grain frame and hop.
        n_mfcc, use_c0, deltas : keyword-only
            Grain descriptors (:class:`MosaicEffect`).
        target_sr : int, Hz, optional, keyword-only
            Rate of an array ``target``.

        Returns
        -------
        MosaicIndex
            Ready for :meth:`kneighbors`; saved with :meth:`save` when built from files.

        Raises
        ------
        ParameterError
            Bad or silent target material.
        """
        self = cls()
        self.params = {"sr": sr, "n_fft": n_fft, "hop_length": hop_length, "n_mfcc": n_mfcc, "use_c0": use_c0,
                       "deltas": deltas}
        if not isinstance(target, np.ndarray):
            from workbench.corpus.select import resolve_target

            target = [Path(p) for p in target] if isinstance(target, (list, tuple)) else resolve_target(target)
            self.files = [{"path": str(p), "sha1": hashlib.sha1(p.read_bytes()).hexdigest()} for p in target]
        self._build(load_target(target, sr=sr, target_sr=target_sr, min_samples=n_fft))
        return self

    def _build(self, clips: list[np.ndarray], features: np.ndarray | None = None) -> None:
        p = self.params
        grains, succ = [], []
        for c in clips:
            X = causal_frames(torch.from_numpy(c), n_fft=p["n_fft"], hop_length=p["hop_length"])  # (bins, T)
            grains.append(X)
            s = torch.ones(X.shape[-1], dtype=torch.bool)
            s[-1] = False  # no successor across the end of a clip
            succ.append(s)
        X = torch.cat(grains, dim=-1)
        energy = torch.linalg.vector_norm(X.abs(), dim=0)
        keep = energy > energy.max() * 10 ** (SILENT_DB / 20)
        if energy.max() <= 0 or not keep.any():
            raise ParameterError("target is silent (no grain with energy); expected audible target material")
        has_succ = torch.cat(succ)
        # successor of grain i among the kept grains: i + 1 when both are kept and in one clip
        kept_idx = torch.nonzero(keep)[:, 0]
        nxt = torch.full((len(kept_idx),), -1, dtype=torch.long)
        contiguous = (kept_idx[1:] == kept_idx[:-1] + 1) & has_succ[kept_idx[:-1]]
        nxt[:-1][contiguous] = torch.arange(1, len(kept_idx))[contiguous]
        self.grains = X[:, keep].T.contiguous()  # (N, bins) complex
        self.successor = nxt.numpy()
        if features is None:
            f = grain_features(self.grains.abs().T ** 2, sr=p["sr"], n_mfcc=p["n_mfcc"], use_c0=p["use_c0"])
            if p["deltas"]:
                d = torch.diff(f, dim=0, prepend=f[:1])
                f = torch.cat([f, d], dim=1)
            features = f.numpy().astype(np.float64)
        if features.shape[0] != self.grains.shape[0]:
            raise ParameterError(f"index features ({features.shape[0]} grains) do not match the target audio "
                                 f"({self.grains.shape[0]} grains)")
        self.features = features
        self._tree = None
        self._feat_t = torch.from_numpy(features)
        self._feat32_T = self._feat_t.T.float().contiguous()
        self._sq32 = (self._feat_t**2).sum(dim=1).float()[None]

    def kneighbors(self, queries: np.ndarray, k: int, *, search: str = "brute") -> tuple[np.ndarray, np.ndarray]:
        """Exact k nearest grains of each query row.

        ``brute``: candidates ranked by one float32 ``addmm`` (``|f|^2 - 2 q.f``; the ``|q|^2`` term
        does not change the order), then the best ``k + 8`` re-measured in float64 and re-sorted,
        so the result is exact; ``kdtree``: scikit-learn's KD-tree.

        Parameters
        ----------
        queries : np.ndarray [shape=(n, d)]
            Descriptors, as the index's features.
        k : int
            Neighbours wanted (at most the grains there are).
        search : {"brute", "kdtree"}, keyword-only
            The search.

        Returns
        -------
        distances : np.ndarray [shape=(n, k)]
            Euclidean, ascending per row.
        indices : np.ndarray [shape=(n, k)]
            Grain indices.
        """
        k = min(k, len(self))
        if search == "kdtree":
            if self._tree is None:
                from sklearn.neighbors import NearestNeighbors

                self._tree = NearestNeighbors(algorithm="kd_tree").fit(self.features)
            return self._tree.kneighbors(queries, n_neighbors=k)
        q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float64))
        scores = torch.addmm(self._sq32, q.float(), self._feat32_T, beta=1, alpha=-2)
        m = min(k + 8, len(self))
        cand = torch.topk(scores, m, dim=1, largest=False, sorted=False).indices
        exact = torch.linalg.vector_norm(self._feat_t[cand] - q[:, None], dim=-1)  # (n, m) float64
        order = torch.argsort(exact, dim=1, stable=True)[:, :k]
        return exact.gather(1, order).numpy(), cand.gather(1, order).numpy()

    def __len__(self) -> int:
        return self.grains.shape[0]

    def save(self, folder: str | Path) -> Path:
        """Write ``index.json`` (parameters, files and their SHA-1) and ``features.npy``; no pickles.

        Parameters
        ----------
        folder : str or Path
            Where (created).

        Returns
        -------
        Path
            ``folder``, as a Path.

        Raises
        ------
        ParameterError
            An index built from an array (there are no files to name).
        """
        folder = Path(folder)
        if not self.files:
            raise ParameterError("an index built from an array cannot be saved; build it from files")
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "features.npy", self.features, allow_pickle=False)
        (folder / "index.json").write_text(json.dumps({"version": INDEX_VERSION, "params": self.params,
                                                       "files": self.files, "grains": len(self)}, indent=1))
        return folder

    @staticmethod
    def is_saved(folder: str | Path) -> bool:
        """Whether a folder holds a saved index.

        Parameters
        ----------
        folder : str or Path
            The folder to look in.

        Returns
        -------
        bool
            True when it has both ``index.json`` and ``features.npy`` (a folder of audio with its
            own index.json does not).
        """
        folder = Path(folder)
        return (folder / "index.json").is_file() and (folder / "features.npy").is_file()

    @classmethod
    def load(cls, folder: str | Path) -> MosaicIndex:
        """Reload a saved index: the features from disk, the grains from the target files.

        Parameters
        ----------
        folder : str or Path
            A folder written by :meth:`save`.

        Returns
        -------
        MosaicIndex
            The index as saved, its grains read again from the target files.

        Raises
        ------
        ParameterError
            Not a saved index, or a target file missing or changed since (its SHA-1 differs).
        """
        folder = Path(folder)
        if not cls.is_saved(folder):
            raise ParameterError(f"index={str(folder)!r} has no index.json and features.npy; expected a saved "
                                 f"mosaic index")
        doc = json.loads((folder / "index.json").read_text())
        self = cls()
        self.params, self.files = doc["params"], doc["files"]
        for f in self.files:
            p = Path(f["path"])
            if not p.is_file() or hashlib.sha1(p.read_bytes()).hexdigest() != f["sha1"]:
                raise ParameterError(f"index={str(folder)!r}: target file {str(p)!r} is missing or changed since "
                                     f"the index was saved; rebuild the index")
        clips = load_target([f["path"] for f in self.files], sr=self.params["sr"],
                            min_samples=self.params["n_fft"], notice=False)
        self._build(clips, np.load(folder / "features.npy", allow_pickle=False))
        return self


class MosaicEffect(FrameEffect):
    """Rebuild the input from the target's grains, chosen by MFCC similarity.

    Parameters
    ----------
    target : str, Path, list of paths, np.ndarray or MosaicIndex, keyword-only
        Dictionary material (file, folder, corpus selection, audio with ``target_sr``), or a
        fitted/loaded index.
    target_sr : int, Hz, optional, keyword-only
        Rate of an array ``target``.
    k : int, keyword-only
        Candidates from the kNN search per frame.
    continuity : float, keyword-only
        Bonus for picking the successor of the previous grain, in units of the frame's median
        candidate distance (0 = pure kNN).
    repeat_window : int, frames, keyword-only
        A grain used within this many frames is not picked again (0 = no penalty).
    search : {"brute", "kdtree"}, keyword-only
        Exact kNN by a torch matrix product (default) or scikit-learn's KD-tree. A voice's MFCCs
        lie far from every instrument grain, where a KD-tree prunes little: on real input the
        matrix product was faster at 1, 5 and 10 minutes of target (BENCHMARKS.md).
    n_mfcc, use_c0, deltas : keyword-only
        Grain descriptors: MFCCs 1..n_mfcc-1 (plus c0, the level, if ``use_c0``; plus the
        causal first difference if ``deltas``).
    n_fft, hop_length, mix, gate_db, gain_db : keyword-only
        See :class:`FrameEffect`.

    After processing, :attr:`choices` lists the grain index picked for every frame.
    """

    _param_names = ("mix", "gate_db", "gain_db", "k", "continuity", "repeat_window")

    def __init__(self, *, target: str | Path | list[str | Path] | np.ndarray | MosaicIndex,
                 target_sr: int | None = None, k: int = 5, continuity: float = 0.5, repeat_window: int = 8,
                 n_mfcc: int = 13, use_c0: bool = False, deltas: bool = False, search: str = "brute", n_fft: int = 1024,
                 hop_length: int = 256, mix: float = 1.0, gate_db: float = -60.0, gain_db: float = 0.0):
        self.target, self.target_sr = target, target_sr
        self.k, self.continuity, self.repeat_window = k, continuity, repeat_window
        self.n_mfcc, self.use_c0, self.deltas = n_mfcc, use_c0, deltas
        if search not in ("brute", "kdtree"):
            raise ParameterError(f"search={search!r} is not valid; expected 'brute' or 'kdtree'")
        self.search = search
        super().__init__(n_fft=n_fft, hop_length=hop_length, mix=mix, gate_db=gate_db, gain_db=gain_db)
        for name in ("k", "continuity", "repeat_window"):
            self._check_param(name, getattr(self, name))
        if not 2 <= n_mfcc <= 128:
            raise ParameterError(f"n_mfcc={n_mfcc!r} must be an integer in [2, 128]")
        self.index: MosaicIndex | None = target if isinstance(target, MosaicIndex) else None

    def _check_param(self, name, value):
        super()._check_param(name, value)
        if name == "k":
            check_int(value, name)
        if name == "continuity":
            check_number(value, name, lo=0)
        if name == "repeat_window":
            check_int(value, name, lo=0)

    def _prepare_frames(self, sample_rate, channels):
        want = {"sr": sample_rate, "n_fft": self.n_fft, "hop_length": self.hop_length, "n_mfcc": self.n_mfcc,
                "use_c0": self.use_c0, "deltas": self.deltas}
        if self.index is None or self.index.params != want:
            if isinstance(self.target, MosaicIndex):
                raise ParameterError(f"the mosaic index was built with {self.target.params}; this stream needs {want}")
            self.index = MosaicIndex.fit(self.target, target_sr=self.target_sr, **want)
        self._feat_scale = float(np.median(np.std(self.index.features, axis=0))) or 1.0

    def _reset_frames(self):
        ch = self.channels
        self._prev = [-1] * ch
        self._recent = [deque(maxlen=max(self.repeat_window, 1)) for _ in range(ch)]
        self._prev_feat = None
        self.choices: list[list[int]] = [[] for _ in range(ch)]

    def _pick(self, c: int, feat: np.ndarray, dist: np.ndarray, cand: np.ndarray) -> int:
        idx = self.index
        prev = self._prev[c]
        nxt = int(idx.successor[prev]) if prev >= 0 else -1
        cand, dist = list(cand), list(dist)
        if nxt >= 0 and nxt not in cand:  # the successor always competes
            cand.append(nxt)
            dist.append(float(np.linalg.norm(feat - idx.features[nxt])))
        scale = sorted(dist)[len(dist) // 2] or self._feat_scale  # median; np.median costs 50 us here
        recent = set(self._recent[c]) if self.repeat_window else set()
        best, best_cost = -1, np.inf
        for g, d in zip(cand, dist):
            if g in recent:
                continue
            cost = d - (self.continuity * scale if g == nxt else 0.0)
            if cost < best_cost:
                best, best_cost = g, cost
        if best < 0:  # every candidate used recently: take the closest anyway
            best = cand[int(np.argmin(dist))]
        return best

    def _transform(self, X, absX):
        ch, bins, k = X.shape
        feats = grain_features(absX**2, sr=self.sample_rate, n_mfcc=self.n_mfcc, use_c0=self.use_c0)  # (ch, k, d)
        feats = feats.numpy().astype(np.float64)
        if self.deltas:
            prev = self._prev_feat if self._prev_feat is not None else feats[:, :1]
            d = np.diff(np.concatenate([prev, feats], axis=1), axis=1)
            self._prev_feat = feats[:, -1:]
            feats = np.concatenate([feats, d], axis=2)
        dist, cand = self.index.kneighbors(feats.reshape(ch * k, -1), self.k, search=self.search)
        dist, cand = dist.reshape(ch, k, -1), cand.reshape(ch, k, -1)
        picks = np.empty((ch, k), dtype=np.int64)
        for c in range(ch):
            for t in range(k):
                g = self._pick(c, feats[c, t], dist[c, t], cand[c, t])
                picks[c, t] = g
                self._prev[c] = g
                self._recent[c].append(g)
                self.choices[c].append(g)
        grains = self.index.grains[torch.from_numpy(picks)]  # (ch, k, bins)
        mags = grains.abs()
        scaled = match_energy(mags, absX.transpose(1, 2), dim=-1)
        return (grains * (scaled / mags.clamp_min(1e-12))).transpose(1, 2)
