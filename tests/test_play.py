"""The latent synthesizer and MIDI/OSC control on real ports (issue 15): a JACK dummy server,
JACK MIDI from a mido/rtmidi client of its own, OSC over UDP on the loopback interface.

What is compared: the engine's recorded output against the offline synth driven by the
control log (the same values at the same blocks) and rebuilt with the engine's block log
(``tests.live_oracle.expected_output``): max abs error < 1e-6 (float32 rounding; about 3e-8 is
measured).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import run_cli
from tests.jack_loop import c_loop_late_clients
from tests.test_live import _jackd_xruns, jack, live_material, needs_jack  # noqa: F401 - fixtures

TOL = 1e-6


def _first_applications(log: dict) -> list[str]:
    """The slot names of a control log's first applications of a target (ramp steps left out)."""
    return [n for n, d in zip(log["name"], log["delay_s"]) if np.isfinite(d)]


def _osc(addr: str, *args) -> bytes:
    from pythonosc.osc_message_builder import OscMessageBuilder

    b = OscMessageBuilder(address=addr)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def _udp(port: int):
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    return s


def _jack_midi_out(name: str):
    import mido

    return mido.Backend("mido.backends.rtmidi/UNIX_JACK").open_output("faders", virtual=True, client_name=name)


def _engine(run, tmp_path, *, blocksize=128, gate=False):
    from live.control_input import Controller
    from live.controlled_effect import ControlledEffect
    from live.engine import LiveEngine
    from live.latent_synth import LatentSynth
    from live.mapping import default_mapping

    fx = ControlledEffect(LatentSynth(model=run, gate=gate, release_ms=50.0), smooth_ms=5.0)
    # 8 blocks of buffer: a worker stalled that long by other processes would skip blocks, and the
    # replay needs every block
    engine = LiveEngine(fx, blocksize=blocksize, prefill=8, record=tmp_path / "play.wav")
    ctl = Controller(fx, default_mapping(synth=True), engine=engine, strict=False)
    return engine, fx, ctl


def _replay(run, fx, log_engine, n, *, blocksize, delay, gate=False, upto=None):
    """The offline synth under the run's control log (changes before block ``upto`` only, if
    given), rebuilt as the engine played it: ``(n,)``."""
    from live.controlled_effect import ControlledEffect
    from live.latent_synth import LatentSynth
    from tests.live_oracle import expected_output

    log = fx.control_log()
    if upto is not None:
        keep = log["block"] < upto
        log = {**log, "block": log["block"][keep], "slot": log["slot"][keep],
               "value": [v for v, k in zip(log["value"], keep) if k]}
    rep = ControlledEffect(LatentSynth(model=run, gate=gate, release_ms=50.0), script=log)
    rep.prepare(44100, 1, blocksize)
    blocks = n // blocksize
    x = np.zeros((1, blocksize), np.float32)
    wet = np.concatenate([rep.process_block(x) for _ in range(blocks)], 1)
    dry = np.zeros_like(wet)  # the dummy server's capture is silent
    return expected_output(dry, wet, log_engine, blocksize=blocksize, delay=delay)[0]


@needs_jack
def test_fader_sweep_over_jack_midi_and_osc_plays_as_offline(jack, synth_run, tmp_path):  # noqa: F811
    """Notes and a fader sweep from a JACK MIDI client, then a latent sweep and a gain step over
    OSC, while the synth streams: the recording equals the offline synth under the same control
    log; the control's delay to the audible change is measured in the recording itself."""
    from live.control_input import MidiInput, OscInput

    jack(44100, 128)
    out = _jack_midi_out("wbsender")
    engine, fx, ctl = _engine(synth_run, tmp_path)
    midi = MidiInput(ctl, "wbsender", api="jack")
    osc = OscInput(ctl, 0)
    sock = _udp(osc.port)
    import mido

    try:
        engine.start()
        B, sr = engine.blocksize, engine.sr
        time.sleep(0.2)
        out.send(mido.Message("note_on", note=69, velocity=127))
        for v in range(0, 128, 4):  # fader 1 -> latent unit 1, over about 0.3 s
            out.send(mido.Message("control_change", control=0, value=v))
            time.sleep(0.01)
        out.send(mido.Message("note_on", note=62, velocity=127))
        for v in range(0, 101, 4):  # OSC: latent unit 2
            sock.send(_osc("/workbench/latent/2", v / 100))
            time.sleep(0.01)
        time.sleep(0.2)
        c_send = engine.report.counts["callbacks"]
        sock.send(_osc("/workbench/gain", 0.0))  # -40 dB
        time.sleep(0.3)
        out.send(mido.Message("note_off", note=62))
        out.send(mido.Message("note_off", note=69))
        time.sleep(0.2)
        stats = engine.stop()
    finally:
        engine.stop()
        midi.close()
        osc.close()
        out.close()
    counts = ctl.counts()
    assert counts["notes"] == 2 and counts["unknown"] == counts["malformed"] == 0, counts
    both, _ = sf.read(tmp_path / "play.wav", dtype="float32")
    rec = both[:, 1]
    log_engine = engine.block_log()
    n = (len(rec) // B) * B
    assert stats["skipped_blocks"] == 0, f"the synth thread skipped {stats['skipped_blocks']} blocks"
    exp = _replay(synth_run, fx, log_engine, n, blocksize=B, delay=engine.latency.internal)
    err = float(np.abs(rec[:n] - exp).max())
    assert err < TOL, f"recording differs from the offline replay by {err}"
    names = fx.control_log()["name"]
    # a target's first application per message at most (32 CC values, 26 OSC values; the later
    # steps of a ramp have no arrival delay), most of them applied apart
    firsts = _first_applications(fx.control_log())
    assert 20 <= firsts.count("latent.0") <= 32 and 20 <= firsts.count("latent.1") <= 26 and "chroma" in names
    # the sweep changed the sound: the first and last 0.1 s of the sweep differ
    lg = fx.control_log()
    b0 = int(lg["block"][names.index("latent.0")]) + engine.latency.internal // B
    seg = int(0.1 * sr)
    a, z = rec[b0 * B: b0 * B + seg], rec[b0 * B + int(0.25 * sr): b0 * B + int(0.25 * sr) + seg]
    assert np.abs(a).max() > 0.02 and np.sqrt(np.mean((a - z) ** 2)) > 0.01
    # control -> audible: the first sample where the recording leaves the replay without the gain step
    step = int(lg["block"][[i for i, nm in enumerate(names) if nm == "gain"][-1 - (fx._steps - 1)]])
    without = _replay(synth_run, fx, log_engine, n, blocksize=B, delay=engine.latency.internal, upto=step)
    audible = int(np.flatnonzero(np.abs(rec[:n] - without) > 1e-4)[0])
    P = engine.latency.prefill // B
    delay_blocks = audible / B - c_send
    smooth_ms = 1e3 * fx._steps * B / sr
    print(f"control -> audible: {1e3 * delay_blocks * B / sr:.1f} ms after the callback count read at sending "
          f"({delay_blocks:.2f} blocks; the engine's fixed buffer is {P} blocks = {1e3 * P * B / sr:.1f} ms, "
          f"smoothing {smooth_ms:.1f} ms); arrival to applied {1e3 * lg['delay_s'][np.isfinite(lg['delay_s'])].max():.2f} "
          f"ms max; xruns {stats['xruns']}")
    # applied at the first block after arrival, heard once the pre-filled blocks have played
    assert delay_blocks <= P + 1 + 1e-9


@needs_jack
def test_malformed_and_a_flood_do_not_stop_the_audio(jack, synth_run, tmp_path):  # noqa: F811
    """10,000 OSC messages a second for a second (a fifth malformed, some unknown, some out of range)
    and malformed MIDI bytes while the synth plays: nothing raises, everything is counted, the
    stream keeps its pace and the sound goes on."""
    from live.control_input import MidiInput, OscInput

    jack(44100, 256)
    out = _jack_midi_out("wbflood")
    engine, fx, ctl = _engine(synth_run, tmp_path, blocksize=256, gate=True)
    midi = MidiInput(ctl, "wbflood", api="jack")
    osc = OscInput(ctl, 0)
    sock = _udp(osc.port)
    good, unknown, bad, high = (_osc("/workbench/latent/3", 0.3), _osc("/nope", 1.0), b"#bundle\x00garbage",
                                _osc("/workbench/latent/3", 1e9))
    try:
        engine.start()
        time.sleep(0.3)
        c0, t0 = engine.report.counts["callbacks"], time.monotonic()
        for raw in ([0xB0, 0], [0xF4], [0xB0, 0, 200], [0x90, 60]):  # truncated, undefined, data byte > 127
            out._rt.send_message(raw)
        sent = {"good": 0, "unknown": 0, "bad": 0, "high": 0}
        for i in range(10_000):
            kind = ("bad", "unknown", "high", "good", "good")[i % 5]
            sock.send({"good": good, "unknown": unknown, "bad": bad, "high": high}[kind])
            sent[kind] += 1
            if i % 500 == 499:
                time.sleep(max(0.0, (i + 1) / 10_000 - (time.monotonic() - t0)))
        flood_s = time.monotonic() - t0
        time.sleep(0.5)
        c1, t1 = engine.report.counts["callbacks"], time.monotonic()
        stats = engine.stop()
    finally:
        engine.stop()
        midi.close()
        osc.close()
        out.close()
    c = ctl.counts()
    print(f"flood of 10,000 OSC messages in {flood_s:.2f} s: {c}; stream {stats['callbacks']} callbacks, "
          f"{stats['xruns']} xruns, fell behind {stats['fell_behind']}, late {stats['late_blocks']}")
    assert stats["worker_error"] is None and not engine.active
    # every OSC message counted once under its own heading; the four bad MIDI byte strings add at
    # most one count each, as malformed or unknown (what JACK passes on of them is its business)
    assert c["out_of_range"] == sent["high"] and c["applied"] == sent["good"]
    extra = (c["malformed"] - sent["bad"], c["unknown"] - sent["unknown"])
    assert min(extra) >= 0 and sum(extra) <= 4, (c, sent)
    # the stream went on through the flood (a loaded machine's dummy server runs some cycles late:
    # 86 % of real time was seen in CI, so only a stall is a failure here)
    assert (c1 - c0) * 256 / 44100 > 0.5 * (t1 - t0)
    both, _ = sf.read(tmp_path / "play.wav", dtype="float32")
    y = both[:, 1]
    tail = y[-int(1.0 * 44100):]
    assert np.sqrt(np.mean(tail ** 2)) > 0.01  # still sounding


def _play_cli(args, seconds, tmp_path):
    stats_path = tmp_path / "stats.json"
    r = run_cli("play", *args, "--seconds", str(seconds), "--stats", str(stats_path), timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(stats_path.read_text()), r.stdout


@needs_jack
def test_cli_play_no_xruns_for_10_s_at_blocksize_256(jack, synth_run, tmp_path):  # noqa: F811
    """`workbench play` as a user runs it, with OSC control open, for 10 s at block 256.

    PortAudio's xrun count takes in every xrun of the server, including cycles where the dummy
    driver's own timer woke late and no client was at fault (CI, 2026-12-06: 4 xruns from two
    "JackTimedDriver::Process XRun" lines and one late workbench cycle). So the synth is judged by
    the server's account of which client it waited for: the cycles that name the workbench. A
    second run is allowed when the first had such cycles; if both did, the synth may miss at most
    one cycle more than two C clients with no Python at all miss on the same server in a 10 s
    window right after (the machine's floor under its current load). A synth whose callback waited
    for Python would miss tens of cycles.
    """
    from tests.jack_loop import late_cycles

    attempts = []
    for attempt in range(2):
        srv = jack(44100, 256)
        stats, out = _play_cli(["--model", str(synth_run), "--blocksize", "256", "--osc", "0"], 10, tmp_path)
        ours = sum("workbench" in c for c in late_cycles(srv))
        srv.stop()
        line = [ln for ln in out.splitlines() if ln.startswith("play: ") and "callbacks" in ln][-1]
        attempts.append(f"attempt {attempt + 1}: {line}; cycles naming the workbench {ours}{_jackd_xruns(tmp_path)}")
        print(attempts[-1])
        if ours == 0:
            break
    assert stats["callbacks"] > 0.8 * 10 * 44100 / 256 and stats["synth"]["frames"] > 0
    assert "control" in stats and "control 0 msgs" in out
    if ours:
        srv = jack(44100, 256)
        reports = c_loop_late_clients(srv, 10.0)
        srv.stop()
        floor = -(-reports // 2)  # cycles: one report per late C client per cycle
        assert ours <= floor + 1, (f"the workbench was late in {ours} cycles against {floor} cycles missed by two "
                                   f"C clients alone in 10 s ({reports} late-client reports, load average "
                                   f"{os.getloadavg()[0]:.1f}):\n" + "\n".join(attempts))


@needs_jack
def test_cli_ports_that_cannot_be_opened_exit_2_with_what_is_available(jack, synth_run):  # noqa: F811
    jack(44100, 256)
    out = _jack_midi_out("wbsrc")
    try:
        r = run_cli("play", "--model", str(synth_run), "--midi", "nosuchport", "--midi-api", "jack", "--seconds", "1")
    finally:
        out.close()
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "MIDI port 'nosuchport' matches none" in lines[0] and "wbsrc:faders" in lines[0], r.stderr
    # a busy OSC port: test_control.py checks OscInput's one-line error (the CLI prints it, exit 2, as above)

@needs_jack
def test_live_effect_under_osc_and_jack_midi_control_plays_as_offline(jack, live_material, tmp_path):  # noqa: F811
    """`live`'s side: the cepstral effect on a flute phrase from the JACK loop client, its mix swept
    over OSC and its gain over JACK MIDI (CC 7, exp curve): the recording equals the same effect
    replayed offline, block by block, on the recorded input under the control log."""
    import mido

    from effects.cepstral import CepstralEffect
    from live.control_input import Controller, MidiInput, OscInput
    from live.controlled_effect import ControlledEffect
    from live.engine import LiveEngine
    from live.mapping import Mapping, binding
    from tests.jack_loop import LoopClient
    from tests.live_oracle import expected_output

    def make():
        return CepstralEffect(target=live_material["trumpet44"], n_fft=512, hop_length=128)

    srv = jack(44100, 128)
    out = _jack_midi_out("wbknobs")
    fx = ControlledEffect(make(), smooth_ms=5.0)
    engine = LiveEngine(fx, blocksize=128, input_device="wbloop", output_device="wbloop", prefill=8,
                        record=tmp_path / "io.wav")
    mapping = Mapping([binding("mix", osc="/mix"), binding("gain", cc=(1, 7), lo=0.1, hi=1.0, curve="exp"),
                       binding("bypass", cc=(1, 41))])
    ctl = Controller(fx, mapping, engine=engine)
    midi = MidiInput(ctl, "wbknobs", api="jack")
    osc = OscInput(ctl, 0)
    sock = _udp(osc.port)
    client = LoopClient(srv, live_material["flute44"], tmp_path / "loop_rec.wav", seconds=1.5)
    try:
        engine.start()
        time.sleep(0.2)
        client.go()
        for i in range(41):  # mix 1 -> 0 over OSC, gain 1 -> 0.1 over MIDI, interleaved
            sock.send(_osc("/mix", 1 - i / 40))
            out.send(mido.Message("control_change", control=7, value=round(127 * (1 - i / 40))))
            time.sleep(0.02)
        client.wait()
        stats = engine.stop()
    finally:
        engine.stop()
        client.close()
        midi.close()
        osc.close()
        out.close()
    assert ctl.counts()["applied"] == 82 and ctl.counts()["unknown"] == 0, ctl.counts()
    assert stats["skipped_blocks"] == 0, f"the worker skipped {stats['skipped_blocks']} blocks"
    both, _ = sf.read(tmp_path / "io.wav", dtype="float32")
    ein, eout = both[:, 0], both[:, 1]
    B, D = engine.blocksize, engine.latency.internal
    L = engine.latency.algorithmic
    rep = ControlledEffect(make(), script=fx.control_log())
    rep.prepare(44100, 1, B)
    n = (len(ein) // B) * B
    y = np.concatenate([rep.process_block(ein[None, i:i + B]) for i in range(0, n, B)], 1)
    wet = np.concatenate([y[:, L:], np.zeros((1, L), np.float32)], 1)  # aligned with the input
    exp = expected_output(ein[None, :n], wet, engine.block_log(), blocksize=B, delay=D)[0]
    err = float(np.abs(eout[:n] - exp).max())
    names = fx.control_log()["name"]
    print(f"live under control: err {err:.2e}, {names.count('mix')} mix and {names.count('gain_db')} gain_db "
          f"changes applied, xruns {stats['xruns']}")
    assert err < TOL
    firsts = _first_applications(fx.control_log())  # at most one per message; ramps add later steps
    assert 20 <= firsts.count("mix") <= 41 and 20 <= firsts.count("gain_db") <= 41
    assert fx.get_params()["mix"] == 0.0 and fx.get_params()["gain_db"] == pytest.approx(-20.0, abs=0.2)


@needs_jack
def test_cli_learn_binds_the_next_control_and_writes_the_mapping(jack, synth_run, tmp_path):  # noqa: F811
    """`workbench play --osc PORT --learn latent.3 --map FILE`: the first OSC address that arrives is
    bound, printed as TOML and written to FILE, which a later run loads."""
    import socket
    import subprocess
    import sys

    from live.mapping import load_mapping
    from tests.conftest import ROOT

    jack(44100, 256)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    mapping = tmp_path / "controls.toml"
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "--quiet", "play", "--model", str(synth_run),
                             "--blocksize", "256", "--osc", str(port), "--learn", "latent.3", "--map", str(mapping),
                             "--seconds", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        deadline = time.monotonic() + 60
        while not mapping.exists() and time.monotonic() < deadline and proc.poll() is None:
            try:
                s.sendto(_osc("/my/knob", 0.4), ("127.0.0.1", port))  # until the port is open and has learned it
            except OSError:  # nobody listening yet (an ICMP refusal of the previous datagram)
                pass
            time.sleep(0.2)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "learned: osc /my/knob -> latent.3" in out and 'osc = "/my/knob"' in out
    assert load_mapping(mapping).for_osc("/my/knob").target == "latent.3"
