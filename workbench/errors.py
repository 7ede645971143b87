"""The one exception type users see for bad input.

Messages follow librosa's habit: name the bad value and say what was expected, in one line,
for example ``hop_length=0 must be a positive integer``.
"""

from __future__ import annotations

__all__ = ["ParameterError", "DeviceError"]


class ParameterError(ValueError):
    """A user-supplied value (path, array, number, option) is not acceptable.

    Subclasses ``ValueError`` so generic callers that catch bad values keep working.
    The CLI prints ``str(err)`` as a single line and exits with status 2.
    """


class DeviceError(ParameterError):
    """No usable audio device: an unknown id, a device without the needed channels, no device.

    The CLI prints the one-line message and then the device list (``workbench devices``).
    """
