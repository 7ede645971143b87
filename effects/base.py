"""The Effect contract (docs/ARCHITECTURE.md) and the offline driver every method shares.

Modelled on pedalboard (``effect(audio, sample_rate)``, streaming with state kept between
calls) and RAVE/cached_conv (latency computed, not guessed; streaming equals offline).
Subclasses implement ``_prepare``, ``_reset``, ``_process`` and ``latency_samples``; the base
validates, guards the output (finite, within 0 dBFS) and drives offline processing.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable

import numpy as np
import torch

from workbench.audio import validate_audio
from workbench.errors import ParameterError
from workbench.validate import check_int, check_number

__all__ = ["Effect", "Chain", "soft_limit", "check_mix_and_levels", "check_device", "model_on"]

OFFLINE_BLOCK = 65536  # samples per block when processing a whole file


def soft_limit(x: torch.Tensor, *, knee: float = 0.9) -> torch.Tensor:
    """Sample-wise limiter: identity below ``knee``, a tanh curve above that never reaches 1.0.

    Non-finite samples become 0. Stateless, so streaming and offline agree exactly.

    Parameters
    ----------
    x : torch.Tensor [shape=(...)]
        Samples, full scale 1.
    knee : float, keyword-only
        Level where limiting starts, in (0, 1).

    Returns
    -------
    torch.Tensor [shape=(...)]
        ``x`` itself when no sample exceeds ``knee`` (on the CPU, outside a trace), else the
        limited samples (the same values where nothing exceeds ``knee``).
    """
    x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    a = x.abs()
    # the usual case on the CPU: nothing to limit (a trace keeps both; on another device reading the
    # peak back would wait for the device every block, and torch.where gives the same values)
    if x.device.type == "cpu" and not torch.jit.is_tracing() and float(a.max()) <= knee:
        return x
    over = knee + (1 - knee) * torch.tanh((a - knee) / (1 - knee))
    return torch.where(a > knee, torch.sign(x) * over, x)


def check_mix_and_levels(name: str, value: object) -> None:
    """Raise ``ParameterError`` for a bad ``mix`` (0-1) or level in dB (``gate_db``, ``gain_db``: -200 to 48).

    The parameters most effects share; other names pass.

    Parameters
    ----------
    name : str
        The parameter's name.
    value : object
        Its new value.
    """
    if name == "mix":
        check_number(value, name, lo=0, hi=1)
    if name in ("gate_db", "gain_db"):
        check_number(value, name, lo=-200, hi=48, what=" (a level in dB)")


def check_device(device: torch.device | str) -> torch.device:
    """The device an effect's model and streaming state live on, checked.

    Parameters
    ----------
    device : torch.device or str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, or ``"meta"`` (shapes only: tests that a path
        keeps to one device). ``--device auto`` is the CLI's (:func:`models.distributed.resolve_device`).

    Returns
    -------
    torch.device

    Raises
    ------
    ParameterError
        Not a device name, another device type, or CUDA this machine does not have.
    """
    d = None
    if isinstance(device, (str, torch.device)):  # torch would take a bare int as a CUDA ordinal
        try:
            d = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            pass
    if d is None or d.type not in ("cpu", "cuda", "meta"):
        raise ParameterError(f"device={device!r} is not valid; expected cpu, cuda or cuda:N")
    if d.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={device!r}: no CUDA device is available here; expected cpu")
    if d.type == "cuda" and d.index is not None and d.index >= torch.cuda.device_count():
        raise ParameterError(f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return d


def model_on(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """A run's model, in eval mode, on ``device``; the run keeps its own (CPU) copy.

    Parameters
    ----------
    model : torch.nn.Module
        The loaded run's model (``LoadedRun.model``), on the CPU.
    device : torch.device
        Where the effect runs.

    Returns
    -------
    torch.nn.Module
        ``model`` itself on the CPU; elsewhere a copy, so the run (shared with ``LoadedRun.encode``,
        note latents, other effects) stays on the CPU.
    """
    if device.type == "cpu":
        return model.eval()
    import copy

    return copy.deepcopy(model).to(device).eval()


class Effect(abc.ABC):
    """Base class: audio in, audio out, offline or block by block.

    Lifecycle: ``prepare(sample_rate, channels, max_block)`` -> ``reset()`` ->
    ``process_block(block)`` any number of times with ``(channels, n)`` float32 blocks,
    ``n <= max_block``. ``process(audio, sample_rate)`` does all of it for a whole signal and
    returns output aligned with the input (``latency_samples`` dropped), of the same length.

    Parameters are keyword-only, stored as attributes of the same names (scikit-learn
    style) and listed in ``_param_names``; ``set_params`` changes them between blocks.

    ``device`` (fixed at construction, :func:`check_device`) is where the effect's model and
    streaming state live; :meth:`process_block` moves NumPy blocks there and back, so only the
    edges copy (nothing extra on the CPU). :meth:`process_tensor` stays on the device.
    """

    _param_names: tuple[str, ...] = ()

    def __init__(self, *, device: torch.device | str = "cpu"):
        self._prepared: tuple[int, int, int] | None = None
        self.input_length: int | None = None  # set by prepare: total input samples when known in advance
        self.device = check_device(device)

    # -- parameters ---------------------------------------------------------------------------
    def get_params(self) -> dict:
        """The live parameters.

        Returns
        -------
        dict
            Name -> current value, for every name in ``_param_names``.
        """
        return {k: getattr(self, k) for k in self._param_names}

    def check_params(self, **params: object) -> None:
        """Raise ``ParameterError`` if any of ``params`` is unknown or invalid; change nothing.

        Lets a caller on another thread (the live engine's key handler) validate a change now
        and hand it to the thread that runs ``process_block`` to apply between blocks.

        Parameters
        ----------
        **params
            Names of ``_param_names`` and their new values.
        """
        for k, v in params.items():
            if k not in self._param_names:
                raise ParameterError(f"{type(self).__name__} has no parameter {k!r}; expected one of "
                                     f"{', '.join(self._param_names)}")
            self._check_param(k, v)

    def set_params(self, **params: object) -> Effect:
        """Change live parameters; all are checked first, so a bad value changes nothing.

        Parameters
        ----------
        **params
            Names of ``_param_names`` and their new values.

        Returns
        -------
        Effect
            ``self``.
        """
        self.check_params(**params)  # validate everything first: a bad value changes nothing
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def _check_param(self, name: str, value) -> None:  # noqa: B027 - optional hook, no-op by default
        """Subclasses validate a parameter value here (raise ParameterError)."""

    # -- lifecycle ----------------------------------------------------------------------------
    def prepare(self, sample_rate: int, channels: int, max_block: int, *, input_length: int | None = None) -> Effect:
        """Allocate for a stream format, then :meth:`reset`.

        Parameters
        ----------
        sample_rate : int, Hz
            The stream's rate; it must be :attr:`required_sample_rate` when the effect has one
            (:meth:`check_sample_rate`).
        channels : int
            Channels of every block.
        max_block : int, samples
            Longest block :meth:`process_block` will get.
        input_length : int, samples, optional, keyword-only
            The whole input's length, when known in advance (offline): policies such as a
            stretched target use it. None for a live stream.

        Returns
        -------
        Effect
            ``self``.
        """
        for name, v in (("sample_rate", sample_rate), ("channels", channels), ("max_block", max_block)):
            check_int(v, name)
        self.check_sample_rate(int(sample_rate))
        self.input_length = None if input_length is None else check_int(input_length, "input_length", lo=0)
        self._prepared = (int(sample_rate), int(channels), int(max_block))
        self._prepare(int(sample_rate), int(channels), int(max_block))
        self.reset()
        return self

    @property
    def sample_rate(self) -> int:
        """The prepared rate in Hz (raises ``ParameterError`` before :meth:`prepare`)."""
        self._need_prepared()
        return self._prepared[0]

    @property
    def channels(self) -> int:
        """The prepared channel count (raises ``ParameterError`` before :meth:`prepare`)."""
        self._need_prepared()
        return self._prepared[1]

    @property
    def required_sample_rate(self) -> int | None:
        """The one rate (Hz) this effect runs at (a trained model's), or None when any rate will do."""
        return None

    def check_sample_rate(self, sample_rate: int, *, name: str = "sample_rate") -> None:
        """Raise ``ParameterError`` (one line) when ``sample_rate`` is not the rate this effect runs at.

        Parameters
        ----------
        sample_rate : int, Hz
            A stream's rate.
        name : str, keyword-only
            Its name in the message (the caller's argument).
        """
        need = self.required_sample_rate
        if need and sample_rate != need:
            raise ParameterError(f"{name}={sample_rate} does not match the model's {need} Hz; expected {need} "
                                 f"(effects.render resamples files and arrays for you)")

    def before_file(self, path) -> str | None:
        """Adapt to a whole file before it is rendered (offline only; nothing by default).

        Parameters
        ----------
        path : str or PathLike
            The input file about to be rendered.

        Returns
        -------
        str or None
            One line for the user about what was set, or None.
        """
        return None

    def notice(self) -> str | None:
        """One line for the user about the input processed since :meth:`prepare`, or None (default)."""
        return None

    def output_length(self, n_in: int) -> int:
        """Samples of output worth keeping for ``n_in`` samples of input (after :meth:`prepare`).

        The input's length by default; an effect whose output ends early (a truncated target)
        says where, and a file render stops there.

        Parameters
        ----------
        n_in : int, samples
            The input's length at the processing rate.

        Returns
        -------
        int, samples
        """
        return n_in

    @property
    @abc.abstractmethod
    def latency_samples(self) -> int:
        """Exact delay of the output behind the input, in samples (valid after ``prepare``)."""

    def reset(self) -> None:
        """Clear all state (history, filters, recurrent state); keep the parameters and format."""
        self._need_prepared()
        self._reset()

    def process_block(self, block: np.ndarray) -> np.ndarray:
        """Process the next block of the stream.

        Non-finite input samples are taken as 0; the output is soft-limited (:func:`soft_limit`).

        Parameters
        ----------
        block : np.ndarray [shape=(channels, n)]
            ``n <= max_block`` samples, channels as prepared.

        Returns
        -------
        np.ndarray [shape=(channels, n), dtype=float32]
            The output, ``latency_samples`` behind the input (on the CPU, whatever ``device``).
        """
        x = self._check_block(torch.as_tensor(np.asarray(block, dtype=np.float32)))
        if x.shape[1] == 0:
            return np.zeros((x.shape[0], 0), np.float32)
        y = self._run_block(x)
        return (y if y.device.type == "cpu" else y.cpu()).numpy().astype(np.float32, copy=False)

    def process_tensor(self, block: torch.Tensor) -> torch.Tensor:
        """:meth:`process_block` for a tensor, its output left on the effect's ``device``.

        For callers that keep audio on a device between steps, and for checking that a path
        keeps to one device (``device="meta"``, whose values cannot be read back).

        Parameters
        ----------
        block : torch.Tensor [shape=(channels, n)]
            ``n <= max_block`` samples on any device (moved to ``device``), taken as float32.

        Returns
        -------
        torch.Tensor [shape=(channels, n), dtype=float32]
            The output on ``device``, ``latency_samples`` behind the input.
        """
        x = self._check_block(torch.as_tensor(block, dtype=torch.float32))
        if x.shape[1] == 0:
            return torch.zeros(x.shape[0], 0, device=self.device)
        return self._run_block(x)

    def _check_block(self, x: torch.Tensor) -> torch.Tensor:
        self._need_prepared()
        _, ch, max_block = self._prepared
        if x.ndim != 2 or x.shape[0] != ch:
            raise ParameterError(f"block of shape {tuple(x.shape)} does not fit; expected ({ch}, n) as prepared")
        if x.shape[1] > max_block:
            raise ParameterError(f"block of {x.shape[1]} samples exceeds max_block={max_block}")
        return x

    def _run_block(self, x: torch.Tensor) -> torch.Tensor:
        """A checked, non-empty block through the effect, on its device."""
        if x.device != self.device:
            x = x.to(self.device)  # the edge: one copy in (none on the CPU)
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        with torch.inference_mode():
            return soft_limit(self._process(x))

    def process(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """Process a whole signal; prepares (and so resets) the effect first.

        Runs the same blocks a live stream would (``OFFLINE_BLOCK`` samples at a time), feeds
        ``latency_samples`` of silence to flush, and drops the first ``latency_samples``.

        Parameters
        ----------
        audio : np.ndarray [shape=(channels, n) or (n,)]
            The input (:func:`workbench.audio.validate_audio`).
        sample_rate : int, Hz
            Its rate.

        Returns
        -------
        np.ndarray [shape=(channels, n) or (n,), dtype=float32]
            The output, aligned with the input, in its shape.
        """
        a = validate_audio(audio, sr=sample_rate)
        squeeze = np.asarray(audio).ndim == 1
        ch, n = a.shape
        self.prepare(sample_rate, ch, OFFLINE_BLOCK, input_length=n)
        L = self.latency_samples
        padded = np.concatenate([a, np.zeros((ch, L), np.float32)], axis=1)
        out = [self.process_block(padded[:, i: i + OFFLINE_BLOCK]) for i in range(0, padded.shape[1], OFFLINE_BLOCK)]
        y = np.concatenate(out, axis=1)[:, L: L + n]
        return y[0] if squeeze else y

    def __call__(self, audio, sample_rate: int) -> np.ndarray:
        return self.process(audio, sample_rate)

    def _need_prepared(self) -> None:
        if self._prepared is None:
            raise ParameterError(f"{type(self).__name__} is not prepared; call prepare(sample_rate, channels, max_block)")

    # -- for subclasses -----------------------------------------------------------------------
    @abc.abstractmethod
    def _prepare(self, sample_rate: int, channels: int, max_block: int) -> None:
        """Validate against the stream format and allocate buffers."""

    @abc.abstractmethod
    def _reset(self) -> None:
        """Clear all state (history, filters, recurrent state), keep parameters."""

    @abc.abstractmethod
    def _process(self, x: torch.Tensor) -> torch.Tensor:
        """``(channels, n)`` float32 tensor in, ``(channels, n)`` out, state carried."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"


class Chain(Effect):
    """Effects in series; latency is the sum of theirs.

    Parameters
    ----------
    effects : iterable of Effect
        At least one, applied in order.
    """

    def __init__(self, effects: Iterable[Effect]):
        super().__init__()
        self.effects = list(effects)
        if not self.effects:
            raise ParameterError("Chain needs at least one effect")

    @property
    def latency_samples(self) -> int:
        """The sum of the effects' latencies, in samples."""
        return sum(e.latency_samples for e in self.effects)

    def _prepare(self, sample_rate, channels, max_block):
        for e in self.effects:
            e.prepare(sample_rate, channels, max_block)

    def _reset(self):
        for e in self.effects:
            e.reset()

    def _process(self, x):
        for e in self.effects:
            x = torch.from_numpy(e.process_block(x.numpy()))
        return x
