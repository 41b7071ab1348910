"""The step waits aggregated in numpy (mine/steps.py) equal what DuckDB computes over the same
waits: medians bit for bit, other quantiles as quantile_cont interpolates, distinct cases and
steps exactly, sums and means to rounding; whatever the path (waits packed with their group
into one int64 or too long for it, group codes dense or numbered first, cases counted in one
range or several)."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from procmine.mine import events as events_mod
from procmine.mine import steps
from procmine.mine.events import EventArrays, Vocabulary

QUANTILES = (0.5, 0.9, 0.25)


def _events(lengths: np.ndarray, dwell_us: np.ndarray) -> EventArrays:
    """Cases of `lengths` events, each event's wait to the next of its case from `dwell_us`
    (one per event; the last event's is not a wait)."""
    key = np.repeat(np.arange(1, len(lengths) + 1, dtype=np.uint32), lengths)
    t = np.zeros(len(key), np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for start, length in zip(starts, lengths, strict=True):
        t[start + 1:start + length] = np.cumsum(dwell_us[start:start + length - 1])
    none = np.zeros(1, np.int32)
    vocab = Vocabulary([None], [None], [None], [None], [None], [None], none, none, none,
                       none, none, none, none)
    return EventArrays(vocab, key, t, np.zeros(len(key), np.int16), np.zeros(len(key), np.int16))


def _duckdb(events: EventArrays, key: np.ndarray, groups: int) -> dict[int, tuple]:
    conn = duckdb.connect()
    conn.register("w", {"ci": events.ci, "code": key, "dwell_us": events.dwell_us})
    found = conn.execute(
        "SELECT code, count(*), count(DISTINCT ci), quantile_cont(dwell_us / 1e6, $q), "
        "median(dwell_us / 1e6), sum(dwell_us / 1e6), avg(dwell_us / 1e6) "
        "FROM w WHERE code < $groups GROUP BY code",
        {"q": list(QUANTILES), "groups": groups}).fetchall()
    conn.close()
    return {row[0]: row[1:] for row in found}


@pytest.mark.parametrize("case", ["packed", "long waits", "dense codes", "ranges"])
def test_grouped_waits_equal_duckdb(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    lengths = rng.integers(1, 9, 400)
    n = int(lengths.sum())
    top = 60 if case == "long waits" else 40   # waits of 1 µs to 2^top µs (log-uniform)
    dwell = (2.0 ** rng.uniform(0, top, n)).astype(np.int64)
    dwell[rng.random(n) < 0.3] = 3_600_000_000   # ties
    events = _events(lengths, dwell)
    groups = 23
    key = rng.integers(0, groups, n).astype(np.int64)
    key[~events.has_next | (rng.random(n) < 0.1)] = groups   # not counted
    if case == "dense codes":
        monkeypatch.setattr(steps, "DENSE_GROUPS", 4)
    if case == "ranges":
        monkeypatch.setattr(events_mod, "CHUNK_EVENTS", 50)
    expected = _duckdb(events, key, groups)
    found = steps.grouped_waits(events, key.copy(), groups, QUANTILES, cases=True)
    assert sorted(found["code"].tolist()) == sorted(expected)
    for i, code in enumerate(found["code"].tolist()):
        count, cases, quantiles, median, total, mean = expected[code]
        assert (found["steps"][i], found["cases"][i]) == (count, cases)
        assert found["q0"][i] == median == quantiles[0]
        for k in range(1, len(QUANTILES)):   # (equal here; one ulp apart where a DuckDB
            value, duck = found[f"q{k}"][i], quantiles[k]   # build rounds twice, no FMA)
            assert value == duck or np.nextafter(value, duck) == duck
        assert found["total_wait_s"][i] == pytest.approx(total, rel=1e-12)
        assert found["mean_wait_s"][i] == pytest.approx(mean, rel=1e-12)


def test_pair_waits_of_a_log_without_steps() -> None:
    events = _events(np.ones(3, np.int64), np.zeros(3, np.int64))
    found = steps.pair_waits(events)
    assert all(len(column) == 0 for column in found.values())
