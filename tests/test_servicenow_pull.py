"""ServiceNow Table API pull against a local stand-in replaying recorded responses: paging,
retries with backoff (429 with Retry-After, 503), the incremental watermark, the rebuilt
snapshot rows, credentials, and the pulled file flowing through a normal run."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from procmine import store
from procmine.config import load_config
from procmine.errors import ConfigError
from procmine.sources.servicenow_pull import (
    Credentials,
    PullError,
    PullSettings,
    normalise_instance,
    pull,
    resolve_credentials,
)
from tests.landing_data import write_project
from tests.servicenow_replay import Instance, ReplayServer, advance_to_day2, day1_instance

USER = Credentials(user="procmine", password="s3cret")


@pytest.fixture
def server():
    instance = day1_instance()
    instance.link_paging["sys_audit"] = False  # audit pages by sysparm_offset, incidents by Link
    with ReplayServer(instance) as running:
        yield running


def settings_for(tmp_path: Path, url: str, **pull_options: object) -> PullSettings:
    options = {"enabled": True, "instance": url, "page_size": 2, "backoff_s": 0.05,
               "max_backoff_s": 2, "max_attempts": 3, **pull_options}
    lines = "\n".join(f"{k} = {v!r}".replace("'", '"').replace("True", "true")
                      for k, v in options.items())
    config = load_config(write_project(tmp_path, extra_toml=f"[sources.servicenow.pull]\n{lines}\n"))
    return PullSettings.from_config(config, "servicenow")


def pull_once(settings: PullSettings, db: Path, credentials: Credentials = USER, **kwargs):
    with store.writing(db) as conn:
        return pull(conn, settings, credentials, run_id=store.new_run_id(), **kwargs)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_pull_pages_through_both_tables_and_rebuilds_one_row_per_update(tmp_path, server):
    settings = settings_for(tmp_path, server.url)
    report = pull_once(settings, tmp_path / "db.duckdb")

    assert report.records == {"incident": 3, "sys_audit": 19}
    incident_pages = server.instance.requests_for("incident")
    assert len(incident_pages) == 2  # 3 records, 2 per page, the second page via Link: next
    assert incident_pages[0]["sysparm_query"] == (
        "sys_updated_on>1970-01-01 00:00:00^ORDERBYsys_updated_on^ORDERBYsys_id")
    assert incident_pages[0]["sysparm_display_value"] == "all"
    audit_pages = server.instance.requests_for("sys_audit")
    assert [int(p["sysparm_offset"]) for p in audit_pages] == list(range(0, 20, 2))
    # audit values no current incident shows are looked up: choice labels and group names
    assert server.instance.requests_for("sys_choice")
    assert server.instance.requests_for("sys_user_group")

    assert report.landing_file == settings.out_dir / "servicenow_since_19700101000000.csv"
    rows = read_rows(report.landing_file)
    assert len(rows) == report.rows_written == 4 + 5 + 2
    first = [r for r in rows if r["number"] == "INC0010001"]
    assert [(r["sys_mod_count"], r["incident_state"], r["assignment_group"], r["assigned_to"])
            for r in first] == [
        ("0", "New", "Hub Service Desk L1", "?"),
        ("1", "Active", "Hub Service Desk L1", "Agent 7"),
        ("2", "Active", "Hub Network L2", "?"),
        ("3", "Resolved", "Hub Network L2", "?"),
    ]
    assert [r["sys_updated_at"] for r in first] == [
        "2024-03-04 08:00:00+00:00", "2024-03-04 08:05:00+00:00",
        "2024-03-04 09:00:00+00:00", "2024-03-04 10:30:00+00:00"]
    assert [r["reassignment_count"] for r in first] == ["0", "0", "1", "1"]
    assert first[-1]["resolved_at"] == "2024-03-04 10:30:00+00:00"
    assert first[0]["resolved_at"] == "?"
    second = [r for r in rows if r["number"] == "INC0010002"]
    assert [(r["sys_mod_count"], r["incident_state"], r["assignment_group"]) for r in second] == [
        ("0", "New", "Spoke Finance IT L1"), ("1", "Awaiting User Info", "Spoke Finance IT L1"),
        ("2", "Active", "Spoke Finance IT L1"), ("3", "Active", "Vendor Acme Networks L3"),
        ("4", "Active", "Vendor Acme Networks L3")]  # the last update touched no audited field
    assert {r["priority"] for r in second} == {"2 - High"}


def test_pull_retries_429_and_503_honouring_retry_after(tmp_path, server):
    settings = settings_for(tmp_path, server.url)
    server.instance.fail_next("incident", (429, {"Retry-After": "1"}), (503, {}))
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    report = pull_once(settings, tmp_path / "db.duckdb", sleep=sleep)
    assert waits == [1.0, 0.1]  # Retry-After, then backoff_s * 2 for the second attempt
    assert report.retries == 2 and report.records["incident"] == 3

    server.instance.fail_next("sys_audit", *[(502, {})] * 3)
    with pytest.raises(PullError, match="HTTP 502 after 3 attempts") as failed:
        pull_once(settings, tmp_path / "db2.duckdb")
    assert failed.value.transient  # the flow's task retries it later

    with pytest.raises(PullError, match="refused the request \\(401\\)") as refused:
        pull_once(settings, tmp_path / "db3.duckdb", Credentials(user="procmine", password="x"))
    assert not refused.value.transient


def test_second_pull_fetches_only_newer_records(tmp_path, server):
    settings = settings_for(tmp_path, server.url)
    db = tmp_path / "db.duckdb"
    first = pull_once(settings, db)
    with store.reading(db) as conn:
        marks = dict(conn.execute("SELECT table_name, watermark FROM core.pull_watermarks"
                                  ).fetchall())
    assert marks == {"incident": "2024-03-04 12:30:00", "sys_audit": "2024-03-04 12:00:00"}

    advance_to_day2(server.instance)
    server.instance.requests.clear()
    second = pull_once(settings, db)
    query = server.instance.requests_for("incident")[0]["sysparm_query"]
    assert query.startswith("sys_updated_on>2024-03-04 12:30:00^")
    audit_query = server.instance.requests_for("sys_audit")[0]["sysparm_query"]
    assert "sys_created_on>2024-03-04 12:00:00^sys_created_on<=2024-03-05 10:00:00" in audit_query
    # INC0010003's audit of 10:05 is newer than the incidents fetched: left for the next pull
    assert second.records == {"incident": 2, "sys_audit": 5}
    assert second.landing_file != first.landing_file and first.landing_file.exists()
    rows = read_rows(second.landing_file)
    assert [(r["number"], r["sys_mod_count"], r["incident_state"]) for r in rows] == [
        ("INC0010001", "4", "Closed"), ("INC0010004", "0", "New")]
    assert rows[0]["active"] == "false" and rows[0]["closed_at"] == "2024-03-05 09:00:00+00:00"

    third = pull_once(settings, db)
    assert third.records == {"incident": 0, "sys_audit": 0}
    assert third.landing_file is None


def test_pulled_snapshots_flow_through_a_normal_run(tmp_path, server, monkeypatch):
    monkeypatch.setenv("PROCMINE_SNOW_USER", "procmine")
    monkeypatch.setenv("PROCMINE_SNOW_PASSWORD", "s3cret")
    settings_for(tmp_path, server.url)  # writes the project's procmine.toml
    config = load_config(tmp_path / "procmine.toml")
    db = config.db_path()
    import procmine

    server.instance.fail_next("incident", *[(503, {})] * 3)  # the first attempt gives up
    first = procmine.open(db, config).run()  # (no Prefect: the step retries like the Prefect task)
    assert first.status == "success" and first.files_loaded == 1
    assert len(server.instance.requests_for("incident")) == 3 + 2  # 3 failed, then 2 pages
    with store.reading(db) as conn:
        activities = [r[0] for r in conn.execute(
            "SELECT activity FROM core.events WHERE case_id = 'INC0010001' "
            "ORDER BY ts, source_file, source_row, seq").fetchall()]
        pulled = conn.execute("SELECT records_pulled FROM marts.run_log").fetchone()[0]
        events_day1 = conn.execute("SELECT count(*) FROM core.events").fetchone()[0]
    assert pulled == 22
    assert activities[0] in ("Open", "New") and "Resolved" in activities
    assert activities.index("Resolved") > activities.index("Active")

    advance_to_day2(server.instance)
    second = procmine.open(db, config).run()
    assert [f.path.name for f in second.files if f.status == "loaded"] == [
        "servicenow_since_20240304123000.csv"]
    with store.reading(db) as conn:
        assert conn.execute("SELECT count(*) FROM core.events").fetchone()[0] \
            == events_day1 + second.events_loaded
        closed = conn.execute("SELECT count(*) FROM core.events WHERE case_id = 'INC0010001' "
                              "AND activity = 'Closed'").fetchone()[0]
    assert second.events_loaded > 0 and closed == 1


def test_credentials_and_instance(monkeypatch, tmp_path):
    for name in ("PROCMINE_SNOW_USER", "PROCMINE_SNOW_PASSWORD", "PROCMINE_SNOW_TOKEN",
                 "PROCMINE_SNOW_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    assert normalise_instance("acme") == "https://acme.service-now.com"
    assert normalise_instance("https://acme.service-now.com/") == "https://acme.service-now.com"
    with pytest.raises(ConfigError, match="plain http"):
        normalise_instance("http://acme.service-now.com")
    settings = settings_for(tmp_path, "http://127.0.0.1:9")
    with pytest.raises(PullError, match="no ServiceNow credentials"):
        resolve_credentials(settings)
    monkeypatch.setenv("PROCMINE_SNOW_TOKEN", "tok-123")
    assert resolve_credentials(settings) == Credentials(token="tok-123")
    monkeypatch.setenv("PROCMINE_SNOW_INSTANCE", "other")
    assert PullSettings.from_config(load_config(tmp_path / "procmine.toml"),
                                    "servicenow").instance == "https://other.service-now.com"


def test_token_auth_is_accepted(tmp_path):
    instance = Instance()
    instance.add("incident", [])
    with ReplayServer(instance) as running:
        settings = settings_for(tmp_path, running.url, tables=["incident"])
        report = pull_once(settings, tmp_path / "db.duckdb", Credentials(token="tok-123"))
    assert report.records == {"incident": 0} and report.requests == 1
