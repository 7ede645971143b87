"""The live console (a face): the status line, keys, and the one-line summary of a run."""

from __future__ import annotations

import os
import select
import sys
import time

from live.engine import LiveEngine
from live.report import pct_text
from workbench.devices import thread_priority
from workbench.errors import ParameterError

__all__ = ["run_console", "summary_line", "handle_key", "key_help", "KEYS"]


def summary_line(stats: dict) -> str:
    """One line about a finished run (from :meth:`LiveEngine.stop`)."""
    s = stats
    cb, fx = s["callback_load"], s["worker_load"]
    lat = s["latency"]
    dev = "".join(f" + {k} {'n/a' if lat[k + '_ms'] is None else format(lat[k + '_ms'], '.1f')}"
                  for k in ("input", "output"))
    return (f"{s['seconds']:.1f} s, {s['callbacks']} callbacks, {s['xruns']} xruns, {s['late_blocks']} late blocks, "
            f"fell behind {s['fell_behind']} times ({s['skipped_blocks']} blocks skipped); callback load median "
            f"{pct_text(cb['median'])} max {pct_text(cb['max'])}; effect load median {pct_text(fx['median'])} max "
            f"{pct_text(fx['max'])}; latency {lat['total_ms']:.1f} ms (effect {lat['algorithmic_ms']:.1f} + buffer "
            f"{lat['prefill_ms']:.1f}{dev})")


def _nudge(engine: LiveEngine, name: str, delta: float, lo: float = 0.0, hi: float = 1.0) -> None:
    p = engine.params()
    if name in p:
        engine.set_params(**{name: round(min(hi, max(lo, float(p[name]) + delta)), 3)})


# key -> action; handle_key and key_help both read this one table
KEYS = {
    "q": "quit", "Q": "quit", "\x1b": "quit", "\x03": "quit",
    "b": "bypass", "B": "bypass", " ": "bypass",
    "+": "mix up", "=": "mix up", "-": "mix down", "_": "mix down",
    "]": "alpha up", "[": "alpha down",
}
_STEPS = {"mix": 0.1, "alpha": 0.05}


def key_help(engine: LiveEngine) -> str:
    """The keys that apply to this engine's effect (alpha keys only when it has an ``alpha``)."""
    p = engine.params()
    parts = ["b/space bypass"]
    if "mix" in p:
        parts.append("+/- mix")
    if "alpha" in p:
        parts.append("]/[ alpha")
    parts.append("q quit")
    return "keys: " + ", ".join(parts)


def handle_key(engine: LiveEngine, key: str) -> bool:
    """Act on one key (:data:`KEYS`); returns False when it asks to quit."""
    action = KEYS.get(key)
    if action == "quit":
        return False
    if action == "bypass":
        engine.bypass = not engine.bypass
    elif action is not None:
        name, direction = action.split()
        _nudge(engine, name, _STEPS[name] if direction == "up" else -_STEPS[name])
    return True


def run_console(engine: LiveEngine, *, seconds: float | None = None, stdin=None, stdout=None,
                refresh_hz: float = 5.0) -> dict:
    """Run a started engine in the terminal until ``q`` (or ``seconds``), then stop it.

    With a terminal on stdin, keys act at once (cbreak mode) and the status line is redrawn in
    place ``refresh_hz`` times a second. Without one, ``seconds`` is required and a status line
    is printed every two seconds. Returns :meth:`LiveEngine.stop`'s statistics.
    """
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    try:
        interactive = stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if not interactive and seconds is None:
        engine.stop()
        raise ParameterError("stdin is not a terminal, so keys cannot stop the stream; give seconds "
                             "(--seconds N) to run for a fixed time")
    t_end = None if seconds is None else time.monotonic() + seconds
    period = 1.0 / refresh_hz
    saved = None
    thread_priority(engine.worker_priority)  # this thread takes the GIL too: see thread_priority
    try:
        if interactive:
            import termios
            import tty

            fd = stdin.fileno()
            saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            print(key_help(engine), file=stdout, flush=True)
        last_print = 0.0
        while engine.active and not engine.worker_error and (t_end is None or time.monotonic() < t_end):
            if interactive:
                ready, _, _ = select.select([stdin], [], [], period)
                if ready:
                    keys = os.read(stdin.fileno(), 32).decode(errors="ignore")
                    if not all(handle_key(engine, k) for k in keys):
                        break
                print("\r" + engine.status_line() + "\x1b[K", end="", file=stdout, flush=True)
            else:
                time.sleep(min(period, max(0.0, t_end - time.monotonic())))
                if time.monotonic() - last_print >= 2.0:
                    print(engine.status_line(), file=stdout, flush=True)
                    last_print = time.monotonic()
    finally:
        if saved is not None:
            import termios

            termios.tcsetattr(stdin.fileno(), termios.TCSADRAIN, saved)
            print(file=stdout)
        stats = engine.stop()
        thread_priority("normal")
    return stats
