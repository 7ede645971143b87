"""The unprocessed input as an Effect: the reference row of every comparison."""

from __future__ import annotations

from effects.base import Effect, check_mix_and_levels

__all__ = ["DryEffect"]


class DryEffect(Effect):
    """Output = input (times ``gain_db``), no latency: the dry reference behind the Effect contract.

    Parameters
    ----------
    mix : float, keyword-only
        In [0, 1]; taken so every method has the same parameters (the input mixed with itself).
    gain_db : float, dB, keyword-only
        Output gain, -200 to 48.
    """

    _param_names = ("mix", "gain_db")

    def __init__(self, *, mix: float = 1.0, gain_db: float = 0.0):
        super().__init__()
        self.set_params(mix=mix, gain_db=gain_db)

    def _check_param(self, name, value):
        check_mix_and_levels(name, value)

    @property
    def latency_samples(self) -> int:
        """0: the output is not delayed."""
        return 0

    def _prepare(self, sample_rate, channels, max_block):
        pass

    def _reset(self):
        pass

    def _process(self, x):
        # mix blends the input with itself: it is here so that every method takes the same parameters
        return x * 10 ** (self.gain_db / 20) if self.gain_db else x.clone()
