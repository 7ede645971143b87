"""The DDSP-style effect offline (issue 28, parts 2 and 3): real-time factor, loudness and pitch.

Prints the real-time factor of ``DDSPEffect.process`` on a 30 s input (the corpus's voice phrases
end to end) at a fixed number of torch threads, the same input streamed in 256-sample blocks for
comparison, and per voice file the scoreboard's loudness figures
(:func:`analysis.scoreboard.loudness_match`: A-weighted frame levels of input and output) and the
raw pitch accuracy of the output against the input by pYIN
(:func:`analysis.transfer_eval.raw_pitch_accuracy`), at the input's own pitch (octave shift 0).

    python benchmarks/bench_ddsp_offline.py --model RUN --voice DIR [--seconds 30] [--threads 2]
        [--code CHECKOUT] [--no-match]

``--code`` imports the workbench from another checkout (e.g. main, for the figures before a
change); by default this one. Make a run with ``workbench train --method ddsp`` and voice material
with ``workbench corpus voice``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SR = 16000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a ddsp run folder")
    ap.add_argument("--voice", required=True, help="a folder of voice phrases (workbench corpus voice)")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the speed input (default 30)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--code", default=str(ROOT), help="checkout whose workbench is imported (default this one)")
    ap.add_argument("--no-match", action="store_true", help="match_loudness=False (where the effect has it)")
    ap.add_argument("--stream-seconds", type=float, default=10.0, help="seconds streamed in 256-sample blocks")
    args = ap.parse_args()
    sys.path.insert(0, args.code)
    import inspect

    import torch

    from analysis.scoreboard import loudness_match
    from analysis.transfer_eval import raw_pitch_accuracy
    from effects.ddsp import DDSPEffect
    from workbench.audio import load

    torch.set_num_threads(args.threads)
    kw = {}
    if "match_loudness" in inspect.signature(DDSPEffect).parameters:
        kw["match_loudness"] = not args.no_match
    print(f"code {args.code}; {platform.machine()}, {torch.get_num_threads()} torch threads; torch {torch.__version__}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}; effect kwargs {kw}")
    files = sorted(Path(args.voice).glob("*.wav"))
    voices = {p.stem: load(p, sr=SR, mono=True)[0][0] for p in files}
    long = np.concatenate(list(voices.values()))
    long = np.tile(long, int(np.ceil(args.seconds * SR / long.size)))[: int(args.seconds * SR)]
    fx = DDSPEffect(model=args.model, **kw)
    fx.process(long[: SR], SR)  # warm-up: first calls allocate
    t = time.perf_counter()
    fx.process(long, SR)
    dt = time.perf_counter() - t
    print(f"offline process: {args.seconds:.0f} s in {dt:.2f} s = {args.seconds / dt:.1f}x real time")
    n = int(args.stream_seconds * SR)
    fx.prepare(SR, 1, 256)
    x = long[None, :n]
    t = time.perf_counter()
    for i in range(0, n, 256):
        fx.process_block(x[:, i: i + 256])
    dt_s = time.perf_counter() - t
    print(f"streamed in 256-sample blocks: {args.stream_seconds:.0f} s in {dt_s:.2f} s = "
          f"{args.stream_seconds / dt_s:.1f}x real time")
    print("file | loudness corr | loudness L1 dB | RPA (pYIN, 50 cents)")
    for name, y in voices.items():
        out = fx.process(y, SR)
        lm = loudness_match(y, out, sr=SR)
        rpa = raw_pitch_accuracy(y, out, sr=SR)["raw_pitch_accuracy"]
        print(f"{name} | {lm['loudness_correlation']:.3f} | {lm['loudness_l1_db']:.2f} | {rpa:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
