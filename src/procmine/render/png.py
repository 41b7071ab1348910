"""A PNG per chart, rendered with vl-convert only when its spec changed.

Each dashboards folder holds a manifest (`MANIFEST`) of its PNGs: for each file the digest of
the full Vega-Lite spec (inlined data included, with the renderer's version and scale) it was
rendered from, and the digest of the PNG's bytes. A chart whose spec digest equals a previous
folder's entry, and whose previous PNG still has the recorded bytes, is copied instead of
rendered; a mismatch of either (e.g. pages half moved into place by a killed run) renders again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from procmine.render.html import VL_VERSION
from procmine.render.page import Chart

MANIFEST = ".png-manifest.json"
PNG_SCALE = 2
PNG_WORKERS = 4   # vl-convert renders concurrently


@dataclass(frozen=True)
class Rendered:
    """A manifest entry: what a PNG was rendered from, and its bytes' digest."""

    spec: str
    png: str


def chart_png(spec: dict[str, Any]) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(spec, vl_version=VL_VERSION, scale=PNG_SCALE)


@cache
def _renderer() -> str:
    try:
        return version("vl-convert-python")
    except PackageNotFoundError:
        return "unknown"


def spec_digest(spec: dict[str, Any]) -> str:
    """Digest of a chart's full spec as vl-convert would render it."""
    payload = json.dumps([spec, VL_VERSION, PNG_SCALE, _renderer()], sort_keys=True,
                         separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> dict[str, Rendered]:
    """PNG file name → entry; empty when the folder has no (readable) manifest."""
    try:
        entries = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {name: Rendered(**entry) for name, entry in entries.items()}
    except (OSError, ValueError, TypeError, AttributeError):  # missing or not ours: render
        return {}


def manifest_text(entries: dict[str, Rendered]) -> str:
    """The manifest's content: sorted, so the same PNGs give the same bytes."""
    return json.dumps({name: asdict(entries[name]) for name in sorted(entries)},
                      sort_keys=True, indent=1) + "\n"


def _previous_png(manifests: list[tuple[Path, dict[str, Rendered]]], name: str,
                  spec: str) -> bytes | None:
    """The bytes of a PNG a folder rendered from the same spec, if they are still intact."""
    for folder, entries in manifests:
        entry = entries.get(name)
        if entry is None or entry.spec != spec:
            continue
        try:
            data = (folder / name).read_bytes()
        except OSError:
            continue
        if _digest(data) == entry.png:
            return data
    return None


def chart_pngs(charts: list[Chart], previous: Iterable[Path],
               ) -> tuple[dict[str, bytes], dict[str, Rendered]]:
    """File name → PNG bytes of every chart, reused where one of the `previous` folders
    rendered the same spec and rendered (concurrently) otherwise; and their manifest entries."""
    manifests = [(folder, read_manifest(folder)) for folder in dict.fromkeys(previous)]
    specs = {f"{chart.slug}.png": chart.full_spec() for chart in charts}
    digests = {name: spec_digest(spec) for name, spec in specs.items()}
    pngs = {name: _previous_png(manifests, name, digests[name]) for name in specs}
    stale = [name for name, data in pngs.items() if data is None]
    if stale:
        with ThreadPoolExecutor(max_workers=PNG_WORKERS) as pool:
            pngs.update(zip(stale, pool.map(lambda name: chart_png(specs[name]), stale),
                            strict=True))
    images = {name: data for name, data in pngs.items() if data is not None}
    return images, {name: Rendered(digests[name], _digest(data))
                    for name, data in images.items()}
