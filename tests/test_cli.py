"""The workbench command as a user meets it."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.conftest import ROOT, run_cli


def test_help_lists_verbs_quickly():
    t = time.perf_counter()
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "workbench"), "--help"], capture_output=True, text=True) \
        if (ROOT / ".venv" / "bin" / "workbench").exists() else run_cli("--help")
    assert proc.returncode == 0
    for verb in ("corpus render", "corpus melodies", "corpus voice", "corpus info", "info", "demo", "devices", "live"):
        assert verb in proc.stdout
    assert time.perf_counter() - t < 10  # lazy imports: no torch/librosa for --help


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'librosa', 'fluidsynth') if m in sys.modules))")
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_corpus_help():
    proc = run_cli("corpus", "render", "--help")
    assert proc.returncode == 0 and "--families" in proc.stdout and "--workers" in proc.stdout


def test_no_verb_prints_usage():
    proc = run_cli()
    assert proc.returncode == 2 and "verbs:" in proc.stdout


def test_argparse_type_error_is_one_line():
    proc = run_cli("corpus", "render", "--out", "x", "--sr", "fast")
    assert proc.returncode == 2 and "'fast' is not an integer" in proc.stderr and "Traceback" not in proc.stderr


def test_stream_control_inputs_close_when_the_engine_fails_or_the_console_ends(monkeypatch, capsys):
    """live and play share run_stream: MIDI/OSC inputs never outlive the stream (no device needed)."""
    import sys
    import types

    from cli import stream

    class Input:
        closed = False

        def close(self):
            self.closed = True

    class Engine:
        def __init__(self, fails=False):
            self.fails = fails

        def start(self):
            if self.fails:
                raise RuntimeError("no stream")

    console = types.SimpleNamespace(key_help=lambda engine: "keys", run_console=lambda engine, seconds: {"s": seconds})
    monkeypatch.setitem(sys.modules, "cli.console", console)  # the real one opens PortAudio
    inputs = [Input(), Input()]
    with pytest.raises(RuntimeError, match="no stream"):
        stream.run_stream(Engine(fails=True), inputs, seconds=1.0, header=lambda e: "header")
    assert all(i.closed for i in inputs) and "header" not in capsys.readouterr().out
    inputs = [Input()]
    assert stream.run_stream(Engine(), inputs, seconds=2.0, header=lambda e: "header") == {"s": 2.0}
    assert inputs[0].closed and capsys.readouterr().out == "header\n"
