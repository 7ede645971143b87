"""The LSTM-context STFT autoencoder (Gabrielli and Cella, seed 003) and its frame transforms.

Input: the magnitude of the current STFT frame and of the ``context`` frames before it, each
normalised to its own shape (the gain is carried outside the network, seed 002) and
compressed. Dense encoder -> LSTM (state carried across frames) -> bottleneck (sigmoid or
leaky ReLU) -> dense decoder -> ``n_bins`` non-negative compressed magnitudes.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.errors import ParameterError

__all__ = ["LSTMAutoencoder", "normalize_frames", "compress", "decompress", "stack_context", "prepare_input"]

_TINY = 1e-8


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


def prepare_input(mag: torch.Tensor, *, normalize: str, compression: str, power: float, log_range_db: float):
    """Magnitudes ``(..., bins)`` -> (compressed shapes, gains) as the network sees them."""
    shape, gain = normalize_frames(mag, mode=normalize)
    return compress(shape, mode=compression, power=power, log_range_db=log_range_db), gain


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
    output : {"residual", "spectrum"}
        ``spectrum`` (seed 003): the decoder alone produces the frame. ``residual``: the decoder's
        output is added to the current input frame (compressed domain), so the harmonics come
        from the input and the network learns the correction towards the instrument; it
        converges in minutes on a CPU where the plain decoder first collapses to a mean frame.

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
                 bottleneck: str = "sigmoid", decoder=(256, 512), output: str = "residual"):
        super().__init__()
        if output not in ("residual", "spectrum"):
            raise ParameterError(f"output={output!r} is not valid; expected 'residual' or 'spectrum'")
        self.output = output
        if bottleneck not in ("sigmoid", "leaky_relu"):
            raise ParameterError(f"bottleneck={bottleneck!r} is not valid; expected 'sigmoid' or 'leaky_relu'")
        self.n_bins, self.context, self.latent = int(n_bins), int(context), int(latent)
        enc = [self.n_bins * (self.context + 1), *map(int, encoder)]
        self.encoder = _mlp(enc)
        self.lstm = nn.LSTM(enc[-1], int(lstm), batch_first=True)
        self.to_latent = nn.Linear(int(lstm), self.latent)
        self.bottleneck_act = nn.Sigmoid() if bottleneck == "sigmoid" else nn.LeakyReLU(0.1)
        dec = [self.latent, *map(int, decoder)]
        self.decoder = _mlp(dec)
        self.out = nn.Linear(dec[-1], self.n_bins)

    def encode(self, x: torch.Tensor, state=None):
        """``(B, T, context + 1, n_bins)`` -> latent ``(B, T, latent)`` and the LSTM state."""
        if x.shape[-2:] != (self.context + 1, self.n_bins):
            raise ParameterError(
                f"input frames of shape {tuple(x.shape)} do not fit the model; expected (..., "
                f"{self.context + 1}, {self.n_bins})"
            )
        h = self.encoder(x.flatten(-2))
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

    def decode(self, z: torch.Tensor, current: torch.Tensor | None = None) -> torch.Tensor:
        """Latent ``(..., latent)`` -> non-negative compressed magnitudes ``(..., n_bins)``.

        A ``residual`` model adds the decoder output to ``current`` (the current input frame,
        compressed, ``(..., n_bins)``); without it (synthesis from the latent alone) the decoder
        output is used as is.
        """
        h = self.out(self.decoder(z))
        if self.output == "residual" and current is not None:
            h = h + current
        return torch.relu(h)

    def forward(self, x: torch.Tensor, state=None):
        z, state = self.encode(x, state)
        return self.decode(z, x[..., -1, :]), z, state

    def step(self, frame: torch.Tensor, state=None):
        """One frame with context ``(B, context + 1, n_bins)`` -> ``(y (B, n_bins), z (B, latent), state)``."""
        y, z, state = self.forward(frame[:, None], state)
        return y[:, 0], z[:, 0], state
