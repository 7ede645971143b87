"""The DDSP-style run played from notes (issue 28 part 5): voices, bend, glide, tuning, range, control."""

from __future__ import annotations

import subprocess
import sys
import time

import librosa
import numpy as np
import pytest
import soundfile as sf

from live.ddsp_synth import DDSPSynth
from tests.test_live import jack, needs_jack  # noqa: F401 - fixtures
from workbench.errors import ParameterError
from workbench.pitch import pyin_f0

SR = 16000


def _midi(y: np.ndarray, a: float, b: float) -> float:
    """Median pYIN pitch (MIDI) of ``y`` between ``a`` and ``b`` seconds."""
    _, f0, _ = pyin_f0(y[int(a * SR): int(b * SR)], sr=SR, fmin=80, fmax=1500, frame_length=1024, hop_length=256)
    return float(np.nanmedian(librosa.hz_to_midi(f0)))


def _peak_db(y: np.ndarray, hz: float) -> float:
    """Level (dB re the spectrum's maximum) of the strongest bin within 3 % of ``hz``."""
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    f = np.fft.rfftfreq(y.size, 1 / SR)
    near = np.abs(f / hz - 1) < 0.03
    return float(20 * np.log10(spec[near].max() / spec.max()))


def _voiced(n: int, notes: list[float], velocity: float = 0.8) -> dict:
    """Parameters that sound ``notes`` on the first voices of an ``n``-voice synth."""
    k = len(notes)
    return {"note": notes + [60.0] * (n - k), "velocity": [velocity] * k + [0.0] * (n - k),
            "gate": [1.0] * k + [0.0] * (n - k)}


def test_a_chord_sounds_each_note_and_releases_to_silence(ddsp_run):
    synth = DDSPSynth(model=ddsp_run, voices=4, release_ms=100.0)
    lo, hi = synth.playable
    root = float(np.ceil(lo))
    notes = [root, root + 4, root + 7]
    y = synth.render(2.0, schedule=[(0.0, _voiced(4, notes)), (1.2, {"gate": [0.0] * 4})])[0]
    body = y[int(0.4 * SR): int(1.1 * SR)]
    for m in notes:
        assert _peak_db(body, 440 * 2 ** ((m - 69) / 12)) > -15, m
    # the note a semitone above each chord tone is absent: the peaks are the chord's, not a smear
    assert _peak_db(body, 440 * 2 ** ((root + 1 - 69) / 12)) < _peak_db(body, 440 * 2 ** ((root - 69) / 12)) - 10
    assert np.abs(y[int(1.6 * SR):]).max() < 1e-4  # released well within 0.4 s
    assert synth.transposed == 0 and synth.notice() is None


def test_bend_glide_and_tuning_move_the_pitch(ddsp_run):
    synth = DDSPSynth(model=ddsp_run, voices=1, bend_range=2.0)
    note = float(round(synth.trained_median))
    y = synth.render(2.0, schedule=[(0.0, _voiced(1, [note], 1.0)), (1.0, {"bend": 1.0})])[0]
    assert abs(_midi(y, 0.3, 0.9) - note) < 0.25
    assert abs(_midi(y, 1.3, 1.9) - (note + 2)) < 0.25
    # a quarter tone up on the note's pitch class
    tuning = np.zeros(12)
    tuning[int(note) % 12] = 50.0
    synth = DDSPSynth(model=ddsp_run, voices=1, tuning=tuning)
    y = synth.render(1.0, schedule=[(0.0, _voiced(1, [note], 1.0))])[0]
    assert abs(_midi(y, 0.3, 0.9) - (note + 0.5)) < 0.15
    # portamento: 0.1 s after a jump of 4 semitones with a 200 ms glide, the pitch is on its way
    synth = DDSPSynth(model=ddsp_run, voices=1, glide_ms=200.0)
    y = synth.render(2.0, schedule=[(0.0, _voiced(1, [note], 1.0)), (1.0, {"note": [note + 4]})])[0]
    early, late = _midi(y, 1.05, 1.15), _midi(y, 1.7, 1.95)
    assert note + 0.5 < early < note + 3.5 and abs(late - (note + 4)) < 0.3


def test_a_note_outside_the_trained_range_is_moved_by_octaves_with_one_notice(ddsp_run):
    synth = DDSPSynth(model=ddsp_run, voices=1)
    lo, hi = synth.playable
    low = float(np.floor(lo)) - 24
    y = synth.render(1.0, schedule=[(0.0, _voiced(1, [low], 1.0))])[0]
    heard = _midi(y, 0.3, 0.9)
    assert lo - 0.5 <= heard <= hi + 0.5 and abs((heard - low) % 12) < 0.3 or abs((heard - low) % 12 - 12) < 0.3
    assert synth.transposed == 1
    assert "moved by octaves" in synth.notice() and "\n" not in synth.notice()


def test_velocity_sets_the_level(ddsp_run):
    synth = DDSPSynth(model=ddsp_run, voices=1)
    note = float(round(synth.trained_median))
    rms = []
    for v in (1.0, 0.5):
        y = synth.render(1.0, schedule=[(0.0, _voiced(1, [note], v))])[0]
        rms.append(20 * np.log10(np.sqrt(np.mean(y[int(0.3 * SR):] ** 2))))
    # 0.5 of the velocity is 20 dB down the 40 dB range; the synthesized level follows within 3 dB
    assert abs((rms[0] - rms[1]) - 20.0) < 3.0, rms


def test_voices_are_allocated_and_the_longest_sounding_is_stolen(ddsp_run):
    from live.control_input import Controller
    from live.controlled_effect import ControlledEffect
    from live.mapping import default_mapping

    m = default_mapping(synth=True, keyboard=True)  # General MIDI controllers, no faders over CC 0-7
    assert [m.for_cc(1, n).target for n in (11, 7, 5)] == ["expression", "volume", "glide_ms"]
    assert m.for_cc(1, 0) is None
    fx = ControlledEffect(DDSPSynth(model=ddsp_run, voices=2), smooth_ms=5.0)
    ctl = Controller(fx, m, strict=False)
    fx.prepare(SR, 1, 256)
    x = np.zeros((1, 256), np.float32)
    synth = fx.effect
    ctl.note_on(70, 100)
    fx.process_block(x)
    ctl.note_on(74, 100)
    fx.process_block(x)
    assert list(synth.note) == [70, 74] and list(synth.gate) == [1, 1]
    ctl.note_on(77, 100)  # both sound: the first (70) is stolen
    fx.process_block(x)
    assert list(synth.note) == [77, 74] and ctl.counts()["stolen"] == 1
    ctl.note_off(70)  # no longer sounding: nothing changes
    ctl.note_off(74)
    fx.process_block(x)
    assert list(synth.gate) == [1, 0]
    ctl.note_on(79, 64)  # the free voice
    ctl.pitch_bend(-1.0)
    ctl.cc(0, 11, 64)  # expression
    ctl.pitch_bend(3.0)  # out of range: counted
    fx.process_block(x)
    assert list(synth.note) == [77, 79] and synth.velocity[1] == pytest.approx(64 / 127, abs=1e-5)
    assert synth.bend == -1.0 and synth.expression == pytest.approx(64 / 127)
    c = ctl.counts()
    assert c["notes"] == 4 and c["out_of_range"] == 1 and c["unknown"] == 0 and c["stolen"] == 1


@pytest.mark.parametrize("kwargs, expect", [
    ({"voices": 0}, "voices"), ({"voices": 1000}, "voices"), ({"bend_range": 0}, "bend_range=0"),
    ({"bend_range": 96}, "bend_range=96"), ({"tuning": [0.0] * 11}, "tuning="), ({"glide_ms": -1}, "glide_ms"),
])
def test_bad_settings_are_one_line(ddsp_run, kwargs, expect):
    with pytest.raises(ParameterError) as err:
        DDSPSynth(model=ddsp_run, **kwargs)
    assert expect in str(err.value) and "\n" not in str(err.value)


def test_an_autoencoder_run_is_refused_and_the_cli_says_so_in_one_line(tiny_run):
    with pytest.raises(ParameterError, match="autoencoder run"):
        DDSPSynth(model=tiny_run)
    r = subprocess.run([sys.executable, "-m", "workbench", "play", "--model", str(tiny_run), "--voices", "2",
                        "--seconds", "1"], capture_output=True, text=True, timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "--voices" in lines[0], r.stderr


@pytest.mark.parametrize("args, expect", [(["--voices", "1000"], "voices=1000"), (["--tuning", "1,2"], "--tuning")])
def test_cli_bad_values_are_one_line(ddsp_run, args, expect):
    r = subprocess.run([sys.executable, "-m", "workbench", "play", "--model", str(ddsp_run), "--seconds", "1", *args],
                       capture_output=True, text=True, timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and expect in lines[0], r.stderr


@needs_jack
def test_chords_over_jack_midi_play_as_offline_with_four_voices(jack, ddsp_run, tmp_path):  # noqa: F811
    """Chords, a bend and expression from a JACK MIDI client while 4 voices stream at block 256:
    the recording equals the offline synth under the same control log."""
    import mido

    from live.control_input import Controller, MidiInput
    from live.controlled_effect import ControlledEffect
    from live.engine import LiveEngine
    from live.mapping import default_mapping
    from tests.live_oracle import expected_output

    jack(SR, 256)
    out = mido.Backend("mido.backends.rtmidi/UNIX_JACK").open_output("keys", virtual=True, client_name="wbkeys")
    fx = ControlledEffect(DDSPSynth(model=ddsp_run, voices=4), smooth_ms=5.0)
    engine = LiveEngine(fx, blocksize=256, prefill=8, record=tmp_path / "play.wav")
    ctl = Controller(fx, default_mapping(synth=True, keyboard=True), engine=engine, strict=False)
    midi = MidiInput(ctl, "wbkeys", api="jack")
    root = int(np.ceil(fx.effect.playable[0]))
    try:
        engine.start()
        time.sleep(0.2)
        for n in (root, root + 4, root + 7):
            out.send(mido.Message("note_on", note=n, velocity=100))
        time.sleep(0.5)
        for v in range(0, 8192, 1024):
            out.send(mido.Message("pitchwheel", pitch=v))
            time.sleep(0.01)
        out.send(mido.Message("control_change", control=11, value=70))
        out.send(mido.Message("note_on", note=root + 12, velocity=90))
        out.send(mido.Message("note_on", note=root + 2, velocity=90))  # a fifth note: one voice stolen
        time.sleep(0.5)
        for n in (root, root + 2, root + 4, root + 7, root + 12):
            out.send(mido.Message("note_off", note=n))
        time.sleep(0.4)
        stats = engine.stop()
    finally:
        engine.stop()
        midi.close()
        out.close()
    c = ctl.counts()
    assert c["notes"] == 5 and c["stolen"] == 1 and c["unknown"] == c["malformed"] == 0, c
    assert stats["skipped_blocks"] == 0
    rec = sf.read(tmp_path / "play.wav", dtype="float32")[0][:, 1]
    B = engine.blocksize
    n = (len(rec) // B) * B
    rep = ControlledEffect(DDSPSynth(model=ddsp_run, voices=4), script=fx.control_log())
    rep.prepare(SR, 1, B)
    x = np.zeros((1, B), np.float32)
    wet = np.concatenate([rep.process_block(x) for _ in range(n // B)], 1)
    exp = expected_output(np.zeros_like(wet), wet, engine.block_log(), blocksize=B, delay=engine.latency.internal)[0]
    assert np.abs(rec[:n]).max() > 0.02
    err = float(np.abs(rec[:n] - exp).max())
    assert err < 1e-5, f"recording differs from the offline replay by {err}"
