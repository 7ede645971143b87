"""The live engine's reporting (live.report) on its own, without a stream: what the engine's threads
record comes back in the block log, the stats and the status line. The same figures through a real
stream are checked in test_live.py."""

from __future__ import annotations

import numpy as np
import pytest

from live.report import LATE, PREFILL, SILENT, STATS_LEN, XRUN, EngineReport, Latency, pct_text, reported_latency

B, SR = 128, 44100
DEVICES = ({"index": 3, "name": "system"}, {"index": 4, "name": "out"})
STATE = {"behind": False, "bypass": False, "worker_error": None, "device_error": None}


def _report(prefill_blocks: int = 3) -> EngineReport:
    return EngineReport(Latency(SR, 255, prefill_blocks * B, 0.0029, None), blocksize=B, devices=DEVICES,
                        warmup_load=0.123456)


def test_block_log_keeps_what_was_recorded_and_the_prefill():
    rep = _report()
    rep.log_block(3, 0, 0.0, 0.25)
    rep.log_block(4, LATE, 0.0, 0.0)
    rep.xrun(1, 4)
    log = rep.block_log(5)
    assert log["block"].tolist() == [0, 1, 2, 3, 4]
    assert log["flags"].tolist() == [PREFILL, PREFILL, PREFILL, 0, LATE | XRUN]
    assert log["g0"].tolist() == [0, 0, 0, 0, 0] and log["g1"].tolist() == [0, 0, 0, 0.25, 0]
    assert rep.counts["xruns"] == 1
    log["flags"][:] = SILENT  # a copy: the report is not changed through it
    assert rep.block_log(5)["flags"][0] == PREFILL


def test_block_log_wraps_at_stats_len():
    rep = _report()
    rep.log_block(STATS_LEN + 1, LATE, 1.0, 0.5)  # the same row as block 1
    log = rep.block_log(STATS_LEN + 2)
    assert log["block"][0] == 2 and log["block"][-1] == STATS_LEN + 1 and len(log["block"]) == STATS_LEN
    assert log["flags"][-1] == LATE and log["g0"][-1] == 1.0 and log["g1"][-1] == 0.5


def test_stats_keys_in_order_and_loads_over_recent_blocks():
    rep = _report()
    block_s = B / SR
    for i in range(100):
        rep.block_processed(effect_s=(0.1 if i < 90 else 0.5) * block_s, delivery_s=1.5 * block_s)
    rep.block_processed(effect_s=0.2 * block_s, delivery_s=None)  # late: its delivery not recorded
    rep.callback_load(0.2)
    rep.gc_pause(0.002)
    rep.counts["late_blocks"] = 1
    s = rep.stats(seconds=30.0, state={**STATE, "behind": True}, record_dropped_frames=7)
    assert list(s) == ["seconds", "samplerate", "blocksize", "prefill_blocks", "callbacks", "xruns", "late_blocks",
                       "fell_behind", "skipped_blocks", "nonfinite", "underruns", "gc_collections", "processed",
                       "xruns_per_minute", "fell_behind_per_minute", "behind", "bypass", "worker_error", "device_error",
                       "callback", "callback_wait_ms", "callback_load", "worker_load", "delivery_blocks", "warmup_load",
                       "gc_pause_ms", "record_dropped_frames", "latency", "devices"]
    assert s["processed"] == 101 and s["gc_collections"] == 1 and s["behind"] is True
    assert s["prefill_blocks"] == 3 and s["warmup_load"] == 0.1235 and s["record_dropped_frames"] == 7
    assert s["worker_load"]["median"] == pytest.approx(0.1) and s["worker_load"]["max"] == pytest.approx(0.5)
    assert s["delivery_blocks"] == {"median": 1.5, "p99": 1.5, "max": 1.5}
    assert s["gc_pause_ms"] == {"median": 2.0, "p99": 2.0, "max": 2.0}
    assert s["callback_load"] == {"median": 0.2, "p99": 0.2, "max": 0.2}
    assert s["latency"] == rep.latency.to_dict() and s["devices"] == {"input": "3 system", "output": "4 out"}
    recent = rep.stats(seconds=30.0, state=STATE, record_dropped_frames=0, recent=11)
    assert recent["worker_load"]["median"] == pytest.approx(0.5)  # the last 11: ten at 0.5, one at 0.2


def test_empty_report_has_no_loads():
    s = _report().stats(seconds=0.0, state=STATE, record_dropped_frames=0)
    assert s["worker_load"] == {"median": None, "p99": None, "max": None} and s["gc_pause_ms"] is None
    assert s["xruns_per_minute"] == 0.0


@pytest.mark.parametrize("state, shown", [
    ({}, "| ok |"),
    ({"bypass": True, "behind": True}, "| BYPASS |"),
    ({"behind": True}, "| BEHIND (dry) |"),
    ({"behind": True, "worker_error": "ValueError: x"}, "| EFFECT FAILED (dry): ValueError: x |"),
    ({"worker_error": "ValueError: x", "device_error": "gone"}, "| DEVICE LOST: gone |"),
])
def test_status_line_shows_the_state(state, shown):
    rep = _report()
    rep.block_processed(0.42 * B / SR, None)
    rep.callback_load(0.12)
    s = rep.stats(seconds=1.0, state={**STATE, **state}, record_dropped_frames=0, recent=rep.status_window)
    line = rep.status_line(s, params={"mix": 0.5, "gain": 2.0})
    assert line.startswith(f"latency {rep.latency.describe()} | callback 12% (max 12%) | effect 42% | xruns 0 | late 0 ")
    assert shown in line and line.endswith("| mix 0.50")
    assert rep.status_line(s, params={}, extra="midi 3").endswith(f"{shown} midi 3")
    assert rep.status_line(s, params={"alpha": 1.0}, extra="osc 1").endswith("| alpha 1.00 | osc 1")


def test_latency_figures_and_what_portaudio_reports():
    lat = Latency(SR, 255, 3 * B, 0.0029, None)
    assert lat.internal == 255 + 384
    assert lat.describe() == "17.4 ms (effect 5.8 + buffer 8.7 + in 2.9 + out n/a)"
    assert lat.to_dict()["output_ms"] is None and lat.to_dict()["total_ms"] == round(lat.total_ms, 3)
    assert reported_latency(0.0029) == 0.0029 and reported_latency(97000.0) is None and reported_latency(-1) is None
    assert pct_text(None) == "-" and pct_text(0.424) == "42%"
    assert _report().status_window == max(64, SR // B) and np.isclose(lat.ms(SR), 1e3)
