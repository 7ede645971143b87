"""The layering of docs/ARCHITECTURE.md, checked by walking every import with ast.

Faces are named, not exempted silently: the `workbench` command (`workbench/cli/`, the one face
inside the core package), `workbench/__main__.py` and `streamlit_app.py`; the `dashboard`
package is a face too and is not a layer, so nothing below may import it.
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
# the dashboard's pages are faces like streamlit_app.py: they may import every layer, nothing imports them
OURS = set(ALLOWED) | {"dashboard"}
FACES = {*(ROOT / "workbench" / "cli").rglob("*.py"), ROOT / "workbench" / "__main__.py", ROOT / "streamlit_app.py"}
FACE_ONLY = {"streamlit", "dashboard"}  # the library below the faces never needs these


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


def test_checker_catches_a_violation(tmp_path):
    for pkg in ALLOWED:
        (tmp_path / pkg).mkdir()
    (tmp_path / "workbench" / "bad.py").write_text("from effects import base\n")
    (tmp_path / "models" / "ok.py").write_text("import workbench.audio\n")
    (tmp_path / "analysis" / "face.py").write_text("import numpy\nimport streamlit as st\nfrom dashboard import common\n")
    assert layer_violations(tmp_path) == ["workbench/bad.py:1 imports effects", "analysis/face.py:2 imports streamlit",
                                          "analysis/face.py:3 imports dashboard"]

