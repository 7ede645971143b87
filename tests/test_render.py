"""Files through an effect in the user's format, in bounded memory (issue 18): the streamed
render equals the whole-file path, rates and channel layouts come back as they went in, a batch
folder survives a bad file, and Ctrl-C leaves nothing under the output name."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from effects.cepstral import CepstralEffect
from effects.render import parse_channels, processing_rate, render_file
from tests.conftest import ROOT, run_cli
from workbench.audio import load, resample
from workbench.errors import ParameterError


def _tone(f0: float, sr: int, seconds: float, channels: int = 1) -> np.ndarray:
    """``(samples, channels)``: a harmonic tone, each channel at its own level."""
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8)) * 0.2
    return np.stack([y * (1 - 0.1 * c) for c in range(channels)], axis=1).astype(np.float32)


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "target.wav"
    sf.write(path, _tone(330, 16000, 1.0)[:, 0], 16000)
    return path


def test_streamed_render_equals_whole_file_path(tmp_path, target):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, _tone(196, 44100, 3.3, channels=2), 44100, subtype="FLOAT")
    fx = CepstralEffect(target=target, envelope="mean")
    r = render_file(fx, src, dst, sr=22050, subtype="FLOAT")
    got, got_sr = load(dst)
    x, _ = load(src)
    want = resample(CepstralEffect(target=target, envelope="mean").process(resample(x, 44100, 22050), 22050),
                    22050, 44100)
    assert (got_sr, r.channels, r.processing_sr) == (44100, 2, 22050)
    assert got.shape == want.shape == x.shape
    np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("rate,channels,option,want_ch", [
    (48000, 6, "keep", 6), (96000, 2, "mono", 1), (44100, 1, 2, 2), (48000, 2, "2", 2),
])
def test_output_keeps_the_users_rate_and_layout(tmp_path, target, rate, channels, option, want_ch):
    src, dst = tmp_path / "in.flac", tmp_path / "out.flac"
    sf.write(src, _tone(220, rate, 0.7, channels=channels), rate, subtype="PCM_24")
    render_file(CepstralEffect(target=target), src, dst, sr=16000, channels=option)
    info = sf.info(dst)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (rate, want_ch, int(0.7 * rate), "PCM_24")
    if channels == 2 and want_ch == 2:  # the input's own channels are processed, not a copied mix
        y, _ = load(dst)
        assert not np.allclose(y[0], y[1])


def test_out_sr_overrides_and_limits(tmp_path, target):
    src = tmp_path / "in.wav"
    sf.write(src, _tone(220, 16000, 1.0), 16000)
    r = render_file(CepstralEffect(target=target), src, tmp_path / "o.wav", out_sr=8000)
    assert (sf.info(r.path).samplerate, sf.info(r.path).frames, r.processing_sr) == (8000, 8000, 16000)


@pytest.mark.parametrize("value", ["stereo", "0", "-2", "1.5", True])
def test_bad_channels(value):
    with pytest.raises(ParameterError, match=f"channels={value!r} is not valid; expected keep, mono"):
        parse_channels(value)


def test_processing_rate_model_then_asked_then_index_then_file(target):
    from types import SimpleNamespace

    fx = CepstralEffect(target=target)
    assert processing_rate(fx, file_sr=44100) == (44100, "file")
    assert processing_rate(fx, file_sr=44100, sr=22050) == (22050, "sr")
    model = SimpleNamespace(required_sample_rate=16000)  # a model-bound effect's rate wins over an asked one
    assert processing_rate(model, file_sr=44100, sr=22050) == (16000, "model")
    mosaic = SimpleNamespace(required_sample_rate=None, index=SimpleNamespace(params={"sr": 32000}))
    assert processing_rate(mosaic, file_sr=44100) == (32000, "index")
    assert processing_rate(mosaic, file_sr=44100, sr=22050) == (22050, "sr")


def test_truncated_target_cuts_the_render(tmp_path, target):
    """Effect.output_length: a truncated cepstral target's output ends one frame after the
    target; the file render stops there (at the output rate too), other policies keep the length."""
    src = tmp_path / "in.wav"
    sf.write(src, _tone(196, 16000, 3.0)[:, 0], 16000)
    fx = CepstralEffect(target=target, length_policy="truncate")
    r = render_file(fx, src, tmp_path / "cut.wav")
    assert r.samples == fx.output_length(3 * 16000) == fx.target_frames * fx.hop_length + fx.n_fft < 3 * 16000
    half = render_file(fx, src, tmp_path / "cut8k.wav", out_sr=8000)
    assert half.samples == r.samples // 2
    loop = CepstralEffect(target=target)
    assert render_file(loop, src, tmp_path / "loop.wav").samples == 3 * 16000 == loop.output_length(3 * 16000)


def test_bad_output_extension_writes_nothing(tmp_path, target):
    src = tmp_path / "in.wav"
    sf.write(src, _tone(220, 16000, 0.5), 16000)
    with pytest.raises(ParameterError, match=r"cannot write \.xyz; expected one of"):
        render_file(CepstralEffect(target=target), src, tmp_path / "o.xyz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "target.wav"]


def test_cli_batch_folder_skips_a_bad_file(tmp_path, target):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    sf.write(inp / "a.wav", _tone(220, 22050, 0.6), 22050)
    sf.write(inp / "b.flac", _tone(262, 44100, 0.6, channels=2), 44100)
    (inp / "broken.wav").write_bytes(b"RIFF not really a wav")
    (inp / "notes.txt").write_text("not audio, not counted")
    r = run_cli("transfer", "--method", "cepstral", "--target", str(target), "--input", str(inp), "--out", str(out))
    assert r.returncode == 1, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.wav", "b.flac"]
    assert (sf.info(out / "b.flac").samplerate, sf.info(out / "b.flac").channels) == (44100, 2)
    assert "skipped" in r.stderr and "broken.wav" in r.stderr
    assert r.stderr.strip().splitlines()[-1] == "workbench: error: 1 file(s) failed: broken.wav"
    assert "wrote 2 of 3 file(s)" in r.stdout


def test_cli_batch_folder_without_audio(tmp_path, target):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    r = run_cli("transfer", "--method", "cepstral", "--target", str(target), "--input", str(tmp_path / "empty"),
                "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "is a folder with no audio files; expected .wav" in r.stderr


def test_cli_one_notice_per_cause(tmp_path):
    tdir, inp = tmp_path / "targets", tmp_path / "in"
    tdir.mkdir()
    inp.mkdir()
    for i in range(4):
        sf.write(tdir / f"t{i}.wav", _tone(300 + 10 * i, 16000, 0.5)[:, 0], 16000)
    for i in range(3):
        sf.write(inp / f"x{i}.wav", _tone(200 + 10 * i, 22050, 0.5), 22050)
    r = run_cli("transfer", "--method", "cepstral", "--target", str(tdir), "--input", str(inp), "--out",
                str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "note:" in ln]
    assert lines == [f"workbench: note: resampling 4 target file(s) from 16000 Hz to 22050 Hz "
                     f"(first: {tdir / 't0.wav'})"], r.stderr


def test_ctrl_c_leaves_no_half_written_file(tmp_path, target):
    src, dst = tmp_path / "long.wav", tmp_path / "out.wav"
    with sf.SoundFile(src, "w", samplerate=16000, channels=1, subtype="PCM_16") as f:
        block = _tone(220, 16000, 10.0)
        for _ in range(120):  # 20 minutes: long enough that it is still running when interrupted
            f.write(block)
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "--quiet", "transfer", "--method", "cepstral",
                             "--target", str(target), "--input", str(src), "--out", str(dst)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a test runner started in the background by a shell without job control
                            # ignores SIGINT, and the child would inherit that: Ctrl-C is what is tested
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    partial = tmp_path / ".out.partial.wav"
    deadline = time.monotonic() + 120
    while not (partial.is_file() and partial.stat().st_size > 1 << 16) and proc.poll() is None:
        assert time.monotonic() < deadline, "the partial file never grew"
        time.sleep(0.05)
    # Freeze it before interrupting: on a loaded machine the render could otherwise finish between
    # the check and the signal. A partial file still there while it is stopped means it is mid-render.
    proc.send_signal(signal.SIGSTOP)
    assert proc.poll() is None and partial.is_file(), proc.communicate()
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err, err
    assert not dst.exists() and not partial.exists()


def test_cli_mosaic_target_folder_with_its_own_index_json(tmp_path, target):
    """A rendered melody folder has an index.json of its own; it is a target, not a saved mosaic index."""
    folder, src = tmp_path / "melodies", tmp_path / "in.wav"
    folder.mkdir()
    sf.write(folder / "melody_000.wav", _tone(330, 16000, 1.0)[:, 0], 16000)
    (folder / "index.json").write_text('{"melodies": 1}')
    sf.write(src, _tone(220, 16000, 0.5), 16000)
    r = run_cli("transfer", "--method", "mosaic", "--target", str(folder), "--input", str(src), "--out",
                str(tmp_path / "o.wav"))
    assert r.returncode == 0, r.stderr


def test_render_audio_is_the_file_render_in_memory(tmp_path, target):
    """render_audio: the same samples as render_file written as float and read back, at the same
    rates, and the same end for a truncated target."""
    from effects.render import render_audio

    x = _tone(220, 22050, 1.5)[:, 0]
    src = tmp_path / "in.wav"
    sf.write(src, x, 22050, subtype="FLOAT")
    for policy in ("loop", "truncate"):
        fx = CepstralEffect(target=target, length_policy=policy)
        r = render_file(fx, src, tmp_path / f"{policy}.wav", sr=16000, out_sr=44100, subtype="FLOAT")
        y, rate = render_audio(fx, x, sr=22050, processing_sr=16000, out_sr=44100)
        z, _ = sf.read(r.path, dtype="float32")
        assert rate == r.processing_sr == 16000 and y.ndim == 1 and abs(len(y) - len(z)) <= 1
        n = min(len(y), len(z))
        assert np.abs(y[:n] - z[:n]).max() < 1e-5, policy


def test_render_files_lists_the_bad_file_and_writes_the_rest(tmp_path, target):
    from effects.render import render_files

    good = [tmp_path / f"in{i}.wav" for i in range(2)]
    for f in good:
        sf.write(f, _tone(220, 16000, 0.5)[:, 0], 16000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really")
    lines = []
    pairs = [(good[0], tmp_path / "out" / "a.wav"), (bad, tmp_path / "out" / "b.wav"), (good[1], tmp_path / "out" / "c.wav")]
    done, failed = render_files(CepstralEffect(target=target), pairs, sr=8000, notify=lines.append)
    assert [r.path.name for r in done] == ["a.wav", "c.wav"] and [f for f, _ in failed] == [bad]
    assert not (tmp_path / "out" / "b.wav").exists()
    assert lines[0] == ("note: processing at the asked-for 8000 Hz (input 16000 Hz), writing 16000 Hz; the output "
                        "has nothing above 4000 Hz")
    assert len(lines) == 2 and lines[1].startswith(f"skipped {bad}: ")  # the notice once, not per file
    with pytest.raises(ParameterError):  # one file: its error, not a list
        render_files(CepstralEffect(target=target), pairs[1:2])
