"""The layering of docs/ARCHITECTURE.md, checked by walking every import with ast.

The faces are the top-level `cli` package (the `workbench` command), the `dashboard` package and
`streamlit_app.py`: they are not layers, so nothing below may import them. One file is named,
not exempted silently: `workbench/__main__.py`, the entry point `python -m workbench` runs,
which only starts the `cli` face.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

# package -> packages of ours it may import
ALLOWED = {
    "workbench": {"workbench"},
    "models": {"workbench", "models"},
    "effects": {"workbench", "models", "effects"},
    "live": {"workbench", "models", "effects", "live"},
    "analysis": {"workbench", "models", "effects", "live", "analysis"},
}
# the command's verbs and the dashboard's pages are faces like streamlit_app.py: they may import every
# layer, nothing imports them
OURS = set(ALLOWED) | {"cli", "dashboard"}
FACES = {ROOT / "workbench" / "__main__.py"}  # `python -m workbench`: starts the cli face, imported by nothing
FACE_ONLY = {"streamlit", "cli", "dashboard"}  # the library below the faces never needs these


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def layer_violations(root: Path = ROOT) -> list[str]:
    bad = []
    for pkg, allowed in ALLOWED.items():
        for path in sorted((root / pkg).rglob("*.py")):
            if path in FACES:
                continue
            for line, mod in _imports(path):
                if (mod in OURS and mod not in allowed) or mod in FACE_ONLY:
                    bad.append(f"{path.relative_to(root)}:{line} imports {mod}")
    return bad


def test_imports_point_down():
    assert layer_violations() == []


def test_the_python_m_entry_point_only_starts_the_command():
    """The one named file under the core imports the cli face and nothing else of ours."""
    (launcher,) = FACES
    assert {mod for _, mod in _imports(launcher)} == {"sys", "cli"}


def test_no_verb_imports_the_command_package():
    """Inside the cli face imports point one way too: the verbs take the shared options from
    cli.options and cli.stream, never from cli/__init__ (which imports them to wire the parser)."""
    back = []
    for path in sorted((ROOT / "cli").glob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module if node.level == 0 else "cli" if not node.module else ""]  # from . import x
            else:
                continue
            back += [f"{path.name}:{node.lineno}" for name in names if name == "cli"]
    assert back == []


def test_checker_catches_a_violation(tmp_path):
    for pkg in ALLOWED:
        (tmp_path / pkg).mkdir()
    (tmp_path / "workbench" / "bad.py").write_text("from effects import base\n")
    (tmp_path / "workbench" / "up.py").write_text("import sys\nfrom cli import main\n")
    (tmp_path / "models" / "ok.py").write_text("import workbench.audio\n")
    (tmp_path / "analysis" / "face.py").write_text("import numpy\nimport streamlit as st\nfrom dashboard import common\n")
    assert layer_violations(tmp_path) == ["workbench/bad.py:1 imports effects", "workbench/up.py:2 imports cli",
                                          "analysis/face.py:2 imports streamlit", "analysis/face.py:3 imports dashboard"]

