"""Live effects on a JACK dummy server: xruns, loads, falling behind, round-trip latency, idle and loaded.

Material: two 6 s trumpet melodies at 44.1 kHz (FluidSynth) as the cepstral / mosaic target and
the training data of a low-latency autoencoder (preset ``low-latency``, its default model size,
trained for 2 epochs: speed does not depend on the weights); a 4 s flute melody, looped, as the
singer. Each cell starts its own ``jackd -d dummy`` (real-time scheduling) at period = block
size, a player client (``tests/jack_loop.py``) looping the flute into the workbench and taking
its output, and a :class:`live.engine.LiveEngine` in this process, for ``--seconds`` seconds.

Every cell runs twice: on the machine as it is ("idle": nothing else of ours running) and with
one core kept busy by ``stress-ng --cpu 1`` ("one core loaded").

Figures per cell: xruns per minute (PortAudio's xrun flags, counted by rtmixer's C callback),
late blocks and fall-backs to dry per minute, output-ring underruns (silent blocks), worker
load (``process_block`` time / block duration), delivery (block arrival to output written, in
blocks), and the jackd log's late-client reports: how often the server waited for the workbench,
for the player (a Python client) and for nobody in particular (the driver).

The ``-low-delay`` methods use the low-delay window pair (analysis 512, synthesis 256 at block
64 and 160 at block 128 and 256) and a pre-fill of 2 blocks: the settings that bring the total
latency under 10 ms.

Round trip: the player plays 0.5 s-spaced impulses; the engine runs the method at ``mix=0``
(the effect's own dry path, delayed by exactly ``latency_samples``); the impulse's arrival in
the player's recording against the computed figure (algorithmic + pre-fill + the stream's
reported input and output latency). ``jack_iodelay`` measures what the JACK loop itself adds,
through ``jack_thru`` (a C client) and through a PortAudio pass-through.

The DDSP-style method (``ddsp``) runs at its model rate, 16 kHz: its server, its singer and its
impulses are at 16 kHz (its model is trained for 20 s on the trumpet melodies: speed does not
depend on the weights).

Design choices: the same cell (autoencoder, block 128) with one setting changed at a time.
Usage: python benchmarks/bench_live.py [--seconds 60] [--json out.json] [--methods ddsp --blocks 128,256]
                                       [--loads idle,one-core]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from effects.autoencoder import AutoencoderEffect  # noqa: E402
from effects.cepstral import CepstralEffect  # noqa: E402
from effects.mosaic import MosaicEffect  # noqa: E402
from live.engine import LiveEngine  # noqa: E402
from tests.jack_loop import JackServer, LoopClient, c_thru_beside, jack_available  # noqa: E402
from workbench.devices import release, rescan  # noqa: E402

warnings.filterwarnings("ignore", message="At least one mel filterbank")  # mosaic MFCCs at n_fft 512
SR = 44100
METHODS = ("cepstral", "mosaic", "autoencoder", "ddsp", "cepstral-low-delay", "autoencoder-low-delay")
LOADS = ("idle", "one-core")
DDSP_SR = 16000
BLOCKS = (64, 128, 256)


def material(tmp: Path, *, ddsp: bool = True) -> dict:
    from models.train import train
    from workbench.config import make_config
    from workbench.corpus.melodies import render_melodies
    from workbench.corpus.select import resolve_target

    render_melodies(tmp / "trumpet", program=56, count=2, seconds=6.0, seed=1, sr=SR, progress=False)
    render_melodies(tmp / "flute", program=73, count=1, seconds=4.0, seed=2, sr=SR, progress=False)
    cfg = make_config(preset="low-latency", overrides=["train.epochs=2", "train.max_seconds=10"], seed=0)
    train(resolve_target(tmp / "trumpet"), cfg, tmp / "run-ll", progress=False)
    impulses = np.zeros(3 * SR, np.float32)
    impulses[SR // 4:: SR // 2] = 0.5
    sf.write(tmp / "impulses.wav", impulses, SR, subtype="FLOAT")
    m = {"target": tmp / "trumpet" / "melody_000.wav", "input": tmp / "flute" / "melody_000.wav",
         "run": tmp / "run-ll", "impulses": tmp / "impulses.wav"}
    if not ddsp:
        return m
    from models.ddsp_train import train_ddsp
    from workbench.audio import load

    dcfg = make_config(method="ddsp", overrides=["train.max_seconds=20", "train.epochs=3"], seed=0)
    train_ddsp(sorted((tmp / "trumpet").glob("melody_*.wav")), dcfg, tmp / "run-ddsp", progress=False)
    sf.write(tmp / "flute16k.wav", load(tmp / "flute" / "melody_000.wav", sr=DDSP_SR, mono=True)[0][0], DDSP_SR)
    imp16 = np.zeros(3 * DDSP_SR, np.float32)
    imp16[DDSP_SR // 4:: DDSP_SR // 2] = 0.5
    sf.write(tmp / "impulses16k.wav", imp16, DDSP_SR, subtype="FLOAT")
    return {**m, "ddsp": tmp / "run-ddsp", "input16k": tmp / "flute16k.wav", "impulses16k": tmp / "impulses16k.wav"}


def rate(method: str) -> int:
    return DDSP_SR if method == "ddsp" else SR


def synthesis_length(block: int) -> int:
    """The low-delay synthesis window for a block size (BENCHMARKS.md, "Low-delay windows")."""
    return 256 if block <= 64 else 160


def engine_settings(method: str) -> dict:
    return {"prefill": 2} if method.endswith("-low-delay") else {}


def make_effect(method: str, m: dict, *, block: int = 128, **kw):
    if method.endswith("-low-delay"):
        kw = {**kw, "window": "low-delay", "synthesis_length": synthesis_length(block)}
        method = method.removesuffix("-low-delay")
    if method == "cepstral":
        return CepstralEffect(target=m["target"], n_fft=512, hop_length=128, **kw)
    if method == "mosaic":
        return MosaicEffect(target=m["target"], n_fft=512, hop_length=128, **kw)
    if method == "ddsp":
        from effects.ddsp import DDSPEffect

        return DDSPEffect(model=m["ddsp"], **kw)
    return AutoencoderEffect(model=m["run"], **{"torchscript": True, **kw})  # the per-hop compute that fits


def _late_clients(log: Path) -> dict:
    text = log.read_text(errors="replace") if log.is_file() else ""
    running = re.findall(r"client = (\S+) was not finished", text)
    return {"workbench_late": running.count("workbench"), "player_late": running.count("wbloop"),
            "thru_late": running.count("jack_thru"), "driver_late": text.count("JackTimedDriver::Process XRun"),
            "missed_cycles": text.count("Process error") + text.count("JackTimedDriver::Process XRun")}


@contextlib.contextmanager
def cpu_load(load: str, seconds: float):
    """``stress-ng --cpu 1`` while the block runs when ``load`` is "one-core"; nothing when "idle"."""
    stress = (subprocess.Popen(["stress-ng", "--cpu", "1", "--timeout", str(int(seconds + 60))],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              if load == "one-core" else None)
    try:
        yield
    finally:
        if stress is not None:
            stress.terminate()
            stress.wait()


def floor_cell(block: int, m: dict, tmp: Path, seconds: float, load: str = "idle") -> dict:
    """The machine's floor: ``jack_thru`` (C) where the workbench sits, with the same player."""
    log = tmp / "jackd.log"
    srv = JackServer(samplerate=SR, period=block, log=log).start()
    try:
        client = LoopClient(srv, m["input"], tmp / "rec.wav", seconds=seconds + 30, loop=True)
        client.go()
        with c_thru_beside(srv, sink="wbloop:in_0"), cpu_load(load, seconds):
            time.sleep(seconds)
            loadavg = os.getloadavg()[0]
        client.finish()
    finally:
        srv.stop()
    late = _late_clients(log)
    return {"method": "jack_thru (C floor)", "block": block, "load": load, "seconds": seconds,
            "missed_per_min": round(late["missed_cycles"] / (seconds / 60), 2), **late, "loadavg": loadavg}


def cell(method: str, block: int, m: dict, tmp: Path, seconds: float, load: str = "idle", effect_kw=None,
         **engine_kw) -> dict:
    log = tmp / "jackd.log"
    srv = JackServer(samplerate=rate(method), period=block, log=log).start()
    try:
        client = LoopClient(srv, m["input16k" if method == "ddsp" else "input"], tmp / "rec.wav",
                            seconds=seconds + 30, loop=True)
        client.go()
        eng = LiveEngine(make_effect(method, m, block=block, **(effect_kw or {})), blocksize=block, input_device="wbloop",
                         output_device="wbloop", **{**engine_settings(method), **engine_kw})
        with cpu_load(load, seconds):
            eng.start()
            time.sleep(seconds)
            s = eng.stop()
            loadavg = os.getloadavg()[0]
        client.finish()
    finally:
        srv.stop()
    minutes = s["seconds"] / 60
    return {"method": method, "block": block, "load": load, "seconds": s["seconds"], "xruns": s["xruns"],
            "xruns_per_min": round(s["xruns"] / minutes, 2), "late_blocks": s["late_blocks"],
            "fell_behind_per_min": round(s["fell_behind"] / minutes, 2), "skipped": s["skipped_blocks"],
            "underruns": s["underruns"], "callback_load": s["callback_load"], "worker_load": s["worker_load"],
            "delivery_blocks": s["delivery_blocks"], "callback_wait_ms": s["callback_wait_ms"],
            "gc_pause_ms": s["gc_pause_ms"], "worker_priority": eng.worker_priority_got,
            "prefill_blocks": s["prefill_blocks"], "latency_ms": s["latency"]["total_ms"], **(late := _late_clients(log)),
            "missed_per_min": round(late["missed_cycles"] / minutes, 2),
            "loadavg": loadavg, "settings": {**engine_kw, **(effect_kw or {})}}


def round_trip(method: str, block: int, m: dict, tmp: Path) -> dict:
    sr = rate(method)
    srv = JackServer(samplerate=sr, period=block, log=tmp / "jackd.log").start()
    try:
        client = LoopClient(srv, m["impulses16k" if method == "ddsp" else "impulses"], tmp / "rec.wav", seconds=3.0)
        eng = LiveEngine(make_effect(method, m, block=block, mix=0.0), blocksize=block, input_device="wbloop",
                         output_device="wbloop", **engine_settings(method))
        eng.start()
        time.sleep(0.3)
        client.go()
        client.wait()
        eng.stop()
    finally:
        srv.stop()
    rec, _ = sf.read(tmp / "rec.wav", dtype="float32")
    played = np.arange(sr // 4, 3 * sr, sr // 2)
    arrived = [int(np.argmax(np.abs(rec[p: p + sr // 4]))) for p in played if p + sr // 4 <= len(rec)]
    measured = int(np.median(arrived))
    lat = eng.latency
    return {"method": method, "block": block, "measured_samples": measured,
            "measured_ms": round(1e3 * measured / sr, 3), "all_equal": len(set(arrived)) == 1,
            "computed_ms": round(lat.total_ms, 3), "computed_samples": lat.internal,
            "reported_in_out_ms": (lat.input_s, lat.output_s),
            "difference_periods": (measured - lat.internal) / block}


def iodelay(block: int, tmp: Path, through: str) -> float:
    """jack_iodelay's round trip (frames) through jack_thru or a PortAudio pass-through stream."""
    srv = JackServer(samplerate=SR, period=block, log=tmp / "jackd.log").start()
    procs = []
    try:
        io = subprocess.Popen(["stdbuf", "-o0", "jack_iodelay"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        procs.append(io)
        time.sleep(0.5)
        if through == "jack_thru":
            procs.append(subprocess.Popen(["jack_thru"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(0.5)
            for a, b in (("jack_delay:out", "jack_thru:input_1"), ("jack_thru:output_1", "jack_delay:in")):
                subprocess.run(["jack_connect", a, b], check=True)
            time.sleep(2.5)
        else:
            sd = rescan(client_name="passthrough")
            dev = [d["index"] for d in sd.query_devices() if d["name"] == "jack_delay"][0]

            def copy(indata, outdata, frames, time_info, status):
                outdata[:] = indata

            with sd.Stream(device=(dev, dev), samplerate=SR, blocksize=block, channels=(1, 1), dtype="float32",
                           callback=copy):
                time.sleep(2.5)
            release()
    finally:
        for p in procs[::-1]:
            p.terminate()
        out = procs[0].communicate()[0] if procs else ""
        for p in procs[1:]:
            p.wait()
        srv.stop()
    found = re.findall(r"([\d.]+) frames\s+[\d.]+ ms total roundtrip", out.replace("\r", "\n"))
    return float(found[-1]) if found else float("nan")


def new_result(**fields) -> dict | None:
    """The figures' dict with the machine and the date, or None (the reason printed) without JACK."""
    reason = jack_available()
    if reason:
        print(f"skipped: {reason}")
        return None
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d"), **fields}


def fmt(d: dict | None, key: str = "median") -> str:
    return "-" if not d or d.get(key) is None else f"{d[key]:.2f}"


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="seconds per cell (default 60)")
    ap.add_argument("--loads", default=",".join(LOADS), help=f"comma list of {', '.join(LOADS)}")
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--skip-choices", action="store_true", help="only the method x block size table")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"comma list of {', '.join(METHODS)}")
    ap.add_argument("--blocks", default=",".join(map(str, BLOCKS)), help="comma list of block sizes")
    ap.add_argument("--skip-iodelay", action="store_true", help="skip jack_iodelay's loop figures")
    ap.add_argument("--floor", action="store_true",
                    help="first, jack_thru (a C client) in the workbench's place: the machine's floor per cell")
    a = ap.parse_args()
    res = new_result(cells=[], round_trip=[], iodelay={}, choices=[])
    if res is None:
        return {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        m = material(tmp, ddsp="ddsp" in a.methods)
        print(f"{res['machine']}, JACK dummy at {SR} Hz, {a.seconds:.0f} s per cell, load average "
              f"{os.getloadavg()[0]:.1f} at start", flush=True)
        print("| method | block | load | xruns/min (server missed cycles/min) | late blocks | fell behind/min | "
              "underruns | latency (ms) | "
              "worker load median / p99 / max | delivery p99 (blocks) | jackd late: workbench or thru / player / driver | "
              "load avg |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
        methods, blocks = [x for x in a.methods.split(",") if x], [int(b) for b in a.blocks.split(",")]
        for load in a.loads.split(",") if a.floor else []:
            for block in blocks:
                c = floor_cell(block, m, tmp, a.seconds, load=load)
                res.setdefault("floor", []).append(c)
                print(f"| {c['method']} | {block} | {load} | {c['missed_per_min']} (server) | - | - | - | - | - | - | "
                      f"{c['thru_late']} / {c['player_late']} / {c['driver_late']} | {c['loadavg']:.1f} |", flush=True)
        for load in a.loads.split(","):
            for method in methods:
                for block in blocks:
                    c = cell(method, block, m, tmp, a.seconds, load=load)
                    res["cells"].append(c)
                    print(f"| {method} | {block} | {load} | {c['xruns_per_min']} ({c['missed_per_min']}) | {c['late_blocks']} | "
                          f"{c['fell_behind_per_min']} | {c['underruns']} | {c['latency_ms']:.1f} | "
                          f"{fmt(c['worker_load'])} / {fmt(c['worker_load'], 'p99')} / {fmt(c['worker_load'], 'max')} | "
                          f"{fmt(c['delivery_blocks'], 'p99')} | {c['workbench_late']} / {c['player_late']} / "
                          f"{c['driver_late']} | {c['loadavg']:.1f} |", flush=True)
        print("\n| method | block | measured round trip (samples / ms) | computed (ms) | difference (periods) |")
        print("|---|---|---|---|---|", flush=True)
        for method in methods:
            for block in blocks:
                r = round_trip(method, block, m, tmp)
                res["round_trip"].append(r)
                print(f"| {method} | {block} | {r['measured_samples']} / {r['measured_ms']} | {r['computed_ms']} | "
                      f"{r['difference_periods']:.2f}{'' if r['all_equal'] else ' (impulses disagree)'} |", flush=True)
        for block in [] if a.skip_iodelay else blocks:
            res["iodelay"][block] = {k: iodelay(block, tmp, k) for k in ("jack_thru", "portaudio")}
            print(f"jack_iodelay at period {block}: {res['iodelay'][block]}", flush=True)
        if not a.skip_choices:
            print("\n| setting (autoencoder, block 128) | xruns/min | late blocks | fell behind/min | underruns | "
                  "worker load median / max | gc pause max (ms) |")
            print("|---|---|---|---|---|---|---|", flush=True)
            for kw in ({}, {"effect_kw": {"torchscript": False}}, {"prefill": 2}, {"gc_mode": "default"},
                       {"switch_interval_ms": 5.0}, {"worker_priority": "nice"}, {"worker_priority": "normal"}):
                c = cell("autoencoder", 128, m, tmp, a.seconds, **kw)
                res["choices"].append(c)
                name = ", ".join(f"{k}={v}" for k, v in c["settings"].items()) or ("defaults (torchscript, prefill 3, "
                                                                                    "gc freeze, 0.5 ms, realtime)")
                print(f"| {name} | {c['xruns_per_min']} | {c['late_blocks']} | {c['fell_behind_per_min']} | "
                      f"{c['underruns']} | "
                      f"{fmt(c['worker_load'])} / {fmt(c['worker_load'], 'max')} | {fmt(c['gc_pause_ms'], 'max')} |",
                      flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1, default=str))
    return res


if __name__ == "__main__":
    main()
