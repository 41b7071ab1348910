"""The time scope of the dashboards: data window, trend granularity, comparison windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from procmine.render.marts import MartReader

MAX_CATEGORIES = 8        # values kept per filter dimension (the rest is 'other')


@dataclass(frozen=True)
class Scope:
    first_day: date | None
    last_day: date | None
    chart_start: date | None
    cases: int
    case_dates: bool                  # marts.case_kpis has opened_at (case-grain trends)

    @property
    def has_dates(self) -> bool:
        return self.last_day is not None

    @property
    def span_days(self) -> int:
        if self.chart_start is None or self.last_day is None:
            return 0
        return (self.last_day - self.chart_start).days + 1

    @property
    def grain(self) -> str:
        """Trend charts per week for up to about four months, else per month."""
        return "week" if self.span_days <= 126 else "month"

    @property
    def window_days(self) -> int:
        """The headline comparison window: a week for short logs, else four weeks."""
        return 7 if self.span_days <= 63 else 28

    @property
    def window_label(self) -> str:
        return "last 7 days" if self.window_days == 7 else "last 4 weeks"

    @property
    def hi(self) -> date | None:
        return self.last_day + timedelta(days=1) if self.last_day else None

    @property
    def cur_lo(self) -> date | None:
        return self.hi - timedelta(days=self.window_days) if self.hi else None

    @property
    def prev_lo(self) -> date | None:
        return self.cur_lo - timedelta(days=self.window_days) if self.cur_lo else None

    def params(self) -> dict[str, Any]:
        return {"cur_lo": self.cur_lo, "prev_lo": self.prev_lo, "hi": self.hi,
                "grain": self.grain, "chart_start": self.chart_start,
                "max_categories": MAX_CATEGORIES}

    @property
    def period_title(self) -> str:
        return "Week starting" if self.grain == "week" else "Month"

    def describe(self) -> str:
        if not self.has_dates:
            return "no dated cases yet"
        return f"data from {self.first_day} to {self.last_day}"


def _as_date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def load_scope(reader: MartReader) -> Scope:
    row = reader.scalar("window")
    return Scope(
        first_day=_as_date(row.get("first_day")), last_day=_as_date(row.get("last_day")),
        chart_start=_as_date(row.get("chart_start")), cases=int(row.get("cases") or 0),
        case_dates=bool(row.get("case_dates")),
    )


def with_period_labels(rows: list[dict[str, Any]], scope: Scope,
                       key: str = "period") -> list[dict[str, Any]]:
    """ISO period starts as axis labels: 2024-01-08 per week, 2024-01 per month."""
    for row in rows:
        if row.get(key):
            row[key] = row[key][:7] if scope.grain == "month" else row[key][:10]
    return rows
