"""Control mapping, smoothing, notes and OSC on a real UDP socket (live.mapping, live.controlled_effect,
live.control_input), without audio
devices; the latent synthesizer offline (live.latent_synth). The JACK tests are in test_play.py."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from effects.base import check_mix_and_levels
from effects.dry import DryEffect
from live.control_input import Controller, OscInput
from live.controlled_effect import ControlledEffect
from live.latent_synth import LatentSynth
from live.mapping import Mapping, binding, default_mapping, load_mapping
from workbench.errors import ParameterError


class _Engine:
    bypass = False
    worker_priority = "normal"


@pytest.fixture(scope="module")
def synth_model(synth_run):
    from models.checkpoint import load_run

    return load_run(synth_run)


def _controlled(run, **kw):
    fx = ControlledEffect(LatentSynth(model=run, **kw), smooth_ms=5.0)
    fx.prepare(44100, 1, 128)
    return fx


# -- mapping ------------------------------------------------------------------------------------
def test_mapping_file_round_trip_and_curves(tmp_path):
    m = Mapping([binding("gain", cc=(1, 7)), binding("fader.3.scale", osc="/f3", lo=0.5, hi=1.5),
                 binding("bypass", cc=(1, 41))], smooth_ms=8.0)
    path = m.save(tmp_path / "map.toml")
    back = load_mapping(path)
    assert back.smooth_ms == 8.0 and back.bindings == m.bindings
    g = back.for_cc(1, 7)
    assert g.curve == "exp" and g.value(0.0) == pytest.approx(0.01) and g.value(1.0) == pytest.approx(2.0)
    assert g.value(0.5) == pytest.approx(np.sqrt(0.01 * 2.0))  # geometric middle
    assert back.for_osc("/f3").value(0.5) == pytest.approx(1.0)
    assert back.for_cc(1, 41).toggle


def test_default_layout_is_eight_faders_knobs_and_a_bypass_button():
    m = default_mapping()
    assert [m.for_cc(1, n).target for n in range(8)] == [f"fader.{n}.scale" for n in range(1, 9)]
    assert [m.for_cc(1, 16 + n).target for n in range(8)] == [f"fader.{n}.offset" for n in range(1, 9)]
    assert m.for_cc(1, 41).target == "bypass" and m.for_cc(1, 41).toggle
    assert m.for_osc("/workbench/fader/2/offset").target == "fader.2.offset"
    s = default_mapping(synth=True)
    assert [s.for_cc(1, n).target for n in range(8)] == [f"latent.{n}" for n in range(1, 9)]


@pytest.mark.parametrize("text, match", [
    ("[[control]]\ncc = [1, 7]\n", "has no target"),
    ("[[control]]\ncc = [17, 7]\ntarget = \"mix\"\n", r"cc=\[17, 7\]"),
    ("[[control]]\nosc = \"mix\"\ntarget = \"mix\"\n", "osc='mix'"),
    ("[[control]]\ncc = [1, 7]\ntarget = \"gain\"\nrange = [0, 2]\ncurve = \"exp\"\n", "exp curve needs"),
    ("[[control]]\ncc = [1, 7]\ntarget = \"mix\"\ncurve = \"log\"\n", "curve='log'"),
    ("[[control]]\ncc = [1, 7]\nosc = \"/a\"\ntarget = \"mix\"\n", "exactly one of"),
    ("[[control]]\ncc = [1, 7]\ntarget = \"mix\"\nfoo = 1\n", "unknown key"),
    ("control = [", "not valid TOML"),
])
def test_bad_mapping_files_raise_one_line(tmp_path, text, match):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ParameterError, match=match):
        load_mapping(p)


def test_unknown_targets_raise_for_a_users_file(synth_model):
    fx = _controlled(synth_model)
    with pytest.raises(ParameterError, match="'mix'"):
        Controller(fx, Mapping([binding("mix", cc=(1, 7))]), engine=_Engine())
    with pytest.raises(ParameterError, match="latent.9"):
        Controller(fx, Mapping([binding("latent.9", cc=(1, 7))]), engine=_Engine())
    with pytest.raises(ParameterError, match="learn"):
        Controller(fx, Mapping(), engine=_Engine(), learn="nothing")
    Controller(fx, default_mapping(synth=True), engine=_Engine(), strict=False)  # the layout drops what is missing


# -- smoothing, log, replay -----------------------------------------------------------------------
def test_changes_act_at_the_next_block_smoothed_and_replay_exactly(synth_model):
    fx = _controlled(synth_model, gate=False)  # as `workbench play --midi`: silent until a note
    ctl = Controller(fx, default_mapping(synth=True), engine=_Engine(), strict=False)
    x = np.zeros((1, 128), np.float32)
    out = []
    for b in range(150):
        if b == 10:
            ctl.cc(0, 0, 127)  # fader 1 -> latent unit 1 = 1.0
        if b == 40:
            ctl.note_on(62, 127)
        if b == 41:
            ctl.note_on(65, 40)  # last-note priority
        if b == 60:
            ctl.note_off(65)  # back to the held D
        if b == 80:
            ctl.note_off(62)  # release
        out.append(fx.process_block(x))
    y = np.concatenate(out, 1)[0]
    log = fx.control_log()
    steps = fx._steps  # ceil(5 ms / 2.9 ms) = 2 blocks
    assert steps == 2
    lat = [(b, v) for b, n, v in zip(log["block"], log["name"], log["value"]) if n == "latent.0"]
    assert lat == [(10, pytest.approx(0.75)), (11, pytest.approx(1.0))]  # from 0.5 in two equal steps
    chroma = [(b, v) for b, n, v in zip(log["block"], log["name"], log["value"]) if n == "chroma"]
    assert chroma == [(40, 2), (41, 5), (60, 2)]
    gate = [(b, v) for b, n, v in zip(log["block"], log["name"], log["value"]) if n == "gate"]
    assert gate == [(40, True), (80, False)]
    assert ctl.counts()["notes"] == 2
    # silent before the first note; the release: 150 ms to silence after block 80
    assert np.abs(y[:40 * 128]).max() == 0.0 and np.abs(y[40 * 128:41 * 128]).max() > 0
    assert np.abs(y[-128 * 10:]).max() == 0.0 and np.abs(y[80 * 128:81 * 128]).max() > 0
    replay = ControlledEffect(LatentSynth(model=synth_model, gate=False), script=log)
    replay.prepare(44100, 1, 128)
    y2 = np.concatenate([replay.process_block(x) for _ in range(150)], 1)[0]
    np.testing.assert_array_equal(y, y2)


def test_synth_render_is_independent_of_block_cuts_and_changes_with_the_latent(synth_model):
    s = LatentSynth(model=synth_model, chroma=9)
    a = s.render(0.5, blocksize=128)
    b = s.render(0.5, blocksize=128)
    np.testing.assert_array_equal(a, b)
    c = s.render(0.5, blocksize=64)  # the same hops, cut differently
    np.testing.assert_allclose(a, c, atol=1e-6)
    far = s.render(0.5, schedule=[(0.0, {"latent": [0.05] * s.latent_dim, "chroma": 2})])
    assert np.sqrt(np.mean((far - a) ** 2)) > 0.01
    assert s.get_params()["chroma"] == 9  # render leaves the parameters as they were
    assert np.isfinite(a).all() and 0.05 < np.abs(a).max() < 1.0


def test_synth_rejects_bad_parameters(synth_model, tiny_run):
    s = LatentSynth(model=synth_model)
    for kw, match in ((dict(chroma=12), "chroma=12"), (dict(latent=[0.5]), "expected 8"),
                      (dict(gain=-1), "gain=-1"), (dict(phase="gl"), "phase='gl'"), (dict(gate=1), "gate=1")):
        with pytest.raises(ParameterError, match=match):
            s.set_params(**kw)
    with pytest.raises(ParameterError, match="model.output=spectrum"):
        LatentSynth(model=tiny_run)


# -- learn, malformed input, flood over real UDP ---------------------------------------------------
def test_learn_binds_the_next_control(synth_model, tmp_path):
    learned = []
    fx = _controlled(synth_model)
    ctl = Controller(fx, Mapping(), engine=_Engine(), learn="latent.2", on_learn=learned.append)
    ctl.cc(3, 21, 64)
    assert learned and learned[0].cc == (4, 21) and learned[0].target == "latent.2"
    ctl.cc(3, 21, 127)
    fx.process_block(np.zeros((1, 128), np.float32))
    assert ctl.mapping.for_cc(4, 21).target == "latent.2" and ctl.counts()["learned"] == 1
    ctl.mapping.save(tmp_path / "m.toml")
    assert load_mapping(tmp_path / "m.toml").for_cc(4, 21).target == "latent.2"


def _udp(port: int):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    return s


def test_osc_malformed_unknown_out_of_range_and_a_flood_are_counted(synth_model):
    from pythonosc.osc_message_builder import OscMessageBuilder

    def msg(addr, *args):
        b = OscMessageBuilder(address=addr)
        for a in args:
            b.add_arg(a)
        return b.build().dgram

    fx = _controlled(synth_model)
    eng = _Engine()
    ctl = Controller(fx, default_mapping(synth=True), engine=eng, strict=False)
    osc = OscInput(ctl, 0)
    try:
        with pytest.raises(ParameterError, match=f"OSC port 127.0.0.1:{osc.port} could not be opened"):
            OscInput(ctl, osc.port)
        s = _udp(osc.port)
        kinds = {"good": msg("/workbench/latent/1", 0.25), "unknown": msg("/nowhere", 0.5),
                 "range": msg("/workbench/latent/1", 7.0), "args": msg("/workbench/latent/1", "loud"),
                 "bytes": b"\x00garbage\x01\x02", "bypass": msg("/workbench/bypass", 1.0)}
        for k in kinds.values():
            s.send(k)
        time.sleep(0.3)
        c = ctl.counts()
        assert c["unknown"] == 1 and c["out_of_range"] == 1 and c["malformed"] == 2 and c["applied"] == 2, c
        assert eng.bypass is True
        # a flood: 10,000 messages in about a second, a fifth of them bad
        before = ctl.counts()["messages"]
        t0 = time.monotonic()
        x = np.zeros((1, 128), np.float32)
        for i in range(10_000):
            s.send(kinds["bytes"] if i % 5 == 0 else msg("/workbench/latent/2", (i % 100) / 100))
            if i % 29 == 0:
                fx.process_block(x)  # the processing thread goes on meanwhile
            if i % 1000 == 999:
                time.sleep(max(0.0, (i + 1) / 10_000 - (time.monotonic() - t0)))
        deadline = time.monotonic() + 5
        while ctl.counts()["messages"] - before < 10_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        c = ctl.counts()
        print("flood:", c, f"{time.monotonic() - t0:.2f} s")
        assert c["messages"] - before == 10_000 and c["malformed"] == 2 + 2000
        for _ in range(fx._steps):  # the ramp's blocks
            fx.process_block(x)
        assert fx.get_params()["latent"][1] == pytest.approx(0.99, abs=1e-6)  # the last value won
    finally:
        osc.close()


class _Knobs(DryEffect):
    """A real (if plain) effect with the parameters `live` effects expose: it scales its input by
    mix, gain and the first fader, so each control is audible (the dry effect's zero latency and
    empty state)."""

    _param_names = ("mix", "gain_db", "alpha", "mode", "scale", "offset", "octave_shift")

    def __init__(self):
        super().__init__()
        self.mix, self.gain_db, self.alpha, self.mode, self.octave_shift = 1.0, 0.0, 0.0, "blend", 0
        self.scale, self.offset = (1.0,) * 8, (0.0,) * 8

    def _check_param(self, name, value):
        check_mix_and_levels(name, value)
        if name == "mode" and value not in ("blend", "shift", "linear"):
            raise ParameterError(f"mode={value!r}")

    def _process(self, x):
        return x * self.mix * 10 ** (self.gain_db / 20) * float(self.scale[0])


def test_live_targets_faders_gain_mode_octave_and_the_bypass_button():
    fx = ControlledEffect(_Knobs(), smooth_ms=0.0)
    fx.prepare(44100, 1, 128)
    eng = _Engine()
    m = default_mapping()
    m.add(binding("gain", cc=(2, 1)))
    m.add(binding("mode", cc=(2, 2)))
    m.add(binding("octave", cc=(2, 3)))
    ctl = Controller(fx, m, engine=eng, strict=False)
    ctl.cc(0, 1, 127)  # fader 2 -> scale of unit 2 = 2.0
    ctl.cc(0, 16 + 2, 0)  # knob 3 -> offset of unit 3 = -1.0
    ctl.cc(1, 1, 0)  # gain 0.01 -> -40 dB
    ctl.cc(1, 2, 127)  # mode: the last choice
    ctl.cc(1, 3, 127)  # octave +2
    ctl.osc("/workbench/mix", [0.25])
    y = fx.process_block(np.ones((1, 128), np.float32))
    p = fx.get_params()
    assert p["scale"][1] == 2.0 and p["offset"][2] == -1.0 and p["gain_db"] == pytest.approx(-40.0)
    assert p["mode"] == "linear" and p["octave_shift"] == 2 and p["mix"] == 0.25
    np.testing.assert_allclose(y, 0.25 * 0.01, rtol=1e-5)  # heard in the very next block (no smoothing)
    for value, expect in ((127, True), (0, True), (100, False), (0, False)):  # press, release, press, release
        ctl.cc(0, 41, value)
        assert eng.bypass is expect
    assert ctl.counts()["applied"] == 10
