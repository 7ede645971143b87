"""A 10-minute soak of the live engine: the low-latency autoencoder at block 128 on a JACK loop.

Material and set-up as ``bench_live.py`` (a JACK dummy server at 44.1 kHz, period 128; the player
client looping a flute melody into the workbench; the autoencoder with its TorchScript step).
Every ``--every`` seconds it samples the process's resident memory and the engine's counts;
at the end it reports xruns, falls to dry, output-ring underruns, late blocks, the worker's
maximum block time, and the memory growth after the first minute (allocation settles then).

Usage: python benchmarks/bench_soak.py [--seconds 600] [--every 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_live import _late_clients, make_effect, material, new_result  # noqa: E402

from live.engine import LiveEngine  # noqa: E402
from tests.jack_loop import JackServer, LoopClient  # noqa: E402

SR, BLOCK = 44100, 128


def rss_mib() -> float:
    """Resident memory of this process in MiB (``/proc/self/status``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0, help="length of the soak (default 600)")
    ap.add_argument("--every", type=float, default=30.0, help="seconds between samples (default 30)")
    ap.add_argument("--json", help="write every figure to this file")
    a = ap.parse_args()
    res = new_result(samples=[])
    if res is None:
        return {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        m = material(tmp, ddsp=False)
        log = tmp / "jackd.log"
        srv = JackServer(samplerate=SR, period=BLOCK, log=log).start()
        try:
            client = LoopClient(srv, m["input"], tmp / "rec.wav", seconds=a.seconds + 60, loop=True)
            client.go()
            eng = LiveEngine(make_effect("autoencoder", m), blocksize=BLOCK, input_device="wbloop",
                             output_device="wbloop")
            eng.start()
            t0 = time.monotonic()
            print(f"{res['machine']}; soak of {a.seconds:.0f} s; latency {eng.latency.describe()}", flush=True)
            print("| t (s) | RSS (MiB) | xruns | fell behind | underruns | late blocks | worker load max | load avg |")
            print("|---|---|---|---|---|---|---|---|", flush=True)
            while (el := time.monotonic() - t0) < a.seconds:
                time.sleep(min(a.every, a.seconds - el))
                s = eng.stats()
                row = {"t": round(time.monotonic() - t0, 1), "rss_mib": round(rss_mib(), 1), "xruns": s["xruns"],
                       "fell_behind": s["fell_behind"], "underruns": s["underruns"], "late_blocks": s["late_blocks"],
                       "worker_load_max": s["worker_load"]["max"], "loadavg": round(os.getloadavg()[0], 2)}
                res["samples"].append(row)
                print("| " + " | ".join(str(v) for v in row.values()) + " |", flush=True)
            s = eng.stop()
            client.finish()
        finally:
            srv.stop()
        res["late_clients"] = _late_clients(log)
    first = next((r for r in res["samples"] if r["t"] >= 60), res["samples"][0])
    minutes = s["seconds"] / 60
    res["summary"] = {
        "seconds": s["seconds"], "callbacks": s["callbacks"], "xruns": s["xruns"],
        "xruns_per_min": round(s["xruns"] / minutes, 3), "fell_behind": s["fell_behind"],
        "fell_behind_per_min": round(s["fell_behind"] / minutes, 3), "underruns": s["underruns"],
        "late_blocks": s["late_blocks"], "skipped_blocks": s["skipped_blocks"],
        "worker_load": s["worker_load"], "max_block_ms": round(s["worker_load"]["max"] * 1e3 * BLOCK / SR, 2),
        "gc_pause_ms": s["gc_pause_ms"], "rss_growth_after_1_min_mib": round(res["samples"][-1]["rss_mib"]
                                                                             - first["rss_mib"], 1),
        "latency_ms": s["latency"]["total_ms"], **res["late_clients"]}
    print(json.dumps(res["summary"], indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1, default=str))
    return res


if __name__ == "__main__":
    main()
