"""workbench.pitch: unit conversions against librosa, and the mir_eval scores on known tracks."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from workbench.pitch import cents, hz_to_midi, hz_to_midi_t, melody_scores, midi_to_hz, track_f0


def test_conversions_match_librosa():
    f = np.array([27.5, 261.63, 440.0, 1975.5])
    np.testing.assert_allclose(hz_to_midi(f), librosa.hz_to_midi(f), atol=1e-9)
    np.testing.assert_allclose(midi_to_hz([21, 60.5, 69]), librosa.midi_to_hz([21, 60.5, 69]), rtol=1e-12)
    assert np.isnan(hz_to_midi([0.0, -1.0, np.nan])).all() and hz_to_midi(440.0) == 69.0
    assert torch.equal(hz_to_midi_t(torch.tensor([0.0, 440.0])), torch.tensor([0.0, 69.0]))
    assert abs(cents(880.0, 440.0) - 1200) < 1e-9 and np.isnan(cents(0.0, 440.0))


def test_tracking_and_scores_on_a_known_tone():
    sr = 16000
    t = np.arange(sr) / sr
    y = 0.5 * np.sin(2 * np.pi * 220 * t).astype(np.float32)
    times, f0 = track_f0(y, sr=sr)
    voiced = f0 > 0
    assert voiced.mean() > 0.8 and np.all(np.abs(cents(f0[voiced], 220.0)) < 20)
    s = melody_scores((times, f0), (times, f0 * 2 ** (30 / 1200)))  # 30 cents sharp: within 50
    assert s["raw_pitch_accuracy"] == 1.0 and abs(s["f0_l1_cents"] - 30) < 1e-6
    assert melody_scores((times, f0), (times, f0 * 2 ** (60 / 1200)))["raw_pitch_accuracy"] == 0.0


def test_pesto_tracks_a_vibrato_tone_and_a_gap():
    """PESTO (weights from its wheel, read without unpickling code) follows a 220 Hz tone with
    +-50 cents of 5 Hz vibrato within 50 cents (the RPA tolerance; its frames smooth the vibrato
    by up to about 30 cents), calls the silent gap unvoiced, and frames like pYIN."""
    sr = 16000
    t = np.arange(2 * sr) / sr
    f = 220.0 * 2 ** (0.5 / 12 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    y = (0.3 * np.sin(phase) + 0.1 * np.sin(2 * phase)).astype(np.float32)
    y[sr: sr + sr // 4] = 0.0
    times, f0, conf = track_f0(y, sr=sr, tracker="pesto", with_confidence=True)
    assert times.shape == f0.shape == conf.shape == track_f0(y, sr=sr)[0].shape
    truth = np.interp(times, t, f)
    gap = (times > 1.03) & (times < 1.22)
    ring = gap | ((times > 0.97) & (times < 1.28)) | (times < 0.05) | (times > 1.95)
    assert np.all(f0[gap] == 0.0) and np.all(conf[gap] < 0.5)
    err = np.abs(cents(f0[~ring], truth[~ring]))
    assert np.all(err < 50) and np.median(err) < 15


def test_pesto_weights_must_be_its_own():
    from workbench.errors import ParameterError
    from workbench.pitch import pesto_model

    with pytest.raises(ParameterError, match="nope.*not found"):
        pesto_model(hop_ms=10.0, sr=16000, weights="nope")


def test_guessed_pitch_of_doubted_frames_counts_for_raw_pitch_accuracy():
    """With ``guess_unvoiced`` a frame the voicing gate doubts keeps minus its pitch: mir_eval's RPA
    judges that pitch, its voicing recall still sees the frame unvoiced."""
    sr = 16000
    t = np.arange(sr) / sr
    y = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    times, f0, conf = track_f0(y, sr=sr, tracker="pesto", with_confidence=True)
    _, g = track_f0(y, sr=sr, tracker="pesto", guess_unvoiced=True)
    assert np.array_equal(np.abs(g) > 0, np.ones_like(g, bool)) and np.array_equal(g[f0 > 0], f0[f0 > 0])
    doubted = np.where(np.arange(f0.size) % 3 == 0, -np.abs(g), np.abs(g))  # a third of the frames doubted
    s = melody_scores((times, np.abs(g)), (times, doubted))
    assert s["raw_pitch_accuracy"] == 1.0 and abs(s["voicing_recall"] - 2 / 3) < 0.02
