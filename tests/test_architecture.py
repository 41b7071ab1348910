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
    assert listed - modules <= {"api"}   # api: optional until it exists
