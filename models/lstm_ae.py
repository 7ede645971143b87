"""The LSTM-context STFT autoencoder (Gabrielli and Cella, seed 003) and its frame transforms.

Input: the magnitude of the current STFT frame and of the ``context`` frames before it, each
normalised to its own shape (the gain is carried outside the network, seed 002) and
compressed; optionally whitened first (divided by its own cepstral envelope), so the network
sees the harmonics and noise but not the input's timbre. Dense encoder -> LSTM (state carried
across frames) -> bottleneck (sigmoid or leaky ReLU) -> dense decoder -> ``n_bins``
non-negative compressed magnitudes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from models import augment
from workbench.config import HARMONIC_READS
from workbench.errors import ParameterError
from workbench.spectral import frame_f0_bins

if TYPE_CHECKING:
    from workbench.config import ModelConfig

__all__ = ["LSTMAutoencoder", "normalize_frames", "compress", "decompress", "stack_context", "prepare_input",
           "input_options",
           "positions_from_f0", "interp_harmonics", "pitch_features", "flatten_harmonics"]

_TINY = 1e-8
CHROMA = 12
PITCH_BANDS = 24  # Gaussian bumps a quarter octave apart: the decoder's view of the frame's pitch


def pitch_features(f0: torch.Tensor, pitch_range: Sequence[float] | None = None) -> torch.Tensor:
    """The pitch a ``harmonics`` decoder is told.

    Gaussian bumps over log2(f0) (2.5 to 2.5 * 2**5.75 bins, a quarter octave apart) and a voiced
    flag; unpitched frames (``f0 = 0``) get zeros.

    Parameters
    ----------
    f0 : torch.Tensor [shape=(...)], bins
        Each frame's pitch, 0 where unpitched.
    pitch_range : (low, high), bins, optional
        Clamps the pitch first, so a voice below the instrument's trained range gets the levels
        of its lowest notes rather than an untrained extrapolation.

    Returns
    -------
    torch.Tensor [shape=(..., PITCH_BANDS + 1), dtype=float32]
        The bumps, then the voiced flag.
    """
    f0 = torch.as_tensor(f0).to(torch.float32)
    voiced = f0 > 0
    p = f0.clamp_min(1e-6)
    if pitch_range is not None:
        p = p.clamp(float(pitch_range[0]), float(pitch_range[1]))
    centres = math.log2(2.5) + torch.arange(PITCH_BANDS, dtype=torch.float32, device=f0.device) / 4
    bumps = torch.exp(-0.5 * ((torch.log2(p)[..., None] - centres) / 0.25) ** 2)
    feats = torch.cat([bumps, torch.ones_like(bumps[..., :1])], dim=-1)
    return feats * voiced[..., None].to(feats.dtype)


def normalize_frames(mag: torch.Tensor, *, mode: str = "max") -> tuple[torch.Tensor, torch.Tensor]:
    """Split magnitude frames into a shape and a gain.

    Parameters
    ----------
    mag : torch.Tensor [shape=(..., bins)]
        Magnitude frames.
    mode : {"max", "norm"}, keyword-only
        Shapes of unit peak or of unit L2 norm.

    Returns
    -------
    shape : torch.Tensor [shape=(..., bins)]
        All zeros for a silent frame.
    gain : torch.Tensor [shape=(..., 1)]
        The peak or the norm (0 for a silent frame).
    """
    if mode == "max":
        gain = mag.amax(dim=-1, keepdim=True)
    elif mode == "norm":
        gain = torch.linalg.vector_norm(mag, dim=-1, keepdim=True)
    else:
        raise ParameterError(f"normalize={mode!r} is not valid; expected 'max' or 'norm'")
    return mag / gain.clamp_min(_TINY), gain


def compress(shape: torch.Tensor, *, mode: str = "power", power: float = 0.3, log_range_db: float = 80.0) -> torch.Tensor:
    """Compress normalised magnitudes for the network: ``m ** power`` or a dB scale.

    Parameters
    ----------
    shape : torch.Tensor [shape=(...)]
        Normalised magnitudes, in [0, 1].
    mode : {"power", "log", "none"}, keyword-only
        ``log`` maps ``-log_range_db`` dB .. 0 dB to 0 .. 1 (clipped below).
    power : float, keyword-only
        The exponent of ``power``.
    log_range_db : float, dB, keyword-only
        The range of ``log``.

    Returns
    -------
    torch.Tensor [shape=(...)]
    """
    if mode == "power":
        return shape.clamp_min(0) ** power
    if mode == "log":
        db = 20 * torch.log10(shape.clamp_min(10 ** (-log_range_db / 20)))
        return 1 + db / log_range_db
    if mode == "none":
        return shape
    raise ParameterError(f"compression={mode!r} is not valid; expected 'power', 'log' or 'none'")


def decompress(c: torch.Tensor, *, mode: str = "power", power: float = 0.3, log_range_db: float = 80.0) -> torch.Tensor:
    """Inverse of :func:`compress` (negative values are taken as 0; 0 stays 0).

    Parameters
    ----------
    c : torch.Tensor [shape=(...)]
        Compressed magnitudes (a decoder's output).
    mode, power, log_range_db : keyword-only
        As given to :func:`compress`.

    Returns
    -------
    torch.Tensor [shape=(...)]
        Normalised magnitudes.
    """
    c = c.clamp_min(0)
    if mode == "power":
        return c ** (1.0 / power)
    if mode == "log":
        return torch.where(c > 0, 10 ** ((c - 1) * log_range_db / 20), torch.zeros_like(c))
    if mode == "none":
        return c
    raise ParameterError(f"compression={mode!r} is not valid; expected 'power', 'log' or 'none'")


def stack_context(frames: torch.Tensor, context: int, history: torch.Tensor | None = None) -> torch.Tensor:
    """Causal context windows, oldest first.

    Parameters
    ----------
    frames : torch.Tensor [shape=(B, T, bins)]
        The frames.
    context : int
        Frames before the current one in each window.
    history : torch.Tensor [shape=(B, context, bins)], optional
        The frames before the first one (zeros if None).

    Returns
    -------
    torch.Tensor [shape=(B, T, context + 1, bins)]
        The last axis-2 entry is the current frame.
    """
    B, T, F = frames.shape
    if history is None:
        history = frames.new_zeros(B, context, F)
    full = torch.cat([history, frames], dim=1)  # (B, context + T, F)
    return full.unfold(1, context + 1, 1).permute(0, 1, 3, 2)  # (B, T, context + 1, F)


def positions_from_f0(f0: torch.Tensor, bins: int) -> torch.Tensor:
    """Each bin's place in the harmonic series of its frame: ``bin / f0``.

    Parameters
    ----------
    f0 : torch.Tensor [shape=(...)], bins
        Each frame's pitch (:func:`workbench.spectral.frame_f0_bins`, causal, frame by frame).
    bins : int
        Bins per frame.

    Returns
    -------
    torch.Tensor [shape=(..., bins)]
        Harmonic ``k`` sits at ``k``; frames with ``f0 = 0`` (no pitch) get 0 everywhere.
    """
    f0 = torch.as_tensor(f0)
    k = torch.arange(bins, dtype=f0.dtype if f0.is_floating_point() else torch.float32, device=f0.device)
    return torch.where(f0[..., None] > 0, k / f0[..., None].clamp_min(1e-6), k.new_zeros(()))


def interp_harmonics(values: torch.Tensor, positions: torch.Tensor, *, mode: str = "linear") -> torch.Tensor:
    """Per-harmonic values read at fractional harmonic positions, held beyond ``K``.

    Parameters
    ----------
    values : torch.Tensor [shape=(..., K + 1)]
        Index 0: below the fundamental and unpitched frames; ``k``: harmonic ``k``.
    positions : torch.Tensor [shape=(..., bins)]
        :func:`positions_from_f0`.
    mode : {"linear", "nearest"}, keyword-only
        "linear" interpolates between harmonics; "nearest" gives each bin the value of the
        harmonic it lies closest to, so a harmonic's whole spectral lobe gets its own value. Read
        linearly, a quiet harmonic's shoulders take up to half a loud neighbour's value: when the
        harmonics lie a few bins apart (a low voice), a level 35 dB under its neighbours comes out
        about 18 dB under them.

    Returns
    -------
    torch.Tensor [shape=(..., bins)]

    Raises
    ------
    ParameterError
        An unknown ``mode``.
    """
    if mode not in HARMONIC_READS:
        raise ParameterError(f"mode={mode!r} is not valid; expected one of {HARMONIC_READS}")
    K = values.shape[-1] - 1
    h = positions.clamp(0, K)
    values = values.expand(*positions.shape[:-1], K + 1)
    if mode == "nearest":
        return values.gather(-1, h.round().long())
    lo = h.floor().long().clamp(max=K - 1) if K > 0 else h.long()
    w = (h - lo.to(h.dtype)).clamp(0, 1)
    a = values.gather(-1, lo)
    b = values.gather(-1, (lo + 1).clamp(max=K))
    return a * (1 - w) + b * w


def register_envelope(env: torch.Tensor, f0: torch.Tensor, pitch_range: Sequence[float]) -> torch.Tensor:
    """Carry an envelope ``(..., bins)`` along with a pitch ``f0`` ``(...)`` (bins) outside the
    trained ``pitch_range``: the frame reads it at ``bin * clamp(f0) / f0``.

    A trumpet never plays below its lowest note, so its envelope there was never trained (no
    energy to fit); a voice an octave lower would get untrained gains on its low harmonics.
    Read this way, harmonic ``k`` of the out-of-range frame gets the gain harmonic ``k`` of the
    nearest trained note gets: the instrument's register profile, moved to the input's pitch,
    as the harmonic levels already are (:func:`pitch_features` clamps the same way). Frames in
    range, and unpitched frames, are unchanged.

    Parameters
    ----------
    env : torch.Tensor [shape=(..., bins)]
        The envelope (gains per bin).
    f0 : torch.Tensor [shape=(...)], bins
        Each frame's pitch, 0 where unpitched.
    pitch_range : (low, high), bins
        The trained pitch range.

    Returns
    -------
    torch.Tensor [shape=(..., bins)]
    """
    lo, hi = float(pitch_range[0]), float(pitch_range[1])
    f0 = f0.to(env.dtype)
    # no shortcut when every ratio is 1: the computation stays free of data-dependent branches,
    # so the exported streaming module (effects/export.py) can trace it
    ratio = torch.where(f0 > 0, f0.clamp(lo, hi) / f0.clamp_min(1e-6), torch.ones_like(f0))
    pos = torch.arange(env.shape[-1], dtype=env.dtype, device=env.device) * ratio[..., None]
    return interp_harmonics(env, pos)


def flatten_harmonics(shape: torch.Tensor, positions: torch.Tensor, harmonics: int, *,
                      mode: str = "linear") -> torch.Tensor:
    """Divide pitched frames ``(..., bins)`` by the curve through their own harmonic peaks.

    Every harmonic up to ``harmonics`` then peaks at the same level: the frame keeps its pitch,
    harmonicity and noise but no longer tells its harmonics' relative levels (an odd-harmonic
    clarinet and a voice look alike), so the decoder must supply them. Unpitched frames are
    returned as they are.

    Parameters
    ----------
    shape : torch.Tensor [shape=(..., bins)]
        Normalised magnitude frames.
    positions : torch.Tensor [shape=(..., bins)]
        :func:`positions_from_f0`.
    harmonics : int
        Harmonics levelled.
    mode : {"linear", "nearest"}, keyword-only
        How the curve is read between harmonics (:func:`interp_harmonics`); a decoder's levels
        must be read the same way, so that its gains undo the levelling exactly.

    Returns
    -------
    torch.Tensor [shape=(..., bins)]
    """
    K = int(harmonics)
    idx = positions.round().long().clamp(0, K)
    peaks = shape.new_zeros(*shape.shape[:-1], K + 1).scatter_reduce(
        -1, idx, shape, reduce="amax", include_self=True)
    peaks[..., 0] = peaks[..., 1]  # below the fundamental: the fundamental's level
    top = shape.amax(-1, keepdim=True).clamp_min(1e-12)
    curve = interp_harmonics(peaks.clamp_min(1e-3 * top), positions, mode=mode)
    pitched = positions.amax(-1, keepdim=True) > 0
    return torch.where(pitched, shape / curve, shape)


def prepare_input(mag: torch.Tensor, *, normalize: str, compression: str, power: float, log_range_db: float,
                  whiten: int = 0, harmonics: int = 0,
                  harmonic_read: str = "nearest") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Magnitude frames as the network sees them.

    Parameters
    ----------
    mag : torch.Tensor [shape=(..., bins)]
        Magnitude frames.
    normalize, compression, power, log_range_db : keyword-only
        As :func:`normalize_frames` and :func:`compress`.
    whiten : int, keyword-only
        > 0 divides each frame's shape by its cepstral envelope of that order
        (:func:`models.augment.whiten`, level-independent) and normalises it again.
    harmonics : int, keyword-only
        > 0 then levels its harmonic peaks (:func:`flatten_harmonics`).
    harmonic_read : {"nearest", "linear"}, keyword-only
        How the levelling curve is read between harmonics (the model's own ``harmonic_read``).

    Returns
    -------
    shapes : torch.Tensor [shape=(..., bins)]
        Compressed shapes.
    gain : torch.Tensor [shape=(..., 1)]
        Always the original frame's (its level, whatever the shape fed to the network).
    f0 : torch.Tensor [shape=(...)] or None
        Each frame's pitch in bins for a ``harmonics`` model (0 where unpitched; None for other
        models): pass it on to :meth:`LSTMAutoencoder.decode`.
    """
    shape, gain = normalize_frames(mag, mode=normalize)
    # the pitch is found on the frame as it is, before whitening: on whitened frames the tracker
    # agreed with PESTO on 83-87 % of clarinet frames, on the frames themselves 98-99 % (BENCHMARKS.md)
    f0 = frame_f0_bins(shape) if harmonics else None
    if whiten:
        shape = normalize_frames(augment.whiten(shape, order=whiten), mode=normalize)[0]
    if harmonics:
        shape = normalize_frames(flatten_harmonics(shape, positions_from_f0(f0, shape.shape[-1]), harmonics,
                                                   mode=harmonic_read), mode=normalize)[0]
    return compress(shape, mode=compression, power=power, log_range_db=log_range_db), gain, f0


def input_options(m: ModelConfig) -> dict:
    """The :func:`prepare_input` keywords of a model config (what every user of a run needs).

    Parameters
    ----------
    m : ModelConfig
        A run's ``config.model``.

    Returns
    -------
    dict
        ``normalize``, ``compression``, ``power``, ``log_range_db``, ``whiten``, ``harmonics``
        (the active ones) and ``harmonic_read``.
    """
    return dict(normalize=m.normalize, compression=m.compression, power=m.power, log_range_db=m.log_range_db,
                whiten=m.whiten, harmonics=m.active_harmonics, harmonic_read=m.harmonic_read)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.1)]
    return nn.Sequential(*layers)


class LSTMAutoencoder(nn.Module):
    """Context-frame autoencoder with an LSTM between encoder and bottleneck.

    Parameters
    ----------
    n_bins : int
        Frequency bins per frame (``n_fft // 2 + 1``).
    context : int
        Previous frames given with the current one.
    encoder, decoder : tuple of int
        Dense layer widths (leaky ReLU) before the LSTM and after the bottleneck.
    lstm : int
        LSTM hidden size.
    latent : int
        Bottleneck width.
    bottleneck : {"sigmoid", "leaky_relu"}
    output : {"residual", "spectrum", "envelope"}
        ``spectrum`` (seed 003): the decoder alone produces the frame. ``residual``: the decoder's
        output is added to the current input frame (compressed domain), so the harmonics come
        from the input and the network learns the correction towards the instrument; it
        converges in minutes on a CPU where the plain decoder first collapses to a mean frame.
        ``envelope``: the decoder's output (through softplus) multiplies the current input frame
        bin by bin; the compression is a power law, so this applies a gain curve to the input's
        harmonics. With whitened input (``ModelConfig.whiten``) the decoder must supply the whole
        envelope, from the latent and the instrument code: a learned, context-aware
        cross-synthesis in which the code cannot be ignored.
    harmonics : int
        With ``output="envelope"`` and harmonically flattened input (:func:`prepare_input`),
        the decoder also gives ``harmonics + 1`` levels, one per harmonic of the frame's own
        pitch plus one for unpitched frames, read across the bins with
        :func:`interp_harmonics`. The envelope follows frequency (formants), these follow the
        harmonic series (a clarinet's weak even harmonics), which no smooth envelope can. The
        decoder is also told the frame's pitch (:func:`pitch_features`), as an instrument's
        harmonic levels change with register.
    codes : int
        Instruments of a conditioned model.
    condition : {"none", "onehot", "embedding"}
        How the instrument code joins the latent: itself, or a learned ``code_dim`` vector.
    code_dim : int
        Width of the learned code.
    chroma : bool
        The encoder and decoder also get the frame's one-hot chroma (MANNe, seed 002).
    pitch_range : (float, float), optional
        The trained pitch range in bins (set by training); pitches outside are clamped into it.
    harmonic_read : {"nearest", "linear"}
        How the harmonic levels are read across the bins (:func:`interp_harmonics`); the input
        must be levelled the same way (:func:`prepare_input`). Runs saved before this option
        read "linear".

    All parameters are keyword-only.

    Shapes
    ------
    ``forward(x, state)``: ``x`` ``(B, T, context + 1, n_bins)`` -> ``y`` ``(B, T, n_bins)`` (>= 0),
    ``z`` ``(B, T, latent)``, ``state`` = LSTM ``(h, c)`` each ``(1, B, lstm)``.

    Examples
    --------
    >>> net = LSTMAutoencoder(n_bins=513, context=4, latent=16)
    >>> y, z, state = net(torch.rand(2, 10, 5, 513))
    >>> y.shape, z.shape
    (torch.Size([2, 10, 513]), torch.Size([2, 10, 16]))
    """

    def __init__(self, *, n_bins: int, context: int = 4, encoder: Sequence[int] = (512, 256), lstm: int = 256,
                 latent: int = 32, bottleneck: str = "sigmoid", decoder: Sequence[int] = (256, 512),
                 output: str = "residual", codes: int = 0, condition: str = "none", code_dim: int = 8,
                 chroma: bool = False, harmonics: int = 0, pitch_range: Sequence[float] | None = None,
                 harmonic_read: str = "nearest"):
        super().__init__()
        if harmonic_read not in HARMONIC_READS:
            raise ParameterError(f"harmonic_read={harmonic_read!r} is not valid; expected one of {HARMONIC_READS}")
        self.harmonic_read = harmonic_read
        if condition not in ("none", "onehot", "embedding"):
            raise ParameterError(f"condition={condition!r} is not valid; expected 'none', 'onehot' or 'embedding'")
        if condition != "none" and codes < 1:
            raise ParameterError(f"condition={condition!r} needs codes >= 1 instruments, got {codes}")
        self.condition, self.n_codes, self.chroma = condition, int(codes) if condition != "none" else 0, bool(chroma)
        self.code_embed = nn.Linear(self.n_codes, int(code_dim), bias=False) if condition == "embedding" else None
        cond = (self.n_codes if condition == "onehot" else int(code_dim) if condition == "embedding" else 0)
        cond += CHROMA if self.chroma else 0
        self.harmonics = int(harmonics)
        self.pitch_range = tuple(float(v) for v in pitch_range) if pitch_range else None
        cond += PITCH_BANDS + 1 if self.harmonics else 0
        if output not in ("residual", "spectrum", "envelope"):
            raise ParameterError(f"output={output!r} is not valid; expected 'residual', 'spectrum' or 'envelope'")
        self.output = output
        if bottleneck not in ("sigmoid", "leaky_relu"):
            raise ParameterError(f"bottleneck={bottleneck!r} is not valid; expected 'sigmoid' or 'leaky_relu'")
        self.n_bins, self.context, self.latent = int(n_bins), int(context), int(latent)
        enc = [self.n_bins * (self.context + 1) + (CHROMA if self.chroma else 0), *map(int, encoder)]
        self.encoder = _mlp(enc)
        self.lstm = nn.LSTM(enc[-1], int(lstm), batch_first=True)
        self.to_latent = nn.Linear(int(lstm), self.latent)
        self.bottleneck_act = nn.Sigmoid() if bottleneck == "sigmoid" else nn.LeakyReLU(0.1)
        dec = [self.latent + cond, *map(int, decoder)]
        self.decoder = _mlp(dec)
        if self.harmonics and output != "envelope":
            raise ParameterError(f"harmonics={harmonics} needs output='envelope' (the gains shape an input frame); "
                                 f"got output={output!r}")
        # an envelope model with harmonics also gives a level per harmonic (index 0: unpitched)
        self.out = nn.Linear(dec[-1], self.n_bins + (self.harmonics + 1 if self.harmonics else 0))

    def encode(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None, *,
               chroma: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """The latent of context windows.

        Parameters
        ----------
        x : torch.Tensor [shape=(B, T, context + 1, n_bins)]
            Compressed shapes with their context (:func:`stack_context`).
        state : (h, c), optional
            The LSTM state to continue from, each ``(1, B, lstm)`` (zeros when None).
        chroma : torch.Tensor [shape=(B, T, 12)], optional, keyword-only
            A chroma model's one-hot chroma of the current frames (zeros when None).

        Returns
        -------
        z : torch.Tensor [shape=(B, T, latent)]
        state : (h, c)
            The LSTM state after the last frame.
        """
        if x.shape[-2:] != (self.context + 1, self.n_bins):
            raise ParameterError(
                f"input frames of shape {tuple(x.shape)} do not fit the model; expected (..., "
                f"{self.context + 1}, {self.n_bins})"
            )
        h = x.flatten(-2)
        if self.chroma:
            h = torch.cat([h, self._cond(chroma, CHROMA, h)], dim=-1)
        h = self.encoder(h)
        if h.shape[1] == 1 and h.dim() == 3:
            h, state = self._lstm_step(h[:, 0], state)
        else:
            h, state = self.lstm(h, state)
        return self.bottleneck_act(self.to_latent(h)), state

    def _lstm_step(self, h_in: torch.Tensor, state):
        """One LSTM time step with the layer's own weights (gate order i, f, g, o as torch).

        ``nn.LSTM`` on a single step costs about 0.35 ms on one CPU thread, most of a live hop's
        budget; the fused cell below gives the same numbers in a fraction of that.
        """
        lstm = self.lstm
        if state is None:
            h = c = h_in.new_zeros(h_in.shape[0], lstm.hidden_size)
        else:
            h, c = state[0][0], state[1][0]
        gates = torch.addmm(lstm.bias_ih_l0, h_in, lstm.weight_ih_l0.t()) + torch.addmm(
            lstm.bias_hh_l0, h, lstm.weight_hh_l0.t())
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h[:, None], (h[None], c[None])

    @staticmethod
    def _cond(v: torch.Tensor | None, width: int, like: torch.Tensor) -> torch.Tensor:
        """A conditioning vector broadcast to ``like``'s leading axes (zeros when ``None``)."""
        if v is None:
            return like.new_zeros(*like.shape[:-1], width)
        v = torch.as_tensor(v, dtype=like.dtype, device=like.device)
        if v.shape[-1] != width:
            raise ParameterError(f"conditioning vector of width {v.shape[-1]} does not fit the model; expected {width}")
        while v.dim() < like.dim():
            v = v.unsqueeze(-2)
        return v.expand(*like.shape[:-1], width)

    def condition_vector(self, z: torch.Tensor, code: torch.Tensor | None = None,
                         chroma: torch.Tensor | None = None) -> torch.Tensor:
        """What joins the latent before the decoder.

        Parameters
        ----------
        z : torch.Tensor [shape=(..., latent)]
            The latent (its leading axes are the vector's).
        code : torch.Tensor [shape=(..., codes)], optional
            Weights over the instruments: one-hot picks one, a blend mixes (None: the first).
        chroma : torch.Tensor [shape=(..., 12)], optional
            A chroma model's one-hot chroma (zeros when None).

        Returns
        -------
        torch.Tensor [shape=(..., cond)]
            The (embedded) code, then the chroma; width 0 for an unconditioned model.
        """
        parts = []
        if self.condition != "none":
            if code is None:  # the first instrument, so an unconditioned call still decodes something real
                code = torch.nn.functional.one_hot(torch.zeros((), dtype=torch.long, device=z.device), self.n_codes)
            c = self._cond(code, self.n_codes, z)
            parts.append(self.code_embed(c) if self.code_embed is not None else c)
        if self.chroma:
            parts.append(self._cond(chroma, CHROMA, z))
        return torch.cat(parts, dim=-1) if parts else z[..., :0]

    def decode(self, z: torch.Tensor, current: torch.Tensor | None = None, *, code: torch.Tensor | None = None,
               chroma: torch.Tensor | None = None, f0: torch.Tensor | None = None) -> torch.Tensor:
        """Latent ``(..., latent)`` -> non-negative compressed magnitudes ``(..., n_bins)``.

        A ``residual`` model adds the decoder output to ``current`` (the current input frame,
        compressed, ``(..., n_bins)``), an ``envelope`` model multiplies ``current`` by it (after
        softplus); without ``current`` (synthesis from the latent alone) the decoder output is
        used as is (an ``envelope`` model needs it). A ``harmonics`` model reads its harmonic
        levels at the current frames' pitch ``f0`` ``(...)`` in bins (from :func:`prepare_input`;
        0 or ``None``: unpitched). ``code`` ``(..., codes)`` and ``chroma`` ``(..., 12)`` condition a
        model built with ``condition`` / ``chroma`` (see :meth:`condition_vector`).

        Parameters
        ----------
        z : torch.Tensor [shape=(..., latent)]
            The latent.
        current : torch.Tensor [shape=(..., n_bins)], optional
            The current input frame, compressed.
        code, chroma, f0 : torch.Tensor, optional, keyword-only
            Conditioning, as above.

        Returns
        -------
        torch.Tensor [shape=(..., n_bins)]
            Non-negative compressed magnitudes.

        Raises
        ------
        ParameterError
            An ``envelope`` model without ``current``.
        """
        if self.condition != "none" or self.chroma:
            z = torch.cat([z, self.condition_vector(z, code, chroma)], dim=-1)
        if self.harmonics:
            if f0 is None:
                f0 = z.new_zeros(z.shape[:-1])
            z = torch.cat([z, pitch_features(f0, self.pitch_range).to(z.dtype).expand(*z.shape[:-1], -1)], dim=-1)
        h = self.out(self.decoder(z))
        if self.output == "envelope":
            if current is None:
                raise ParameterError("an output='envelope' model shapes an input frame; it cannot decode from the "
                                     "latent alone")
            if self.harmonics:
                h, levels = h[..., : self.n_bins], h[..., self.n_bins:]
                f0 = f0.expand(current.shape[:-1])
                env = nn.functional.softplus(h)
                if self.pitch_range is not None:
                    env = register_envelope(env, f0, self.pitch_range)
                pos = positions_from_f0(f0, self.n_bins)
                return current.clamp_min(0) * env * interp_harmonics(nn.functional.softplus(levels), pos,
                                                                      mode=self.harmonic_read)
            return current.clamp_min(0) * nn.functional.softplus(h)
        if self.output == "residual" and current is not None:
            h = h + current
        return torch.relu(h)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None, *,
                code: torch.Tensor | None = None, chroma: torch.Tensor | None = None,
                f0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Encode, then decode with the current frame (``x[..., -1, :]``).

        Parameters
        ----------
        x : torch.Tensor [shape=(B, T, context + 1, n_bins)]
            Compressed shapes with their context.
        state : (h, c), optional
            LSTM state to continue from.
        code, chroma, f0 : torch.Tensor, optional, keyword-only
            Conditioning (:meth:`decode`; ``chroma`` also goes to the encoder).

        Returns
        -------
        y : torch.Tensor [shape=(B, T, n_bins)]
            Non-negative compressed magnitudes.
        z : torch.Tensor [shape=(B, T, latent)]
        state : (h, c)
            Each ``(1, B, lstm)``.
        """
        z, state = self.encode(x, state, chroma=chroma)
        return self.decode(z, x[..., -1, :], code=code, chroma=chroma, f0=f0), z, state

    def step(self, frame: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None, *,
             code: torch.Tensor | None = None, chroma: torch.Tensor | None = None,
             f0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One frame with its context (:meth:`forward` with ``T = 1``).

        Parameters
        ----------
        frame : torch.Tensor [shape=(B, context + 1, n_bins)]
            The current frame with its context.
        state : (h, c), optional
            LSTM state to continue from.
        code : torch.Tensor, optional, keyword-only
            Instrument code.
        chroma : torch.Tensor [shape=(B, 12)], optional, keyword-only
            One-hot chroma of the frame.
        f0 : torch.Tensor [shape=(B,)], bins, optional, keyword-only
            The frame's pitch.

        Returns
        -------
        y : torch.Tensor [shape=(B, n_bins)]
        z : torch.Tensor [shape=(B, latent)]
        state : (h, c)
        """
        chroma = None if chroma is None else torch.as_tensor(chroma)[..., None, :]
        f0 = None if f0 is None else torch.as_tensor(f0)[..., None]
        y, z, state = self.forward(frame[:, None], state, code=code, chroma=chroma, f0=f0)
        return y[:, 0], z[:, 0], state
