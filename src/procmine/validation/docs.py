"""GX Data Docs of a validation run, as offline HTML under <dashboards>/validation/.

Pages are rendered by GX's own Data Docs renderer (ValidationResultsPageRenderer +
DefaultJinjaPageView), one per suite and source. GX's page template loads Bootstrap,
jQuery, Font Awesome and its logo from CDNs; those references are stripped and replaced by
a small inline stylesheet, so the pages work with no network.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from procmine.validation.gx_engine import Outcome

if TYPE_CHECKING:
    from procmine.validate import ValidationReport

OFFLINE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;
  color:#212529;font-size:15px;line-height:1.45;background:#fff}
a{color:#0b61a4}
.container-fluid{padding:1.2rem 2rem}
.row{display:flex;flex-wrap:wrap}
.col-12,.col-xs-12,.col-sm-12{flex:0 0 100%;max-width:100%}
@media(min-width:768px){.col-md-2{flex:0 0 18%;max-width:18%}.col-md-10{flex:0 0 80%;
  max-width:80%;margin-left:2%}.d-md-inline-flex{display:inline-flex!important}
  .d-md-block{display:block!important}}
.d-none{display:none}.d-flex{display:flex}.float-left{float:left}
.card{border:1px solid #dee2e6;border-radius:4px;margin-bottom:1rem;background:#fff}
.card-header{background:#f5f6f8;padding:.5rem .75rem;border-bottom:1px solid #dee2e6}
.card-body{padding:.75rem}
.table{border-collapse:collapse;width:100%;margin-bottom:.5rem}
.table th,.table td{border:1px solid #dee2e6;padding:.3rem .5rem;text-align:left;
  vertical-align:top}
.table-responsive{overflow-x:auto}
.badge{display:inline-block;padding:.1em .45em;border-radius:4px;font-size:80%;
  background:#6c757d;color:#fff}
.alert{padding:.4rem .6rem;border-radius:4px;background:#eef0f2;margin:.2rem 0}
.text-success{color:#1e7e34}.text-danger{color:#c82333}.text-warning{color:#b8860b}
.lead{font-size:1.05rem;color:#555}
.navbar{display:flex;align-items:center;padding:.5rem 1.5rem;border-bottom:1px solid #dee2e6;
  background:#f8f9fa}
.breadcrumb{display:flex;list-style:none;margin:0;padding:0 .5rem}
.breadcrumb-item+.breadcrumb-item::before{content:"/";padding:0 .5rem;color:#6c757d}
.nav{list-style:none;padding:0}.nav-link{display:block;padding:.2rem 0}
.btn{display:inline-block;border:1px solid #0b61a4;border-radius:4px;padding:.2rem .5rem;
  background:#fff;color:#0b61a4;cursor:pointer;margin:.15rem}
.sticky{position:sticky;top:1rem}
.fas::before{font-style:normal;font-weight:bold}
.fa-check-circle::before{content:"\\2714"}.fa-times::before,.fa-times-circle::before{
  content:"\\2718"}.fa-exclamation-triangle::before{content:"!"}
.fa-comment::before{content:"\\2139"}
.pm-brand{font-weight:600;font-size:1.1rem}
"""

OFFLINE_JS = """
function hideSucceededValidations(){
  document.querySelectorAll('.hide-succeeded-validation-target-child').forEach(
    function(e){e.parentElement.style.display='none';});
  document.querySelectorAll('.hide-succeeded-validation-target').forEach(
    function(e){e.style.display='none';});
}
function showAllValidations(){
  document.querySelectorAll('.hide-succeeded-validation-target-child').forEach(
    function(e){e.parentElement.style.display='';});
  document.querySelectorAll('.hide-succeeded-validation-target').forEach(
    function(e){e.style.display='';});
}
"""

_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=\"(?:https?:)?//[^\"]*\"[^>]*>", re.I)
_ICON_LINK = re.compile(r"<link\b[^>]*rel=\"shortcut icon\"[^>]*>", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.I | re.S)
_REMOTE_IMG = re.compile(r"<img\b[^>]*\bsrc=\"(?:https?:)?//[^\"]*\"[^>]*>", re.I | re.S)
_REMOTE_URL = re.compile(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)", re.I)
_HOME_LINK = re.compile(r"href=\"(?:\.\./)+index\.html\"")
_SUITE_LINK = re.compile(r"<a href=\"(?:\.\./)+expectations/[^\"]*\"\s*>([^<]*)</a>")
_FOOTER = re.compile(r"<footer>.*?</footer>", re.S)
SUMMARY = "summary.json"
REMOTE_REFERENCE = re.compile(
    r"<(?:link|script|img|iframe)\b[^>]*\b(?:href|src)=\"(?:https?:)?//", re.I)


def make_offline(page: str) -> str:
    """A GX page with every remote stylesheet, script, image and font reference removed."""
    page = _REMOTE_LINK.sub("", page)
    page = _ICON_LINK.sub("", page)
    page = _SCRIPT.sub("", page)
    page = _REMOTE_IMG.sub('<span class="pm-brand">procmine · validation</span>', page)
    page = _REMOTE_URL.sub("none", page)
    page = _HOME_LINK.sub('href="../index.html"', page)
    page = _SUITE_LINK.sub(r"\1 (expectations/\1.json)", page)
    page = _FOOTER.sub("", page)
    head = f"<style>{OFFLINE_CSS}</style><script>{OFFLINE_JS}</script>"
    return page.replace("</head>", head + "</head>", 1)


def _plain(value: Any) -> Any:
    """A JSON-friendly value for the renderer (timestamps as ISO text)."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:  # NaN: a missing value
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _prescriptive_text(expectation_type: str, kwargs: dict[str, Any]) -> str:
    """GX's own sentence for an expectation ("activity values must belong to this set: ...")."""
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )
    from great_expectations.expectations.registry import get_renderer_impl
    from great_expectations.render import LegacyRendererType

    try:
        impl = get_renderer_impl(expectation_type, LegacyRendererType.PRESCRIPTIVE)
        blocks = impl[1](configuration=ExpectationConfiguration(type=expectation_type,
                                                                kwargs=kwargs),
                         runtime_configuration={})
    except Exception:  # no renderer for this type: the rule's reason is shown instead
        return ""
    sentences = []
    for block in blocks:
        template = block.to_json_dict().get("string_template", {})
        params = {k: ", ".join(map(str, v)) if isinstance(v, list) else v
                  for k, v in template.get("params", {}).items()}
        sentences.append(Template(template.get("template", "")).safe_substitute(params))
    return " ".join(s for s in sentences if s)


def _expectation_result(outcome: Outcome) -> Any:
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    rule = outcome.rule
    partial = [_plain(v) for v in outcome.partial_unexpected]
    counts = Counter(str(v) for v in partial)
    nonmissing = outcome.element_count - outcome.missing_count
    kwargs = _plain(outcome.gx_kwargs or rule.kwargs)
    text = _prescriptive_text(rule.type, kwargs) or rule.reason
    engine = " (evaluated in DuckDB over the whole load)" if rule.engine == "duckdb" else ""
    why = f" Why: {outcome.details}" if outcome.details else ""
    config = ExpectationConfiguration(
        type=rule.type, kwargs=kwargs,
        meta={**rule.meta, "source": outcome.source, "engine": rule.engine},
        description=f"{rule.name}: {text}{engine}{why}".replace("$", "$$"),
    )
    result: dict[str, Any] = {
        "element_count": outcome.element_count,
        "unexpected_count": outcome.unexpected_count,
        "unexpected_percent": outcome.unexpected_percent or 0.0,
        "missing_count": outcome.missing_count,
        "missing_percent": (100.0 * outcome.missing_count / outcome.element_count
                            if outcome.element_count else 0.0),
        "unexpected_percent_nonmissing": (100.0 * outcome.unexpected_count / nonmissing
                                          if nonmissing else 0.0),
        "partial_unexpected_list": partial,
        "partial_unexpected_counts": [{"value": v, "count": n} for v, n in counts.most_common()],
    }
    if outcome.details:
        result["details"] = {"why": outcome.details}
    return ExpectationValidationResult(success=outcome.success, expectation_config=config,
                                       result=result)


def render_page(suite: str, source: str | None, outcomes: list[Outcome], run_id: str,
                validated_at: datetime) -> str:
    """One GX Data Docs validation page (offline) for a suite and source."""
    import great_expectations
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.render.renderer import ValidationResultsPageRenderer

    results = [_expectation_result(o) for o in outcomes]
    passed = sum(1 for o in outcomes if o.success)
    asset = f"{suite} · {source}" if source else suite
    validation = ExpectationSuiteValidationResult(
        success=passed == len(outcomes), results=results, suite_name=suite,
        statistics={"evaluated_expectations": len(outcomes), "successful_expectations": passed,
                    "unsuccessful_expectations": len(outcomes) - passed,
                    "success_percent": 100.0 * passed / len(outcomes) if outcomes else 100.0},
        meta={"run_id": {"run_name": run_id, "run_time": validated_at.isoformat()},
              "batch_spec": {"data_asset_name": asset},
              "great_expectations_version": great_expectations.__version__,
              "active_batch_definition": {"datasource_name": "procmine (DuckDB → pandas)",
                                          "data_connector_name": "batches",
                                          "data_asset_name": asset}},
    )
    document = ValidationResultsPageRenderer().render(validation)
    return make_offline(_page_view().render(document))


@functools.cache
def _page_view() -> Any:
    """GX's page view, one per process, its templates compiled once and kept compiled on
    disk (jinja's bytecode cache in the user's temp folder) for the next runs.

    Each new GX view has a jinja environment of its own, which parses and compiles the ~17
    templates a page uses again: four pages a night compiled them four times, most of the
    data docs' time (at 10M events, 1.1 s of the nightly's)."""
    from great_expectations.render.view import DefaultJinjaPageView
    from jinja2 import FileSystemBytecodeCache  # GX's own template engine (its view's env)

    view = DefaultJinjaPageView()
    # no private temp folder for the cache: compiled once per process
    with contextlib.suppress(OSError, RuntimeError):
        view.env.bytecode_cache = FileSystemBytecodeCache()
    return view


def _page_name(suite: str, source: str | None) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{suite}.{source}" if source else suite)
    return f"{slug}.html"


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="table"><tr>{head}</tr>{body}</table>'


def _shell(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title><style>{OFFLINE_CSS}</style></head><body><div class=\"navbar\">"
            f"<span class=\"pm-brand\">procmine · validation (Great Expectations Data Docs)"
            f"</span></div><div class=\"container-fluid\">{body}</div></body></html>")


def _status(success: bool) -> str:
    return ('<span class="text-success">✔ passed</span>' if success
            else '<span class="text-danger">✘ failed</span>')


def write_data_docs(report: ValidationReport, out_dir: Path, *, history_dir: Path | None = None,
                    keep: int = 30) -> Path:
    """Write the run's pages to out_dir/<run_id>/ and an index of the newest `keep` runs found
    in out_dir (and history_dir, the published folder when out_dir is a staging copy); older
    run folders in out_dir are removed. Returns the run's index page."""
    run_dir = out_dir / report.run_id
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, str | None], list[Outcome]] = {}
    for outcome in report.outcomes:
        groups.setdefault((outcome.rule.suite, outcome.source), []).append(outcome)
    rows = []
    for (suite, source), outcomes in groups.items():
        name = _page_name(suite, source)
        (run_dir / name).write_text(
            render_page(suite, source, outcomes, report.run_id, report.validated_at),
            encoding="utf-8")
        failed = [o.rule.name for o in outcomes if not o.success]
        rows.append((f'<a href="{name}">{html.escape(suite)}</a>', html.escape(source or "(load)"),
                     outcomes[0].rule.level, len(outcomes), _status(not failed),
                     html.escape(", ".join(failed))))
    quarantined = "".join(f"<li>{html.escape(rule)}: {count:,}</li>"
                          for rule, count in report.quarantined_by_rule.items())
    body = (f"<h3>Validation run {html.escape(report.run_id)}</h3>"
            f"<p>{report.staged:,} staged rows, {report.quarantined:,} quarantined</p>"
            f"<ul>{quarantined}</ul>"
            + _table(["suite", "source", "level", "expectations", "status", "failed"], rows)
            + '<p><a href="../index.html">all runs</a></p>')
    (run_dir / "index.html").write_text(_shell(f"validation {report.run_id}", body),
                                        encoding="utf-8")
    summary = {"run_id": report.run_id, "validated_at": report.validated_at.isoformat(),
               "staged": report.staged, "quarantined": report.quarantined,
               "expectations": len(report.outcomes),
               "failed": sum(1 for o in report.outcomes if not o.success)}
    (run_dir / SUMMARY).write_text(json.dumps(summary), encoding="utf-8")
    _write_index(out_dir, history_dir, keep)
    return run_dir / "index.html"


def _summaries(folder: Path | None) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if folder is None or not folder.is_dir():
        return found
    for path in folder.glob(f"*/{SUMMARY}"):
        try:
            found[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return found


def _write_index(out_dir: Path, history_dir: Path | None, keep: int) -> None:
    local = _summaries(out_dir)
    runs = {**_summaries(history_dir), **local}
    newest = sorted(runs, reverse=True)[:keep]
    for old in set(local) - set(newest):
        shutil.rmtree(out_dir / old, ignore_errors=True)
    rows = [(f'<a href="{html.escape(r)}/index.html">{html.escape(r)}</a>',
             html.escape(str(runs[r].get("validated_at", ""))[:19].replace("T", " ")),
             f"{runs[r].get('staged', 0):,}", f"{runs[r].get('quarantined', 0):,}",
             runs[r].get("expectations", 0), runs[r].get("failed", 0)) for r in newest]
    body = ("<h3>Validation runs</h3><p>Suites: expectations/*.json · unexpected rows are kept "
            "in quarantine.events (<code>procmine quarantine list</code>); runs stopped by a "
            "batch-level expectation are in marts.validation_results and marts.run_log.</p>"
            + _table(["run", "validated (UTC)", "staged rows", "quarantined",
                      "expectations", "unmet"], rows))
    index = out_dir / "index.html"
    temporary = index.with_name(f".index.{os.getpid()}.html")
    temporary.write_text(_shell("procmine validation", body), encoding="utf-8")
    os.replace(temporary, index)
