"""Dashboards: self-contained offline HTML pages (and a PNG per chart) built from the marts.

Data flow: marts.* (aggregates; `MartReader` adds fixed-shape temp views and one small
waste aggregate) → page SQL in sql/reports/ → Altair charts with named datasets → HTML with
inline Vega bundle and data; each page's charts go to PNG worker processes (render.png) as
soon as the page is built. The same marts always give the same bytes (no clocks, sorted
JSON, ordered queries, exact decimal sums).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from procmine.config import Config
from procmine.render import html
from procmine.render.marts import MartReader, jsonable
from procmine.render.page import Context, Page, chart_checks
from procmine.render.png import MANIFEST, PngJobs, Rendered, manifest_text
from procmine.render.scope import Scope, load_scope

PageBuilder = Callable[[MartReader, Scope, Context], Page]
VALIDATION_DOCS = Path("validation") / "index.html"
MODEL_FILES = (Path("model") / "discovered_model.svg", Path("model") / "discovered_model.bpmn")


def page_builders() -> tuple[list[PageBuilder], list[PageBuilder]]:
    """The pages in their order on the site, and in the order they are built: quick queries
    first, then the most charts, so PNGs are rendered while the slower pages query; last the
    data-quality page, whose one small chart is all that is left to draw after the last
    query. (The page modules import Altair, ~0.4 s: only when pages are built, after the PNG
    workers have been started.)"""
    from procmine.render.pages import (
        bottlenecks,
        d2c,
        data_quality,
        operating_model,
        overview,
        process_map,
        variants,
        waste,
    )

    site = [overview.build, process_map.build, waste.build, bottlenecks.build, variants.build,
            operating_model.build, d2c.build, data_quality.build]
    build_order = [variants.build, process_map.build, bottlenecks.build, waste.build,
                   operating_model.build, d2c.build, overview.build, data_quality.build]
    return site, build_order + [b for b in site if b not in build_order]


def build_pages(conn: duckdb.DuckDBPyConnection, ctx: Context,
                on_page: Callable[[Page], None] | None = None) -> tuple[Scope, list[Page]]:
    """Every page's content from the marts of `conn` (read only; temp views and tables
    only), in the site's order; `on_page` is called with each page as soon as it is built
    (in build order, `page_builders`)."""
    # The page modules' import (Altair: ~0.4 s of Python) runs beside the first queries.
    importing = threading.Thread(target=page_builders, name="procmine-import-pages")
    importing.start()
    built: dict[PageBuilder, Page] = {}
    with MartReader(conn) as reader:
        scope = load_scope(reader)
        importing.join()
        site, build_order = page_builders()
        with chart_checks():
            for build in build_order:
                built[build] = build(reader, scope, ctx)
                if on_page:
                    on_page(built[build])
    return scope, [built[build] for build in site]


def context_for(config: Config, out_dir: Path,
                current_run: dict[str, Any] | None = None) -> Context:
    folders = (out_dir, config.dashboards_dir)
    docs = any((folder / VALIDATION_DOCS).is_file() for folder in folders)
    models = tuple(f.as_posix() for f in MODEL_FILES
                   if any((folder / f).is_file() for folder in folders))
    bpmn = next((folder / MODEL_FILES[1] for folder in folders
                 if (folder / MODEL_FILES[1]).is_file()), None)
    return Context(currency=str(config.section("cost").get("currency", "EUR")),
                   validation_docs=VALIDATION_DOCS.as_posix() if docs else None,
                   current_run=jsonable_run(current_run) if current_run else None,
                   model_files=models,
                   model_bpmn=bpmn.read_text("utf-8") if bpmn else None)


def jsonable_run(run: dict[str, Any]) -> dict[str, Any]:
    return {key: jsonable(value) for key, value in run.items()}


def render_all(conn: duckdb.DuckDBPyConnection, config: Config, out_dir: Path,
               *, png: bool = True, current_run: dict[str, Any] | None = None,
               previous: Path | None = None, workers_first: bool = True) -> list[Path]:
    """Write index.html, one HTML page per dashboard and a PNG per chart into `out_dir`.

    `current_run`: a run not yet recorded in marts.run_log (the pipeline renders before it
    records its run), shown as the newest run on the data-quality page. `previous`: the
    published pages `out_dir` will replace (default: the configured dashboards folder); a
    chart whose spec is unchanged since its PNG there was rendered is copied, not rendered;
    the others are rendered in worker processes while the next pages are built.
    `workers_first`: start those processes before anything else, so their start-up (~1 s
    of CPU each, vl-convert's JavaScript runtime warmed as they start) overlaps the first
    queries (new marts change every chart); False starts them with the first chart that
    needs drawing, if any.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = context_for(config, out_dir, current_run)
    with PngJobs([out_dir, previous or config.dashboards_dir]) as pngs:
        if png and workers_first:
            pngs.start()
        scope, pages = build_pages(conn, ctx, (lambda page: pngs.add(page.charts)) if png
                                   else None)
        nav = [(page.slug, page.title) for page in pages]
        footer = (f"procmine · {html.esc(scope.describe())} · built from the marts (aggregates "
                  "only) · every chart is also a PNG beside this page")
        written = [_write(out_dir / "index.html", html.render_index(
            pages, nav, footer, scope.describe(), ctx.validation_docs))]
        for page in pages:
            written.append(_write(out_dir / f"{page.slug}.html",
                                  html.render_page(page, nav, footer)))
        if png:
            written += write_pngs(*pngs.results(), out_dir)
    return written


def write_pngs(images: dict[str, bytes], entries: dict[str, Rendered],
               out_dir: Path) -> list[Path]:
    """The PNGs and their manifest."""
    written = [_write(out_dir / name, data) for name, data in images.items()]
    _write(out_dir / MANIFEST, manifest_text(entries))
    return written


def rebuild(config: Config, db_path: Path, out_dir: Path | None = None) -> list[Path]:
    """`procmine dashboards`: every page from the published database alone (read-only),
    rendered aside and then moved over the previous pages."""
    from procmine import store
    from procmine.render.publish import publish_dashboards

    final = Path(out_dir) if out_dir else config.dashboards_dir
    staged = final.with_name(f".{final.name}.render-{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    try:
        conn = store.reading(db_path)
        try:
            written = render_all(conn, config, staged, previous=final, workers_first=False)
        finally:
            conn.close()
        publish_dashboards(staged, final)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return [final / path.relative_to(staged) for path in written]


def _write(path: Path, content: str | bytes) -> Path:
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
