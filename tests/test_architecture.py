"""The import contract (ARCHITECTURE.md) covers every module: each top-level module or package
of procmine is in one layer of `[tool.importlinter]`, so `lint-imports` checks its imports."""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path

import procmine

ROOT = Path(__file__).resolve().parents[1]


def test_every_top_level_module_is_in_a_layer() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [c["layers"] for c in settings["tool"]["importlinter"]["contracts"]
                 if c["type"] == "layers"]
    listed = set(re.findall(r"procmine\.(\w+)", " ".join(layers)))
    modules = {m.name for m in pkgutil.iter_modules(procmine.__path__)}
    assert modules - listed == set(), "add these to a layer in pyproject.toml"
    assert listed - modules == set(), "a layer names a module that does not exist"


def test_every_import_of_procmine_names_a_module_that_exists() -> None:
    """lint-imports ignores an import of a module that is gone (after a move, a lazy import
    inside a function still naming the old place fails only when that function runs)."""
    source = ROOT / "src" / "procmine"
    names = {".".join(("procmine", *p.relative_to(source).with_suffix("").parts))
             .removesuffix(".__init__") for p in source.rglob("*.py")}
    imported = set()
    for path in source.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        imported |= set(re.findall(r"^\s*from (procmine(?:\.\w+)*) import", text, re.M))
        imported |= set(re.findall(r"^\s*import (procmine(?:\.\w+)*)", text, re.M))
    assert {name for name in imported if name not in names} == set()
