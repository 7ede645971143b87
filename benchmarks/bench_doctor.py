"""`workbench doctor` on a 30-minute 48 kHz stereo take (issue 26): wall time and peak memory.

The take: two minutes of synthesized harmonic notes (random pitches MIDI 48-76, random levels,
short gaps) rendered with numpy, then put through sox: a room (``reverb 40``), stereo, repeated
to the length asked, and mixed with a pink-noise floor. The doctor runs as the user types it
(``python -m workbench doctor``, a child process); peak resident memory comes from the child's
rusage (``os.wait4``), wall time from the clock. ``--throughput`` instead times
:func:`analysis.doctor.measure_throughput` (one epoch of each method) three times.

    python benchmarks/bench_doctor.py [--minutes 30] [--keep DIR] [--throughput]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SR = 48000


def make_take(path: Path, *, minutes: float, seed: int = 0) -> None:
    """A ``minutes``-long 48 kHz stereo 16-bit take: synthesized notes, sox room reverb, a noise floor."""
    rng = np.random.default_rng(seed)
    notes, n = [], 0
    while n < 120 * SR:
        f0 = 440.0 * 2 ** ((rng.integers(48, 77) - 69) / 12)
        t = np.arange(int(rng.uniform(0.25, 1.2) * SR)) / SR
        y = sum(np.sin(2 * np.pi * h * f0 * t) / h ** 1.5 for h in range(1, 12) if h * f0 < SR / 2)
        env = np.minimum(1, t / 0.02) * np.minimum(1, (t[-1] - t) / 0.05)
        notes.append(rng.uniform(0.05, 0.3) * y * env)
        if rng.random() < 0.3:
            notes.append(np.zeros(int(rng.uniform(0.2, 0.8) * SR)))
        n += notes[-1].size
    with tempfile.TemporaryDirectory() as tmp:
        dry = Path(tmp) / "dry.wav"
        sf.write(dry, np.concatenate(notes).astype(np.float32), SR)
        repeats = max(0, int(np.ceil(minutes / 2)) - 1)
        wet = Path(tmp) / "wet.wav"
        subprocess.run(["sox", "-q", str(dry), str(wet), "remix", "1", "1", "reverb", "40", "repeat", str(repeats),
                        "trim", "0", str(minutes * 60)], check=True)
        noise = Path(tmp) / "noise.wav"
        subprocess.run(["sox", "-q", "-n", "-r", str(SR), "-c", "2", str(noise), "synth", str(minutes * 60),
                        "pinknoise", "vol", "0.002"], check=True)
        subprocess.run(["sox", "-q", "-m", "-v", "1", str(wet), "-v", "1", str(noise), "-b", "16", str(path)],
                       check=True)


def run_child(args: list[str]) -> tuple[float, float, int, str]:
    """(wall s, peak RSS MB, exit status, stdout) of ``python -m workbench ARGS``."""
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "workbench", "--quiet", *args], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--keep", help="folder to write the take and report into (default: a temporary one)")
    ap.add_argument("--throughput", action="store_true", help="time measure_throughput() three times instead")
    a = ap.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    if a.throughput:
        from analysis.doctor import measure_throughput

        for _ in range(3):
            t0 = time.perf_counter()
            print(measure_throughput(), f"({time.perf_counter() - t0:.0f} s)", flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(a.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        take = work / "take.wav"
        t0 = time.perf_counter()
        if not take.is_file():
            make_take(take, minutes=a.minutes)
        info = sf.info(str(take))
        print(f"take: {info.duration / 60:.1f} min, {info.samplerate} Hz, {info.channels} ch, {info.subtype}, "
              f"{take.stat().st_size / 1e6:.0f} MB (made in {time.perf_counter() - t0:.0f} s)", flush=True)
        wall, rss, rc, out = run_child(["doctor", str(take), "--out", str(work / "report")])
        print(out)
        print(f"doctor: {wall:.1f} s wall, peak RSS {rss:.0f} MB, exit {rc} (the take as float32 would be "
              f"{info.frames * info.channels * 4 / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
