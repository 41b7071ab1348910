"""Which cases a mining run must rewrite in the per-case marts.

The rows of marts.case_kpis and marts.waste of a case follow from that case alone: its events,
its core.cases row and the mining settings. Each run stores a signature per case
(mining.case_state: its events with their names, its core.cases columns, its id) and one
fingerprint of everything global (mining.run_state: the settings, the reference model, the
code of procmine's mining). The next run rewrites the rows of the cases whose signature
changed and leaves the others' rows as they are; it rewrites everything on a first run, when
the fingerprint changed, when a stored case is gone, or when more than REWRITE_ALL_SHARE of the
cases changed (one bulk write is then cheaper than deleting and inserting). Every other mart
aggregates over all cases and is recomputed by every run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from procmine.mine.events import EventArrays, case_index
from procmine.mine.settings import MiningSettings
from procmine.mine.variants import mix64
from procmine.sql import run_sql

REWRITE_ALL_SHARE = 0.25
MINING_CODE = (Path(__file__).parent, Path(__file__).parents[1] / "sql" / "intermediate",
               Path(__file__).parents[1] / "sql" / "marts")
_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xC2B2AE3D27D4EB4F)
_K3 = np.uint64(0x165667B19E3779F9)
CASE_ROW_SIGNATURES_SQL = "SELECT ci, signature FROM _mine_case_id WHERE signature IS NOT NULL"
STORED_STATE_SQL = "SELECT case_key, signature FROM mining.case_state"
STORED_FINGERPRINT_SQL = "SELECT fingerprint FROM mining.run_state"
REPLACE_STATE_SQL = ("CREATE OR REPLACE TABLE mining.case_state AS "
                     "SELECT case_key::UINTEGER AS case_key, signature FROM _mine_case_state")
DELETE_STATE_SQL = ("DELETE FROM mining.case_state "
                    "WHERE case_key IN (SELECT case_key FROM _mine_case_state)")
APPEND_STATE_SQL = ("INSERT INTO mining.case_state "
                    "SELECT case_key::UINTEGER, signature FROM _mine_case_state")
CLEAR_STATE_SQL = "DELETE FROM mining.case_state;\nDELETE FROM mining.run_state;"
SAVE_FINGERPRINT_SQL = ("DELETE FROM mining.run_state;\n"
                        "INSERT INTO mining.run_state VALUES ($fingerprint);")


@dataclass
class CaseChanges:
    """Per case its signature; `rewrite`: the case indices whose rows are rewritten, or None
    for all of them (`reason` says why)."""

    signature: np.ndarray
    fingerprint: str
    rewrite: np.ndarray | None
    reason: str = ""

    def count(self, cases: int) -> int:
        return cases if self.rewrite is None else len(self.rewrite)


def _digest(text: str) -> np.uint64:
    return np.frombuffer(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(),
                         dtype=np.uint64)[0]


def _name_hashes(*columns: list[str | None]) -> np.ndarray:
    """One 64-bit hash per code from the names its code tables give it."""
    return np.array([_digest(json.dumps(names)) for names in zip(*columns, strict=True)],
                    dtype=np.uint64)


def event_signatures(events: EventArrays) -> np.ndarray:
    """Per case, a 64-bit hash of its events in order: time and the names (not the codes) of
    the step and holder, so re-coding the index does not change it."""
    vocab = events.vocab
    step = _name_hashes([vocab.activities[c] for c in vocab.step_activity],
                        [vocab.stages[c] for c in vocab.step_stage],
                        [vocab.sources[c] for c in vocab.step_source])
    holder = _name_hashes([vocab.groups[c] for c in vocab.holder_group],
                          [vocab.levels[c] for c in vocab.holder_level],
                          [vocab.sourcings[c] for c in vocab.holder_sourcing])
    def per_event(lo: int, hi: int) -> np.ndarray:
        mixed = events.t[lo:hi].view(np.uint64) * _K1
        mixed += step[events.x[lo:hi]]
        mixed += holder[events.y[lo:hi]] * _K2
        mixed += events.pos[lo:hi].astype(np.uint64) * _K3
        return mix64(mixed)

    per_case = events.case_sums(per_event)
    return per_case ^ mix64(events.lengths.astype(np.uint64) + _K1)


def case_row_signatures(conn: duckdb.DuckDBPyConnection, events: EventArrays) -> np.ndarray:
    """Per case, the hash of its id and core.cases columns in _mine_case_id (case_ids.sql;
    0 when it has no row)."""
    found = conn.sql(CASE_ROW_SIGNATURES_SQL).fetchnumpy()
    out = np.zeros(events.cases, np.uint64)
    out[np.asarray(found["ci"])] = np.asarray(found["signature"], np.uint64)
    return out


def _canonical(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def settings_fingerprint(settings: MiningSettings, reference_model: Path | None) -> str:
    """A hash of the settings, the reference model's file and the mining code (Python + SQL):
    a change in any of them changes every case's rows."""
    h = hashlib.sha256()
    h.update(json.dumps(_canonical(dataclasses.asdict(settings)), sort_keys=True,
                        default=str).encode("utf-8"))
    if reference_model is not None and reference_model.is_file():
        h.update(reference_model.read_bytes())
    for folder in MINING_CODE:
        for path in sorted(folder.glob("*.py")) + sorted(folder.glob("*.sql")):
            h.update(path.name.encode("utf-8"))
            h.update(path.read_bytes())
    return h.hexdigest()


def plan(conn: duckdb.DuckDBPyConnection, events: EventArrays, signature: np.ndarray,
         fingerprint: str, *, rewrite_all: str = "", mart_rows: int) -> CaseChanges:
    """Compare the cases' signatures with the stored ones; `rewrite_all` (a reason) forces a
    full rewrite; `mart_rows` (rows of marts.case_kpis, one per case) must match the state."""
    if rewrite_all:
        return CaseChanges(signature, fingerprint, None, rewrite_all)
    stored_print = conn.execute(STORED_FINGERPRINT_SQL).fetchall()
    if not stored_print:
        return CaseChanges(signature, fingerprint, None, "first run")
    if stored_print[0][0] != fingerprint:
        return CaseChanges(signature, fingerprint, None, "settings or mining code changed")
    stored = conn.sql(STORED_STATE_SQL).fetchnumpy()
    at = case_index(events, np.asarray(stored["case_key"]).astype(np.int64))
    if (at < 0).any():
        return CaseChanges(signature, fingerprint, None, "cases left core")
    if mart_rows != len(at):
        return CaseChanges(signature, fingerprint, None, "marts.case_kpis and the state differ")
    prior = np.zeros(events.cases, np.uint64)
    known = np.zeros(events.cases, bool)
    prior[at] = np.asarray(stored["signature"], np.uint64)
    known[at] = True
    rewrite = np.flatnonzero(~known | (prior != signature))
    if len(rewrite) > REWRITE_ALL_SHARE * events.cases:
        return CaseChanges(signature, fingerprint, None, f"{len(rewrite):,} of {events.cases:,} "
                           "cases changed")
    return CaseChanges(signature, fingerprint, rewrite)


def save(conn: duckdb.DuckDBPyConnection, events: EventArrays, changes: CaseChanges) -> None:
    """Store the signatures (all of them, or the rewritten cases') and the fingerprint."""
    rows = np.arange(events.cases) if changes.rewrite is None else changes.rewrite
    conn.register("_mine_case_state", {"case_key": events.key[events.starts][rows],
                                       "signature": changes.signature[rows]})
    try:
        if changes.rewrite is None:
            conn.execute(REPLACE_STATE_SQL)
        else:
            conn.execute(DELETE_STATE_SQL)
            conn.execute(APPEND_STATE_SQL)
    finally:
        conn.unregister("_mine_case_state")
    run_sql(conn, SAVE_FINGERPRINT_SQL, {"fingerprint": changes.fingerprint})
