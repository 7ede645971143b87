"""The doctor's report folder: ``doctor.json`` (everything) and ``doctor.md`` (for people), and its reader."""

from __future__ import annotations

import json
import os
from pathlib import Path

from workbench.errors import ParameterError

__all__ = ["write_report", "load_report", "format_markdown"]

_MAX_ROWS = 200  # per-file rows in the markdown; the JSON holds them all


def _mmss(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


def format_markdown(r: dict) -> str:
    """The report as markdown: verdict, findings with actions, figures, pitch histogram, files.

    Parameters
    ----------
    r : dict
        From :func:`analysis.doctor.examine`.

    Returns
    -------
    str
    """
    t, lv, p, tr = r["totals"], r["levels"], r["pitch"], r["training"]
    lines = [f"# Doctor: {r['target']}", "", f"**Verdict: {r['verdict']['verdict']}** — {r['verdict']['reason']}", "",
             "## Findings", ""]
    for f in r["findings"]:
        lines.append(f"- **{f['level']}** ({f['check']}): {f['message']}" + (f" — *do:* {f['action']}" if f["action"]
                                                                              else ""))
    loud = lv["loudness_dbfs"]
    lines += ["", "## Figures", "", "| measure | value |", "|---|---|",
              f"| duration | {t['seconds']:.1f} s in {t['readable']} of {t['files']} files |",
              f"| usable (pitched, above the floor) | {t['usable_seconds']:.1f} s |",
              f"| read / pitch-tracked | {t['analysed_seconds']:.1f} s / {p['tracked_seconds']:.1f} s |",
              f"| noise floor | {lv['noise_floor_dbfs']} dBFS |", f"| silence (< -60 dBFS) | {lv['silence_share']} |",
              f"| clipped samples | {lv['clipped_share']:.2e} |", f"| largest DC offset | {lv['max_dc']} |",
              f"| loudness p5 / p50 / p95 | {loud['p5']} / {loud['p50']} / {loud['p95']} dBFS |",
              f"| RT60 | {r['reverb']['rt60_s']} s ({r['reverb']['decays']} decays; {r['reverb']['method']}) |",
              f"| pitch p5 / p50 / p95 | {p['p5']} / {p['p50']} / {p['p95']} MIDI |"]
    for name, c in p["coverage"].items():
        lines.append(f"| {name} range MIDI {c['low']}-{c['high']} covered | {100 * c['share']:.0f} % |")
    lines += ["", "## Training time on this machine", "",
              f"- autoencoder: about {tr['autoencoder']['epoch_s']} s per epoch, at most "
              f"{tr['autoencoder']['max_epochs']} epochs = {_mmss(tr['autoencoder']['max_s'])} (early stopping often "
              "ends sooner)",
              f"- DDSP-style: {_mmss(tr['ddsp']['controls_s'])} of CREPE controls, then "
              f"{_mmss(tr['ddsp']['low_s'])} to {_mmss(tr['ddsp']['high_s'])} in all (training capped at "
              f"{tr['ddsp']['cap_s']:.0f} s)", f"- throughput: {tr['source']}", "", "## Pitch histogram (MIDI)", ""]
    if p["histogram"]:
        top = max(p["histogram"].values())
        for k, v in sorted(p["histogram"].items(), key=lambda kv: int(kv[0])):
            lines.append(f"    {int(k):3d} {'#' * max(1, round(40 * v / top))} {100 * v:.1f} %")
    else:
        lines.append("(no pitched frames)")
    lines += ["", "## Files", "", "| file | s | Hz | ch | format | peak dBFS | clipped |", "|---|---|---|---|---|---|---|"]
    for f in r["files"][:_MAX_ROWS]:
        lines.append(f"| {Path(f['path']).name} | {f['seconds']:.1f} | {f['sr']} | {f['channels']} | {f['subtype']} | "
                     f"{f['peak_dbfs']} | {f['clipped_share']:.1e} |")
    if len(r["files"]) > _MAX_ROWS:
        lines.append(f"| ... {len(r['files']) - _MAX_ROWS} more in doctor.json | | | | | | |")
    return "\n".join(lines) + "\n"


def write_report(r: dict, out: str | os.PathLike) -> Path:
    """Write ``doctor.json`` and ``doctor.md`` into the folder ``out`` (made if needed).

    Parameters
    ----------
    r : dict
        From :func:`analysis.doctor.examine`.
    out : str or PathLike
        The report folder.

    Returns
    -------
    Path
        The folder.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "doctor.json").write_text(json.dumps(r, indent=1, default=str))
    (out / "doctor.md").write_text(format_markdown(r))
    return out


def load_report(folder: str | os.PathLike) -> dict:
    """Read a report folder's ``doctor.json`` back.

    Parameters
    ----------
    folder : str or PathLike
        A folder :func:`write_report` wrote.

    Returns
    -------
    dict
        The examination (histogram keys come back as strings, as JSON keeps them).
    """
    f = Path(folder) / "doctor.json"
    if not f.is_file():
        raise ParameterError(f"{str(f)!r} does not exist; expected a folder written by `workbench doctor`")
    return json.loads(f.read_text())
