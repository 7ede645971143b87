"""The main job on the embedded corpus, run by ``make demo`` / ``workbench demo``.

Renders the demo corpus (every NSynth family from the GM SoundFont, a sample of notes per
instrument), trumpet melodies as target material, and sung and spoken voice material, then
writes ``reports/demo/summary.json`` and prints where everything is.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from workbench.corpus.families import programs_for
from workbench.corpus.melodies import render_melodies
from workbench.corpus.render import RenderConfig, render_corpus
from workbench.corpus.voice import render_voice

__all__ = ["run_demo", "DEMO_CORPUS"]

# Every family, a third of the pitches, two velocities, at most 12 notes per instrument:
# about a thousand notes, enough for family probes, rendered in about a minute on 2 cores.
DEMO_CORPUS = RenderConfig(
    programs=tuple(programs_for()),
    pitches=tuple(range(24, 103, 3)),
    velocities=(75, 127),
    max_notes_per_program=12,
    seed=0,
)


def _done(folder: Path, marker: str) -> bool:
    return (folder / marker).is_file()


def run_demo(data="data", *, reports="reports", seed: int = 0, progress: bool = True) -> dict:
    """Render the demo material under ``data`` (skipping parts already there); return the summary."""
    data, reports = Path(data), Path(reports)
    t0 = time.perf_counter()
    steps = {}
    corpus = data / "gm"
    if not _done(corpus, "render.json"):
        cfg = RenderConfig(**{**DEMO_CORPUS.__dict__, "seed": seed})
        s = render_corpus(corpus, cfg, progress=progress)
        steps["corpus"] = {"notes": s["written"], "skipped": s["skipped"], "notes_per_second": s["notes_per_second"]}
    trumpet = data / "trumpet"
    if not _done(trumpet, "index.json"):
        render_melodies(trumpet, program=56, count=40, seconds=8.0, seed=seed, progress=progress)
        steps["trumpet"] = {"melodies": 40}
    voice = data / "voice"
    if not _done(voice, "index.json"):
        render_voice(voice, count=8, spoken=3, seed=seed, progress=progress)
        steps["voice"] = {"sung": 8, "spoken": 3}
    summary = {
        "corpus": str(corpus), "trumpet_melodies": str(trumpet), "voice": str(voice),
        "rendered_now": steps, "seconds": round(time.perf_counter() - t0, 1),
        "render": json.loads((corpus / "render.json").read_text()),
    }
    out = reports / "demo"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    r = summary["render"]
    print(f"demo corpus    {corpus}  ({r['written']} notes: train {r['splits']['train']['notes']}, "
          f"valid {r['splits']['valid']['notes']}, test {r['splits']['test']['notes']}; skipped {r['skipped']})")
    print(f"trumpet        {trumpet}  (40 melodies x 8 s, MIDI + notes JSON)")
    print(f"voice          {voice}  (8 sung phrases with notes, 3 spoken sentences)")
    print(f"summary        {out / 'summary.json'}  ({summary['seconds']} s)")
    return summary
