"""An effect whose parameters follow live controls: targets set from other threads, applied
between blocks, smoothed, logged, and replayable.

Control threads (:class:`live.control_input.Controller`) only store targets; the thread that runs
``process_block`` (the live engine's worker) applies them at the start of the next block, so a
change acts within one block of its arrival, and ramps continuous ones over ``smooth_ms``, so it
does not click. Every change applied is logged by block, so a run can be replayed offline
exactly (``script=``).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import torch

from effects.base import Effect
from workbench.errors import ParameterError
from workbench.validate import is_number

__all__ = ["ControlledEffect", "LOG_LEN"]

log = logging.getLogger(__name__)

LOG_LEN = 1 << 16  # applied changes kept (preallocated)


# -- the controlled effect ------------------------------------------------------------------------
class ControlledEffect(Effect):
    """An effect whose parameters follow targets set from other threads, smoothed, logged.

    Parameters
    ----------
    effect : Effect
        The effect driven (prepared and reset with this one).
    smooth_ms : float, ms, keyword-only
        Continuous parameters reach a new target in ``ceil(smooth_ms / block)`` blocks, in equal
        steps, the first at the next block.
    script : dict, optional, keyword-only
        A :meth:`control_log` to replay instead of live targets: the same values at the same
        blocks.

    Slots are added with :meth:`slot` (``"mix"``, ``"scale.3"``, ``"chroma"``...); ``discrete``
    slots (choices, integers, switches) change at once.
    """

    def __init__(self, effect: Effect, *, smooth_ms: float = 5.0, script: dict | None = None):
        super().__init__()
        if not isinstance(effect, Effect):
            raise ParameterError(f"effect={effect!r} is not an Effect")
        self.effect, self.smooth_ms, self.script = effect, float(smooth_ms), script
        self._slots: list[tuple[str, int | None, str]] = []  # (param, element, kind)
        self._index: dict[str, int] = {}
        cap = 64
        self._tgt = np.zeros(cap)
        self._cur = np.zeros(cap)
        self._inc = np.zeros(cap)
        self._left = np.zeros(cap, np.int64)
        self._ver = np.zeros(cap, np.int64)  # written by control threads
        self._seen = np.zeros(cap, np.int64)  # read by the processing thread
        self._arrival = np.zeros(cap)  # perf_counter of the latest target per slot
        self._log_block = np.zeros(LOG_LEN, np.int64)
        self._log_slot = np.zeros(LOG_LEN, np.int32)
        self._log_value = np.zeros(LOG_LEN)
        self._log_delay = np.zeros(LOG_LEN)  # seconds from a target's arrival to its first step
        self._log_n = 0
        self._dvals: dict[int, object] = {}  # discrete slots' latest values
        self._logged_values: dict[int, object] = {}  # log row -> a discrete value that is not a number
        self.block = 0
        self.rejected = 0
        self._gen = 0  # targets set, all slots (control threads)
        self._gen_seen = 0
        self._ramping = 0  # slots still ramping

    # -- Effect plumbing ------------------------------------------------------------------------
    @property
    def required_sample_rate(self) -> int | None:
        """The wrapped effect's (Hz, or None for any rate)."""
        return self.effect.required_sample_rate

    @property
    def latency_samples(self) -> int:
        """The wrapped effect's, in samples."""
        return self.effect.latency_samples

    def get_params(self) -> dict:
        """The wrapped effect's parameters.

        Returns
        -------
        dict
            Name -> current value.
        """
        return self.effect.get_params()

    def check_params(self, **params: object) -> None:
        """Check against the wrapped effect; change nothing (see :meth:`Effect.check_params`).

        Parameters
        ----------
        **params
            The wrapped effect's parameter names and new values.
        """
        self.effect.check_params(**params)

    def set_params(self, **params: object) -> ControlledEffect:
        """Set the wrapped effect's parameters at once (not smoothed, not logged).

        Parameters
        ----------
        **params
            The wrapped effect's parameter names and new values.

        Returns
        -------
        ControlledEffect
            ``self``.
        """
        self.effect.set_params(**params)
        return self

    def _prepare(self, sample_rate, channels, max_block):
        self.effect.prepare(sample_rate, channels, max_block)
        self._steps = max(1, math.ceil(self.smooth_ms * 1e-3 * sample_rate / max_block))

    def _reset(self):
        self.effect.reset()
        self.block = 0
        self._log_n = 0
        self._left[:] = 0
        self._seen[:] = self._ver  # targets set before the stream starts are dropped with the old state
        self._gen_seen, self._ramping = self._gen, 0
        if self.script is not None:
            self._script_i = 0

    def _process(self, x):
        if self.script is not None:
            self._play_script()
        else:
            self._follow()
        self.block += 1
        return torch.from_numpy(self.effect.process_block(x.numpy()))

    # -- slots ----------------------------------------------------------------------------------
    def slot(self, name: str, *, discrete: bool = False) -> int:
        """The slot of a parameter or of one element of a vector parameter, created on first use.

        Parameters
        ----------
        name : str
            ``"mix"``, or ``"scale.3"`` (element 3, 0-based) of a vector parameter.
        discrete : bool, keyword-only
            Changes apply at once, unsmoothed (booleans, strings and None are always discrete).

        Returns
        -------
        int
            The slot, for :meth:`set_target`.

        Raises
        ------
        ParameterError
            An unknown parameter, a bad element, a whole vector, or more than 64 slots.
        """
        if name in self._index:
            return self._index[name]
        param, _, el = name.partition(".")
        params = self.effect.get_params()
        if param not in params:
            raise ParameterError(f"{type(self.effect).__name__} has no parameter {param!r}; expected one of "
                                 f"{', '.join(params)}")
        value = params[param]
        if el:
            if not isinstance(value, (tuple, list, np.ndarray)) or not el.isdigit() or int(el) >= len(value):
                raise ParameterError(f"{name!r}: {param} has {len(value) if hasattr(value, '__len__') else 'no'} "
                                     "elements; expected an index below that")
            idx, v = int(el), float(value[int(el)])
        else:
            if isinstance(value, (tuple, list, np.ndarray)):
                raise ParameterError(f"{name!r} is a vector; address one element as {param}.i")
            idx = None
            if isinstance(value, (bool, np.bool_, str)) or value is None:
                discrete, v = True, 0.0
            else:
                v = float(value)
        k = len(self._slots)
        if k >= len(self._tgt):
            raise ParameterError(f"more than {len(self._tgt)} controlled parameters")
        kind = "discrete" if discrete else "smooth"
        self._slots.append((param, idx, kind))
        self._index[name] = k
        self._tgt[k] = self._cur[k] = v
        return k

    def slot_info(self, slot: int) -> tuple[str, int | None, str]:
        """What a slot drives.

        Parameters
        ----------
        slot : int
            From :meth:`slot`.

        Returns
        -------
        tuple (str, int or None, str)
            The parameter, the element (None for a scalar), and ``"smooth"`` or ``"discrete"``.
        """
        return self._slots[slot]

    def set_target(self, slot: int, value: object) -> None:
        """From any thread: the slot's new target, applied from the next block.

        Parameters
        ----------
        slot : int
            From :meth:`slot`.
        value : object
            A number; for a discrete slot, the value itself.
        """
        if self._slots[slot][2] == "discrete":
            self._discrete_value(slot, value)
        else:
            self._tgt[slot] = float(value)
        self._arrival[slot] = time.perf_counter()
        self._ver[slot] += 1
        self._gen += 1

    def _discrete_value(self, slot, value):
        self._dvals[slot] = value

    # -- the processing thread --------------------------------------------------------------------
    def _follow(self) -> None:
        n = len(self._slots)
        gen = self._gen
        if not n or (gen == self._gen_seen and not self._ramping):  # the usual block: nothing to do
            return
        self._gen_seen = gen
        changed, first = None, None
        for k in range(n):
            v = int(self._ver[k])
            if v != self._seen[k]:
                self._seen[k] = v
                changed = changed or {}
                first = first or {}
                first[k] = time.perf_counter() - self._arrival[k]
                if self._slots[k][2] == "discrete":
                    param = self._slots[k][0]
                    if self._dvals[k] != self.effect.get_params()[param]:  # a repeat changes nothing
                        changed[k] = self._dvals[k]
                    continue
                self._left[k] = self._steps
                self._inc[k] = (self._tgt[k] - self._cur[k]) / self._steps
            if self._left[k] > 0:
                self._left[k] -= 1
                self._cur[k] = self._tgt[k] if self._left[k] == 0 else self._cur[k] + self._inc[k]
                changed = changed or {}
                changed[k] = float(self._cur[k])
        self._ramping = int(np.count_nonzero(self._left[:n]))
        if changed:
            self._apply(changed, first or {})

    def _apply(self, changed: dict, first: dict) -> None:
        params: dict = {}
        current = None
        for k, value in changed.items():
            param, idx, _ = self._slots[k]
            if idx is None:
                params[param] = value
            else:
                if param not in params:
                    current = current or self.effect.get_params()
                    params[param] = np.array(current[param], np.float32)
                params[param][idx] = value
        try:
            self.effect.set_params(**params)
        except ParameterError as err:
            self.rejected += 1
            log.debug("control change rejected: %s", err)
            return
        for k, value in changed.items():
            i = self._log_n % LOG_LEN
            self._log_block[i], self._log_slot[i] = self.block, k
            self._log_delay[i] = first.get(k, np.nan)
            number = is_number(value)
            self._log_value[i] = float(value) if number else np.nan
            self._logged_values.pop(self._log_n - LOG_LEN, None)
            if not number or self._slots[k][2] == "discrete":
                self._logged_values[self._log_n] = value
            self._log_n += 1

    def control_log(self) -> dict:
        """The changes applied, oldest first (the last ``LOG_LEN``).

        Returns
        -------
        dict
            ``block`` (this effect's block count when applied), ``slot``, ``name``, ``value`` (as
            set), ``delay_s`` (seconds from the target's arrival to its first application; NaN for
            the later steps of a ramp) and ``slots``; replayable as ``script``.
        """
        n = self._log_n
        first = max(0, n - LOG_LEN)
        rows = np.arange(first, n) % LOG_LEN
        names = {k: (p if i is None else f"{p}.{i}") for k, (p, i, _) in enumerate(self._slots)}
        values = [self._logged_values.get(j, float(self._log_value[r])) for j, r in zip(range(first, n), rows)]
        return {"block": self._log_block[rows].copy(), "slot": self._log_slot[rows].copy(),
                "name": [names[int(s)] for s in self._log_slot[rows]], "value": values,
                "delay_s": self._log_delay[rows].copy(), "slots": list(self._slots)}

    def _play_script(self) -> None:
        s = self.script
        if not self._slots:  # recreate the recorded slots
            for param, idx, kind in s["slots"]:
                self.slot(param if idx is None else f"{param}.{idx}", discrete=kind == "discrete")
        changed = {}
        while self._script_i < len(s["block"]) and s["block"][self._script_i] == self.block:
            changed[int(s["slot"][self._script_i])] = s["value"][self._script_i]
            self._script_i += 1
        if changed:
            self._apply(changed, {})
