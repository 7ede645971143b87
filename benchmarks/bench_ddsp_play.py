"""A DDSP-style run played from notes (``workbench play --model DDSP_RUN``): cost per voice, and a
live cell on a JACK dummy server beside the C client floor.

Material: the demo's recipe in small: three FluidR3 trumpet melodies, a DDSP model trained for
``--train-seconds`` (speed does not depend on the weights; the default model size).

1. Offline: milliseconds per control frame (16 ms of audio at 16 kHz) with 1, 4, 8 and 16 voices
   sounding, one thread, and the load that makes (frame time / 16 ms).
2. Live, ``--seconds`` at 16 kHz and block 256: a :class:`live.engine.LiveEngine` plays the synth
   with 4 voices while this process plays chords through :class:`live.control_input.Controller`
   (a new 4-note chord every 0.25 s, with pitch bend), as a MIDI thread would; then the same server with
   ``jack_thru`` (a C client) in the workbench's place. Figures: xruns, missed cycles per minute
   (the jackd log), worker load, and control arrival to applied (the control log).

Usage: python benchmarks/bench_ddsp_play.py [--seconds 30] [--train-seconds 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from live.control_input import Controller  # noqa: E402
from live.controlled_effect import ControlledEffect  # noqa: E402
from live.ddsp_synth import DDSPSynth  # noqa: E402
from live.engine import LiveEngine  # noqa: E402
from live.mapping import default_mapping  # noqa: E402
from tests.jack_loop import JackServer  # noqa: E402

SR, BLOCK = 16000, 256


def train(tmp: Path, seconds: float) -> Path:
    from models.ddsp_train import train_ddsp
    from workbench.config import make_config
    from workbench.corpus.melodies import render_melodies

    render_melodies(tmp / "mel", program=56, count=3, seconds=8.0, seed=1, progress=False)
    cfg = make_config(method="ddsp", overrides=[f"train.max_seconds={seconds}"], seed=0)
    train_ddsp(sorted((tmp / "mel").glob("melody_*.wav")), cfg, tmp / "run", progress=False)
    return tmp / "run"


def offline(run: Path) -> list[dict]:
    torch.set_num_threads(1)
    rows = []
    for v in (1, 4, 8, 16):
        s = DDSPSynth(model=run, voices=v)
        base = round(s.trained_median)
        on = {"note": [base + (i % 8) for i in range(v)], "velocity": [0.7] * v, "gate": [1.0] * v}
        s.render(0.5, schedule=[(0.0, on)], blocksize=BLOCK)
        t0 = time.perf_counter()
        s.render(4.0, schedule=[(0.0, on)], blocksize=BLOCK)
        ms = 1e3 * (time.perf_counter() - t0) / s.frames
        rows.append({"voices": v, "ms_per_frame": round(ms, 2), "load": round(ms / (1e3 * s.hop / SR), 3)})
        print(f"offline: {v:2d} voices {ms:.2f} ms per 16 ms frame (load {rows[-1]['load']:.2f})", flush=True)
    return rows


def _chords(ctl: Controller, stop: threading.Event, base: int) -> None:
    shapes = ([0, 4, 7, 11], [2, 5, 9, 12], [-1, 2, 7, 10], [0, 3, 7, 10])
    k = 0
    held: list[int] = []
    while not stop.is_set():
        for n in held:
            ctl.note_off(n)
        held = [base + i for i in shapes[k % len(shapes)]]
        for n in held:
            ctl.note_on(n, 90)
        ctl.pitch_bend(0.25 * np.sin(k))
        k += 1
        stop.wait(0.25)


def live(run: Path, tmp: Path, seconds: float) -> dict:
    from benchmarks.bench_live import _late_clients

    out = {}
    log = tmp / "jackd.log"
    srv = JackServer(samplerate=SR, period=BLOCK, log=log).start()
    try:
        fx = ControlledEffect(DDSPSynth(model=run, voices=4), smooth_ms=5.0)
        eng = LiveEngine(fx, blocksize=BLOCK, prefill=2)
        ctl = Controller(fx, default_mapping(synth=True, keyboard=True), engine=eng, strict=False)
        stop = threading.Event()
        th = threading.Thread(target=_chords, args=(ctl, stop, round(fx.effect.trained_median)), daemon=True)
        eng.start()
        th.start()
        time.sleep(seconds)
        stop.set()
        th.join()
        s = eng.stop()
    finally:
        srv.stop()
    late = _late_clients(log)
    delay = fx.control_log()["delay_s"]
    delay = delay[np.isfinite(delay)]
    minutes = s["seconds"] / 60
    out["workbench"] = {"seconds": s["seconds"], "xruns": s["xruns"], "skipped": s["skipped_blocks"],
                        "missed_per_min": round(late["missed_cycles"] / minutes, 2),
                        "workbench_late": late["workbench_late"], "worker_load": s["worker_load"],
                        "latency_ms": s["latency"]["total_ms"], "notes": ctl.counts()["notes"],
                        "stolen": ctl.counts()["stolen"],
                        "arrival_to_applied_ms": {"median": round(1e3 * float(np.median(delay)), 2),
                                                  "max": round(1e3 * float(delay.max()), 2)} if delay.size else None}
    print("live: " + json.dumps(out["workbench"]), flush=True)
    srv = JackServer(samplerate=SR, period=BLOCK, log=log).start()
    try:
        # jack_thru connects itself to the system ports: the C client in the workbench's place
        env = {**os.environ, "JACK_DEFAULT_SERVER": srv.name}
        thru = subprocess.Popen(["jack_thru"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(seconds)
        finally:
            thru.terminate()
            thru.wait(10)
    finally:
        srv.stop()
    late = _late_clients(log)
    out["jack_thru_floor"] = {"seconds": seconds, "missed_per_min": round(late["missed_cycles"] / (seconds / 60), 2),
                              "thru_late": late["thru_late"]}
    print("floor: " + json.dumps(out["jack_thru_floor"]), flush=True)
    return out


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--train-seconds", type=float, default=60.0)
    ap.add_argument("--json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        run = train(tmp, args.train_seconds)
        result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
                  "date": time.strftime("%Y-%m-%d"), "offline": offline(run), "live": live(run, tmp, args.seconds)}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
