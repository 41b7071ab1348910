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
