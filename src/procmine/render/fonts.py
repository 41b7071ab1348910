"""The fonts the PNG worker processes draw with: the Liberation Sans that vl-convert bundles.

vl-convert (fontdb) loads the host's fonts before its bundled Liberation Sans, so the theme's
font stack (theme.FONT: named families, then sans-serif = Arial, Helvetica or Liberation Sans,
first found) resolves to a host font file where there is one; and fontdb maps a font file
anew for every glyph it looks up (open, mmap, munmap thousands of times a chart: half of a
chart's CPU). The workers are therefore given a fontconfig file (`FONTCONFIG_FILE`, read by
fontdb on Linux) that lists every host font except those families: the text is drawn with
the bundled copy, held in memory, whatever the host has installed (the same PNG bytes on
every host), and the host's other fonts remain fallbacks for characters Liberation Sans
lacks. vl-convert falls back to the first font (in the listed order) that has the character,
so upright regular faces are listed first. Without fontconfig's `fc-list` the workers see
the host's fonts as they are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from procmine.render.theme import FONT

GENERIC = {"serif", "sans-serif", "monospace", "cursive", "fantasy"}
# vl-convert's choice for sans-serif, in its order; it bundles the last one.
SANS_SERIF = ("Arial", "Helvetica", "Liberation Sans")


def preferred_families() -> frozenset[str]:
    """Families vl-convert would pick for the theme's text before the bundled Liberation Sans."""
    named = (name.strip().strip("'\"") for name in FONT.split(","))
    return frozenset({n for n in named if n and n.lower() not in GENERIC} | set(SANS_SERIF))


@cache
def host_fallback_fonts() -> tuple[str, ...] | None:
    """The host's font files (fontconfig's list) but those of `preferred_families`, upright
    regular faces first; None when fontconfig cannot list them (the workers then see the
    host's fonts unchanged)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listing = subprocess.run(
            [fc_list, "--format", "%{family}\t%{slant}\t%{width}\t%{weight}\t%{file}\n"],
            check=True, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    preferred = preferred_families()
    files: dict[str, tuple[bool, bool, float] | None] = {}   # None: has a preferred face
    for line in listing.splitlines():
        families, slant, width, weight, file = (line.split("\t") + [""] * 5)[:5]
        if not file:
            continue
        if preferred & {f.strip() for f in families.split(",")}:
            files[file] = None
        elif file not in files or files[file] is not None:
            order = (_number(slant) != 0, _number(width, 100) != 100,
                     abs(_number(weight, 80) - 80))
            files[file] = min(order, files.get(file) or order)
    kept = [(order, file) for file, order in files.items() if order is not None]
    return tuple(file for _, file in sorted(kept))


def _number(text: str, default: float = 0) -> float:
    try:
        return float(text)
    except ValueError:   # missing, or a range such as "[80 200]" (a variable font)
        return default


def fonts_tag() -> str:
    """What the PNGs' text is drawn with (part of each PNG's spec digest)."""
    return "bundled Liberation Sans" if host_fallback_fonts() is not None else "host fonts"


def write_font_config(folder: Path) -> Path | None:
    """A fontconfig file in `folder` that lists the `host_fallback_fonts` in their order (a
    folder each, holding a link to the file); None when there is no such list."""
    fonts = host_fallback_fonts()
    if fonts is None:
        return None
    dirs = []
    for i, file in enumerate(fonts):
        link = folder / "fonts" / f"{i:05d}" / Path(file).name
        link.parent.mkdir(parents=True)
        os.symlink(file, link)
        dirs.append(f"<dir>{escape(str(link.parent))}</dir>")
    config = folder / "fonts.conf"
    config.write_text('<?xml version="1.0"?>\n<fontconfig>' + "".join(dirs) + "</fontconfig>\n",
                      encoding="utf-8")
    return config
