"""Publishing rendered pages: a staging folder moved over the published dashboards."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def publish_dashboards(staged: Path, final: Path) -> None:
    """Move freshly rendered pages over the published ones (after the database is published)."""
    if not staged.exists():
        return
    final.mkdir(parents=True, exist_ok=True)
    for item in sorted(staged.rglob("*")):
        target = final / item.relative_to(staged)
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            os.replace(item, target)
    shutil.rmtree(staged, ignore_errors=True)


def clear_stale_staging(final: Path, keep: Path) -> list[Path]:
    """Remove the staging folders (`.<final>.<run id>`) that killed runs left beside `final`,
    except `keep` (this run's). Call only while holding the run lock: then no other run is
    rendering into one of them. Returns what was removed."""
    if not final.parent.is_dir():
        return []
    stale = [p for p in final.parent.glob(f".{final.name}.*") if p.is_dir() and p != keep]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale
