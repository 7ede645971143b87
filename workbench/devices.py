"""Audio devices through PortAudio (sounddevice): listing, choosing, checking a stream format.

PortAudio scans its host APIs (ALSA, JACK, ...) once when it is initialised, so a JACK server
started later, or a JACK client that appeared since, is only seen after :func:`rescan`. Under
JACK every client is a "device": opening a stream on a client's device connects our ports to
that client's ports (``system`` is the sound card, or the dummy driver's silent capture).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import threading
import types

from workbench.errors import DeviceError, ParameterError
from workbench.validate import check_int

__all__ = [
    "check_stream_settings", "thread_priority", "rescan", "release", "list_devices", "format_devices",
    "resolve_device", "check_stream_format",
]

_client_name_buf: ctypes.Array | None = None  # PortAudio keeps the pointer: keep the bytes alive


def _int_in(value, name: str, lo: int, hi: int, what: str) -> int:
    return check_int(value, name, lo=lo, hi=hi, what=what)


def check_stream_settings(*, blocksize: int, samplerate: int | None = None, channels: int = 1,
                          latency: str | float = "low") -> None:
    """Raise ``ParameterError`` for stream settings no device could take (before any device is asked).

    Parameters
    ----------
    blocksize : int, samples, keyword-only
        Frames per callback, in [1, 16384].
    samplerate : int or None, Hz, keyword-only
        None (the device's) or an integer in [8000, 192000].
    channels : int, keyword-only
        1 to 8.
    latency : str or float, keyword-only
        ``"low"``, ``"high"`` or seconds in (0, 2].
    """
    _int_in(blocksize, "blocksize", 1, 16384, " frames per callback (e.g. 64, 128, 256)")
    if samplerate is not None:
        _int_in(samplerate, "samplerate", 8000, 192000, " Hz")
    _int_in(channels, "channels", 1, 8, "")
    if not (latency in ("low", "high") or (isinstance(latency, (int, float)) and not isinstance(latency, bool)
                                            and 0 < latency <= 2)):
        raise ParameterError(f"latency={latency!r} is not valid; expected 'low', 'high' or seconds in (0, 2]")


def thread_priority(level: str) -> str:
    """Set the calling thread's scheduling.

    Parameters
    ----------
    level : {"realtime", "nice", "normal"}
        "realtime": SCHED_FIFO at priority 1, below JACK's own real-time threads (5 to 10),
        falling back to nice -10, then to nothing, where not permitted. "nice": nice -10.
        "normal": SCHED_OTHER, nice 0 (undoes the others).

    Returns
    -------
    str
        What the thread got: ``"realtime"``, ``"nice -10"`` or ``"normal"``.

    Why every Python thread of a live process needs it: a thread of ordinary priority that
    holds the GIL when the kernel preempts it for another process leaves the audio callback
    waiting for the GIL until it runs again (measured: a normal-priority worker let the
    callback wait up to 234 ms on a loaded machine; BENCHMARKS.md).
    """
    if level not in ("realtime", "nice", "normal"):
        raise ParameterError(f"level={level!r} is not valid; expected 'realtime', 'nice' or 'normal'")
    tid = threading.get_native_id()
    if level == "normal":
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, tid, 0)
        return "normal"
    if level == "realtime":
        try:  # pid 0 = the calling thread
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
            return "realtime"
        except (OSError, AttributeError):
            pass
    try:
        os.setpriority(os.PRIO_PROCESS, tid, -10)
        return "nice -10"
    except (OSError, AttributeError):
        return "normal"


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C-level stderr: libjack prints several lines when no JACK server is running."""
    try:
        fd = os.dup(2)
    except OSError:  # no stderr to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)


def _sd():
    with _quiet_stderr():
        import sounddevice as sd
    return sd


def rescan(*, client_name: str | None = None) -> types.ModuleType:
    """Re-initialise PortAudio so it sees the devices (and JACK servers and clients) present now.

    Parameters
    ----------
    client_name : str, optional, keyword-only
        The name our JACK client gets (ports appear as ``NAME:in_0``, ``NAME:out_0``); PortAudio
        uses "PortAudio" when not set. Ignored when PortAudio has no JACK support.

    Returns
    -------
    module
        ``sounddevice``, initialised afresh. Streams open in this process stop working: call it
        before opening one.
    """
    global _client_name_buf
    sd = _sd()
    if client_name is not None:
        path = ctypes.util.find_library("portaudio")
        lib = ctypes.CDLL(path) if path else None
        if lib is not None and hasattr(lib, "PaJack_SetClientName"):
            _client_name_buf = ctypes.create_string_buffer(client_name.encode())
            lib.PaJack_SetClientName(_client_name_buf)
    with _quiet_stderr():
        while sd._initialized > 0:
            sd._terminate()
        sd._initialize()
    return sd


def release() -> None:
    """Terminate PortAudio, which closes its JACK client.

    Call it after the last stream closed and before a JACK server this process used stops:
    PortAudio aborts the process if it terminates (at exit) after its server went away.
    """
    import sys

    sd = sys.modules.get("sounddevice")
    if sd is None:
        return
    with _quiet_stderr():
        while sd._initialized > 0:
            sd._terminate()


def list_devices(*, refresh: bool = True) -> list[dict]:
    """Every PortAudio device as a dict.

    Parameters
    ----------
    refresh : bool, keyword-only
        :func:`rescan` first, so devices and JACK clients that appeared since are seen.

    Returns
    -------
    list of dict
        Keys: ``index``, ``name``, ``hostapi`` (its name), ``inputs`` and ``outputs`` (channel
        counts), ``default_samplerate`` (Hz), ``low_latency_ms`` / ``high_latency_ms`` (input,
        output pairs in ms as PortAudio reports them), ``default_input`` / ``default_output`` (bools).
    """
    sd = rescan() if refresh else _sd()
    apis = sd.query_hostapis()
    try:
        d_in, d_out = sd.default.device
    except Exception:  # noqa: BLE001 - no default reported by this PortAudio build
        d_in = d_out = -1
    out = []
    for d in sd.query_devices():
        api = apis[d["hostapi"]]
        i = d["index"]
        out.append({
            "index": i, "name": d["name"], "hostapi": api["name"],
            "inputs": d["max_input_channels"], "outputs": d["max_output_channels"],
            "default_samplerate": float(d["default_samplerate"]),
            "low_latency_ms": (round(1e3 * d["default_low_input_latency"], 2),
                               round(1e3 * d["default_low_output_latency"], 2)),
            "high_latency_ms": (round(1e3 * d["default_high_input_latency"], 2),
                                round(1e3 * d["default_high_output_latency"], 2)),
            "default_input": i == (d_in if d_in >= 0 else api["default_input_device"]),
            "default_output": i == (d_out if d_out >= 0 else api["default_output_device"]),
        })
    return out


def format_devices(devices: list[dict] | None = None) -> str:
    """A table of devices for the terminal.

    Parameters
    ----------
    devices : list of dict, optional
        From :func:`list_devices` (scanned now when not given).

    Returns
    -------
    str
        One line per device (``>`` default input, ``<`` default output), or a line saying there
        is none.
    """
    devices = list_devices() if devices is None else devices
    if not devices:
        return ("no audio devices (PortAudio found none: no sound card, and no JACK server running; "
                "see ENVIRONMENT.md for a JACK dummy server)")
    rows = [f"{'id':>3}  {'':2} {'name':24} {'host API':28} {'in':>3} {'out':>3} {'rate':>7}  low latency in/out ms"]
    for d in devices:
        mark = (">" if d["default_input"] else " ") + ("<" if d["default_output"] else " ")
        lo = d["low_latency_ms"]
        rows.append(f"{d['index']:>3}  {mark} {d['name'][:24]:24} {d['hostapi'][:28]:28} {d['inputs']:>3} "
                    f"{d['outputs']:>3} {d['default_samplerate']:>7.0f}  {lo[0]:.1f} / {lo[1]:.1f}")
    return "\n".join(rows)


def resolve_device(spec: int | str | None, *, kind: str, channels: int = 1, devices: list[dict] | None = None) -> dict:
    """The device ``spec`` names for ``kind`` ("input" or "output"), with ``channels`` to spare.

    Parameters
    ----------
    spec : int, str or None
        A device index (``3`` or ``"3"``), a unique case-insensitive part of a name
        (``"system"``), or None for the default device of that kind.
    kind : {"input", "output"}, keyword-only
        Which side of the stream.
    channels : int, keyword-only
        Channels the stream needs.
    devices : list of dict, optional, keyword-only
        From :func:`list_devices` (scanned now when not given).

    Returns
    -------
    dict
        The device, as :func:`list_devices` gives it.

    Raises
    ------
    DeviceError
        No such device, an ambiguous name, too few channels, or no device of that kind at all.
    """
    if kind not in ("input", "output"):
        raise ParameterError(f"kind={kind!r} is not valid; expected 'input' or 'output'")
    devices = list_devices() if devices is None else devices
    key = "inputs" if kind == "input" else "outputs"
    name = f"{kind}_device"
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        found = [d for d in devices if d[f"default_{kind}"] and d[key] > 0] or [d for d in devices if d[key] > 0]
        if not found:
            raise DeviceError(f"no {kind} device is available (PortAudio sees {len(devices)} device(s), none with "
                              f"{kind} channels); start a JACK server or connect a sound card")
        dev = found[0]
    elif isinstance(spec, bool) or not isinstance(spec, (int, str)):
        raise DeviceError(f"{name}={spec!r} is not valid; expected a device index or part of a device name")
    elif isinstance(spec, int) or spec.strip().lstrip("-").isdigit():
        idx = int(spec)
        match = [d for d in devices if d["index"] == idx]
        if not match:
            raise DeviceError(f"{name}={spec!r} is not a device; expected one of the indices "
                              f"{[d['index'] for d in devices]} (see `workbench devices`)")
        dev = match[0]
    else:
        want = spec.strip().lower()
        exact = [d for d in devices if d["name"].lower() == want]
        match = exact or [d for d in devices if want in d["name"].lower()]
        if not match:
            raise DeviceError(f"{name}={spec!r} matches no device name; expected an index or part of one of "
                              f"{[d['name'] for d in devices]}")
        with_ch = [d for d in match if d[key] > 0]
        if len(with_ch) > 1:
            raise DeviceError(f"{name}={spec!r} matches several devices "
                              f"({', '.join(str(d['index']) + ' ' + d['name'] for d in with_ch)}); give the index")
        dev = (with_ch or match)[0]
    if dev[key] < channels:
        raise DeviceError(f"{name}={spec!r} ({dev['name']}, {dev['hostapi']}) has {dev[key]} {kind} channel(s); "
                          f"expected at least {channels}")
    return dev


def check_stream_format(device: dict, *, kind: str, channels: int, samplerate: int) -> None:
    """Raise ``DeviceError`` when a device cannot run a float32 stream of this format.

    Parameters
    ----------
    device : dict
        From :func:`list_devices` / :func:`resolve_device`.
    kind : {"input", "output"}, keyword-only
        Which side of the stream.
    channels : int, keyword-only
        Channels of the stream.
    samplerate : int, Hz, keyword-only
        Its rate.
    """
    sd = _sd()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device["index"], channels=channels, dtype="float32", samplerate=samplerate)
    except Exception as err:  # noqa: BLE001 - PortAudio's refusal, reported as a user error
        hint = ""
        if device["hostapi"].startswith("JACK"):
            hint = f"; a JACK server runs at one rate, here {device['default_samplerate']:.0f} Hz"
        raise DeviceError(f"samplerate={samplerate} is not supported by {kind} device {device['index']} "
                          f"({device['name']}, {device['hostapi']}): {err}{hint}") from None
