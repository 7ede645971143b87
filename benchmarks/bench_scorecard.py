"""The training scorecard's overhead (issue 26): its share of the training time at the default period.

Trains the demo's trumpet autoencoder (preset ``nsynth``, the 40 trumpet melodies of 8 s the
demo renders into ``data/trumpet``; rendered here when missing) for a fixed number of epochs with
the scorecard at its default period (``train.scorecard_every``), and reads the scorecard's own
clock: its set-up (the sung phrase, the timbre reference fitted on the held-out clips) and each
measurement. The overhead is their sum over the training's own time (wall time minus the
scorecard's). With ``--baseline`` the same run is trained again without the scorecard, for the
wall-clock difference as well (noisy on a shared machine).

    python benchmarks/bench_scorecard.py [--data data] [--epochs 36] [--every N] [--baseline]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from analysis.demo import TRUMPET
    from analysis.scorecard import Scorecard, read_scorecard
    from models.train import train
    from workbench.config import SCORECARD_EVERY, make_config
    from workbench.corpus.melodies import render_melodies
    from workbench.corpus.select import resolve_target

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data")
    ap.add_argument("--epochs", type=int, default=36, help="epochs trained (the demo's run stopped after 36)")
    ap.add_argument("--every", type=int, default=SCORECARD_EVERY)
    ap.add_argument("--baseline", action="store_true", help="also train without the scorecard")
    a = ap.parse_args()
    trumpet = Path(a.data) / "trumpet"
    if not (trumpet / "index.json").is_file():
        render_melodies(trumpet, program=TRUMPET, count=40, seconds=8.0, seed=0, progress=False)
    paths = resolve_target(trumpet)
    sets = [f"train.epochs={a.epochs}", "train.patience=1000", f"train.scorecard_every={a.every}"]
    cfg = make_config(preset="nsynth", overrides=sets, seed=0)
    print(f"# bench_scorecard  {time.strftime('%Y-%m-%d')}  {platform.machine()}  {platform.processor() or ''}  "
          f"{len(paths)} clips, {a.epochs} epochs, every {a.every}")
    with tempfile.TemporaryDirectory() as tmp:
        card = Scorecard()
        t0 = time.perf_counter()
        meta = train(paths, cfg, Path(tmp) / "with", progress=False, callbacks=[card])
        wall = time.perf_counter() - t0
        rows = read_scorecard(Path(tmp) / "with")
        over = card.setup_seconds_ + card.measure_seconds_
        own = meta["train_seconds"] - over
        print(f"with the scorecard: {meta['epochs_run']} epochs in {meta['train_seconds']:.1f} s "
              f"({wall:.1f} s wall with data loading), {own / meta['epochs_run']:.2f} s per epoch of training")
        print(f"scorecard: set-up {card.setup_seconds_:.1f} s, {len(rows)} measurements of "
              f"{card.measure_seconds_ / max(len(rows), 1):.2f} s (at epochs {[r['epoch'] for r in rows]}); "
              f"{over:.1f} s = {over / own:.1%} of the training's own time")
        for r in rows:
            print(f"  epoch {r['epoch']}: gap {r['gap']}, timbre {r['timbre_db']} dB (voice {r['input_db']}, floor "
                  f"{r['floor_db']}), RPA {r['pitch_accuracy']}, loudness r {r['loudness_correlation']}, "
                  f"{r['ms_per_hop']} ms/hop, {r['measure_seconds']} s")
        if a.baseline:
            t0 = time.perf_counter()
            base = train(paths, cfg, Path(tmp) / "without", progress=False)
            print(f"without: {base['epochs_run']} epochs in {base['train_seconds']:.1f} s "
                  f"({time.perf_counter() - t0:.1f} s wall); difference "
                  f"{(meta['train_seconds'] - base['train_seconds']) / base['train_seconds']:+.1%}")
        shutil.rmtree(Path(tmp) / "with", ignore_errors=True)


if __name__ == "__main__":
    main()
