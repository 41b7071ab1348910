"""The per-case marts (marts.waste, marts.case_kpis) written per case partition, e.g. by the
tasks of `--engine dask` (procmine.orchestration.dask_engine).

Writing the per-case marts is the largest per-case part of the mine stage (at 1M events
sql_waste + sql_waste_evidence + sql_case_kpis ≈ 1.5 s of 4 s; at 10M write_waste alone
8.4 s in issue #20's profile). Their rows depend only on the case's own rows and on small
global code tables, so each partition's rows are computed by the SAME SQL models
(intermediate/ping_pong_paths, intermediate/waste_evidence, marts/waste, marts/case_kpis) in
an in-memory DuckDB beside the partition's inputs, anywhere: `write_inputs` (coordinator)
writes the partition's rows of the models' inputs (_mine_waste_rows, _mine_case_rows,
_mine_case_id, its core.cases rows, the ping-pong paths it names) and the code tables once as
Arrow IPC files into a work folder; `write_partition` (worker) writes the marts' rows as
Parquet; `append_statements` (coordinator) puts them into the store's marts (the whole mart,
or the rewritten cases' rows appended after their stale rows are deleted, as the local engine
does).
Rows are equal to the local engine's (compared by tests/test_dask_engine.py and
bench/compare_marts.py); only the physical row order differs.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import duckdb
import numpy as np

from procmine import store
from procmine.mine.partitions import indirect_ping_pong
from procmine.mine.variants import Table, to_arrow
from procmine.sql import quote_ident, run_sql
from procmine.sql.models import materialise_sql, model_query, qualified

CASE_MARTS = ("waste", "case_kpis")
CONTEXT = "marts-context.pkl"
INPUT = ".arrow"   # the inputs' files (Arrow IPC); the outputs are Parquet
# the code tables every partition's models read whole (numpy tables registered by mining, or
# views/temp tables of the coordinator's connection)
SHARED = ("_mine_variant", "_mine_step_key", "_mine_holder_key", "_mine_holder_rate",
          "_mine_sla", "_mine_security", "_mine_waste_type", "_mine_detail", "_mine_stage",
          "_mine_clock", "_mine_vendor", "_mine_activity")
# the tables with one partition's rows (by case index ci), and the ping-pong paths by pid
PER_CASE = ("_mine_waste_rows", "_mine_case_rows", "_mine_case_id", "_part_cases")
PATHS = "_mine_pp_path"
# the per-case marts, incremental: the rewritten cases' stale rows deleted before their new
# rows are appended, by both engines ({table}: a quoted identifier, sql.models.qualified)
DELETE_REWRITTEN_SQL = ("DELETE FROM {table} "
                        "WHERE case_id IN (SELECT case_id FROM _mine_rewrite_id)")
# ($files_<mart>: the partitions' Parquet files, `files_param`)
REPLACE_SQL = "CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet(${param})"
APPEND_SQL = "INSERT INTO {table} BY NAME SELECT * FROM read_parquet(${param})"
CASE_IDS_SQL = "SELECT * FROM _mine_case_id"   # (with the core.cases columns case_kpis reads)
CORE_CASES_SQL = ("CREATE SCHEMA core; "
                  "CREATE VIEW core.cases AS SELECT * EXCLUDE (ci) FROM _part_cases")

Opener = Callable[[str, str], Any]   # (url, mode) -> a binary file object (fsspec.open)


@runtime_checkable
class CaseMartWriter(Protocol):
    """What a partitioned engine's detector also offers (mine() checks for it): start writing
    the per-case marts' rows of every partition (`start`) and return a join that gives, per
    mart, the Parquet files to append, and a cleanup for the work folder."""

    def start_case_marts(self, conn: duckdb.DuckDBPyConnection, tables: dict[str, Table],
                         params: dict[str, Any], rewrite: np.ndarray | None
                         ) -> tuple[Callable[[], dict[str, list[str]]], Callable[[], None]]:
        ...


def write_inputs(conn: duckdb.DuckDBPyConnection, opener: Opener, work: str,
                 case_part: np.ndarray, tables: dict[str, Table], params: dict[str, Any],
                 rewrite: np.ndarray | None) -> list[int]:
    """Write the code tables and each partition's inputs (only the rewritten cases' rows);
    returns the partitions with rows to write. `case_part`: each case's partition; `tables`:
    the numpy tables mining registered (others are read from `conn`)."""
    import pyarrow as pa
    import pyarrow.feather as feather

    def arrow(name: str) -> Any:
        if name in tables:
            return to_arrow(tables[name])
        return conn.sql(f"SELECT * FROM {quote_ident(name)}").to_arrow_table()

    def write(table: Any, name: str) -> None:   # Arrow IPC: 2-3x faster to write than Parquet
        with opener(f"{work}/{name}{INPUT}", "wb") as handle:
            feather.write_feather(table, handle, compression="lz4")

    with opener(f"{work}/{CONTEXT}", "wb") as handle:
        pickle.dump(params, handle, protocol=pickle.HIGHEST_PROTOCOL)
    for name in SHARED:
        write(arrow(name), name)
    chosen = np.ones(len(case_part), bool)
    if rewrite is not None:
        chosen[:] = False
        chosen[rewrite] = True
    parts = np.flatnonzero(np.bincount(case_part[chosen])).tolist()
    per_case: dict[str, Any] = {name: tables[name]
                                for name in ("_mine_waste_rows", "_mine_case_rows")}
    per_case["_mine_case_id"] = conn.sql(CASE_IDS_SQL).to_arrow_table()
    per_case["_part_cases"] = conn.sql(model_query("intermediate/partition_cases")
                                       ).to_arrow_table()
    sliced = {}   # each table sorted by partition once (rows of other cases last), then cut
    for name, table in per_case.items():
        numpy = isinstance(table, dict)
        ci = table["ci"] if numpy else table.column("ci").to_numpy()
        key = np.where(chosen[ci], case_part[ci], len(case_part) + 1)
        order = np.argsort(key, kind="stable")
        bounds = np.searchsorted(key[order], np.arange(max(parts, default=0) + 2))
        sliced[name] = (to_arrow({k: v[order] for k, v in table.items()}) if numpy
                        else table.take(pa.array(order)), bounds)
    paths = tables[PATHS]
    waste = tables["_mine_waste_rows"]
    indirect = indirect_ping_pong(waste["wtype"], waste["detail"])
    for part in parts:
        folder = part_folder(part)
        for name, (table, bounds) in sliced.items():
            write(table.slice(bounds[part], bounds[part + 1] - bounds[part]), f"{folder}/{name}")
        mine = (case_part[waste["ci"]] == part) & indirect
        pids = np.zeros(int(paths["pid"].max(initial=0)) + 1, bool)
        pids[waste["e3"][mine]] = True
        keep = pids[paths["pid"]]
        write(to_arrow({k: v[keep] for k, v in paths.items()}), f"{folder}/{PATHS}")
    return parts


def part_folder(part: int) -> str:
    return f"marts-{part:05d}"


def output(work: str, part: int, mart: str) -> str:
    return f"{work}/{part_folder(part)}/out-{mart}.parquet"


def write_partition(opener: Opener, work: str, part: int) -> dict[str, float]:
    """One partition's rows of the per-case marts, by the same SQL models as the local
    engine, into Parquet files beside its inputs (`output`); returns seconds per phase."""
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with opener(f"{work}/{CONTEXT}", "rb") as handle:
        params = pickle.load(handle)
    folder = f"{work}/{part_folder(part)}"
    with store.connect(":memory:") as conn:   # (UTC, as the coordinator's store)
        conn.execute("SET threads = 1")
        for name in (*SHARED, *PER_CASE, PATHS):
            at = f"{work}/{name}{INPUT}" if name in SHARED else f"{folder}/{name}{INPUT}"
            with opener(at, "rb") as handle:
                conn.register(name, feather.read_table(handle))
        run_sql(conn, CORE_CASES_SQL)
        seconds["read"] = time.perf_counter() - started
        started = time.perf_counter()
        run_sql(conn, materialise_sql("intermediate/ping_pong_paths", "_mine_pp_evidence",
                                      temp=True))
        run_sql(conn, materialise_sql("intermediate/waste_evidence", "_mine_evidence",
                                      temp=True), params)
        for mart in CASE_MARTS:
            temp = f"_part_{mart}"
            run_sql(conn, materialise_sql(f"marts/{mart}", temp, temp=True), params)
            table = conn.sql(f"SELECT * FROM {quote_ident(temp)}").to_arrow_table()
            with opener(output(work, part, mart), "wb") as handle:
                pq.write_table(table, handle)
        seconds["sql"] = time.perf_counter() - started
    return seconds


def files_param(mart: str) -> str:
    """The SQL parameter naming a mart's Parquet files in `append_statements`."""
    return f"files_{mart}"


def append_statements(mart: str, rewrite: np.ndarray | None) -> list[tuple[str, str]]:
    """(name, statement) pairs for mining's SQL writer: the mart replaced by the partitions'
    Parquet files ($files_<mart>), or the rewritten cases' rows deleted and the files
    appended (needs _mine_rewrite_id, as the local engine's per-case write)."""
    table, param = qualified(f"marts.{mart}"), files_param(mart)
    if rewrite is None:
        return [(mart, REPLACE_SQL.format(table=table, param=param))]
    return [(mart, DELETE_REWRITTEN_SQL.format(table=table)),
            (mart, APPEND_SQL.format(table=table, param=param))]
