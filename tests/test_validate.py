"""workbench.validate: the one home for integer and number checks."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import ParameterError
from workbench.validate import check_int, check_number, is_integer, is_number


def test_integers_and_numbers():
    assert is_integer(3) and is_integer(np.int64(3)) and not is_integer(True) and not is_integer(3.0)
    assert is_number(0.5) and is_number(np.float32(2)) and not is_number(False) and not is_number(float("nan"))
    assert check_int(np.int32(7), "n") == 7 and type(check_int(np.int32(7), "n")) is int
    assert check_number(1, "mix", lo=0, hi=1) == 1.0


@pytest.mark.parametrize("call, message", [
    (lambda: check_int(0, "hop_length"), "hop_length=0 must be a positive integer"),
    (lambda: check_int(True, "hop_length"), "hop_length=True must be a positive integer"),
    (lambda: check_int(-1, "count", lo=0), "count=-1 must be a non-negative integer"),
    (lambda: check_int(9, "octave_shift", lo=-4, hi=4), "octave_shift=9 must be an integer in [-4, 4]"),
    (lambda: check_int(1, "harmonics", lo=2), "harmonics=1 must be an integer >= 2"),
    (lambda: check_int(0, "sr", what=" sample rate in Hz"), "sr=0 must be a positive integer sample rate in Hz"),
    (lambda: check_number(2, "mix", lo=0, hi=1), "mix=2 must be a number in [0, 1]"),
    (lambda: check_number(float("inf"), "gain"), "gain=inf must be a finite number"),
    (lambda: check_number("a", "continuity", lo=0), "continuity='a' must be a number >= 0"),
])
def test_one_line_messages(call, message):
    with pytest.raises(ParameterError) as e:
        call()
    assert str(e.value) == message
