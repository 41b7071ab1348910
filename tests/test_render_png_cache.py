"""PNGs are rendered with vl-convert only for charts whose spec (data included) changed since
the published PNG was rendered; the others are copied, byte for byte."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from procmine import store
from procmine.config import Config
from procmine.render import build_pages, context_for, rebuild, render_all
from procmine.render.fonts import host_fallback_fonts, preferred_families, write_font_config
from procmine.render.png import LATE_WORKER_CHARTS, MANIFEST, PngJobs, PngWorker, spec_digest
from procmine.render.publish import publish_dashboards
from tests.test_dashboards import build_fixture_db, isolated_config


@pytest.fixture
def rendered_specs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The spec digest of every chart a vl-convert worker process is asked to render."""
    calls: list[str] = []
    real = PngWorker.render

    def counting(self: PngWorker, spec: dict[str, Any]) -> bytes:
        calls.append(spec_digest(spec))
        return real(self, spec)

    monkeypatch.setattr(PngWorker, "render", counting)
    return calls


def render(db: Path, config: Config, out: Path) -> None:
    conn = store.reading(db)
    try:
        render_all(conn, config, out)
    finally:
        conn.close()


def charts_of(db: Path, config: Config) -> list[Any]:
    """Every chart of the dashboards, as the marts of `db` give them."""
    conn = store.reading(db)
    try:
        _, pages = build_pages(conn, context_for(config, config.dashboards_dir))
    finally:
        conn.close()
    return [c for p in pages for c in p.charts]


def chart_digests(db: Path, config: Config) -> dict[str, str]:
    """PNG file name → digest of the chart's full spec, as the marts of `db` give them."""
    return {f"{c.slug}.png": spec_digest(c.full_spec()) for c in charts_of(db, config)}


def pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def test_unchanged_charts_are_copied_and_a_changed_mart_re_renders_its_charts(
        tmp_path: Path, rendered_specs: list[str]) -> None:
    db = build_fixture_db(tmp_path / "procmine.duckdb")
    config = isolated_config(tmp_path)
    published = config.dashboards_dir
    render(db, config, published)
    first = pngs(published)
    assert len(rendered_specs) == len(first) > 10

    rendered_specs.clear()
    staged = tmp_path / ".dashboards.next"
    render(db, config, staged)  # the pipeline's render step: into staging, published aside
    assert rendered_specs == []
    assert pngs(staged) == first
    assert (staged / MANIFEST).read_bytes() == (published / MANIFEST).read_bytes()
    publish_dashboards(staged, published)

    before = chart_digests(db, config)
    with store.writing(db) as conn:
        conn.execute("UPDATE marts.waste_heatmap SET hours = hours * 3, cost = cost * 3")
    changed = {name for name, digest in chart_digests(db, config).items()
               if digest != before[name]}
    assert changed and len(changed) < len(first)

    render(db, config, staged)
    assert sorted(rendered_specs) == sorted(chart_digests(db, config)[n] for n in changed)
    again = pngs(staged)
    assert {name for name in first if again[name] != first[name]} == changed


def test_a_png_that_is_not_what_its_manifest_says_is_rendered_again(
        tmp_path: Path, rendered_specs: list[str]) -> None:
    """E.g. pages half moved into place by a killed run: the manifest is not trusted blindly."""
    db = build_fixture_db(tmp_path / "procmine.duckdb")
    config = isolated_config(tmp_path)
    published = config.dashboards_dir
    render(db, config, published)
    first = pngs(published)
    name = "waste-heatmap.png"
    (published / name).write_bytes(first["overview-flow.png"])
    (published / "variants-pareto.png").unlink()

    rendered_specs.clear()
    render(db, config, tmp_path / "staged")
    assert len(rendered_specs) == 2
    assert pngs(tmp_path / "staged") == first


def test_dashboards_command_reuses_the_published_pngs(tmp_path: Path,
                                                      rendered_specs: list[str]) -> None:
    db = build_fixture_db(tmp_path / "procmine.duckdb")
    config = isolated_config(tmp_path)
    rebuild(config, db)
    first = pngs(config.dashboards_dir)
    rendered_specs.clear()
    rebuild(config, db)
    assert rendered_specs == []
    assert pngs(config.dashboards_dir) == first
    shutil.rmtree(config.dashboards_dir)
    rebuild(config, db)  # nothing published to reuse: every chart rendered
    assert len(rendered_specs) == len(first)


def test_workers_draw_text_with_the_bundled_font_and_report_errors(tmp_path: Path) -> None:
    """Given render.fonts' fontconfig file, a worker draws the same bytes as vl-convert with no
    host font at all (its bundled Liberation Sans), yet keeps the host's other fonts."""
    if host_fallback_fonts() is None:
        pytest.skip("no fontconfig here: the workers use the host's fonts")
    charts = charts_of(build_fixture_db(tmp_path / "procmine.duckdb"),
                       isolated_config(tmp_path))[:3]
    font_config = write_font_config(tmp_path / "fonts")
    assert font_config is not None and "<dir>" in font_config.read_text()
    no_fonts = tmp_path / "no-fonts.conf"
    no_fonts.write_text(f"<fontconfig><dir>{tmp_path / 'none'}</dir></fontconfig>")
    workers = [PngWorker(font_config), PngWorker(no_fonts)]
    try:
        ours, bundled_only = ([w.render(c.full_spec()) for c in charts] for w in workers)
        assert ours == bundled_only
        with pytest.raises(RuntimeError, match="vl-convert could not render"):
            workers[0].render({"mark": "no-such-mark"})
        assert workers[0].render(charts[0].full_spec()) == ours[0]
    finally:
        for worker in workers:
            worker.close()
    assert [w.proc.returncode for w in workers] == [0, 0]


def test_the_font_stack_s_families_are_left_out_of_the_workers_fonts() -> None:
    fonts = host_fallback_fonts()
    if fonts is None:
        pytest.skip("no fontconfig here")
    assert {"Arial", "Liberation Sans", "Roboto"} <= preferred_families()
    assert not [f for f in fonts if Path(f).name.startswith("LiberationSans-")]


def test_a_second_worker_joins_when_many_charts_wait_for_it(tmp_path: Path) -> None:
    """While the pages are built, one worker a core but one; when the caller waits for the
    results with a long queue, one more (on two cores and more): the same PNGs."""
    charts = charts_of(build_fixture_db(tmp_path / "procmine.duckdb"), isolated_config(tmp_path))
    assert len(charts) > LATE_WORKER_CHARTS + 2
    drawn = []
    for workers in (1, 2):
        with PngJobs([], workers=workers) as jobs:
            jobs.add(charts)
            images, _ = jobs.results()
            started = len(jobs._workers)
        drawn.append(images)
        cores = os.cpu_count() or 1
        assert started == (1 if workers == 1 or cores == 1 else 2)
    assert drawn[0] == drawn[1] and len(drawn[0]) == len(charts)
