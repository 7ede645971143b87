"""Count, per package, how much of the public API has numpydoc sections and type hints (issue 17).

``python scripts/doc_coverage.py [--list] [PACKAGE ...]`` reads the source with ``ast`` (it imports
nothing) and prints one row per package:

- *callables*: public functions, public methods of public classes (properties included) and
  public classes whose own ``__init__`` takes parameters. Public: no leading underscore on the
  module, the class or the name; dunders other than ``__init__`` are left out, and so are faces
  (the top-level ``cli`` and ``dashboard`` packages, and ``workbench/cli/`` in trees from before
  issue 29) unless named.
- *documented*: the docstring (a class's or its ``__init__``'s) has a ``Parameters`` section when
  the callable takes parameters besides ``self``/``cls``, and a ``Returns`` (or ``Yields``)
  section when it returns a value (a return annotation other than ``None``, or without one a
  ``return <value>``/``yield`` in its body); a callable that takes and returns nothing, and a property
  (numpydoc gives it a one-line description), needs a docstring.
- *typed*: every parameter besides ``self``/``cls`` is annotated, and so is the return (not
  asked of ``__init__``).

``--list`` also names every callable that misses either.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # --root reads another tree (e.g. a `git archive` of main)
PACKAGES = ("analysis", "workbench", "effects", "live", "models")
EXCLUDE = ("workbench/cli",)  # where the command lived before issue 29 (--root on an older tree): a face, not API
SECTION = r"^\s*{}\s*\n\s*-{{3,}}\s*$"


@dataclass
class Item:
    name: str
    documented: bool
    typed: bool


def _has_section(doc: str | None, *names: str) -> bool:
    return bool(doc) and any(re.search(SECTION.format(n), doc, re.MULTILINE) for n in names)


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    a = fn.args
    args = [*a.posonlyargs, *a.args, *a.kwonlyargs, *([a.vararg] if a.vararg else []), *([a.kwarg] if a.kwarg else [])]
    return [p for p in args if p.arg not in ("self", "cls")]


def _returns_value(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if fn.returns is not None:  # the annotation says it (``-> None``: nothing, even via ``return f()``)
        return not (isinstance(fn.returns, ast.Constant) and fn.returns.value is None)
    todo = list(fn.body)
    while todo:  # the function's own statements, not those of functions or classes nested in it
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return True
        todo.extend(ast.iter_child_nodes(node))
    return False


def _judge(fn: ast.FunctionDef | ast.AsyncFunctionDef, doc: str | None, *, init: bool = False) -> tuple[bool, bool]:
    params, returns = _params(fn), (not init and _returns_value(fn))
    prop = any(isinstance(d, ast.Name) and d.id in ("property", "cached_property") for d in fn.decorator_list)
    documented = bool(doc) and (prop or (not params or _has_section(doc, "Parameters")) and (
        not returns or _has_section(doc, "Returns", "Yields")))
    typed = all(p.annotation is not None for p in params) and (init or fn.returns is not None)
    return documented, typed


def _public(name: str) -> bool:
    return not name.startswith("_")


def module_items(path: Path) -> list[Item]:
    """The public callables of one module file, judged."""
    tree = ast.parse(path.read_text(), filename=str(path))
    items = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _public(node.name):
            items.append(Item(node.name, *_judge(node, ast.get_docstring(node))))
        elif isinstance(node, ast.ClassDef) and _public(node.name):
            for sub in node.body:
                if not isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                if sub.name == "__init__":
                    if _params(sub):  # the constructor: documented in the class's docstring or its own
                        doc = "\n".join(d for d in (ast.get_docstring(node), ast.get_docstring(sub)) if d)
                        items.append(Item(node.name, *_judge(sub, doc or None, init=True)))
                elif _public(sub.name) and not any(isinstance(d, ast.Attribute) and d.attr == "setter"
                                                   for d in sub.decorator_list):  # the getter counts
                    items.append(Item(f"{node.name}.{sub.name}", *_judge(sub, ast.get_docstring(sub))))
    return items


def package_items(package: str, root: Path = ROOT) -> dict[str, list[Item]]:
    """Every public module of ``package`` (a folder under ``root``) and its items."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if any(rel.startswith(e + "/") for e in EXCLUDE if not package.startswith(e)):
            continue
        if any(part.startswith("_") and part != "__init__.py" for part in path.relative_to(root).parts):
            continue
        out[rel] = module_items(path)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("packages", nargs="*", default=list(PACKAGES))
    ap.add_argument("--list", action="store_true", help="name the callables that miss sections or hints")
    ap.add_argument("--root", type=Path, default=ROOT, help="the tree to read (default: this checkout)")
    args = ap.parse_args(argv)
    print(f"{'package':<12} {'callables':>9} {'documented':>14} {'typed':>14}")
    for package in args.packages:
        modules = package_items(package, args.root)
        items = [it for its in modules.values() for it in its]
        n, d, t = len(items), sum(it.documented for it in items), sum(it.typed for it in items)
        print(f"{package:<12} {n:>9} {d:>8} ({d / max(n, 1):4.0%}) {t:>8} ({t / max(n, 1):4.0%})")
        if args.list:
            for rel, its in modules.items():
                for it in its:
                    if not (it.documented and it.typed):
                        miss = ", ".join(m for m, ok in (("sections", it.documented), ("hints", it.typed)) if not ok)
                        print(f"    {rel}: {it.name} ({miss})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
