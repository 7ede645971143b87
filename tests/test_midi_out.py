"""The DDSP effect's detected pitch sent as MIDI notes (``workbench live --method ddsp --midi-out``)."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from live.midi_out import NoteFollower
from tests.test_live import jack, needs_jack  # noqa: F401 - fixtures
from workbench.errors import ParameterError


def _track() -> tuple[np.ndarray, np.ndarray]:
    """5 unvoiced frames, 10 on 60 with +-30 cents vibrato, 10 on 62, 5 unvoiced."""
    midi = np.r_[np.zeros(5), 60 + 0.3 * np.sin(np.arange(10)), np.full(10, 62.05), np.zeros(5)]
    voiced = np.r_[np.zeros(5, bool), np.ones(20, bool), np.zeros(5, bool)]
    return midi, voiced


def test_follower_settles_holds_through_vibrato_and_releases():
    midi, voiced = _track()
    f = NoteFollower(settle=2)
    events = f.feed(midi, voiced)
    assert events == [(6, "on", 60), (16, "off", 60), (16, "on", 62), (25, "off", 62)]
    # the same events whatever the frames' grouping
    g = NoteFollower(settle=2)
    split = [e for i in range(0, 30, 7) for e in g.feed(midi[i:i + 7], voiced[i:i + 7])]
    assert split == events and f.flush() == []
    h = NoteFollower(settle=2)
    h.feed(midi[:14], voiced[:14])
    assert h.flush() == [(14, "off", 60)]


@pytest.mark.parametrize("kwargs", [{"settle": 0}, {"velocity": 128}])
def test_follower_bad_settings_are_one_line(kwargs):
    with pytest.raises(ParameterError) as err:
        NoteFollower(**kwargs)
    assert "\n" not in str(err.value)


def test_a_melody_through_the_effect_gives_its_notes_in_a_stream_as_offline(ddsp_run, trumpet_melodies):
    """A held-out trumpet melody through the DDSP effect: the notes sent are the melody's (onset
    within 80 ms, pitch exact) for most notes, and blocks of 128 give the events of one call."""
    import soundfile as sf

    from effects.ddsp import DDSPEffect
    from workbench.corpus.truth import read_truth

    path = sorted(trumpet_melodies.glob("melody_*.wav"))[2]
    x, sr = sf.read(path, dtype="float32")
    truth = read_truth(path.with_suffix(".json"))["notes"]

    def events(block: int) -> list:
        fx = DDSPEffect(model=ddsp_run)
        f = NoteFollower(settle=2)
        got = []
        fx.on_frames = lambda m, v: got.extend(f.feed(m, v))
        fx.prepare(sr, 1, block)
        for i in range(0, len(x), block):
            fx.process_block(x[None, i:i + block])
        return got + f.flush()

    whole, blocks = events(len(x)), events(128)
    assert whole == blocks
    hop = 256 / sr
    delay = (256 + 512) / sr  # the effect's analysis: a frame's window centre lies this far before its end
    ons = [(e[0] * hop - delay, e[2]) for e in whole if e[1] == "on"]
    hit = sum(any(abs(t - n["onset"]) < 0.08 and p == n["pitch"] for t, p in ons) for n in truth)
    assert hit >= 0.7 * len(truth), (ons, [(n["onset"], n["pitch"]) for n in truth])
    assert len(ons) <= 1.5 * len(truth)


@needs_jack
def test_notes_arrive_on_a_real_jack_midi_port(jack):  # noqa: F811
    import mido

    from live.midi_out import MidiNoteOut

    jack(44100, 256)
    out = MidiNoteOut("wbnotes", api="jack", client_name="wbpitch")
    backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
    names = [n for n in backend.get_input_names() if "wbnotes" in n]
    assert names, backend.get_input_names()
    received = []
    with backend.open_input(names[0]) as port:
        time.sleep(0.2)
        midi, voiced = _track()
        for i in range(0, 30, 4):
            out.push(midi[i:i + 4], voiced[i:i + 4])
            time.sleep(0.016)
        out.push(np.full(3, 64.0), np.ones(3, bool))  # a note still sounding at the end
        time.sleep(0.2)
        out.close()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and len(received) < 6:
            received += [m for m in port.iter_pending()]
            time.sleep(0.02)
    got = [(m.type if m.type == "note_off" or m.velocity else "note_off", m.note) for m in received]
    assert got == [("note_on", 60), ("note_off", 60), ("note_on", 62), ("note_off", 62), ("note_on", 64),
                   ("note_off", 64)]
    assert out.sent == 6


def test_cli_midi_out_with_another_method_is_one_line(tiny_run):
    r = subprocess.run([sys.executable, "-m", "workbench", "live", "--method", "autoencoder", "--model", str(tiny_run),
                        "--midi-out", "notes", "--seconds", "1"], capture_output=True, text=True, timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "--midi-out" in lines[0], r.stderr
