"""What a worker of `--engine dask` runs (one mining partition) and how the coordinator
reaches the scheduler: shared by the plain dask.distributed path (dask_engine.py) and the
Prefect one (dask_prefect.py)."""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from typing import Any

from procmine.errors import ProcmineError
from procmine.mine.partition_marts import write_partition
from procmine.mine.partitions import detect_partition
from procmine.mine.waste import WasteResult
from procmine.orchestration.dask_work import maybe_kill, url

CONTEXT_FILE = "context.pkl"
# crash points ($PROCMINE_CRASH_AT on the workers, procmine.faults) for the worker-kill tests:
# the first partition task of a mining run kills its worker process (SIGKILL), once per work
# folder, so the scheduler must run it again elsewhere; or every partition task does
KILL_ONCE = "dask_partition_once"
KILL_ALWAYS = "dask_partition"
# (work folder, partitions, the task function: mine_partition or mine_partition_marts)
Submit = Callable[..., list[Any]]


def mine_partition(work: str, part: int) -> tuple[WasteResult, float]:
    """The task: one partition's waste detection, with the seconds it took on the worker."""
    import fsspec
    import pyarrow.feather as feather

    maybe_kill(work, KILL_ONCE, KILL_ALWAYS)
    started = time.perf_counter()
    with fsspec.open(url(work, CONTEXT_FILE), "rb") as handle:
        vocab, settings = pickle.load(handle)
    with fsspec.open(url(work, part_file(part)), "rb") as handle:
        table = feather.read_table(handle)
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    found = detect_partition(columns, vocab, settings)
    return found, time.perf_counter() - started


def mine_partition_marts(work: str, part: int) -> tuple[dict[str, float], float]:
    """The second task of a partition: its rows of the per-case marts (marts.waste,
    marts.case_kpis) as Parquet files in the work folder (mine/partition_marts.py), with the
    seconds per phase and in all on the worker."""
    import fsspec

    started = time.perf_counter()
    seconds = write_partition(fsspec.open, work, part)
    return seconds, time.perf_counter() - started


def part_file(part: int) -> str:
    return f"part-{part:05d}.arrow"   # Arrow IPC (lz4)


def connect(address: str, timeout_s: float = 5.0) -> Any:
    """A Client of the scheduler at `address`, or a one-line error naming it."""
    from distributed import Client

    try:
        return Client(address, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProcmineError(f"cannot reach the Dask scheduler at {address} (--dask-address / "
                            f"[run] dask_address): {reason}") from None

