"""Issue 30: does a mixing run sound like what it says? (analysis.mix_eval)

Prints, for a mixing run (default the demo's ``runs/demo-multi``): the confusion table of held-out
notes x instrument code by the matched-pitch timbre measure and by the instrument judge, the
log-spectral distance of each reconstruction to its note, and the alpha paths (distance to A and
to B) of sung voice in every direction and mode; writes ``mixing.json``, ``mixing.md`` and the
spectrogram figure ``codes.png`` into ``--out``.

    python benchmarks/bench_mixing.py [--run runs/demo-multi] [--data data] [--out reports/mixing]
        [--voice sung_000,sung_001] [--notes 6] [--modes blend,shift,linear]

Needs the run (``workbench demo``) and ``data/voice``; renders reference notes of every program
the run heard into ``--work`` (with the run's corpus's SoundFont) the first time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    from analysis.instrument_judge import FIT_VOICES
    from analysis.mix_eval import evaluate_mixing, mixing_markdown
    from models.checkpoint import load_run
    from workbench.audio import load

    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="runs/demo-multi")
    ap.add_argument("--data", default="data")
    ap.add_argument("--work", default="reports/mixing-work")
    ap.add_argument("--out", default="reports/mixing")
    ap.add_argument("--voice", default="sung_000")
    ap.add_argument("--notes", type=int, default=6)
    ap.add_argument("--modes", default="blend,shift,linear")
    ap.add_argument("--step", type=int, default=3, help="semitones between reference notes")
    ap.add_argument("--programs", type=int, default=3, help="reference programs per instrument")
    a = ap.parse_args()
    t0 = time.perf_counter()
    print(f"# bench_mixing  {time.strftime('%Y-%m-%d %H:%M')}  {platform.machine()}  {os.cpu_count()} cores  "
          f"run {a.run}")
    run = load_run(a.run)
    sr = run.config.audio.sr
    voice_dir = Path(a.data) / "voice"
    voice = {n: load(voice_dir / f"{n}.wav", sr=sr, mono=True)[0][0] for n in a.voice.split(",")}
    clash = set(voice) & set(FIT_VOICES)
    if clash:
        print(f"--voice {sorted(clash)[0]} is one of the judge's voice files; pick another")
        return 2
    judge_voice = [voice_dir / f"{v}.wav" for v in FIT_VOICES if (voice_dir / f"{v}.wav").is_file()]
    res = evaluate_mixing(run, voice=voice, work=a.work, out=a.out, judge_voice=judge_voice,
                          notes_per_instrument=a.notes, modes=a.modes.split(","), reference_step=a.step,
                          programs_per_instrument=a.programs)
    print(mixing_markdown(res))
    print(f"seconds per step: {json.dumps(res['seconds'])}; figure {res['figure']}")
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
