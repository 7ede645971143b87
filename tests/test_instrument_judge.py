"""The phrase-level instrument judge on the session's small FluidSynth corpus."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from analysis.instrument_judge import VOICE, InstrumentJudge
from workbench.audio import load, save
from workbench.corpus.nsynth import NSynth
from workbench.errors import ParameterError

SR = 16000


@pytest.fixture(scope="module")
def judge(small_corpus, tmp_path_factory):
    # train split only: the test split's instruments stay unseen
    return InstrumentJudge(splits=("train",)).fit(small_corpus, cache_dir=tmp_path_factory.mktemp("judge-cache"))


def _notes(corpus, family, split="test"):
    return [load(p, sr=SR, mono=True)[0][0] for p in NSynth(corpus, split=split, family=family).paths()]


def test_recognises_unseen_instruments_of_a_family(judge, small_corpus):
    # one training instrument per family here (trombone; cello), tested on another (trumpet; viola)
    brass, string = _notes(small_corpus, "brass"), _notes(small_corpus, "string")
    assert brass and string, "the small corpus should have brass and string test notes"
    chance = 1 / len(judge.classes_)
    for fam, own, other in (("brass", brass, string), ("string", string, brass)):
        hit, miss = judge.share(own, fam, sr=SR), judge.share(other, fam, sr=SR)
        assert hit > max(2 * chance, 0.4), (fam, hit, judge.classes_)
        assert hit > miss + 0.3, (fam, hit, miss)


def test_predict_labels_every_counted_window(judge, small_corpus):
    notes = _notes(small_corpus, "brass")[:3]
    labels = judge.predict(notes, sr=SR)
    assert labels.dtype.kind == "U" and set(labels) <= set(judge.classes_)
    assert len(labels) == sum(len(judge.segments(y, sr=SR)) for y in notes)
    # a single signal (1-D or (1, n)) is one phrase; another rate is resampled
    assert len(judge.predict(notes[0][None], sr=SR)) == len(judge.segments(notes[0], sr=SR))
    y22 = load(NSynth(small_corpus, split="test", family="brass").paths()[0], sr=22050, mono=True)[0][0]
    assert len(judge.predict(y22, sr=22050)) == len(judge.segments(notes[0], sr=SR))


def test_segments_cover_the_phrase(judge, rng):
    t = np.arange(int(5.5 * SR)) / SR
    y = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    seg = judge.segments(y, sr=SR)
    np.testing.assert_allclose(seg[:, 0], [0, 1, 2, 3, 3.5])  # the last window ends with the phrase
    np.testing.assert_allclose(seg[:, 1] - seg[:, 0], 2.0)
    np.testing.assert_allclose(judge.segments(y[: SR], sr=SR), [[0.0, 1.0]])  # short: one window
    # a phrase that sounds only in its first second: later windows do not count
    quiet = y.copy()
    quiet[SR:] = 0
    assert len(judge.segments(quiet, sr=SR)) == 1


def test_level_does_not_change_the_verdict(judge, small_corpus):
    notes = _notes(small_corpus, "flute")[:4]
    loud = judge.predict(notes, sr=SR)
    soft = judge.predict([0.05 * y for y in notes], sr=SR)
    np.testing.assert_array_equal(loud, soft)


def test_silence_has_no_share(judge, caplog):
    silent = np.zeros(3 * SR, np.float32)
    assert judge.segments(silent, sr=SR).shape == (0, 2)
    assert judge.predict(silent, sr=SR).size == 0
    with caplog.at_level(logging.WARNING, logger="analysis.instrument_judge"):
        assert np.isnan(judge.share(silent, "brass", sr=SR))
    assert "no sounding window" in caplog.text


@pytest.mark.parametrize("kwargs, match", [
    ({"window": 0}, r"window=0 must be a positive number"),
    ({"window": -1.5}, r"window=-1.5 must be a positive number"),
    ({"hop": 0.0}, r"hop=0.0 must be a positive number"),
    ({"min_sounding": 1.5}, r"min_sounding=1.5 must be a share"),
    ({"classifier": "forest"}, r"classifier='forest' is not valid; expected svm or logreg"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        InstrumentJudge(**kwargs)


def test_bad_calls(judge, small_corpus, tmp_path):
    y = np.ones(SR, np.float32)
    with pytest.raises(ParameterError, match=r"family='kazoo' is not valid; expected one of .*brass"):
        judge.share(y, "kazoo", sr=SR)
    with pytest.raises(ParameterError, match=r"sr=0 must be a positive integer"):
        judge.predict(y, sr=0)
    with pytest.raises(ParameterError, match=r"shape \(2, 3, 4\)"):
        judge.predict(np.zeros((2, 3, 4)), sr=SR)
    with pytest.raises(ParameterError, match="not fitted"):
        InstrumentJudge().predict(y, sr=SR)
    with pytest.raises(ParameterError, match=r"extra family='kazoo' is not valid"):
        InstrumentJudge().fit(small_corpus, extra={"kazoo": []})
    with pytest.raises(ParameterError, match=r"does not exist; expected an audio file"):
        InstrumentJudge().fit(small_corpus, voice=[tmp_path / "missing.wav"])


def test_fits_on_the_splits_and_families_asked_for(small_corpus):
    j = InstrumentJudge(families=("flute", "reed"), splits=("train",), phrases=0).fit(small_corpus)
    assert j.classes_ == ["flute", "reed"] and j.fitted_on_["splits"] == ["train"]
    with pytest.raises(ParameterError, match=r"split='nope' is not valid"):
        InstrumentJudge(families=("flute",), splits=("nope",)).fit(small_corpus)
    with pytest.raises(ParameterError, match=r"has no valid notes to fit the judge on"):
        InstrumentJudge(families=("vocal",), splits=("valid",)).fit(small_corpus)


def test_voice_and_extra_material(small_corpus, trumpet_melodies, tmp_path, rng):
    # a stand-in "voice": vibrato tone with a moving formant-like filter, distinct from the notes
    t = np.arange(4 * SR) / SR
    f0 = 180 * (1 + 0.03 * np.sin(2 * np.pi * 5.5 * t))
    voice = np.sin(2 * np.pi * np.cumsum(f0) / SR) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    voice = (0.2 * np.sign(voice) * np.abs(voice) ** 0.3 + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    save(tmp_path / "v.wav", voice, SR)
    melodies = sorted(trumpet_melodies.glob("melody_*.wav"))
    j = InstrumentJudge(splits=("train",), families=("brass", "flute", "string")).fit(
        small_corpus, voice=[tmp_path / "v.wav"], extra={"brass": melodies[:2]})
    assert j.classes_ == ["brass", "flute", "string", VOICE]
    assert j.fitted_on_["extra"] == {"brass": 2} and j.fitted_on_["voice"] == [str(tmp_path / "v.wav")]
    assert j.fitted_on_["windows"][VOICE] >= 4
    # the held-out trumpet melody is brass
    assert j.share(load(melodies[2], sr=SR, mono=True)[0][0], "brass", sr=SR) >= 0.5
