"""Findings, each with what to do, and the verdict, from an examination's figures.

Levels: ``ok`` (said for completeness), ``info`` (worth knowing), ``warn`` (costs quality; the
verdict becomes "usable with caveats") and ``bad`` (the material cannot train a model as it is).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["NOT_ENOUGH_SECONDS", "READY_SECONDS", "findings", "verdict"]

# Usable (pitched, above the floor) seconds: below the first the models learn next to nothing
# (they refuse below 2 s); the demo's instruments train on about five minutes, and two minutes
# is the least that covered a melody instrument's range in the corpus renders.
NOT_ENOUGH_SECONDS = 10.0
READY_SECONDS = 120.0
_LOSSY = {"VORBIS", "OPUS", "MPEG_LAYER_III", "MPEG_LAYER_II", "MPEG_LAYER_I"}


def _f(check: str, level: str, message: str, action: str = "") -> dict:
    return {"check": check, "level": level, "message": message, "action": action}


def _names(paths: list, n: int = 3) -> str:
    return ", ".join(Path(p).name for p in paths[:n]) + (f" and {len(paths) - n} more" if len(paths) > n else "")


def findings(r: dict) -> list[dict]:
    """The findings of an examination (see :func:`analysis.doctor.examine`).

    Parameters
    ----------
    r : dict
        The examination so far (everything but ``findings`` and ``verdict``).

    Returns
    -------
    list of dict
        Each with ``check``, ``level``, ``message`` and ``action`` (what to do; empty for ``ok``).
    """
    out, t, lv, p = [], r["totals"], r["levels"], r["pitch"]
    for u in r["unreadable"]:
        out.append(_f("files", "warn", f"unreadable, skipped: {u['reason']}", "re-export the file or remove it"))
    if r["other_files"]:
        out.append(_f("files", "info", f"{len(r['other_files'])} non-audio files ignored ({_names(r['other_files'])})"))
    out.append(_f("duration", "ok", f"{t['seconds']:.1f} s in {t['readable']} readable files; usable (pitched, above "
                                    f"the floor) about {t['usable_seconds']:.1f} s"))
    if t["sampled"]:
        out.append(_f("duration", "info", f"long material: the level pass read {t['analysed_seconds']:.0f} of "
                                          f"{t['seconds']:.0f} s as evenly spaced excerpts; pitch was tracked on "
                                          f"{p['tracked_seconds']:.0f} s", "figures are estimates from the sample"))
    rates = r["formats"]["sr"]
    if len(rates) > 1:
        out.append(_f("format", "info", f"mixed sample rates ({', '.join(f'{k} Hz x{v}' for k, v in rates.items())})",
                      "none needed: training resamples to the model's rate"))
    low = [f["path"] for f in r["files"] if f["sr"] < r["too_short"]["sr"]]
    if low:
        out.append(_f("format", "warn", f"{len(low)} files below the model's {r['too_short']['sr']} Hz "
                                        f"({_names(low)}): band-limited", "use recordings at 16 kHz or more"))
    many = [f["path"] for f in r["files"] if f["channels"] > 2]
    if many:
        out.append(_f("format", "warn", f"{len(many)} files with more than 2 channels ({_names(many)}); training "
                                        "averages all channels to mono", "export the instrument's own channel as mono"))
    if len(r["formats"]["channels"]) > 1:
        out.append(_f("format", "info", f"mixed channel counts ({', '.join(r['formats']['channels'])}); training "
                                        "mixes to mono"))
    if len(r["formats"]["subtype"]) > 1:
        out.append(_f("format", "info", f"mixed sample formats ({', '.join(r['formats']['subtype'])})"))
    lossy = [f["path"] for f in r["files"] if f["subtype"] in _LOSSY]
    if lossy:
        out.append(_f("format", "info", f"{len(lossy)} lossy files ({_names(lossy)})", "prefer the lossless originals"))
    clip = lv["clipped_share"]
    if clip > 1e-4:
        bad = [f["path"] for f in r["files"] if f["clipped_share"] > 1e-4]
        out.append(_f("clipping", "warn", f"{100 * clip:.2f} % of samples clipped ({_names(bad)})",
                      "re-record with more headroom or leave the clipped takes out"))
    if lv["max_dc"] > 0.005:
        out.append(_f("dc", "warn", f"DC offset up to {lv['max_dc']:.3f} of full scale",
                      "high-pass the files at 20 Hz (sox in.wav out.wav highpass 20)"))
    if lv["silence_share"] is not None and lv["silence_share"] > 0.5:
        out.append(_f("silence", "warn", f"{100 * lv['silence_share']:.0f} % of the material is below -60 dBFS",
                      "trim long silences (sox ... silence 1 0.1 1% -1 0.5 1%): epochs spend time on them"))
    if lv["noise_floor_dbfs"] is None:
        out.append(_f("noise", "info", "no pauses to measure the noise floor in (the quietest frames are playing)"))
    elif lv["noise_floor_dbfs"] > -50:
        out.append(_f("noise", "warn", f"noise floor {lv['noise_floor_dbfs']:.0f} dBFS",
                      "record in a quieter place or denoise; the model learns the hiss as part of the timbre"))
    rv = r["reverb"]
    if rv["rt60_s"] is None:
        out.append(_f("reverb", "info", f"reverberation not measured: {rv['decays']} note decays could be "
                                        "fitted (legato or continuous material, or notes cut off dry)"))
    elif rv["rt60_s"] > 0.8:
        out.append(_f("reverb", "warn", f"reverberant: RT60 about {rv['rt60_s']:.2f} s over {rv['decays']} decays",
                      "record closer or in a drier room; the model learns the room as part of the instrument"))
    else:
        out.append(_f("reverb", "ok", f"RT60 about {rv['rt60_s']:.2f} s over {rv['decays']} decays"))
    tracked = p["tracked_seconds"]
    if t["readable"] and p["usable_share"] < 0.05:
        out.append(_f("pitch", "bad", f"almost no pitched material: {100 * p['usable_share']:.1f} % of {tracked:.0f} s "
                                      "tracked (noise, drums or silence?)",
                      "the methods learn pitched instruments: give recordings of notes"))
    if p["p5"] is not None:
        for name, c in p["coverage"].items():
            if c["share"] < 0.5:
                out.append(_f("pitch", "warn", f"covers {100 * c['share']:.0f} % of the {name} range (MIDI "
                                               f"{c['low']}-{c['high']}); the material spans MIDI {p['p5']:.0f}-"
                                               f"{p['p95']:.0f}", "add notes across that range; outside it a model "
                                                                 "repeats its nearest trained note's timbre"))
    loud = lv["loudness_dbfs"]
    if loud["p5"] is not None and loud["p95"] - loud["p5"] < 6:
        out.append(_f("dynamics", "info", f"narrow dynamics: 90 % of sounding frames within {loud['p95'] - loud['p5']:.1f} dB",
                      "add soft and loud playing if the model should follow dynamics"))
    short = r["too_short"]
    if short["files"]:
        out.append(_f("length", "warn", f"{len(short['files'])} files shorter than one model frame ({short['n_fft']} "
                                        f"samples at {short['sr']} Hz) ({_names(short['files'])})",
                      "join them into longer takes or remove them: training refuses them"))
    for g in r["duplicates"]:
        out.append(_f("duplicates", "warn", f"same audio in {len(g)} files ({_names(g)})",
                      "keep one: copies weigh double and can land on both sides of the valid split"))
    j = r["judge"]
    if not j["ran"]:
        out.append(_f("judge", "info", f"voice/instrument check skipped: {j['why']}"))
    elif j["windows"]:
        top = max(j["shares"], key=j["shares"].get)
        if j["shares"].get("voice", 0) > 0.3:
            out.append(_f("judge", "warn", f"{100 * j['shares']['voice']:.0f} % of windows sound like a voice",
                          "leave speech and singing out of instrument material"))
        if j["family"] and top != j["family"]:
            out.append(_f("judge", "warn", f"sounds most like {top} ({100 * j['shares'][top]:.0f} % of windows), "
                                           f"not {j['family']}", "check the files are the instrument meant"))
    usable = t["usable_seconds"]
    if t["readable"] and NOT_ENOUGH_SECONDS <= usable < READY_SECONDS:
        out.append(_f("amount", "warn", f"only {usable:.0f} s usable", f"record {READY_SECONDS / 60:.0f} minutes or "
                                                                        "more of the instrument across its range"))
    return out


def verdict(r: dict) -> dict:
    """Ready, usable with caveats, or not enough, with a one-line reason.

    Parameters
    ----------
    r : dict
        The examination with its ``findings``.

    Returns
    -------
    dict
        ``verdict`` and ``reason`` (one line naming the material).
    """
    t, usable = r["totals"], r["totals"]["usable_seconds"]
    if not t["readable"]:
        return {"verdict": "not enough", "reason": f"{r['target']}: no readable audio file among {t['files']}"}
    if usable < NOT_ENOUGH_SECONDS:
        return {"verdict": "not enough",
                "reason": f"{r['target']}: {usable:.1f} s of usable pitched material (of {t['seconds']:.1f} s in "
                          f"{t['readable']} readable files); training needs at least {NOT_ENOUGH_SECONDS:g} s"}
    warn = [f for f in r["findings"] if f["level"] in ("warn", "bad")]
    if warn:
        return {"verdict": "usable with caveats",
                "reason": f"{r['target']}: {usable:.0f} s usable; {len(warn)} findings to look at "
                          f"({', '.join(sorted({f['check'] for f in warn}))})"}
    return {"verdict": "ready", "reason": f"{r['target']}: {usable:.0f} s usable, no findings against it"}
