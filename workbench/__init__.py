"""Core layer of the timbre workbench: audio I/O, validation, spectral DSP, corpora, config.

This package imports nothing from ``models``, ``effects`` or ``analysis`` (see docs/ARCHITECTURE.md).
"""

from workbench.errors import ParameterError

__all__ = ["ParameterError", "__version__"]
__version__ = "0.1.0"
