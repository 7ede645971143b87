"""A real JACK loop for live tests and benchmarks: a dummy JACK server and a player client.

:class:`JackServer` starts ``jackd`` with the dummy driver (paced in real time, no sound card)
under a name of its own, so concurrent test runs never share a server. :class:`LoopClient`
starts this file as a separate process: a PortAudio (sounddevice) client on that server that,
on ``go``, plays a WAV from its output port and records its input port in the same callbacks,
so the recording is sample-aligned with what it played. The workbench's stream, opened with
the client as its input and output device, closes the loop:
``loop:out_0 -> workbench:in_0``, ``workbench:out_0 -> loop:in_0``.

Run as a script: ``python tests/jack_loop.py --name NAME --play in.wav --out rec.wav --seconds S``
(prints ``ready``, waits for ``go`` on stdin, prints ``done ...`` when the recording is written).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def jack_available() -> str | None:
    """None when jackd and PortAudio with JACK support are here; else the reason they are not."""
    for tool in ("jackd", "jack_wait", "jack_lsp"):
        if shutil.which(tool) is None:
            return f"{tool} missing (apt-get install jackd2; see ENVIRONMENT.md)"
    import ctypes.util

    if ctypes.util.find_library("portaudio") is None:
        return "libportaudio2 missing (apt-get install libportaudio2)"
    try:
        import sounddevice  # noqa: F401
    except OSError as err:
        return f"sounddevice cannot load PortAudio: {err}"
    return None


class JackServer:
    """``jackd -d dummy`` at ``samplerate`` Hz with ``period`` frames, started and stopped here.

    Sets ``JACK_DEFAULT_SERVER`` in this process's environment (inherited by subprocesses), so
    PortAudio, once re-initialised, and the JACK tools find this server and no other.
    """

    def __init__(self, *, samplerate: int = 44100, period: int = 128, realtime: bool = True,
                 name: str | None = None, log: Path | None = None):
        self.samplerate, self.period, self.realtime = samplerate, period, realtime
        self.log_path = log
        self.name = name or f"wbtest{os.getpid()}_{time.monotonic_ns() % 10**9}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> JackServer:
        wait_us = int(round(1e6 * self.period / self.samplerate))
        cmd = ["jackd", "-n", self.name, *([] if self.realtime else ["--no-realtime"]), "-d", "dummy",
               "-r", str(self.samplerate), "-p", str(self.period), "-w", str(wait_us), "-C", "2", "-P", "2"]
        with open(self.log_path or os.devnull, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        env = {**os.environ, "JACK_DEFAULT_SERVER": self.name}
        ok = subprocess.run(["jack_wait", "-w", "-t", "10"], env=env, capture_output=True, text=True)
        if ok.returncode != 0 or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(f"jackd did not start: {' '.join(cmd)}")
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        return self

    def stop(self) -> None:
        from workbench.devices import release

        release()  # PortAudio aborts the process if it outlives the server it was connected to
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if os.environ.get("JACK_DEFAULT_SERVER") == self.name:
            del os.environ["JACK_DEFAULT_SERVER"]

    def ports(self) -> str:
        """``jack_lsp -c``: every port and its connections."""
        env = {**os.environ, "JACK_DEFAULT_SERVER": self.name}
        return subprocess.run(["jack_lsp", "-c"], env=env, capture_output=True, text=True).stdout

    def __enter__(self) -> JackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def c_loop(server: JackServer):
    """Two C clients running a loop on ``server`` (``jack_iodelay`` through ``jack_thru``) while
    the block runs: the reference for what a client with no Python at all misses."""
    env = {**os.environ, "JACK_DEFAULT_SERVER": server.name}
    procs = [subprocess.Popen([tool], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for tool in ("jack_iodelay", "jack_thru")]
    try:
        time.sleep(0.5)
        for a, b in (("jack_delay:out", "jack_thru:input_1"), ("jack_thru:output_1", "jack_delay:in")):
            subprocess.run(["jack_connect", a, b], env=env, capture_output=True)
        yield
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


def c_loop_late_clients(server: JackServer, seconds: float = 5.0) -> int:
    """Late-client reports in the server's log while the two C clients of :func:`c_loop` run for
    ``seconds``: the machine's own floor, with no Python at all.

    Needs ``server`` started with a ``log`` file.
    """
    before = _late_reports(server)
    with c_loop(server):
        time.sleep(seconds)
    return _late_reports(server) - before


@contextlib.contextmanager
def c_thru_beside(server: JackServer, source: str = "wbloop:out_0", sink: str | None = None):
    """A C pass-through client (``jack_thru``) fed from ``source`` (and feeding ``sink``, if given)
    while the block runs: beside a client under test that reads the same port, it sits in the
    same place in the graph; with ``sink``, it takes that client's place."""
    env = {**os.environ, "JACK_DEFAULT_SERVER": server.name}
    proc = subprocess.Popen(["jack_thru"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):  # its ports appear once it has registered
            if subprocess.run(["jack_connect", source, "jack_thru:input_1"], env=env,
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"could not connect {source} to jack_thru:input_1")
        if sink is not None:
            subprocess.run(["jack_connect", "jack_thru:output_1", sink], env=env, capture_output=True)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def late_cycles(server: JackServer) -> list[set[str]]:
    """For each cycle the server missed so far, the clients it named as not finished."""
    log = server.log_path
    text = log.read_text(errors="replace") if log and log.is_file() else ""
    cycles = []
    for chunk in text.split("Process error"):  # the driver's line that closes each missed cycle
        names = set(re.findall(r"JackEngine::XRun: client = (\S+) was not finished", chunk))
        if names:
            cycles.append(names)
    return cycles


def _late_reports(server: JackServer) -> int:
    log = server.log_path
    return log.read_text(errors="replace").count("JackEngine::XRun") if log and log.is_file() else 0


class LoopClient:
    """The player/recorder JACK client in its own process (see the module docstring)."""

    def __init__(self, server: JackServer, play: Path, out: Path, *, seconds: float, name: str = "wbloop",
                 blocksize: int | None = None, loop: bool = False):
        self.name, self.out = name, Path(out)
        cmd = [sys.executable, str(HERE / "jack_loop.py"), "--name", name, "--play", str(play), "--out", str(out),
               "--seconds", str(seconds), "--blocksize", str(blocksize or server.period)]
        if loop:
            cmd.append("--loop")
        env = {**os.environ, "JACK_DEFAULT_SERVER": server.name}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.close()
            raise RuntimeError(f"loop client did not start: {line!r} {err[-500:]}")

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self) -> dict:
        """Stop playing and recording now (before ``seconds``); returns :meth:`wait`'s counts."""
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        return self.wait()

    def wait(self, timeout: float = 60) -> dict:
        """Wait for the recording; returns the client's counts (callbacks, xruns)."""
        line = self.proc.stdout.readline().strip()
        self.proc.wait(timeout)
        if not line.startswith("done"):
            raise RuntimeError(f"loop client failed: {line!r} {self.proc.stderr.read()[-500:]}")
        return {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def _main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--play", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--blocksize", type=int, default=128)
    ap.add_argument("--loop", action="store_true")
    a = ap.parse_args()

    import soundfile as sf

    from workbench.devices import rescan, thread_priority

    thread_priority("realtime")  # this thread takes the GIL beside the callback: see thread_priority
    sd = rescan(client_name=a.name)
    play, sr_file = sf.read(a.play, dtype="float32", always_2d=True)
    play = np.ascontiguousarray(play[:, 0])
    dev = [d for d in sd.query_devices() if d["name"] == "system"][0]["index"]
    sr = int(sd.query_devices(dev)["default_samplerate"])
    if sr != sr_file:
        print(f"error: {a.play} is at {sr_file} Hz, the JACK server at {sr} Hz", flush=True)
        return 1
    play2 = np.concatenate([play, play, np.zeros(a.blocksize, np.float32)])  # loop without index arrays
    n_rec = int(round(a.seconds * sr))
    rec = np.zeros(n_rec + a.blocksize, np.float32)
    state = {"go": False, "pos": 0, "xruns": 0, "callbacks": 0}

    def callback(indata, outdata, frames, time_info, status):
        state["callbacks"] += 1
        if status.input_overflow or status.output_underflow or status.input_underflow or status.output_overflow:
            state["xruns"] += 1
        if not state["go"] or state["pos"] >= n_rec:
            outdata.fill(0)
            return
        p = state["pos"]
        if a.loop:
            q = p % len(play)
            outdata[:, 0] = play2[q:q + frames]
        else:
            seg = play[p:p + frames]
            outdata[: len(seg), 0] = seg
            outdata[len(seg):, 0] = 0
        rec[p:p + frames] = indata[:, 0]
        state["pos"] = p + frames

    with sd.Stream(device=(dev, dev), samplerate=sr, blocksize=a.blocksize, channels=(1, 1), dtype="float32",
                   callback=callback):
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return 1
        state["go"] = True
        while state["pos"] < n_rec:
            ready, _, _ = select.select([sys.stdin], [], [], 0.02)
            if ready and sys.stdin.readline().strip() == "stop":
                break
    sf.write(a.out, rec[:state["pos"]], sr, subtype="FLOAT")
    print(f"done callbacks={state['callbacks']} xruns={state['xruns']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(_main())
