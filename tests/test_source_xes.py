"""XES in (hardened parsing, attributes, gzip) and out (procmine export --format xes)."""

from __future__ import annotations

import gzip
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from procmine import store
from procmine.config import load_config
from procmine.load import ingest
from tests.conftest import run_cli

LOG = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <string key="concept:name" value="demo"/>
  <trace>
    <string key="concept:name" value="T-1"/>
    <string key="priority" value="2 - High"/>
    <list key="tags"><values><string key="tag" value="nested"/></values></list>
    <event>
      <string key="concept:name" value="Open"/>
      <date key="time:timestamp" value="2024-03-01T10:00:00.000+01:00"/>
      <string key="org:resource" value="ann &amp; co"/>
      <string key="org:group" value="Hub Service Desk L1"/>
      <string key="lifecycle:transition" value="complete"/>
    </event>
    <event>
      <string key="concept:name" value="Resolved"/>
      <date key="time:timestamp" value="2024-03-01T12:30:00Z"/>
      <string key="org:group" value="Vendor Acme Networks L3"/>
      <string key="support_level" value="L3"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="T-2"/>
    <event>
      <string key="concept:name" value="Open"/>
      <date key="time:timestamp" value="2024-03-02T08:00:00"/>
    </event>
    <event>
      <string key="concept:name" value="Closed"/>
      <date key="time:timestamp" value="not a date"/>
    </event>
  </trace>
</log>
"""


def _query(db: Path, sql: str) -> list[tuple]:
    conn = store.reading(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_xes_events_cases_and_attributes(tmp_path: Path, db_path: Path) -> None:
    log = tmp_path / "demo.xes.gz"
    with gzip.open(log, "wt", encoding="utf-8") as handle:
        handle.write(LOG)
    result = ingest(load_config(), db_path, "xes", [log])
    assert result.files_loaded == 1 and result.events_loaded == 3
    assert _query(db_path, "SELECT case_id, activity, ts, resource, org_group, support_level, "
                           "sourcing, d2c_stage, source_row FROM core.events ORDER BY ts") == [
        ("T-1", "Open", datetime(2024, 3, 1, 9, tzinfo=UTC), "ann & co", "Hub Service Desk L1",
         None, "hub", "log", 1),
        ("T-1", "Resolved", datetime(2024, 3, 1, 12, 30, tzinfo=UTC), None,
         "Vendor Acme Networks L3", "L3", "vendor:acme", "resolve", 2),
        ("T-2", "Open", datetime(2024, 3, 2, 8, tzinfo=UTC), None, None, None, "unmapped", "log", 3),
    ]
    # the unparseable timestamp is quarantined, with the value as written
    assert _query(db_path, "SELECT case_id, activity, rule, bad_value FROM quarantine.events") == [
        ("T-2", "Closed", "ts_not_null", "not a date")]
    assert _query(db_path, "SELECT case_id, priority, resolved_at, attributes->>'priority' "
                           "FROM core.cases ORDER BY 1") == [
        ("T-1", "2 - High", datetime(2024, 3, 1, 12, 30, tzinfo=UTC), "2 - High"),
        ("T-2", None, None, None)]
    # raw keeps every attribute as written, trace attributes prefixed case:
    assert _query(db_path, 'SELECT "case:concept:name", "lifecycle:transition", '
                           '"time:timestamp" FROM raw.xes ORDER BY _source_row LIMIT 1') == [
        ("T-1", "complete", "2024-03-01T10:00:00.000+01:00")]


def test_entity_declarations_are_refused_and_other_files_still_load(
        tmp_path: Path, db_path: Path) -> None:
    bomb = tmp_path / "a_bomb.xes"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE log [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
                    '<log><trace><string key="concept:name" value="&b;"/><event>'
                    '<string key="concept:name" value="Open"/>'
                    '<date key="time:timestamp" value="2024-01-01T00:00:00Z"/></event></trace></log>')
    external = tmp_path / "b_external.xes"
    external.write_text('<?xml version="1.0"?>\n<!DOCTYPE log SYSTEM "file:///etc/passwd">\n<log/>')
    good = tmp_path / "c_good.xes"
    good.write_text(LOG)
    result = ingest(load_config(), db_path, "xes", [bomb, external, good])
    statuses = {f.path.name: (f.status, f.message) for f in result.files}
    for name in ("a_bomb.xes", "b_external.xes"):
        status, message = statuses[name]
        assert status == "failed" and "DOCTYPE/ENTITY declarations are refused" in message
        assert name in message
    assert statuses["c_good.xes"][0] == "loaded"
    assert _query(db_path, "SELECT DISTINCT _source_file FROM raw.xes") == [(str(good),)]
    assert _query(db_path, "SELECT count(*) FROM core.events") == [(3,)]


def test_broken_xes_files_fail_clearly(tmp_path: Path, db_path: Path) -> None:
    truncated = tmp_path / "truncated.xes.gz"
    truncated.write_bytes(gzip.compress(LOG.encode())[:200])
    malformed = tmp_path / "malformed.xes"
    malformed.write_text(LOG[:600])
    not_xes = tmp_path / "other.xes"
    not_xes.write_text("<?xml version='1.0'?><html><body/></html>")
    no_time = tmp_path / "no_time.xes"
    no_time.write_text(LOG.replace("time:timestamp", "when"))
    result = ingest(load_config(), db_path, "xes", [truncated, malformed, not_xes, no_time])
    messages = {f.path.name: f.message for f in result.files}
    assert all(f.status == "failed" for f in result.files)
    assert "truncated or corrupt gzip" in messages["truncated.xes.gz"]
    assert "not well-formed XML" in messages["malformed.xes"]
    assert "not an XES log" in messages["other.xes"]
    assert "'time:timestamp'" in messages["no_time.xes"]
    assert "columns.timestamp" in messages["no_time.xes"]


def test_export_escapes_and_round_trips(tmp_path: Path, db_path: Path) -> None:
    import pm4py

    export = tmp_path / "events.csv"
    export.write_text('case_id,activity,timestamp,resource,group\n'
                      'T<1>,"Open ""now""",2024-03-01 09:00,a&b,Hub Service Desk L1\n'
                      'T<1>,Resolved,2024-03-01 11:00,b,Hub Network L2\n'
                      'T2,Open,2024-03-01 09:30,c,Spoke Retail IT L1\n'
                      'T2,Open,2024-03-01 09:30,d,Spoke Retail IT L1\n')
    ingest(load_config(), db_path, "csv", [export])
    out = tmp_path / "out" / "events.xes"
    proc = run_cli("export", "--format", "xes", "--out", out, "--db", db_path)
    assert "wrote 4 events" in proc.stderr
    text = out.read_text(encoding="utf-8")
    assert 'value="T&lt;1&gt;"' in text and 'value="Open &quot;now&quot;"' in text
    log = pm4py.read_xes(str(out), show_progress_bar=False)
    assert len(log) == 4 and log["case:concept:name"].nunique() == 2
    assert Counter(log["concept:name"]) == Counter({'Open "now"': 1, "Resolved": 1, "Open": 2})
    assert set(log["org:resource"]) == {"a&b", "b", "c", "d"}
    # and back in through the XES adapter: same events
    again = tmp_path / "again.duckdb"
    ingest(load_config(), again, "xes", [out])
    assert _query(again, "SELECT case_id, activity, ts, resource, org_group FROM core.events "
                         "ORDER BY case_id, ts, resource") == _query(
        db_path, "SELECT case_id, activity, ts, resource, org_group FROM core.events "
                 "ORDER BY case_id, ts, resource")
