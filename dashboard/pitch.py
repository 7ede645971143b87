"""Page 2: an evaluation report (pitch protocol / scoreboard): the table, every note, one note's f0."""

from __future__ import annotations

import streamlit as st

from analysis import scoreboard as sb
from analysis.pitch_notes import note_window
from analysis.report_scan import scan_reports
from analysis.scoreboard import METRICS
from dashboard import common, plots
from workbench.errors import ParameterError

ALL = "all"


roots = common.page("Pitch evaluation", "Seed 003's protocol: random notes sung through every method; a note is lost "
                    "when the output's median f0 strays more than the tolerance from it. Open a report, filter its "
                    "notes and look at one.")
folder = common.pick_report(roots, scan_reports(roots.reports), "evaluation", "Report", key="pitch_report",
                            missing=f"No evaluation report under {roots.reports} yet (`make demo` writes one to "
                                    f"{roots.reports}/demo/scoreboard)")
if folder is None:
    st.stop()
rep = common.read_cached(sb.load_eval_report, folder, stamp_of=folder / "notes.csv")
p = rep["protocol"]
if p:
    st.caption(f"{p.get('melodies')} melodies x {p.get('notes')} notes ({p.get('source')}, MIDI {p.get('low')}-"
               f"{p.get('high')}), classes {', '.join(rep['classes'])}; tracker {p.get('tracker')}, tolerance "
               f"{p.get('tolerance')} cents.")

if rep["scoreboard"]:
    st.subheader("Scoreboard")
    labels = {k: label for k, label, _ in METRICS}
    st.dataframe([{"method": r["method"], **{labels[k]: r.get(k) for k in labels},
                   "judge's usual verdict": r.get("labelled_as")} for r in rep["scoreboard"]],
                 hide_index=True, key="pitch_board")
    key = st.selectbox("Chart", list(labels), format_func=labels.get, key="pitch_metric")
    higher = {k: h for k, _, h in METRICS}[key]
    rows = [r for r in rep["scoreboard"] if r.get(key) is not None and r.get(key) == r.get(key)]
    st.plotly_chart(plots.bars([r["method"] for r in rows], [r[key] for r in rows],
                               f"{labels[key]} ({'higher' if higher else 'lower'} is better)"), key="pitch_bars")
elif rep["by_method"]:
    st.subheader("Notes lost per method")
    st.dataframe([{"method": m, **s} for m, s in rep["by_method"].items()], hide_index=True)
if rep["per_class"]:
    with st.expander("Per method and class"):
        st.dataframe(rep["per_class"], hide_index=True)

st.subheader("Notes")
if not rep["notes"]:
    st.info(f"{folder} has no notes.csv; re-run `workbench evaluate` to write it.")
    st.stop()
c1, c2, c3 = st.columns([2, 2, 1])
method = c1.selectbox("Method", [ALL, *rep["methods"]], key="pitch_method")
cls = c2.selectbox("Class", [ALL, *rep["classes"]], key="pitch_class")
lost_only = c3.checkbox("Lost notes only", key="pitch_lost")
rows = sb.filter_notes(rep["notes"], method=None if method == ALL else method, cls=None if cls == ALL else cls,
                       lost_only=lost_only)
st.dataframe(rows, hide_index=True, key="pitch_notes")
st.caption(f"{len(rows)} notes, {sum(not r['kept'] for r in rows)} lost.")
if not rows:
    st.stop()

labels = [f"{r['method']} · {r['class']} · {r['melody']} · note {r['note']} (MIDI {r['pitch']}) · "
          f"{'kept' if r['kept'] else 'LOST'}" for r in rows]
i = st.selectbox("Note to inspect", range(len(rows)), format_func=labels.__getitem__, key="pitch_pick")
row = rows[i]
try:
    inp, out = sb.eval_audio_paths(rep, method=row["method"], cls=row["class"], melody=row["melody"])
except ParameterError as err:
    st.error(str(err))
    st.stop()
sr, tracker = int(p.get("sr", 16000)), p.get("tracker", "pyin")
t_in = common.track_file(str(inp), common.mtime(inp), sr, tracker)
t_out = common.track_file(str(out), common.mtime(out), sr, tracker)
same = sb.filter_notes(rep["notes"], method=row["method"], cls=row["class"])
same = [r for r in same if r["melody"] == row["melody"]]
notes = rep["melodies"].get(row["melody"]) or [{"onset": r["onset"], "offset": r["offset"], "pitch": r["pitch"]}
                                                for r in sorted(same, key=lambda r: r["note"])]
pad = st.slider("Context around the note (s)", 0.0, 3.0, 1.0, 0.25, key="pitch_pad")
win = note_window(notes, same, t_in, t_out, note=int(row["note"]), pad=pad)
st.plotly_chart(plots.note_f0(win, f"{row['melody']}, note {row['note']}: MIDI {row['pitch']} through "
                                   f"{row['method']} ({row['class']})"), key="pitch_f0")
cents = row.get("output_cents")
st.caption(f"Output median f0 {row['output_f0']:.1f} Hz, {cents:+.0f} cents off the note" if cents == cents
           else "The output is unvoiced in the note's steady part (lost).")
a, b = st.columns(2)
a.markdown("**input**")
a.audio(str(inp), start_time=int(max(row["onset"] - 0.5, 0)))
b.markdown(f"**output ({row['method']}, {row['class']})**")
b.audio(str(out), start_time=int(max(row["onset"] - 0.5, 0)))
