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


def test_the_effect_options_table_matches_the_parsers_and_the_effects():
    """Every method's row maps options that transfer and live both have to keywords its effect takes."""
    import argparse
    import inspect

    from cli import build_parser
    from cli.options import EFFECT_OPTIONS
    from effects.registry import METHODS, MODEL_METHODS, effect_class

    assert set(EFFECT_OPTIONS) == set(METHODS) - {"dry"}
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for verb in ("transfer", "live"):
        dests = {a.dest for a in sub.choices[verb]._actions}
        for method, options in EFFECT_OPTIONS.items():
            assert set(options.values()) <= dests, (verb, method, set(options.values()) - dests)
    for method, options in EFFECT_OPTIONS.items():
        keywords = set(options) | ({"device"} if method in MODEL_METHODS else set())
        accepted = set(inspect.signature(effect_class(method).__init__).parameters)
        assert keywords <= accepted, (method, keywords - accepted)


@pytest.mark.parametrize("argv, message", [
    (["--method", "cepstral", "--target", "t", "--octave-shift", "1"],
     "--octave-shift and --auto-register are for --method ddsp, not cepstral"),
    (["--method", "latent-mix", "--model", "m", "--torchscript"], "--torchscript is for --method autoencoder, not latent-mix"),
    (["--method", "ddsp", "--model", "m", "--synthesis-length", "300"],
     "--window and --synthesis-length are for autoencoder, cepstral and latent-mix, not ddsp"),
    (["--method", "mosaic", "--target", "t", "--device", "auto", "--window", "hann"],
     "--window and --synthesis-length are for autoencoder, cepstral and latent-mix, not mosaic"),
    (["--method", "mosaic", "--octave-shift", "1"], "--octave-shift and --auto-register are for --method ddsp, not mosaic"),
    (["--method", "latent-mix"], "--method latent-mix needs --model RUN_DIR (a multi-instrument run)"),
])
def test_an_option_the_method_does_not_take_is_one_line_before_anything_loads(argv, message):
    from cli import build_parser
    from cli.options import effect_from_args
    from workbench.errors import ParameterError

    args = build_parser().parse_args(["transfer", "--input", "i", "--out", "o", *argv])
    with pytest.raises(ParameterError) as err:
        effect_from_args(args)
    assert str(err.value) == message


def test_the_table_maps_the_options_to_the_effect_keywords(monkeypatch):
    """The keywords reach effects.registry.make_effect as the table maps them (no effect is built)."""
    import effects.registry
    from cli import build_parser
    from cli.options import effect_from_args

    calls = []
    monkeypatch.setattr(effects.registry, "make_effect", lambda method, **o: calls.append((method, o)))
    args = build_parser().parse_args(["live", "--method", "latent-mix", "--model", "m", "--from", "brass", "--to", "reed",
                                      "--alpha", "0.25", "--latent-mode", "shift", "--mix", "0.5"])
    effect_from_args(args)
    args = build_parser().parse_args(["transfer", "--input", "i", "--out", "o", "--method", "cepstral", "--target", "t",
                                      "--lifter", "20", "--hop", "128"])
    effect_from_args(args)
    assert calls == [
        ("latent-mix", dict(model="m", mode="shift", source="brass", target="reed", alpha=0.25, window=None,
                            synthesis_length=None, mix=0.5, gate_db=-60.0, device=None)),
        ("cepstral", dict(target="t", n_fft=1024, hop_length=128, lifter_input=20, lifter_target=20,
                          envelope="timevarying", length_policy="loop", window=None, synthesis_length=None, mix=1.0,
                          gate_db=-60.0)),
    ]
