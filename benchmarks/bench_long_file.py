"""Long files in bounded memory (issue 18): a 30-minute 48 kHz stereo file through every method.

Each method runs as the user types it (`workbench transfer`, a child process), once on a 10 s
file and once on the long one; peak resident memory comes from the child's own rusage
(`os.wait4`), wall time from the clock. Bounded means the long file's peak stays near the short
file's, far below the ~690 MB the long file takes as float32 in memory.

    python benchmarks/bench_long_file.py [--minutes 30] [--model runs/demo-trumpet]
        [--target data/trumpet] [--multi runs/multi] [--methods autoencoder,cepstral,mosaic,latent-mix]
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


def make_long_file(path: Path, *, minutes: float, voice: Path) -> None:
    """The corpus's voice phrases end to end at 48 kHz, a different level per channel, written
    block by block (the generator holds one phrase at a time)."""
    from workbench.audio import load

    phrases = [load(p, sr=SR, mono=True)[0][0] for p in sorted(voice.glob("*.wav"))]
    total, i = int(minutes * 60 * SR), 0
    with sf.SoundFile(str(path), "w", samplerate=SR, channels=2, subtype="PCM_16") as f:
        while total > 0:
            y = phrases[i % len(phrases)][:total]
            f.write(np.stack([y, 0.6 * y], axis=1))
            total -= len(y)
            i += 1


def run(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and the exit code of ``workbench ARGS`` in a child process."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "--quiet", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    if proc.returncode:
        print(err, file=sys.stderr)
    return time.perf_counter() - t, usage.ru_maxrss / 1024, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--model", default="runs/demo-trumpet")
    ap.add_argument("--target", default="data/trumpet")
    ap.add_argument("--multi", default="runs/multi")
    ap.add_argument("--voice", default="data/voice")
    ap.add_argument("--methods", default="autoencoder,cepstral,mosaic,latent-mix")
    a = ap.parse_args()
    options = {"autoencoder": ["--model", a.model], "cepstral": ["--target", a.target],
               "mosaic": ["--target", a.target], "latent-mix": ["--model", a.multi, "--alpha", "0.5"]}
    print(f"# bench_long_file  {time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} cores")
    print("| method | input | wall s | real-time factor | peak RSS MB | output |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        short, long_ = tmp / "short.wav", tmp / "long.wav"
        make_long_file(short, minutes=10 / 60, voice=Path(a.voice))
        make_long_file(long_, minutes=a.minutes, voice=Path(a.voice))
        for method in a.methods.split(","):
            if method in ("autoencoder", "latent-mix") and not (Path(a.model if method == "autoencoder"
                                                                         else a.multi) / "meta.json").is_file():
                print(f"| {method} | skipped: no trained run | | | | |")
                continue
            for label, src in (("10 s", short), (f"{a.minutes:g} min", long_)):
                out = tmp / f"{method}.wav"
                wall, rss, rc = run(["transfer", "--method", method, *options[method], "--input", str(src),
                                     "--out", str(out)])
                seconds = sf.info(str(src)).duration
                shape = f"{sf.info(str(out)).samplerate} Hz, {sf.info(str(out)).channels} ch" if rc == 0 else f"exit {rc}"
                print(f"| {method} | {label} 48 kHz stereo | {wall:.1f} | {wall / seconds:.3f} | {rss:.0f} | {shape} |",
                      flush=True)
                out.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
