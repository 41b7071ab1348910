"""A local stand-in for a ServiceNow instance's Table API (127.0.0.1 only), for the pull tests.

It replays recorded Table API responses (tests/fixtures/servicenow_api/*.json, in the
``{"result": [...]}`` format with ``sysparm_display_value=all`` cells) and answers like the
real API does for what procmine sends: encoded queries (``field>value``, ``>=``, ``<=``, ``<``,
``=``, ``IN``, ``^`` for AND, ``ORDERBY``/``ORDERBYDESC``), ``sysparm_fields``,
``sysparm_display_value``, ``sysparm_limit``/``sysparm_offset`` paging with ``X-Total-Count``
and a ``Link`` header (first/prev/next/last; switchable per table), Basic or Bearer auth, and
injected faults (e.g. 429 with Retry-After, 503) for the next requests of a table.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

FIXTURES = Path(__file__).parent / "fixtures" / "servicenow_api"
_CONDITION = re.compile(r"^([a-z_0-9.]+?)(>=|<=|!=|>|<|=|IN)(.*)$")


def load_fixture(name: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["result"]


def _raw(cell: Any) -> str:
    return str(cell.get("value", "")) if isinstance(cell, dict) else str(cell)


def _render(cell: Any, mode: str) -> Any:
    if not isinstance(cell, dict):
        return cell
    if mode == "all":
        return cell
    return cell.get("display_value") if mode == "true" else cell.get("value")


def _matches(record: dict[str, Any], condition: str) -> bool:
    found = _CONDITION.match(condition)
    if not found:
        raise ValueError(f"unsupported condition {condition!r}")
    name, op, operand = found.groups()
    value = _raw(record.get(name, ""))
    if op == "IN":
        return value in operand.split(",")
    return {"=": value == operand, "!=": value != operand, ">": value > operand,
            ">=": value >= operand, "<": value < operand, "<=": value <= operand}[op]


@dataclass
class Instance:
    """The recorded tables and the behaviour of the stand-in."""

    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # by sys_id
    link_paging: dict[str, bool] = field(default_factory=dict)  # default: Link headers on
    faults: dict[str, deque[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    user: str = "procmine"
    password: str = "s3cret"
    token: str = "tok-123"
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def add(self, table: str, records: list[dict[str, Any]]) -> None:
        rows = self.tables.setdefault(table, {})
        for record in records:
            rows[_raw(record["sys_id"])] = record

    def fail_next(self, table: str, *faults: tuple[int, dict[str, str]]) -> None:
        self.faults.setdefault(table, deque()).extend(faults)

    def requests_for(self, table: str) -> list[dict[str, str]]:
        return [params for path, params in self.requests if path.endswith(f"/{table}")]

    def query(self, table: str, params: dict[str, str]) -> list[dict[str, Any]]:
        records = list(self.tables.get(table, {}).values())
        orders: list[tuple[str, bool]] = []
        for part in filter(None, params.get("sysparm_query", "").split("^")):
            if part.startswith("ORDERBYDESC"):
                orders.append((part[len("ORDERBYDESC"):], True))
            elif part.startswith("ORDERBY"):
                orders.append((part[len("ORDERBY"):], False))
            else:
                records = [r for r in records if _matches(r, part)]
        for name, descending in reversed(orders):
            records.sort(key=lambda r, n=name: _raw(r.get(n, "")), reverse=descending)
        return records


def _handler(instance: Instance) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization", "")
            if header == f"Bearer {instance.token}":
                return True
            expected = base64.b64encode(f"{instance.user}:{instance.password}".encode()).decode()
            return header == f"Basic {expected}"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            instance.requests.append((parts.path, params))
            table = parts.path.rsplit("/", 1)[-1]
            if not parts.path.startswith("/api/now/table/"):
                return self._send(404, {"error": {"message": "Invalid path"}})
            if not self._authorised():
                return self._send(401, {"error": {"message": "User Not Authenticated"}})
            queued = instance.faults.get(table)
            if queued:
                status, headers = queued.popleft()
                return self._send(status, {"error": {"message": "injected fault"}}, headers)
            records = instance.query(table, params)
            limit = int(params.get("sysparm_limit", "10000"))
            offset = int(params.get("sysparm_offset", "0"))
            page = records[offset:offset + limit]
            fields = [f for f in params.get("sysparm_fields", "").split(",") if f]
            mode = params.get("sysparm_display_value", "false")
            result = [{f: _render(r.get(f, ""), mode) for f in (fields or list(r))} for r in page]
            headers = {"X-Total-Count": str(len(records))}
            if instance.link_paging.get(table, True):
                headers["Link"] = self._links(parts.path, params, offset, limit, len(records))
            return self._send(200, {"result": result}, headers)

        def _links(self, path: str, params: dict[str, str], offset: int, limit: int,
                   total: int) -> str:
            host = f"http://{self.headers.get('Host')}"

            def at(position: int, rel: str) -> str:
                query = urlencode({**params, "sysparm_offset": position})
                return f'<{host}{path}?{query}>;rel="{rel}"'

            links = [at(0, "first")]
            if offset > 0:
                links.append(at(max(offset - limit, 0), "prev"))
            if offset + limit < total:
                links.append(at(offset + limit, "next"))
            links.append(at(max((total - 1) // limit * limit, 0), "last"))
            return ",".join(links)

    return Handler


class ReplayServer:
    """Serve `instance` on 127.0.0.1:<free port> in a thread (context manager)."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(instance))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def day1_instance() -> Instance:
    """The instance as recorded on day 1 (reference tables included)."""
    instance = Instance()
    instance.add("incident", load_fixture("incident_day1.json"))
    instance.add("sys_audit", load_fixture("sys_audit_day1.json"))
    instance.add("sys_choice", load_fixture("sys_choice.json"))
    instance.add("sys_user_group", load_fixture("sys_user_group.json"))
    instance.add("sys_user", load_fixture("sys_user.json"))
    return instance


def advance_to_day2(instance: Instance) -> None:
    """What changed on the instance by the second pull."""
    instance.add("incident", load_fixture("incident_day2.json"))
    instance.add("sys_audit", load_fixture("sys_audit_day2.json"))
