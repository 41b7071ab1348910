"""`procmine inspect FILE`: what an unknown export holds and how to load it.

Reads a CSV (any delimiter, encoding, BOM, quoting; gzip or not) or an XES file into an
in-memory DuckDB table of text, then reports the dialect (DuckDB's ``sniff_csv`` for the
delimiter; the timestamp formats by procmine.sources.dialect), each column's type and
examples, and proposes a mapping (case, activity, timestamp, resource, group, case
attributes), each choice with its reason; a known layout (ServiceNow audit export, BPIC 2013
Volvo incidents, XES) gets its adapter. The proposal ends in the ``procmine ingest`` command
and a ``procmine.toml`` snippet that load the file, with a Detect-to-Correct stage proposed
for each activity from its name.
"""

from __future__ import annotations

import codecs
import gzip
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from procmine.errors import InputError
from procmine.sources.base import (
    DUCKDB_ENCODINGS,
    csv_read_error,
    quote_ident,
    transcode_to_utf8,
)
from procmine.sources.dialect import ISO, sniff_timestamps
from procmine.sql import load_sql, run_sql

TABLE = "_pm_inspect"
NULL_CANDIDATES = ("", "?", "NULL", "null", "N/A", "n/a", "#N/A", "NaN")
STAGES = ("detect", "log", "classify", "assign", "diagnose", "escalate", "wait", "change",
          "resolve", "close", "reopen")
# An activity's stage from its name: the first rule matching (lower case) wins.
STAGE_RULES: tuple[tuple[str, str], ...] = (
    (r"re-?open", "reopen"),
    (r"pending|await|wait|on hold|hold\b|suspend|postpone", "wait"),
    (r"escalat|refer", "escalate"),
    (r"assign|dispatch|transfer|hand ?over|forward|queue", "assign"),
    (r"clos|cancel|reject", "close"),
    (r"resolv|solved|fixed|complet|workaround", "resolve"),
    (r"\brfc\b|change request|implement", "change"),
    (r"classif|categor|priorit|impact|urgency|reclass|(ci|service|contact) change", "classify"),
    (r"diagnos|investigat|analy|progress|research|accepted|active|work|caused by|reproduc|"
     r"update|communicat|mail|call ?back|dial-in", "diagnose"),
    (r"detect|alert|monitor|\bevent\b", "detect"),
    (r"\bopen|\bnew\b|creat|log|regist|record|report", "log"),
)
# Column names (normalised: lower case, the part after the last '.', '_' as a space) per key,
# best first.
NAMES: dict[str, tuple[str, ...]] = {
    "case": ("case:concept:name", "case id", "caseid", "case", "incident id", "incident",
             "ticket id", "ticket", "sr number", "number", "problem id", "request id", "id"),
    "activity": ("concept:name", "activity", "incidentactivity type", "activity type",
                 "activity name", "event", "action", "task", "status", "state", "step"),
    "timestamp": ("time:timestamp", "timestamp", "datestamp", "date stamp", "event time",
                  "time", "date", "datetime", "updated at", "changed at", "modified",
                  "start time", "end time"),
    "resource": ("org:resource", "resource", "assigned to", "assignee", "user", "agent",
                 "analyst", "performer", "operator", "owner"),
    "group": ("assignment group", "support team", "organization involved", "involved st",
              "team", "group", "queue", "resolver group", "org:group"),
}
ATTRIBUTE_WORDS = re.compile(r"priority|category|impact|urgency|product|service|country|"
                             r"closure|type|severity|contact|location|subcategory|ci\b")


@dataclass(frozen=True)
class ColumnReport:
    """One column: its inferred type, how full it is and its most frequent values."""

    name: str
    type: str  # timestamp, integer, decimal, decimal (comma), boolean, text, empty
    nulls: int
    distinct: int
    examples: tuple[str, ...]
    date_format: str | None = None  # timestamp columns: the strptime format ("" = ISO 8601)
    date_problem: str | None = None


@dataclass(frozen=True)
class Choice:
    """A proposed mapping key: the column and the one-line reason."""

    key: str
    column: str
    reason: str


@dataclass
class Inspection:
    """What `inspect_file` found, and the proposal to load the file."""

    path: Path
    kind: str  # csv or xes
    delimiter: str | None
    encoding: str | None
    rows: int
    columns: list[ColumnReport]
    null_tokens: list[str]
    adapter: str
    layout: str
    source_name: str
    mapping: list[Choice] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    date_format: str = ""
    date_problem: str | None = None
    stages: dict[str, str | None] = field(default_factory=dict)

    def column(self, key: str) -> str | None:
        return next((c.column for c in self.mapping if c.key == key), None)

    @property
    def command(self) -> str:
        """The `procmine ingest` command that loads the file as proposed."""
        parts = ["procmine", "ingest", str(self.path), "--source", self.adapter]
        if self.adapter == "csv":
            for choice in self.mapping:
                parts += [f"--{choice.key}", choice.column]
        if self.kind == "csv":
            if self.delimiter and self.delimiter != ",":
                parts += ["--delimiter", self.delimiter]
            if self.encoding and self.encoding != "utf-8":
                parts += ["--encoding", self.encoding]
        if self.date_format:
            parts += ["--date-format", self.date_format]
        return shlex.join(parts)

    @property
    def config_snippet(self) -> str:
        """A `[sources.NAME]` table (with its columns and stages) for procmine.toml."""
        lines = [f"# proposed by procmine inspect {self.path.name} ({self.layout})",
                 f"[sources.{_toml_key(self.source_name)}]",
                 f"adapter = {_toml(self.adapter)}",
                 f"landing = {_toml(self.source_name)}"]
        if self.kind == "csv":
            lines += [f"delimiter = {_toml(self.delimiter or ',')}",
                      f"encoding = {_toml(self.encoding or 'utf-8')}",
                      "null_tokens = [" + ", ".join(_toml(t) for t in self.null_tokens) + "]"]
        lines.append(f"date_format = {_toml(self.date_format)}"
                     + ("  # ISO 8601" if self.date_format == ISO else ""))
        lines += ["", f"[sources.{_toml_key(self.source_name)}.columns]"]
        width = max((len(_toml_key(c.key)) + len(_toml(c.column)) for c in self.mapping),
                    default=0) + 3
        for choice in self.mapping:
            entry = f"{_toml_key(choice.key)} = {_toml(choice.column)}"
            lines.append(f"{entry:<{width}}  # {choice.reason}")
        if self.attributes:
            lines.append("# case attributes (kept in raw." + self.source_name + "): "
                         + ", ".join(self.attributes))
        if self.stages:
            lines += ["", f"[sources.{_toml_key(self.source_name)}.stages]  # activity -> "
                      "D2C stage: " + ", ".join(STAGES) + "; \"\" = no stage"]
            for activity, stage in self.stages.items():
                entry = f"{_toml(activity)} = {_toml(stage or '')}"
                lines.append(entry if stage else f"{entry}  # not placed: choose a stage")
        return "\n".join(lines) + "\n"

    def render(self) -> str:
        """The report `procmine inspect` prints."""
        out = [f"{self.path}: {self.kind.upper()}, {self.rows:,} "
               + ("rows" if self.kind == "csv" else "events")
               + (f", delimiter {self.delimiter!r}, encoding {self.encoding}"
                  if self.kind == "csv" else "")
               + (", null tokens " + ", ".join(repr(t) for t in self.null_tokens)
                  if self.null_tokens else ""),
               f"layout: {self.layout} -> adapter {self.adapter}", "", "columns:"]
        width = max((len(c.name) for c in self.columns), default=0)
        for col in self.columns:
            kind = col.type + (f" ({'ISO 8601' if col.date_format == ISO else col.date_format})"
                               if col.date_format is not None else "")
            if col.date_problem:
                kind += " (format unsettled)"
            examples = ", ".join(repr(e) for e in col.examples)
            out.append(f"  {col.name:<{width}}  {kind:<28} {col.distinct:>8,} distinct"
                       f"{f', {col.nulls:,} empty' if col.nulls else ''}  e.g. {examples}")
        out += ["", "proposed mapping:"]
        for choice in self.mapping:
            out.append(f"  {choice.key:<10} {choice.column!r}: {choice.reason}")
        if self.attributes:
            out.append(f"  {'attributes':<10} " + ", ".join(repr(a) for a in self.attributes))
        if self.date_problem:
            out += ["", f"dates: {self.date_problem}"]
        unplaced = [a for a, s in self.stages.items() if not s]
        if self.stages:
            out += ["", f"stages: {len(self.stages) - len(unplaced)} of {len(self.stages)} "
                    "activities placed from their names"
                    + (f"; not placed: {', '.join(unplaced[:10])}" if unplaced else "")]
        out += ["", "load it with:", f"  {self.command}", "",
                f"or add this to procmine.toml (procmine inspect --write-config) and load "
                f"with --source {self.source_name}:", "", self.config_snippet]
        return "\n".join(out)


def inspect_file(path: Path, *, name: str | None = None) -> Inspection:
    """Inspect a CSV or XES export (see the module docstring)."""
    if not path.is_file():
        raise InputError("no such file", path=str(path))
    conn = duckdb.connect()
    try:
        run_sql(conn, load_sql("staging/macros.sql"))
        if _is_xes(path):
            kind, delimiter, encoding, columns = "xes", None, None, _load_xes(conn, path)
        else:
            kind = "csv"
            delimiter, encoding, columns = _load_csv(conn, path)
        rows = conn.execute(_sql("staging/inspect_rows.sql")).fetchone()[0]
        tokens = _null_tokens(conn, columns)
        reports = [_column(conn, column, rows, tokens) for column in columns]
        inspection = Inspection(path, kind, delimiter, encoding, rows, reports, tokens,
                                *_layout(kind, columns), name or _slug(path))
        _propose(conn, inspection)
        return inspection
    finally:
        conn.close()


def propose_stage(activity: str) -> str | None:
    """A D2C stage from an activity's name (None: no rule places it)."""
    lowered = activity.lower()
    return next((stage for pattern, stage in STAGE_RULES if re.search(pattern, lowered)), None)


def append_config(inspection: Inspection, config_path: Path) -> None:
    """Append the snippet to procmine.toml; a source of that name already there is refused."""
    existing = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    header = f"[sources.{_toml_key(inspection.source_name)}]"
    if any(line.strip() == header for line in existing.splitlines()):
        raise InputError(f"{header} is already defined; remove it or choose another name "
                         "(--name)", path=str(config_path))
    with config_path.open("a", encoding="utf-8") as handle:
        handle.write(("\n" if existing and not existing.endswith("\n\n") else "")
                     + inspection.config_snippet)


# ------------------------------------------------------------------ reading

def _sql(name: str, **identifiers: str) -> str:
    """The statement sql/<name> over TABLE (and the other quoted `identifiers`)."""
    return load_sql(name).format(table=quote_ident(TABLE), **identifiers)


def _is_xes(path: Path) -> bool:
    if ".xes" in path.suffixes:
        return True
    with _open_bytes(path) as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<") and b"<log" in head


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as probe:
        return probe.read(2) == b"\x1f\x8b"


def _open_bytes(path: Path):  # a binary file object, plain or gzip
    return gzip.open(path, "rb") if _is_gzip(path) else path.open("rb")


def _encoding(path: Path) -> str:
    """utf-16 by its BOM, utf-8 when the first MiB decodes, else cp1252."""
    with _open_bytes(path) as handle:
        head = handle.read(1 << 20)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _load_csv(conn: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, str, list[str]]:
    """The file as text into TABLE: (delimiter, encoding, columns)."""
    encoding = _encoding(path)
    readable = path if encoding in DUCKDB_ENCODINGS else transcode_to_utf8(path, encoding)
    try:
        read_as = "utf-8" if readable != path else encoding
        compression = "gzip" if readable == path and _is_gzip(path) else "none"
        file = {"path": str(readable), "encoding": read_as, "compression": compression}
        sniffed = conn.execute(load_sql("staging/inspect_sniff_csv.sql"), file).fetchone()
        delimiter = sniffed[0] if sniffed and sniffed[0] else ","
        conn.execute(_sql("staging/inspect_read_csv.sql"), {**file, "delim": delimiter})
    except duckdb.Error as exc:
        raise csv_read_error(exc, path, encoding) from exc
    finally:
        if readable != path:
            readable.unlink(missing_ok=True)
    return delimiter, encoding, conn.table(TABLE).columns


def _load_xes(conn: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The XES file's events (trace attributes as case:...) as text into TABLE."""
    from procmine.sources.xes import read_xes_events

    events = list(read_xes_events(path))
    keys = list(dict.fromkeys(key for event in events for key in event))
    table = pa.table({key: pa.array([e.get(key) for e in events], pa.string()) for key in keys})
    conn.register("_pm_xes_arrow", table)
    conn.execute(_sql("staging/inspect_read_xes.sql", events=quote_ident("_pm_xes_arrow")))
    conn.unregister("_pm_xes_arrow")
    return keys


def _null_tokens(conn: duckdb.DuckDBPyConnection, columns: list[str]) -> list[str]:
    """The null spellings found as whole cells ('' always counts)."""
    if not columns:
        return [""]
    found = {row[0] for row in conn.execute(_sql("staging/inspect_null_tokens.sql"),
                                            {"candidates": list(NULL_CANDIDATES)}).fetchall()}
    return [""] + [t for t in NULL_CANDIDATES[1:] if t in found]


def _column(conn: duckdb.DuckDBPyConnection, column: str, rows: int,
            tokens: list[str]) -> ColumnReport:
    ident = quote_ident(column)
    stats = conn.execute(_sql("staging/inspect_column.sql", column=ident),
                         {"null_tokens": tokens}).fetchone()
    nulls, distinct, integers, decimals, numbers, booleans, date_like = stats
    examples = tuple(row[0] for row in conn.execute(
        _sql("staging/inspect_top_values.sql", column=ident),
        {"null_tokens": tokens, "limit": 3}).fetchall())
    present = rows - nulls
    kind, date_format, problem = "text", None, None
    if not present:
        kind = "empty"
    elif date_like >= 0.9 * present:
        sniff = sniff_timestamps(conn, quote_ident(TABLE), [column], {}, tokens)
        if sniff.format is not None or sniff.ambiguity is not None:
            kind = "timestamp"
            date_format = sniff.format if sniff.format is not None else sniff.ambiguity.first
            problem = sniff.problem()
    elif integers == present:
        kind = "integer"
    elif decimals == present:
        kind = "decimal"
    elif numbers == present:
        kind = "decimal (comma)"
    elif booleans == present:
        kind = "boolean"
    return ColumnReport(column, kind, nulls, distinct, examples, date_format, problem)


# ------------------------------------------------------------------ proposal

SERVICENOW_COLUMNS = frozenset({"number", "incident_state", "sys_updated_at", "opened_at"})
BPIC2013_COLUMNS = frozenset({"SR Number", "Change Date+Time", "Status", "Sub Status"})


def _layout(kind: str, columns: list[str]) -> tuple[str, str]:
    """(adapter, layout description) of a known layout, else the generic csv adapter."""
    present = set(columns)
    if kind == "xes":
        return "xes", "XES event log"
    if present >= SERVICENOW_COLUMNS:
        return "servicenow", "ServiceNow audit export (one row per update of a record)"
    if present >= BPIC2013_COLUMNS:
        return "bpic2013", "BPI Challenge 2013 / Volvo IT incident log"
    if {"case:concept:name", "concept:name", "time:timestamp"} <= present:
        return "csv", "event log CSV with XES keys as columns"
    return "csv", "event log CSV, one event per row"


def _propose(conn: duckdb.DuckDBPyConnection, inspection: Inspection) -> None:
    """Fill the mapping, attributes, date format and stages of `inspection`."""
    by_name = {c.name: c for c in inspection.columns}
    if inspection.adapter in ("servicenow", "bpic2013", "xes"):
        inspection.mapping = _known_mapping(inspection.adapter, by_name, inspection.rows)
    else:
        inspection.mapping = _generic_mapping(inspection.columns, inspection.rows)
    mapped = {c.column for c in inspection.mapping}
    inspection.attributes = [c.name for c in inspection.columns
                             if c.name not in mapped and c.type in ("text", "integer")
                             and 1 < c.distinct <= 1000
                             and ATTRIBUTE_WORDS.search(_normal(c.name))]
    stamp = by_name.get(inspection.column("timestamp") or "")
    if stamp is not None and stamp.date_format:
        inspection.date_format = stamp.date_format  # explicit: later files cannot be ambiguous
        inspection.date_problem = stamp.date_problem
    if inspection.adapter == "xes":
        inspection.date_format = ""
    inspection.stages = {activity: propose_stage(activity)
                         for activity in _activities(conn, inspection)}


def _known_mapping(adapter: str, by_name: dict[str, ColumnReport], rows: int) -> list[Choice]:
    from procmine.sources import get_adapter

    layout = {"servicenow": "the ServiceNow layout", "bpic2013": "the BPIC 2013 layout",
              "xes": "the XES standard key"}[adapter]
    defaults = getattr(get_adapter(adapter), "DEFAULT_COLUMNS", {})
    keys = {"servicenow": {"case": "number", "activity": "state", "timestamp": "updated_at",
                           "resource": "resource", "group": "group"},
            "bpic2013": {"case": "case", "activity": "status", "timestamp": "timestamp",
                         "resource": "resource", "group": "group"},
            "xes": {"case": "case", "activity": "activity", "timestamp": "timestamp",
                    "resource": "resource", "group": "group"}}[adapter]
    choices = []
    for key, default_key in keys.items():
        column = defaults.get(default_key, "")
        if column in by_name:
            note = {"activity": {"servicenow": "; events derived from its state changes, "
                                               "assignments and reclassifications",
                                 "bpic2013": " and 'Sub Status' ('Status-Sub Status')"}
                    .get(adapter, "")}.get(key, "")
            choices.append(Choice(key, column,
                                  f"{layout}{note}; {_spread(by_name[column], rows, key)}"))
    return choices


def _generic_mapping(columns: list[ColumnReport], rows: int) -> list[Choice]:
    choices: list[Choice] = []
    taken: set[str] = set()
    for key in ("timestamp", "case", "activity", "resource", "group"):
        best = _best(key, [c for c in columns if c.name not in taken], rows)
        if best is not None:
            column, reason = best
            taken.add(column.name)
            choices.append(Choice(key, column.name, reason))
    order = ("case", "activity", "timestamp", "resource", "group")
    return sorted(choices, key=lambda c: order.index(c.key))


def _best(key: str, columns: list[ColumnReport], rows: int) -> tuple[ColumnReport, str] | None:
    """The column for `key`: a name of NAMES[key] (earlier is better) with fitting values."""
    names = NAMES[key]

    def fits(c: ColumnReport) -> bool:
        if key == "timestamp":
            return c.type == "timestamp"
        if c.type in ("timestamp", "empty"):
            return False
        if key == "case":
            return 1 < c.distinct < rows or rows <= 1
        if key == "activity":
            return 1 <= c.distinct <= max(2000, rows // 50) and c.type != "decimal"
        return c.type != "decimal"

    ranked = []
    for c in filter(fits, columns):
        name = _normal(c.name)
        exact = next((i for i, n in enumerate(names) if name == n), None)
        within = next((i for i, n in enumerate(names) if re.search(rf"\b{re.escape(n)}\b",
                                                                   name)), None)
        if exact is not None:
            ranked.append((0, exact, -c.distinct, c, f"name {c.name!r} reads as the {key}"))
        elif within is not None:
            ranked.append((1, within, -c.distinct, c, f"name {c.name!r} contains "
                                                      f"{names[within]!r}"))
        elif key == "timestamp":
            ranked.append((2, 0, -c.distinct, c, "the timestamp column with the most values"))
    if not ranked:
        return None
    *_, column, why = min(ranked, key=lambda r: r[:3])
    return column, f"{why}; {_spread(column, rows, key)}"


def _spread(column: ColumnReport, rows: int, key: str = "") -> str:
    if column.type == "timestamp":
        fmt = "ISO 8601" if column.date_format == ISO else column.date_format
        return f"timestamps ({fmt}), {column.distinct:,} distinct"
    per = (f" ({rows / column.distinct:.1f} rows each)"
           if column.distinct and key == "case" else "")
    return f"{column.distinct:,} distinct values{per}, e.g. " + ", ".join(
        repr(e) for e in column.examples[:2])


def _activities(conn: duckdb.DuckDBPyConnection, inspection: Inspection,
                limit: int = 500) -> list[str]:
    """The activities the proposed load would give (most frequent first)."""
    column = inspection.column("activity")
    if column is None:
        return []
    tokens = inspection.null_tokens
    params = {"null_tokens": tokens, "limit": limit}
    if inspection.adapter == "bpic2013":
        values = conn.execute(_sql("staging/inspect_bpic2013_activities.sql"), params)
        return [row[0] for row in values.fetchall() if row[0]]
    found = [row[0] for row in conn.execute(
        _sql("staging/inspect_top_values.sql", column=quote_ident(column)), params).fetchall()]
    if inspection.adapter == "servicenow":
        return ["Open", *found, "Assign", "Reassign", "Reclassify"]
    return found


def _normal(name: str) -> str:
    """'Detail Incident Activity.IncidentActivity_Type' -> 'incidentactivity type'."""
    tail = name.rsplit(".", 1)[-1] if ":" not in name else name
    return re.sub(r"[\s_]+", " ", tail.strip().lower())


def _slug(path: Path) -> str:
    stem = path.name.split(".")[0]
    return re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")[:40] or "export"


def _toml(value: str) -> str:
    """A TOML basic string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml(key)


__all__ = [
    "STAGES",
    "Choice",
    "ColumnReport",
    "Inspection",
    "append_config",
    "inspect_file",
    "propose_stage",
]

