"""Activities without a Detect-to-Correct stage: said, not punished.

An event whose activity no stage table maps (core.events.d2c_stage NULL, e.g. a generic CSV
loaded without [sources.<name>.stages]) cannot be placed in Detect-to-Correct: conformance does
not judge it (mine/conformance.py projects it out), so it is never deviation waste. This module
reports how much of the log that is (share of events and cases, the top activities) for the
ingest output, the run summary and the dashboards' waste page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from procmine.sql import load_sql

TOP = 5


@dataclass(frozen=True)
class UnmappedActivity:
    source: str
    activity: str
    events: int
    cases: int


@dataclass
class UnmappedReport:
    """Unmapped events and cases among all of core's, and the activities they have."""

    events: int
    cases: int
    total_events: int
    total_cases: int
    activities: list[UnmappedActivity] = field(default_factory=list)

    @property
    def event_share(self) -> float:
        return self.events / self.total_events if self.total_events else 0.0

    @property
    def case_share(self) -> float:
        return self.cases / self.total_cases if self.total_cases else 0.0

    def top(self, n: int = TOP) -> list[UnmappedActivity]:
        return self.activities[:n]

    def describe(self, n: int = TOP) -> str:
        """One line: the shares, the top activities and the configuration key that maps them."""
        if not self.events:
            return "every event's activity has a D2C stage"
        names = ", ".join(f"{a.activity!r} {a.events:,}" for a in self.top(n))
        more = len(self.activities) - n
        sources = sorted({a.source for a in self.activities})
        keys = " or ".join(["[stages]", *(f"[sources.{s}.stages]" for s in sources)])
        return (f"{self.events:,} of {self.total_events:,} events ({self.event_share:.1%}) in "
                f"{self.cases:,} of {self.total_cases:,} cases ({self.case_share:.1%}) have an "
                f"activity without a D2C stage: not judged by conformance, no deviation waste; "
                f"top: {names}" + (f" and {more:,} more" if more > 0 else "")
                + f"; map them to stages in {keys} (procmine.toml)")


def unmapped_report(conn: duckdb.DuckDBPyConnection,
                    core_size: tuple[int, int] | None = None) -> UnmappedReport:
    """The unmapped events of core.events (sql/core/unmapped.sql) against core's size
    (`core_size`: the (events, cases) of runs/core_size.sql when the caller has them: its
    distinct count of every case id is history-sized, 0.35 s at 10M events)."""
    rows = conn.execute(load_sql("core/unmapped.sql")).fetchall()
    total_events, total_cases = core_size or conn.execute(
        load_sql("runs/core_size.sql")).fetchone()
    events, cases = (rows[0][2], rows[0][3]) if rows else (0, 0)
    activities = [UnmappedActivity(str(r[0]), str(r[1]), int(r[2]), int(r[3]))
                  for r in rows[1:]]
    return UnmappedReport(int(events), int(cases), int(total_events or 0),
                          int(total_cases or 0), activities)
