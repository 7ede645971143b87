"""The LSTM-context STFT autoencoder (Gabrielli and Cella, seed 003) and its frame transforms.

Input: the magnitude of the current STFT frame and of the ``context`` frames before it, each
normalised to its own shape (the gain is carried outside the network, seed 002) and
compressed; optionally whitened first (divided by its own cepstral envelope), so the network
sees the harmonics and noise but not the input's timbre. Dense encoder -> LSTM (state carried
across frames) -> bottleneck (sigmoid or leaky ReLU) -> dense decoder -> ``n_bins``
non-negative compressed magnitudes.
"""

from __future__ import annotations

import torch
from torch import nn

from models import augment
from workbench.errors import ParameterError

__all__ = ["LSTMAutoencoder", "normalize_frames", "compress", "decompress", "stack_context", "prepare_input",
           "input_options"]

_TINY = 1e-8
CHROMA = 12


def normalize_frames(mag: torch.Tensor, *, mode: str = "max") -> tuple[torch.Tensor, torch.Tensor]:
    """Split magnitude frames ``(..., bins)`` into a shape (unit peak or unit L2) and a gain ``(..., 1)``.

    A silent frame has gain 0 and an all-zero shape.
    """
    if mode == "max":
        gain = mag.amax(dim=-1, keepdim=True)
    elif mode == "norm":
        gain = torch.linalg.vector_norm(mag, dim=-1, keepdim=True)
    else:
        raise ParameterError(f"normalize={mode!r} is not valid; expected 'max' or 'norm'")
    return mag / gain.clamp_min(_TINY), gain


def compress(shape: torch.Tensor, *, mode: str = "power", power: float = 0.3, log_range_db: float = 80.0) -> torch.Tensor:
    """Compress normalised magnitudes (in [0, 1]) for the network: ``m ** power`` or a dB scale.

    ``log`` maps ``-log_range_db`` dB .. 0 dB to 0 .. 1 (clipped below).
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
    """Inverse of :func:`compress` (0 stays 0 for ``power`` and ``none``)."""
    c = c.clamp_min(0)
    if mode == "power":
        return c ** (1.0 / power)
    if mode == "log":
        return torch.where(c > 0, 10 ** ((c - 1) * log_range_db / 20), torch.zeros_like(c))
    if mode == "none":
        return c
    raise ParameterError(f"compression={mode!r} is not valid; expected 'power', 'log' or 'none'")


def stack_context(frames: torch.Tensor, context: int, history: torch.Tensor | None = None) -> torch.Tensor:
    """Causal context windows: ``(B, T, bins)`` -> ``(B, T, context + 1, bins)``, oldest first.

    ``history`` ``(B, context, bins)`` holds the frames before the first one (zeros if ``None``).
    The last axis-2 entry is the current frame.
    """
    B, T, F = frames.shape
    if history is None:
        history = frames.new_zeros(B, context, F)
    full = torch.cat([history, frames], dim=1)  # (B, context + T, F)
    return full.unfold(1, context + 1, 1).permute(0, 1, 3, 2)  # (B, T, context + 1, F)


def prepare_input(mag: torch.Tensor, *, normalize: str, compression: str, power: float, log_range_db: float,
                  whiten: int = 0):
    """Magnitudes ``(..., bins)`` -> (compressed shapes, gains) as the network sees them.

    ``whiten`` > 0 divides each frame's shape by its cepstral envelope of that order
    (:func:`models.augment.whiten`, level-independent) and normalises it again; the gain is
    always the original frame's (its level, whatever the shape fed to the network).
    """
    shape, gain = normalize_frames(mag, mode=normalize)
    if whiten:
        shape = normalize_frames(augment.whiten(shape, order=whiten), mode=normalize)[0]
    return compress(shape, mode=compression, power=power, log_range_db=log_range_db), gain


def input_options(m) -> dict:
    """The :func:`prepare_input` keywords of a ``ModelConfig`` (what every user of a run needs)."""
    return dict(normalize=m.normalize, compression=m.compression, power=m.power, log_range_db=m.log_range_db,
                whiten=m.whiten)


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

    def __init__(self, *, n_bins: int, context: int = 4, encoder=(512, 256), lstm: int = 256, latent: int = 32,
                 bottleneck: str = "sigmoid", decoder=(256, 512), output: str = "residual", codes: int = 0,
                 condition: str = "none", code_dim: int = 8, chroma: bool = False):
        super().__init__()
        if condition not in ("none", "onehot", "embedding"):
            raise ParameterError(f"condition={condition!r} is not valid; expected 'none', 'onehot' or 'embedding'")
        if condition != "none" and codes < 1:
            raise ParameterError(f"condition={condition!r} needs codes >= 1 instruments, got {codes}")
        self.condition, self.n_codes, self.chroma = condition, int(codes) if condition != "none" else 0, bool(chroma)
        self.code_embed = nn.Linear(self.n_codes, int(code_dim), bias=False) if condition == "embedding" else None
        cond = (self.n_codes if condition == "onehot" else int(code_dim) if condition == "embedding" else 0)
        cond += CHROMA if self.chroma else 0
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
        self.out = nn.Linear(dec[-1], self.n_bins)

    def encode(self, x: torch.Tensor, state=None, *, chroma: torch.Tensor | None = None):
        """``(B, T, context + 1, n_bins)`` -> latent ``(B, T, latent)`` and the LSTM state.

        A chroma model also takes the current frames' one-hot chroma ``(B, T, 12)`` (zeros if ``None``).
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

    def condition_vector(self, z: torch.Tensor, code=None, chroma=None) -> torch.Tensor:
        """What joins the latent before the decoder: the instrument code (weights over the
        instruments, ``(..., codes)``; one-hot picks one, a blend mixes) and the chroma one-hot."""
        parts = []
        if self.condition != "none":
            if code is None:  # the first instrument, so an unconditioned call still decodes something real
                code = torch.nn.functional.one_hot(torch.tensor(0), self.n_codes)
            c = self._cond(code, self.n_codes, z)
            parts.append(self.code_embed(c) if self.code_embed is not None else c)
        if self.chroma:
            parts.append(self._cond(chroma, CHROMA, z))
        return torch.cat(parts, dim=-1) if parts else z[..., :0]

    def decode(self, z: torch.Tensor, current: torch.Tensor | None = None, *, code=None,
               chroma=None) -> torch.Tensor:
        """Latent ``(..., latent)`` -> non-negative compressed magnitudes ``(..., n_bins)``.

        A ``residual`` model adds the decoder output to ``current`` (the current input frame,
        compressed, ``(..., n_bins)``), an ``envelope`` model multiplies ``current`` by it (after
        softplus); without ``current`` (synthesis from the latent alone) the decoder output is
        used as is (an ``envelope`` model needs it). ``code`` ``(..., codes)`` and ``chroma`` ``(..., 12)`` condition a
        model built with ``condition`` / ``chroma`` (see :meth:`condition_vector`).
        """
        if self.condition != "none" or self.chroma:
            z = torch.cat([z, self.condition_vector(z, code, chroma)], dim=-1)
        h = self.out(self.decoder(z))
        if self.output == "envelope":
            if current is None:
                raise ParameterError("an output='envelope' model shapes an input frame; it cannot decode from the "
                                     "latent alone")
            return current.clamp_min(0) * nn.functional.softplus(h)
        if self.output == "residual" and current is not None:
            h = h + current
        return torch.relu(h)

    def forward(self, x: torch.Tensor, state=None, *, code=None, chroma=None):
        z, state = self.encode(x, state, chroma=chroma)
        return self.decode(z, x[..., -1, :], code=code, chroma=chroma), z, state

    def step(self, frame: torch.Tensor, state=None, *, code=None, chroma=None):
        """One frame with context ``(B, context + 1, n_bins)`` -> ``(y (B, n_bins), z (B, latent), state)``."""
        chroma = None if chroma is None else torch.as_tensor(chroma)[..., None, :]
        y, z, state = self.forward(frame[:, None], state, code=code, chroma=chroma)
        return y[:, 0], z[:, 0], state
