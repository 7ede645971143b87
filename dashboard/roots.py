"""Where the dashboard reads from (data, runs, reports) and the commands that fill each page.

No Streamlit here: tests and the CLI use it too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.corpus.catalog import corpus_notes, list_corpora

__all__ = ["ROOT_ENV", "COMMANDS", "Roots", "resolve_roots", "demo_inputs", "target_choices"]


ROOT_ENV = {"data": "WORKBENCH_DATA", "runs": "WORKBENCH_RUNS", "reports": "WORKBENCH_REPORTS"}



# The command that creates what a page needs, shown in its empty state.
COMMANDS = {
    "demo": "make demo",
    "corpus": "workbench corpus render --out data/gm",
    "train": "workbench train --target data/trumpet --out runs/trumpet",
    "evaluation": "workbench evaluate scoreboard --out reports/eval",
    "embedding": "workbench embed --corpus data/gm --features mfcc --methods pca,tsne,tsne3d,umap --out reports/embed",
    "probe": "workbench probe --corpus data/gm --features mfcc,scattering --out reports/probe",
    "pitchcnn": "workbench pitchcnn --corpus data/gm --out reports/pitchcnn",
    "mesh": "workbench mesh --model runs/chroma --points 50 --out reports/mesh",
    "synth": 'workbench train --target "data/gm:family=brass,split=train" --preset low-latency '
             "--set model.chroma=true --set model.output=spectrum --set model.latent=8 --out runs/synth",
    "multi": 'workbench train --target "data/gm:family=brass+flute,split=train" --set model.condition=onehot '
             "--set model.harmonics=0 --out runs/multi",
}



@dataclass(frozen=True)
class Roots:
    """Folders the dashboard reads: generated ``data``, training ``runs`` and ``reports``."""

    data: Path
    runs: Path
    reports: Path



def resolve_roots(argv: Sequence[str] = (), *, environ: Mapping[str, str] | None = None) -> Roots:
    """The roots from ``--data/--runs/--reports DIR`` in ``argv``, else ``WORKBENCH_DATA`` /
    ``WORKBENCH_RUNS`` / ``WORKBENCH_REPORTS``, else ``data``, ``runs``, ``reports``.

    Other arguments are ignored (Streamlit and pytest pass their own).

    Examples
    --------
    >>> resolve_roots(["--runs", "/tmp/r"], environ={}).runs
    PosixPath('/tmp/r')
    """
    environ = os.environ if environ is None else environ
    found = {}
    args = list(argv)
    for i, a in enumerate(args):
        for key in ROOT_ENV:
            if a == f"--{key}" and i + 1 < len(args):
                found[key] = args[i + 1]
            elif a.startswith(f"--{key}="):
                found[key] = a.split("=", 1)[1]
    return Roots(**{k: Path(found.get(k) or environ.get(env) or k) for k, env in ROOT_ENV.items()})



def demo_inputs(roots: Roots, *, limit: int = 12) -> dict[str, Path]:
    """Label -> audio file of the material ``make demo`` renders: sung and spoken voice, the demo's
    input phrase and a few trumpet melodies."""
    out: dict[str, Path] = {}
    groups = [(roots.data / "voice", "sung_*.wav", "voice"), (roots.data / "voice", "spoken_*.wav", "voice"),
              (roots.reports / "demo", "input.wav", "demo report"), (roots.data / "trumpet", "melody_*.wav", "trumpet")]
    for folder, pattern, label in groups:
        for p in sorted(folder.glob(pattern))[:limit]:
            out[f"{label}: {p.name}"] = p
    return out



def target_choices(roots: Roots) -> list[str]:
    """Target materials for cepstral and mosaic: rendered melody folders under ``data`` and each
    family's train split of each corpus (``data/gm:family=brass,split=train``)."""
    out = []
    data = Path(roots.data)
    if data.is_dir():
        out += [str(p) for p in sorted(data.iterdir()) if (p / "index.json").is_file() and any(p.glob("melody_*.wav"))]
    for corpus in list_corpora(data):
        fams = sorted({e["instrument_family_str"] for e in corpus_notes(corpus) if e["split"] == "train"})
        out += [f"{corpus}:family={f},split=train" for f in fams]
    return out
