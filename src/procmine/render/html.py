"""The self-contained page template: inline Vega/Vega-Lite/Vega-Embed, inline data, no CDN."""

from __future__ import annotations

import html
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from procmine.render.page import Chart, Html, Page
from procmine.render.theme import BAD, FONT, GOOD, GRID, INK, MUTED, NEUTRAL

VL_VERSION = "6.4"
CURRENT = ' class="current"'
# Offline by construction: the page may run its inline scripts (Vega compiles expressions,
# hence unsafe-eval) and show inline images, and may fetch nothing at all.
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
       "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'none'")

CSS = f"""
*{{box-sizing:border-box}}
body{{margin:0;font-family:{FONT};color:{INK};background:#f5f7fa;line-height:1.45}}
header{{background:#102a43;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center;
flex-wrap:wrap}}
header .brand{{font-weight:700;letter-spacing:.02em;color:#fff;text-decoration:none}}
nav a{{color:#d9e2ec;text-decoration:none;margin-right:16px;font-size:14px}}
nav a.current{{color:#fff;border-bottom:2px solid #E69F00;padding-bottom:2px}}
main{{max-width:1180px;margin:0 auto;padding:20px 24px 40px}}
h1{{font-size:24px;margin:8px 0 4px}}
.lede{{color:{MUTED};margin:0 0 16px;max-width:920px}}
section.card{{background:#fff;border:1px solid {GRID};border-radius:8px;padding:16px;margin:0 0 18px;
overflow-x:auto}}
.caption{{color:{MUTED};font-size:13px;margin:6px 0 0}}
.caption a{{color:{MUTED}}}
.tiles{{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin:0 0 18px}}
.tiles-caption{{font-size:13px;font-weight:600;color:{INK};margin:0 0 6px}}
.tile{{background:#fff;border:1px solid {GRID};border-radius:8px;padding:12px 14px}}
.tile .label{{font-size:13px;color:{MUTED}}}
.tile .value{{font-size:22px;font-weight:650;margin:2px 0;white-space:nowrap}}
.tile .delta{{font-size:13px}}
.tile .foot{{font-size:12px;color:{MUTED};margin-top:2px}}
.delta.good{{color:{GOOD}}} .delta.bad{{color:{BAD}}} .delta.flat{{color:{NEUTRAL}}}
table{{border-collapse:collapse;font-size:13px;width:100%}}
th,td{{text-align:left;padding:5px 8px;border-bottom:1px solid {GRID};vertical-align:top}}
th{{color:{MUTED};font-weight:600}}
td.num,th.num{{text-align:right;font-variant-numeric:tabular-nums}}
h2{{font-size:16px;margin:0 0 8px}}
.note{{color:{MUTED};font-style:italic}}
.cards{{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:14px}}
.cards a{{display:block;background:#fff;border:1px solid {GRID};border-radius:8px;padding:14px;
color:{INK};text-decoration:none}}
.cards a:hover{{border-color:#0072B2}}
.cards b{{display:block;font-size:16px;margin-bottom:4px}}
.cards span{{color:{MUTED};font-size:13px}}
footer{{max-width:1180px;margin:0 auto;padding:0 24px 24px;color:{MUTED};font-size:12px}}
.vega-embed summary{{opacity:.5}}
.vega-bindings{{display:flex;flex-wrap:wrap;gap:6px 22px;margin-top:8px;font-size:13px}}
.vega-bind-name{{color:{MUTED};margin-right:4px}}
"""

EMBED_JS = """
(function () {
  var options = {renderer: "svg", actions: {export: true, source: false, compiled: false,
                 editor: false}};
  var jobs = Array.prototype.map.call(document.querySelectorAll("[data-spec]"), function (el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute("data-spec")).textContent);
    return vegaEmbed(el, spec, options).then(function () { el.setAttribute("data-rendered", "1"); });
  });
  Promise.all(jobs).then(
    function () { document.body.setAttribute("data-charts", "ready"); },
    function (err) { document.body.setAttribute("data-charts", "error"); console.error(err); });
})();
"""


def _bundle_cache_path() -> Path:
    import vl_convert

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "procmine"
    version = getattr(vl_convert, "__version__", "unknown")
    return base / f"vega-bundle-{version}-vl{VL_VERSION}.js"


@cache
def javascript_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script (from vl-convert; cached on disk)."""
    path = _bundle_cache_path()
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    import vl_convert

    bundle = vl_convert.javascript_bundle(vl_version=VL_VERSION)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(bundle, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # no cache is fine
    return bundle


def json_for_script(value: Any) -> str:
    """Canonical JSON (sorted keys) that is safe inside a <script> element."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _script_safe(code: str) -> str:
    return code.replace("</script", "<\\/script")


def chart_block(chart: Chart) -> str:
    spec_id = f"spec-{chart.slug}"
    caption = (f'<p class="caption">{esc(chart.caption)} · ' if chart.caption
               else '<p class="caption">')
    return (
        f'<section class="card" id="{esc(chart.slug)}">'
        f'<div class="vis" data-spec="{esc(spec_id)}" role="img" '
        f'aria-label="{esc(_title_text(chart))}"></div>'
        f'{caption}<a href="{esc(chart.slug)}.png">PNG for slides</a></p>'
        f'<script type="application/json" id="{esc(spec_id)}">'
        f"{json_for_script(chart.full_spec())}</script></section>"
    )


def _title_text(chart: Chart) -> str:
    title = chart.spec().get("title", "")
    if isinstance(title, dict):
        title = title.get("text", "")
    return " ".join(title) if isinstance(title, list) else str(title)


def nav_html(pages: list[tuple[str, str]], current: str) -> str:
    links = "".join(
        f'<a href="{esc(slug)}.html"{CURRENT if slug == current else ""}>{esc(title)}</a>'
        for slug, title in pages)
    return (f'<header><a class="brand" href="index.html">procmine</a><nav>{links}</nav>'
            "</header>")


def document(title: str, body: str, nav: str, footer: str, *, with_charts: bool) -> str:
    scripts_head = f"<script>{_script_safe(javascript_bundle())}</script>" if with_charts else ""
    scripts_tail = f"<script>{EMBED_JS}</script>" if with_charts else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        f"<title>{esc(title)} · procmine</title><style>{CSS}</style>{scripts_head}</head>"
        f"<body>{nav}<main>{body}</main><footer>{footer}</footer>{scripts_tail}</body></html>\n"
    )


def render_page(page: Page, pages: list[tuple[str, str]], footer: str) -> str:
    parts = [f"<h1>{esc(page.heading)}</h1>"]
    if page.lede:
        parts.append(f'<p class="lede">{page.lede}</p>')
    for block in page.blocks:
        parts.append(chart_block(block) if isinstance(block, Chart) else block.html)
    return document(page.title, "".join(parts), nav_html(pages, page.slug), footer,
                    with_charts=bool(page.charts))


def card(title: str, inner: str) -> Html:
    return Html(f'<section class="card"><h2>{esc(title)}</h2>{inner}</section>')


def note(text: str) -> Html:
    return Html(f'<section class="card"><p class="note">{esc(text)}</p></section>')


def table(columns: list[tuple[str, str, bool]], rows: list[dict[str, Any]]) -> str:
    """columns: (key, header, numeric); values are formatted by the caller (strings)."""
    head = "".join(f'<th class="num">{esc(h)}</th>' if num else f"<th>{esc(h)}</th>"
                   for _, h, num in columns)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{esc(row.get(k, ""))}</td>' if num else f"<td>{esc(row.get(k, ''))}</td>"
            for k, _, num in columns) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def tiles(items: list[dict[str, str]], caption: str = "") -> Html:
    """KPI tiles: label, value, delta text and its class (good / bad / flat), foot line."""
    cells = "".join(
        f'<div class="tile"><div class="label">{esc(t["label"])}</div>'
        f'<div class="value">{esc(t["value"])}</div>'
        f'<div class="delta {esc(t.get("tone", "flat"))}">{esc(t.get("delta", ""))}</div>'
        f'<div class="foot">{esc(t.get("foot", ""))}</div></div>'
        for t in items)
    head = f'<p class="tiles-caption">{esc(caption)}</p>' if caption else ""
    return Html(f'{head}<div class="tiles">{cells}</div>')


def render_index(pages: list[Page], nav: list[tuple[str, str]], footer: str, described: str,
                 validation_docs: str | None) -> str:
    """The landing page: one card per dashboard with what it tells."""
    cards = "".join(
        f'<a href="{esc(p.slug)}.html"><b>{esc(p.title)}</b><span>{esc(p.heading)}</span>'
        + (f"<br><span>{esc(p.summary)}</span>" if p.summary and p.summary != p.heading
           else "") + "</a>"
        for p in pages)
    if validation_docs:
        cards += (f'<a href="{esc(validation_docs)}"><b>Validation data docs</b>'
                  "<span>Great Expectations results of the last validation runs</span></a>")
    body = (
        "<h1>Where Detect-to-Correct loses time and money</h1>"
        f'<p class="lede">Dashboards for process owners, {esc(described)}. Every page works '
        "offline; every chart is also a PNG beside its page.</p>"
        f'<div class="cards">{cards}</div>'
    )
    return document("Dashboards", body, nav_html(nav, "index"), footer, with_charts=False)
