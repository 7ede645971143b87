"""Corpus render rate: notes per second rendering, checking and writing NSynth notes.

Renders the same selection with 1 and with all workers, several times, and prints medians.
Usage: python benchmarks/bench_render.py [--repeats 3] [--notes-per-program 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time

from workbench.corpus.families import programs_for
from workbench.corpus.render import RenderConfig, render_corpus


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--notes-per-program", type=int, default=40)
    args = ap.parse_args()
    # One program per family (11 instruments), full pitch range limited to each one's playable range.
    programs = tuple(programs_for([f])[0] for f in
                     ("keyboard", "mallet", "organ", "guitar", "bass", "string", "vocal", "brass", "reed", "flute", "synth_lead"))
    cfg = RenderConfig(programs=programs, velocities=(50, 100), max_notes_per_program=args.notes_per_program, seed=0)
    results = {}
    for workers in sorted({1, os.cpu_count() or 1}):
        rates = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                t = time.perf_counter()
                s = render_corpus(tmp, cfg, workers=workers, progress=False)
                rates.append(s["rendered"] / (time.perf_counter() - t))
        results[f"workers={workers}"] = {"median_notes_per_s": round(statistics.median(rates), 1),
                                         "runs": [round(r, 1) for r in rates], "notes": s["rendered"]}
    out = {"benchmark": "corpus render", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
           "python": platform.python_version(), "results": results}
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
