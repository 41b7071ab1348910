"""Great Expectations 1.x over pandas batches: an ephemeral, offline context.

GX's SQL data source does not work on DuckDB (GX issue #10738), so DuckDB hands GX
pandas frames of bounded size; every frame's unexpected rows are identified by the
frame's index (``result_format`` COMPLETE → ``unexpected_index_list``) and the counts
are summed over the frames into one :class:`Outcome` per expectation and source.
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from procmine.errors import ProcmineError
from procmine.runtime import gx_imported
from procmine.validation.suites import Rule

if TYPE_CHECKING:   # pandas comes with GX, imported in the background
    import pandas as pd

os.environ["GX_ANALYTICS_ENABLED"] = "false"  # before GX is imported: no usage statistics

PARTIAL_VALUES = 20
RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": PARTIAL_VALUES,
                 "return_unexpected_index_query": False}


@dataclass
class Outcome:
    """One expectation's result for one source (or the whole load), summed over batches."""

    rule: Rule
    source: str | None
    element_count: int = 0
    unexpected_count: int = 0
    missing_count: int = 0
    partial_unexpected: list[Any] = field(default_factory=list)
    unexpected_index: list[np.ndarray] = field(default_factory=list)
    details: str = ""
    gx_kwargs: dict[str, Any] | None = None  # the kwargs GX evaluated (parameters filled in)

    @property
    def success(self) -> bool:
        return self.unexpected_count == 0

    @property
    def unexpected_percent(self) -> float | None:
        if not self.element_count:
            return None
        return 100.0 * self.unexpected_count / self.element_count

    @property
    def indices(self) -> np.ndarray:
        """Index values (row keys) of every unexpected row."""
        if not self.unexpected_index:
            return np.empty(0, dtype=np.int64)
        return np.concatenate(self.unexpected_index)

    def add_partial(self, values: list[Any]) -> None:
        room = PARTIAL_VALUES - len(self.partial_unexpected)
        if room > 0:
            self.partial_unexpected.extend(values[:room])


def _index_values(items: list[Any], index_name: str) -> np.ndarray:
    """GX lists unexpected rows as index values, or as dicts holding the named index."""
    if not items:
        return np.empty(0, dtype=np.int64)
    if isinstance(items[0], dict):
        return np.fromiter((item[index_name] for item in items), dtype=np.int64, count=len(items))
    return np.asarray(items, dtype=np.int64)


def _raised(info: Any) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if any."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "error")
    for value in info.values():
        message = _raised(value)
        if message:
            return message
    return None


_import_thread: threading.Thread | None = None


def import_in_background() -> threading.Thread:
    """Start importing Great Expectations (seconds of CPU) in a daemon thread, so that it
    overlaps with loading files (DuckDB releases the GIL); GxEngine's own import then finds
    it done, or waits for it. Called again, it returns the thread already started."""
    global _import_thread
    if _import_thread is None:
        _import_thread = threading.Thread(target=importlib.import_module,
                                          args=("great_expectations",),
                                          name="procmine-import-gx", daemon=True)
        _import_thread.start()
    return _import_thread


class GxEngine:
    """An ephemeral GX context with one pandas data source; suites are built once per rule set."""

    def __init__(self) -> None:
        self._context: Any = None  # created on first use: importing GX takes seconds
        self._batch_definitions: dict[str, Any] = {}
        self._suites: dict[tuple[str, ...], Any] = {}

    @property
    def context(self) -> Any:
        if self._context is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            self._context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(),
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            ))
            self._source = self._context.data_sources.add_pandas("procmine")
            gx_imported()   # entry points' tuning (procmine.runtime)
        return self._context

    @property
    def pandas_source(self) -> Any:
        return self.context and self._source

    def _batch_definition(self, asset: str) -> Any:
        if asset not in self._batch_definitions:
            data_asset = self.pandas_source.add_dataframe_asset(asset)
            self._batch_definitions[asset] = data_asset.add_batch_definition_whole_dataframe(
                f"{asset} batch")
        return self._batch_definitions[asset]

    def _suite(self, suite_name: str, rules: list[Rule]) -> Any:
        key = (suite_name, *(r.name for r in rules))
        if key not in self._suites:
            from great_expectations import ExpectationSuite

            suite = ExpectationSuite(
                name=f"{suite_name}.{len(self._suites)}",
                expectations=[{**r.config, "meta": {**r.meta, "rule": r.name}} for r in rules],
            )
            self._suites[key] = self.context.suites.add(suite)
        return self._suites[key]

    def validate(self, suite_name: str, rules: list[Rule], frame: pd.DataFrame,
                 params: dict[str, Any], outcomes: dict[str, Outcome]) -> None:
        """Validate one frame (indexed by row key) and add its results to `outcomes` by rule."""
        if not rules or frame.empty:
            return
        batch = self._batch_definition(suite_name).get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(self._suite(suite_name, rules), expectation_parameters=params,
                                result_format=RESULT_FORMAT)
        index_name = frame.index.name or "index"
        for item in result.results:
            config = item.expectation_config
            rule_name = config.meta.get("rule")
            message = _raised(item.exception_info)
            if message:
                raise ProcmineError(
                    f"expectation {rule_name} ({config.type}) of suite {suite_name} could not be "
                    f"evaluated: {message.splitlines()[0][:300]}")
            outcome = outcomes[rule_name]
            found = item.result
            outcome.element_count += int(found.get("element_count") or 0)
            outcome.unexpected_count += int(found.get("unexpected_count") or 0)
            outcome.missing_count += int(found.get("missing_count") or 0)
            outcome.add_partial(list(found.get("partial_unexpected_list") or []))
            indices = _index_values(list(found.get("unexpected_index_list") or []), index_name)
            if len(indices):
                outcome.unexpected_index.append(indices)
            if outcome.gx_kwargs is None:
                outcome.gx_kwargs = dict(config.kwargs)
