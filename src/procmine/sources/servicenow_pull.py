"""ServiceNow Table API pull: incidents and their audit trail → a snapshot CSV landing file.

A source option beside file drops. Each run fetches the `incident` records changed since the
stored watermark (``sys_updated_on``) and the `sys_audit` rows written since its own watermark
(``sys_created_on``), rebuilds one snapshot row per audited update (the state of the incident
after that update, as the ServiceNow incident event log has it) and writes them in the
servicenow adapter's layout under ``<landing>/<source>/pull/``. The normal extract → load →
validate path then reads that file; the watermarks are stored in core.pull_watermarks and
published with the run (a failed run pulls the same window again, into the same file name).

Requests page through results (the ``Link: rel="next"`` header, else sysparm_offset), retry
429 and 5xx responses and connection errors with exponential backoff (a ``Retry-After`` header
wins), and authenticate with $PROCMINE_SNOW_USER / $PROCMINE_SNOW_PASSWORD or
$PROCMINE_SNOW_TOKEN, or a Prefect Secret block.
"""

from __future__ import annotations

import csv
import email.utils
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import httpx

from procmine.config import Config
from procmine.errors import ConfigError, ProcmineError
from procmine.sources.servicenow_layout import SNAPSHOT_COLUMNS

log = logging.getLogger("procmine.pull")

ENV_INSTANCE = "PROCMINE_SNOW_INSTANCE"
ENV_USER = "PROCMINE_SNOW_USER"
ENV_PASSWORD = "PROCMINE_SNOW_PASSWORD"
ENV_TOKEN = "PROCMINE_SNOW_TOKEN"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})

# Snapshot column -> incident field, where the names differ.
RENAMED = {"sys_created_at": "sys_created_on", "sys_updated_at": "sys_updated_on",
           "closed_code": "close_code"}
DATE_COLUMNS = frozenset({"opened_at", "sys_created_at", "sys_updated_at", "resolved_at",
                          "closed_at"})
# Columns exported as internal values (numbers, flags, dates); the others as display values.
VALUE_COLUMNS = DATE_COLUMNS | {"sys_mod_count", "reassignment_count", "reopen_count", "active",
                                "made_sla", "knowledge", "u_priority_confirmation",
                                "sys_created_by", "sys_updated_by"}
# Reference fields: the table and field holding their display value (for audit old values).
REFERENCE_TABLES = {
    "assignment_group": ("sys_user_group", "name"), "assigned_to": ("sys_user", "name"),
    "caller_id": ("sys_user", "name"), "opened_by": ("sys_user", "name"),
    "resolved_by": ("sys_user", "name"), "cmdb_ci": ("cmdb_ci", "name"),
    "location": ("cmn_location", "name"), "problem_id": ("problem", "number"),
    "rfc": ("change_request", "number"), "caused_by": ("change_request", "number"),
    "vendor": ("core_company", "name"),
}
AUDIT_FIELDS = ("documentkey", "fieldname", "oldvalue", "newvalue", "record_checkpoint",
                "sys_created_on", "user")
WATERMARK_FIELD = {"incident": "sys_updated_on", "sys_audit": "sys_created_on"}
LOOKUP_CHUNK = 100


class PullError(ProcmineError):
    """A pull that failed; `transient` ones (network, 429/5xx after all attempts) are retried."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class PullSettings:
    """[sources.<source>.pull], with the instance from $PROCMINE_SNOW_INSTANCE if set."""

    source: str
    instance: str
    tables: tuple[str, ...]
    query: str
    page_size: int
    initial_watermark: str
    timeout_s: float
    max_attempts: int
    backoff_s: float
    max_backoff_s: float
    secret_block: str
    out_dir: Path
    null_token: str
    labels: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config, source: str) -> PullSettings:
        source_config = config.source(source)
        section = dict(source_config.get("pull", {}) or {})
        instance = os.environ.get(ENV_INSTANCE) or str(section.get("instance", "") or "")
        if not instance:
            raise ConfigError(f"[sources.{source}.pull] enabled but no instance: set instance "
                              f"(https://<name>.service-now.com) or ${ENV_INSTANCE}")
        tables = tuple(section.get("tables", ["incident", "sys_audit"]))
        unknown = [t for t in tables if t not in WATERMARK_FIELD]
        if "incident" not in tables or unknown:
            raise ConfigError(f"[sources.{source}.pull] tables must be incident and optionally "
                              f"sys_audit; got {list(tables)}")
        landing = config.landing_dir / str(source_config.get("landing", source))
        return cls(
            source=source,
            instance=normalise_instance(instance),
            tables=tables,
            query=str(section.get("query", "") or ""),
            page_size=int(section.get("page_size", 1000)),
            initial_watermark=str(section.get("initial_watermark", "1970-01-01 00:00:00")),
            timeout_s=float(section.get("timeout_s", 60)),
            max_attempts=max(1, int(section.get("max_attempts", 6))),
            backoff_s=float(section.get("backoff_s", 2.0)),
            max_backoff_s=float(section.get("max_backoff_s", 120)),
            secret_block=str(section.get("secret_block", "") or ""),
            out_dir=landing / str(section.get("folder", "pull")),
            null_token=(source_config.null_tokens or ["?"])[0],
            labels={k: {str(a): str(b) for a, b in v.items()}
                    for k, v in dict(section.get("labels", {}) or {}).items()},
        )


def normalise_instance(instance: str) -> str:
    """https://name.service-now.com from "name" or a URL; plain http only to this machine."""
    instance = instance.strip().rstrip("/")
    if "://" not in instance:
        instance = f"https://{instance}" + ("" if "." in instance else ".service-now.com")
    parts = urlsplit(instance)
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(f"refusing to send ServiceNow credentials over plain http to "
                          f"{parts.hostname}; use https://")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"not a ServiceNow instance URL: {instance!r}")
    return instance


@dataclass(frozen=True)
class Credentials:
    user: str | None = None
    password: str | None = None
    token: str | None = None

    def apply(self, client_kwargs: dict[str, Any]) -> None:
        if self.token:
            client_kwargs["headers"]["Authorization"] = f"Bearer {self.token}"
        elif self.user and self.password is not None:
            client_kwargs["auth"] = httpx.BasicAuth(self.user, self.password)


SecretLoader = Callable[[str], Any]   # a secret block's name -> its value


def resolve_credentials(settings: PullSettings,
                        secret_loader: SecretLoader | None = None) -> Credentials:
    """$PROCMINE_SNOW_TOKEN, else $PROCMINE_SNOW_USER + _PASSWORD, else the secret block,
    read by `secret_loader` (the run passes Prefect's: procmine.orchestration.secrets)."""
    user = os.environ.get(ENV_USER) or None
    if os.environ.get(ENV_TOKEN):
        return Credentials(token=os.environ[ENV_TOKEN])
    if user and os.environ.get(ENV_PASSWORD) is not None:
        return Credentials(user=user, password=os.environ[ENV_PASSWORD])
    if settings.secret_block:
        return _credentials_from_block(settings.secret_block, user, secret_loader)
    raise PullError(f"no ServiceNow credentials: set ${ENV_USER} and ${ENV_PASSWORD} (or "
                    f"${ENV_TOKEN}), or [sources.{settings.source}.pull] secret_block")


def _credentials_from_block(name: str, user: str | None,
                            secret_loader: SecretLoader | None) -> Credentials:
    """A Prefect Secret block: {"user", "password"} or {"token"}, or one string (the password
    when $PROCMINE_SNOW_USER is set, else a token)."""
    if secret_loader is None:
        raise PullError(f"the secret block {name!r} is read by `procmine run` only; set "
                        f"${ENV_USER} and ${ENV_PASSWORD} (or ${ENV_TOKEN}) to pull without it")
    try:
        value = secret_loader(name)
    except Exception as exc:
        raise PullError(f"cannot load the Prefect Secret block {name!r}: {exc}") from exc
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return Credentials(user=user, password=value) if user else Credentials(token=value)
    if isinstance(value, dict):
        if value.get("token"):
            return Credentials(token=str(value["token"]))
        block_user = value.get("user") or value.get("username") or user
        if block_user and value.get("password") is not None:
            return Credentials(user=str(block_user), password=str(value["password"]))
    raise PullError(f"the Prefect Secret block {name!r} holds neither a token nor a "
                    "user and password")


# ---------------------------------------------------------------- HTTP


class TableClient:
    """GET /api/now/table/<table> with paging, retries and backoff."""

    def __init__(self, settings: PullSettings, credentials: Credentials, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.sleep = sleep
        kwargs: dict[str, Any] = {"headers": {"Accept": "application/json",
                                              "User-Agent": "procmine-pull"},
                                  "timeout": settings.timeout_s, "follow_redirects": False}
        credentials.apply(kwargs)
        self.http = httpx.Client(**kwargs)
        self.requests = 0
        self.retries = 0

    def close(self) -> None:
        self.http.close()

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and response.headers.get("Retry-After"):
            value = response.headers["Retry-After"].strip()
            try:
                wait = float(value)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(value)
                    wait = (when - datetime.now(UTC)).total_seconds()
                except (TypeError, ValueError):
                    wait = self.settings.backoff_s
            return min(max(wait, 0.0), self.settings.max_backoff_s)
        return min(self.settings.backoff_s * 2 ** (attempt - 1), self.settings.max_backoff_s)

    def get(self, url: str, params: dict[str, Any] | None) -> httpx.Response:
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            response: httpx.Response | None = None
            self.requests += 1
            try:
                response = self.http.get(url, params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code in (401, 403):
                    raise PullError(f"ServiceNow refused the request ({response.status_code}) "
                                    f"for {urlsplit(url).path}: check the credentials and the "
                                    "user's roles (rest_service, read on the table)")
                if response.status_code not in RETRY_STATUS:
                    raise PullError(f"ServiceNow answered {response.status_code} for "
                                    f"{urlsplit(url).path}: {response.text[:300]}")
                problem = f"HTTP {response.status_code}"
            if attempt == attempts:
                raise PullError(f"ServiceNow {urlsplit(url).path}: {problem} after {attempts} "
                                "attempts", transient=True)
            wait = self._delay(attempt, response)
            self.retries += 1
            log.warning("ServiceNow %s: %s; retry %d of %d in %.1f s", urlsplit(url).path,
                        problem, attempt, attempts - 1, wait)
            self.sleep(wait)
        raise AssertionError("unreachable")

    def records(self, table: str, query: str, fields: Iterable[str], *,
                display_value: str = "false") -> Iterator[dict[str, Any]]:
        """Every record matching `query`, page by page."""
        url = f"{self.settings.instance}/api/now/table/{table}"
        base = {"sysparm_query": query, "sysparm_limit": self.settings.page_size,
                "sysparm_fields": ",".join(fields), "sysparm_display_value": display_value,
                "sysparm_exclude_reference_link": "true"}
        params: dict[str, Any] | None = {**base, "sysparm_offset": 0}
        offset = 0
        while True:
            response = self.get(url, params)
            try:
                batch = response.json()["result"]
            except (ValueError, KeyError, TypeError) as exc:
                raise PullError(f"ServiceNow {table}: not a Table API answer "
                                f"({response.text[:200]!r})", transient=True) from exc
            yield from batch
            if response.headers.get("Link"):
                following = response.links.get("next", {}).get("url")
                if not following or not batch:
                    return
                if urlsplit(following).netloc != urlsplit(self.settings.instance).netloc:
                    raise PullError(f"ServiceNow paging link leaves the instance: {following}")
                if str(response.request.url) == following:
                    raise PullError(f"ServiceNow paging link points at itself: {following}")
                url, params = following, None
            elif len(batch) >= self.settings.page_size:
                offset += len(batch)
                params = {**base, "sysparm_offset": offset}
            else:
                return


# ---------------------------------------------------------------- snapshots


def _value(record: dict[str, Any], name: str) -> str:
    cell = record.get(name)
    if isinstance(cell, dict):
        return str(cell.get("value") or "")
    return "" if cell is None else str(cell)


def _display(record: dict[str, Any], name: str) -> str:
    cell = record.get(name)
    if isinstance(cell, dict):
        shown = cell.get("display_value")
        return str(shown if shown not in (None, "") else cell.get("value") or "")
    return "" if cell is None else str(cell)


def field_of(column: str) -> str:
    return RENAMED.get(column, column)


COLUMN_OF_FIELD = {field_of(c): c for c in SNAPSHOT_COLUMNS}
INCIDENT_FIELDS = ("sys_id", *(field_of(c) for c in SNAPSHOT_COLUMNS))


class Labels:
    """Display values of internal values (choices, references), per incident field."""

    def __init__(self, configured: dict[str, dict[str, str]]) -> None:
        self.known: dict[str, dict[str, str]] = defaultdict(dict)
        self.configured = configured

    def learn(self, incidents: Iterable[dict[str, Any]]) -> None:
        for record in incidents:
            for name in COLUMN_OF_FIELD:
                value, shown = _value(record, name), _display(record, name)
                if value and shown:
                    self.known[name].setdefault(value, shown)

    def add(self, name: str, value: str, shown: str) -> None:
        self.known[name][value] = shown

    def missing(self, name: str, value: str) -> bool:
        return bool(value) and value not in self.configured.get(name, {}) \
            and value not in self.known.get(name, {})

    def show(self, name: str, value: str) -> str:
        if name in self.configured and value in self.configured[name]:
            return self.configured[name][value]
        return self.known.get(name, {}).get(value, value)


def _date(value: str) -> str:
    """ServiceNow's internal UTC datetime, with an explicit offset for the adapter."""
    return f"{value}+00:00" if value else ""


def _cell(column: str, value: str, shown: str) -> str:
    """A snapshot cell from a field's internal value and its display value."""
    if column in DATE_COLUMNS:
        return _date(value)
    return value if column in VALUE_COLUMNS else shown


def _old_cell(column: str, name: str, value: str, labels: Labels) -> str:
    """A snapshot cell from an audited (internal) value."""
    if column in VALUE_COLUMNS:
        return _date(value) if column in DATE_COLUMNS else value
    return labels.show(name, value)


def snapshot_rows(incidents: dict[str, dict[str, Any]], audits: list[dict[str, Any]],
                  labels: Labels, null: str) -> list[dict[str, str]]:
    """One row per audited update of each incident (its state after that update), plus the
    incident's current state when it is newer than its last audited update."""
    by_incident: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for audit in audits:
        if audit.get("fieldname") in COLUMN_OF_FIELD:
            try:
                checkpoint = int(str(audit.get("record_checkpoint") or "0"))
            except ValueError:
                checkpoint = 0
            by_incident[str(audit.get("documentkey"))][checkpoint].append(audit)
    rows: list[dict[str, str]] = []
    for sys_id, record in incidents.items():
        current = {c: _cell(c, _value(record, field_of(c)), _display(record, field_of(c)))
                   for c in SNAPSHOT_COLUMNS}
        try:
            current_mod = int(_value(record, "sys_mod_count") or "0")
        except ValueError:
            current_mod = 0
        updates = {cp: group for cp, group in by_incident.get(sys_id, {}).items()
                   if cp <= current_mod}
        history: list[dict[str, str]] = []
        state = dict(current)
        for checkpoint in sorted(updates, reverse=True):
            group = updates[checkpoint]
            row = dict(state)
            row["sys_mod_count"] = str(checkpoint)
            row["sys_updated_at"] = _date(max(str(a.get("sys_created_on") or "") for a in group))
            row["sys_updated_by"] = str(group[0].get("user") or row["sys_updated_by"])
            history.append(row)
            for audit in group:  # the state before this update
                name = str(audit["fieldname"])
                column = COLUMN_OF_FIELD[name]
                state[column] = _old_cell(column, name, str(audit.get("oldvalue") or ""), labels)
        if not updates or max(updates) < current_mod:
            history.append(current)
        rows.extend(reversed(history))
    rows.sort(key=lambda r: (r["number"], r["sys_updated_at"], int(r["sys_mod_count"] or 0)))
    return [{c: (v if v != "" else null) for c, v in row.items()} for row in rows]


def _resolve_labels(client: TableClient, labels: Labels, audits: list[dict[str, Any]]) -> None:
    """Look up display values of audited old/new values not seen on a current incident."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for audit in audits:
        name = str(audit.get("fieldname"))
        if name not in COLUMN_OF_FIELD or COLUMN_OF_FIELD[name] in VALUE_COLUMNS:
            continue
        for value in (str(audit.get("oldvalue") or ""), str(audit.get("newvalue") or "")):
            if labels.missing(name, value):
                wanted[name].add(value)
    choices = sorted(n for n in wanted if n not in REFERENCE_TABLES)
    try:
        if choices:
            query = f"name=incident^elementIN{','.join(choices)}^language=en"
            for choice in client.records("sys_choice", query, ("element", "value", "label")):
                labels.add(str(choice["element"]), str(choice["value"]), str(choice["label"]))
        for name in sorted(n for n in wanted if n in REFERENCE_TABLES):
            table, shown = REFERENCE_TABLES[name]
            ids = sorted(wanted[name])
            for start in range(0, len(ids), LOOKUP_CHUNK):
                query = "sys_idIN" + ",".join(ids[start:start + LOOKUP_CHUNK])
                for ref in client.records(table, query, ("sys_id", shown)):
                    labels.add(name, str(ref["sys_id"]), str(ref.get(shown) or ref["sys_id"]))
    except PullError as exc:
        if exc.transient:
            raise
        log.warning("ServiceNow label lookup refused (%s); audit values stay internal", exc)


# ---------------------------------------------------------------- the pull


@dataclass
class PullReport:
    """What one pull fetched and wrote."""

    source: str
    records: dict[str, int] = field(default_factory=dict)
    rows_written: int = 0
    landing_file: Path | None = None
    watermarks: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0

    @property
    def records_total(self) -> int:
        return sum(self.records.values())

    def describe(self) -> str:
        fetched = ", ".join(f"{n:,} {t}" for t, n in self.records.items()) or "nothing"
        target = f" → {self.rows_written:,} snapshot rows in {self.landing_file}" \
            if self.landing_file else " (no changes)"
        return (f"{fetched} record(s) since {', '.join(self.watermarks.values())}{target}; "
                f"{self.requests} request(s), {self.retries} retried")


def pull_enabled(config: Config, source: str) -> bool:
    return bool(dict(config.source(source).get("pull", {}) or {}).get("enabled", False))


def read_watermarks(conn: duckdb.DuckDBPyConnection, settings: PullSettings) -> dict[str, str]:
    stored = dict(conn.execute(
        "SELECT table_name, watermark FROM core.pull_watermarks WHERE source = ?",
        [settings.source]).fetchall())
    return {t: stored.get(t, settings.initial_watermark) for t in settings.tables}


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")  # dot files are not landing data
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SNAPSHOT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(partial, path)


def _stamp(watermark: str) -> str:
    return "".join(ch for ch in watermark if ch.isdigit()).ljust(14, "0")[:14]


def pull(conn: duckdb.DuckDBPyConnection, settings: PullSettings, credentials: Credentials, *,
         run_id: str, sleep: Callable[[float], None] = time.sleep) -> PullReport:
    """Fetch what changed since the watermarks, write the snapshot file, move the watermarks."""
    watermarks = read_watermarks(conn, settings)
    report = PullReport(source=settings.source, watermarks=dict(watermarks))
    client = TableClient(settings, credentials, sleep=sleep)
    try:
        query = f"sys_updated_on>{watermarks['incident']}"
        if settings.query:
            query += f"^{settings.query}"
        query += "^ORDERBYsys_updated_on^ORDERBYsys_id"
        incidents = {_value(r, "sys_id"): r for r in client.records(
            "incident", query, INCIDENT_FIELDS, display_value="all")}
        report.records["incident"] = len(incidents)
        new_marks = {"incident": max((_value(r, "sys_updated_on") for r in incidents.values()),
                                     default=watermarks["incident"])}
        audits: list[dict[str, Any]] = []
        if "sys_audit" in settings.tables:
            # Only up to the incidents' new watermark: audits of later updates come with
            # those incidents in the next pull.
            audit_query = (f"tablename=incident^sys_created_on>{watermarks['sys_audit']}"
                           f"^sys_created_on<={new_marks['incident']}"
                           "^ORDERBYsys_created_on^ORDERBYsys_id")
            audits = list(client.records("sys_audit", audit_query, AUDIT_FIELDS))
            report.records["sys_audit"] = len(audits)
            new_marks["sys_audit"] = max((str(a.get("sys_created_on") or "") for a in audits),
                                         default=watermarks["sys_audit"])
            missing = sorted({str(a.get("documentkey")) for a in audits} - set(incidents))
            for start in range(0, len(missing), LOOKUP_CHUNK):
                chunk = "sys_idIN" + ",".join(missing[start:start + LOOKUP_CHUNK])
                for record in client.records("incident", chunk, INCIDENT_FIELDS,
                                             display_value="all"):
                    incidents[_value(record, "sys_id")] = record
        labels = Labels(settings.labels)
        labels.learn(incidents.values())
        if audits:
            _resolve_labels(client, labels, audits)
        rows = snapshot_rows(incidents, audits, labels, settings.null_token)
    finally:
        report.requests, report.retries = client.requests, client.retries
        client.close()
    if rows:
        path = settings.out_dir / f"{settings.source}_since_{_stamp(watermarks['incident'])}.csv"
        _write_csv(path, rows)
        report.landing_file, report.rows_written = path, len(rows)
    now = datetime.now(UTC)
    for table, mark in new_marks.items():
        conn.execute(
            "INSERT OR REPLACE INTO core.pull_watermarks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [settings.source, table, WATERMARK_FIELD[table], mark, report.records.get(table, 0),
             str(report.landing_file) if report.landing_file else None, run_id, now])
    return report


def pull_source(conn: duckdb.DuckDBPyConnection, config: Config, source: str, *,
                run_id: str, secret_loader: SecretLoader | None = None) -> PullReport:
    """The pull configured for `source` ([sources.<source>.pull])."""
    settings = PullSettings.from_config(config, source)
    return pull(conn, settings, resolve_credentials(settings, secret_loader), run_id=run_id)
