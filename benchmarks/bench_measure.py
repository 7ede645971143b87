"""The timbre measure before and after issue 25, side by side on the demo's trumpet material.

Old: every output frame matched at the *output's* own pitch against the trumpet clips the model
trained on, the floor the training's held-out clips, the gap uncapped; the baselines' target all
40 melodies (the floor clips included), as the demo had it.
New (analysis.harmonic_timbre): the output's harmonics read at the *input's* pitch against
separately rendered reference notes (workbench.corpus.reference: sustained, velocities 40/124),
the floor their held-out notes, the gap capped at 1, no score below half the input's pitched
frames judged, pitch errors counted apart; the baselines' target only the training clips.

Needs the demo's material and trumpet run (``workbench demo``, or ``data/trumpet``,
``data/voice`` and ``runs/demo-trumpet`` made by its own code); renders
``data/trumpet-reference`` when missing.

Usage: python benchmarks/bench_measure.py [--data data] [--run runs/demo-trumpet]
       [--inputs sung_000,spoken_000]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from analysis.demo import TRUMPET, material_split
from analysis.harmonic_timbre import HarmonicReference, fit_reference
from analysis.transfer_eval import raw_pitch_accuracy
from effects.autoencoder import AutoencoderEffect
from effects.cepstral import CepstralEffect
from effects.mosaic import MosaicEffect
from models.checkpoint import load_run
from workbench.audio import load
from workbench.corpus.reference import render_reference_notes


def _cell(v, spec=".2f") -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data")
    ap.add_argument("--run", default="runs/demo-trumpet")
    ap.add_argument("--inputs", default="sung_000,spoken_000")
    a = ap.parse_args()
    data = Path(a.data)
    t0 = time.perf_counter()
    print(f"# bench_measure  {time.strftime('%Y-%m-%d')}  {platform.machine()}  {platform.processor() or ''}")
    if not (data / "trumpet-reference" / "index.json").is_file():
        render_reference_notes(data / "trumpet-reference", program=TRUMPET, progress=False)
    run = load_run(a.run)
    sr = run.config.audio.sr
    split = material_split(data, valid_fraction=run.config.train.valid_fraction, seed=run.config.seed)
    melodies = sorted((data / "trumpet").glob("melody_*.wav"))
    clip = lambda p: load(p, sr=sr, mono=True)[0][0]  # noqa: E731
    old_ref = HarmonicReference().fit([clip(p) for p in split.target], sr=sr, name="trumpet training clips")
    old_floor = old_ref.distance([clip(p) for p in split.held], sr=sr).distance_db
    new_ref, new_floor = fit_reference([clip(p) for p in split.reference], [clip(p) for p in split.floor], sr=sr,
                                       name="trumpet reference notes")
    print(f"old floor (held-out training clips, {len(split.held)}): {old_floor:.2f} dB; new floor (held-out "
          f"reference notes, {len(split.floor)} of {len(split.floor) + len(split.reference)}): {new_floor:.2f} dB "
          f"({time.perf_counter() - t0:.0f} s)")
    # old: the baselines' target was every melody, floor clips included; new: the training clips only
    methods = {
        "autoencoder": (AutoencoderEffect(model=run), None),  # the same model either way
        "cepstral-mean": (CepstralEffect(target=melodies, envelope="mean"),
                          CepstralEffect(target=list(split.target), envelope="mean")),
        "cepstral-timevarying": (CepstralEffect(target=melodies, envelope="timevarying"),
                                 CepstralEffect(target=list(split.target), envelope="timevarying")),
        "mosaic": (MosaicEffect(target=melodies), MosaicEffect(target=list(split.target))),
    }
    print("\n| input | method | old: output dB | old: input dB | old gap | new: output dB | new: input dB | "
          "new gap | judged | pitch errors | RPA |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in a.inputs.split(","):
        x = load(data / "voice" / f"{name}.wav", sr=sr, mono=True)[0]
        old_in = old_ref.distance(x[0], sr=sr).distance_db
        for m, (fx_old, fx_new) in methods.items():
            y_old = fx_old.process(x, sr)[0]
            y_new = y_old if fx_new is None else fx_new.process(x, sr)[0]
            d_old = old_ref.distance(y_old, sr=sr).distance_db
            # the old gap as it was computed (no cap), to show what it reported
            g_old = None if None in (old_in, d_old) or old_in <= old_floor else (old_in - d_old) / (old_in - old_floor)
            s = new_ref.compare(x[0], y_new, sr=sr, target_db=new_floor)
            rpa = raw_pitch_accuracy(x[0], y_new, sr=sr)["raw_pitch_accuracy"]
            new = (f"{s.status} | | - " if s.output_db is None
                   else f"{s.output_db:.2f} | {s.input_db:.2f} | {_cell(s.gap_closed)}")
            print(f"| {name} | {m} | {_cell(d_old)} | {_cell(old_in)} | {_cell(g_old)} | {new} | "
                  f"{s.judged_share:.2f} | {_cell(s.pitch_error_share)} | {rpa:.3f} |", flush=True)
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
