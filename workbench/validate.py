"""The checks every parameter goes through: one home for "is this a positive integer" and kin.

In the spirit of ``librosa.util.valid_audio`` and ``is_positive_int``: each check either returns
the value as a plain Python number or raises :class:`~workbench.errors.ParameterError` with one
line naming the bad value and what was expected. ``bool`` is never accepted as a number, although
Python counts it as an ``int``: ``hop_length=True`` is a mistake, not ``1``.
"""

from __future__ import annotations

import math
import numbers

from workbench.errors import ParameterError

__all__ = ["is_integer", "is_number", "check_int", "check_number"]


def is_integer(value: object) -> bool:
    """Whether ``value`` is an integer, ``bool`` excepted.

    Parameters
    ----------
    value : object
        The value to test.

    Returns
    -------
    bool
        True for Python and numpy integers, False for ``bool`` and everything else.
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """Whether ``value`` is a finite real number, ``bool`` excepted.

    Parameters
    ----------
    value : object
        Anything: a number, a string, None...

    Returns
    -------
    bool
        True for finite real numbers (int, float, numpy scalars), False for ``bool``, NaN and inf.
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def check_int(value: object, name: str, *, lo: int | None = 1, hi: int | None = None, what: str = "") -> int:
    """``value`` as an ``int`` if it is an integer in ``[lo, hi]`` (either bound may be None).

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Its name in the message, e.g. ``"hop_length"``.
    lo, hi : int or None, keyword-only
        Inclusive bounds; ``None`` leaves that side open.
    what : str, keyword-only
        Appended to the expectation, e.g. ``" sample rate in Hz"``.

    Returns
    -------
    int
        ``value`` as a plain Python ``int``.

    Raises
    ------
    ParameterError
        ``hop_length=0 must be a positive integer``.
    """
    if is_integer(value) and (lo is None or value >= lo) and (hi is None or value <= hi):
        return int(value)
    if hi is None and lo == 1:
        expected = f"a positive integer{what}"
    elif hi is None and lo == 0:
        expected = f"a non-negative integer{what}"
    elif hi is None and lo is not None:
        expected = f"an integer >= {lo}{what}"
    elif lo is None and hi is not None:
        expected = f"an integer <= {hi}{what}"
    elif lo is None:
        expected = f"an integer{what}"
    else:
        expected = f"an integer in [{lo}, {hi}]{what}"
    raise ParameterError(f"{name}={value!r} must be {expected}")


def check_number(value: object, name: str, *, lo: float | None = None, hi: float | None = None,
                 what: str = "") -> float:
    """``value`` as a ``float`` if it is a finite real number in ``[lo, hi]`` (either bound may be None).

    Parameters
    ----------
    value, name, what
        As :func:`check_int` (``what`` e.g. ``" seconds"``).
    lo, hi : float or None, keyword-only
        Inclusive bounds of a finite real number; ``None`` leaves that side open.

    Returns
    -------
    float
        ``value`` as a plain Python ``float``.

    Raises
    ------
    ParameterError
        ``mix=2 must be a number in [0, 1]``.
    """
    if is_number(value) and (lo is None or value >= lo) and (hi is None or value <= hi):
        return float(value)
    if lo is not None and hi is not None:
        expected = f"a number in [{lo:g}, {hi:g}]{what}"
    elif lo is not None:
        expected = f"a number >= {lo:g}{what}"
    elif hi is not None:
        expected = f"a number <= {hi:g}{what}"
    else:
        expected = f"a finite number{what}"
    raise ParameterError(f"{name}={value!r} must be {expected}")
