"""Audio I/O: formats, resampling, block streaming, and the bad-input table (API and CLI)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import run_cli
from workbench.audio import audio_files, load, resample, save, stream_blocks, validate_audio
from workbench.errors import ParameterError

SR = 16000


def _tone(seconds=0.5, sr=SR, channels=2):
    t = np.arange(int(seconds * sr)) / sr
    return np.stack([0.5 * np.sin(2 * np.pi * (220 * (c + 1)) * t) for c in range(channels)]).astype(np.float32)


@pytest.mark.parametrize("ext,subtype,tol", [
    ("wav", "PCM_16", 1e-4), ("wav", "FLOAT", 0), ("flac", "PCM_24", 1e-6), ("ogg", "VORBIS", 0.05), ("mp3", None, 0.1),
])
def test_formats_round_trip(tmp_path, ext, subtype, tol):
    x = _tone()
    path = save(tmp_path / f"x.{ext}", x, SR, subtype=subtype)
    y, sr = load(path)
    assert sr == SR and y.dtype == np.float32 and y.shape[0] == 2
    if ext in ("wav", "flac"):
        assert y.shape == x.shape
        np.testing.assert_allclose(y, x, atol=tol)
    else:  # lossy codecs: same tone, encoder delay allowed
        assert abs(y.shape[1] - x.shape[1]) < 0.1 * SR
        spec_x = np.abs(np.fft.rfft(x[0]))
        spec_y = np.abs(np.fft.rfft(y[0, : x.shape[1]], n=x.shape[1]))
        assert np.argmax(spec_x) == np.argmax(spec_y)


def test_load_resample_and_mono(tmp_path):
    x = _tone(channels=2)
    save(tmp_path / "x.wav", x, SR, subtype="FLOAT")
    y, sr = load(tmp_path / "x.wav", sr=22050, mono=True)
    assert sr == 22050 and y.shape == (1, int(np.ceil(x.shape[1] * 22050 / SR)))
    # 220 Hz survives the rate change at the right frequency
    f = np.fft.rfftfreq(y.shape[1], 1 / 22050)[np.argmax(np.abs(np.fft.rfft(y[0])))]
    assert abs(f - 220) < 3


def test_resample_matches_rate():
    x = _tone(seconds=1.0, channels=1)
    y = resample(x, SR, 8000)
    assert y.shape == (1, 8000) and y.dtype == np.float32


def test_stream_blocks_equals_load(tmp_path):
    x = _tone(seconds=1.3)
    save(tmp_path / "x.wav", x, SR, subtype="FLOAT")
    blocks = list(stream_blocks(tmp_path / "x.wav", 1000))
    assert all(b.shape[1] == 1000 for b in blocks[:-1]) and blocks[-1].shape[1] == x.shape[1] % 1000
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), load(tmp_path / "x.wav")[0])


# --- the bad-input table: each case is (make the bad file, message pattern) ----------------------

def _missing(tmp):
    return tmp / "nope.wav"


def _directory(tmp):
    d = tmp / "folder.wav"
    d.mkdir()
    return d


def _not_audio(tmp):
    p = tmp / "notes.wav"
    p.write_text("this is a text file, not audio\n" * 20)
    return p


def _truncated(tmp):
    p = tmp / "cut.wav"
    sf.write(p, _tone(seconds=1.0).T, SR, subtype="PCM_16")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def _zero_samples(tmp):
    p = tmp / "empty.wav"
    sf.write(p, np.zeros((0, 1), np.float32), SR, subtype="PCM_16")
    return p


def _nan(tmp):
    p = tmp / "nan.wav"
    x = _tone(channels=1)
    x[0, 100] = np.nan
    x[0, 200] = np.inf
    sf.write(p, x.T, SR, subtype="FLOAT")
    return p


def _short(tmp):
    p = tmp / "short.wav"
    sf.write(p, _tone(seconds=0.01, channels=1).T, SR, subtype="PCM_16")  # 160 samples
    return p


BAD_FILES = [
    (_missing, "does not exist"),
    (_directory, "is a directory"),
    (_not_audio, "could not be read as audio"),
    (_truncated, "truncated WAV"),
    (_zero_samples, "zero samples"),
    (_nan, "NaN or Inf"),
    (_short, "shorter than one analysis frame of 2048"),
]


@pytest.mark.parametrize("make,match", BAD_FILES, ids=[f.__name__.strip("_") for f, _ in BAD_FILES])
def test_bad_file_raises(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(ParameterError, match=match) as info:
        load(path, min_samples=2048)
    msg = str(info.value)
    assert "\n" not in msg
    if make is not _nan:
        assert path.name in msg  # names the bad value


@pytest.mark.parametrize("make,match", BAD_FILES, ids=[f.__name__.strip("_") for f, _ in BAD_FILES])
def test_bad_file_cli_one_line(tmp_path, make, match):
    path = make(tmp_path)
    proc = run_cli("info", str(path), "--min-samples", "2048")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert match in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize("bad,match", [
    (np.zeros((1, 0), np.float32), "zero samples"),
    (np.array([[0.0, np.nan, 0.0]], np.float32), "NaN or Inf"),
    (np.zeros((2, 3, 4), np.float32), "expected \\(channels, samples\\)"),
    (np.array(["a", "b"]), "dtype"),
    (np.zeros((1, 100), np.float32), "shorter than one analysis frame"),
])
def test_validate_audio_arrays(bad, match):
    with pytest.raises(ParameterError, match=match):
        validate_audio(bad, min_samples=512)


def test_validate_audio_ok_and_bad_rate():
    a = validate_audio(np.zeros(1000, np.float64), sr=16000)
    assert a.shape == (1, 1000) and a.dtype == np.float32
    with pytest.raises(ParameterError, match="sr=0 must be a positive integer"):
        validate_audio(np.zeros(10), sr=0)


def test_cli_info_good_file(tmp_path):
    save(tmp_path / "ok.wav", _tone(), SR)
    proc = run_cli("info", str(tmp_path / "ok.wav"))
    assert proc.returncode == 0, proc.stderr
    assert '"sr": 16000' in proc.stdout and '"channels": 2' in proc.stdout


def test_audio_files_lists_the_folder_itself(tmp_path):
    for name in ("b.FLAC", "a.wav", ".a.partial.wav", "notes.txt", "sub/c.wav"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in audio_files(tmp_path)] == ["a.wav", "b.FLAC"]
