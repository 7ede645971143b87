"""Every core busy (issue 27): scattering notes/s and the protocol's class models, in one process
and on a local Ray of 2 workers, on the same notes.

Usage: ``python benchmarks/bench_hardware.py [--corpus data/gm-bench] [--notes 256] [--train-seconds 20]``.
The corpus is rendered when missing (``workbench corpus render``). Each extraction starts from an
empty cache; the class models are trained into fresh folders.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT / "data" / "gm-bench"))
    ap.add_argument("--notes", type=int, default=256)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--train-seconds", type=float, default=20.0)
    ap.add_argument("--skip", default="", help="comma list: scattering,classes")
    args = ap.parse_args()
    import ray

    from analysis.feature_cache import cached_features
    from analysis.features import ScatteringStats
    from analysis.parallel import Compute
    from analysis.pitch_eval import train_class_runs
    from analysis.pitch_protocol import DEFAULT_CLASSES
    from workbench.corpus.nsynth import NSynth
    from workbench.corpus.render import RenderConfig, render_corpus

    corpus = Path(args.corpus)
    if not (corpus / "examples.json").is_file():
        render_corpus(corpus, RenderConfig(max_notes_per_program=4, seed=3), progress=False)
    skip = set(filter(None, args.skip.split(",")))
    res: dict = {}
    if "scattering" not in skip:
        paths = NSynth(corpus).paths()[: args.notes]
        for name, compute in (("one process", Compute()), ("local Ray, 2 workers", Compute(workers=2))):
            cache = Path(tempfile.mkdtemp())
            t0 = time.perf_counter()
            F, info = cached_features(ScatteringStats(), paths, cache_dir=cache, sr=16000, compute=compute, shard_size=32)
            wall = time.perf_counter() - t0
            res[f"scattering, {name}"] = {"notes": len(paths), "seconds": round(wall, 1),
                                          "notes_per_s": round(len(paths) / wall, 1), "shards": info["shards"]}
            print(json.dumps({f"scattering, {name}": res[f"scattering, {name}"]}), flush=True)
            shutil.rmtree(cache)
        ray.shutdown()
    if "classes" not in skip:
        classes = DEFAULT_CLASSES[: args.classes]
        for name, compute in (("one process", Compute()), ("local Ray, 2 workers", Compute(workers=2))):
            runs = Path(tempfile.mkdtemp())
            t0 = time.perf_counter()
            done = train_class_runs(classes, ["autoencoder"], corpus=corpus, runs=runs, train_seconds=args.train_seconds,
                                    compute=compute, progress=False)
            wall = time.perf_counter() - t0
            epochs = [json.loads((r / "meta.json").read_text())["epochs_run"] for r in done.values()]
            res[f"class models, {name}"] = {"models": len(done), "seconds": round(wall, 1),
                                            "epochs_per_model": epochs}
            print(json.dumps({f"class models, {name}": res[f"class models, {name}"]}), flush=True)
            shutil.rmtree(runs)
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
