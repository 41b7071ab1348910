"""Formatting and vocabulary shared by the pages: numbers, durations, stages, waste types."""

from __future__ import annotations

from typing import Any

D2C_STAGES = ["detect", "log", "classify", "assign", "diagnose", "escalate", "wait", "change",
              "resolve", "close", "reopen"]
WASTE_TYPES = ["waiting", "handoff", "ping_pong", "rework", "reopen", "escalation_bounce",
               "deviation", "backlog"]
WASTE_LABELS = {
    "waiting": "Waiting", "handoff": "Hand-off", "ping_pong": "Ping-pong", "rework": "Rework",
    "reopen": "Reopen", "escalation_bounce": "Escalation bounce", "deviation": "Deviation",
    "backlog": "Backlog",
}
NO_STAGE = "(no stage)"


def ordered(values: list[str], canonical: list[str]) -> list[str]:
    """`values` in canonical order first, then the rest alphabetically."""
    present = set(values)
    return [v for v in canonical if v in present] + sorted(present - set(canonical))


def waste_label(waste_type: str | None) -> str:
    if waste_type is None:
        return "(unknown)"
    return WASTE_LABELS.get(waste_type, waste_type.replace("_", " ").capitalize())


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def compact(value: float | int | None) -> str:
    """12,345 → 12.3k; 1,234,567 → 1.23M (tiles and titles)."""
    if value is None:
        return "–"
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e4:
        return f"{value / 1e3:.3g}k"
    if size >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def money(value: float | None, currency: str) -> str:
    return "–" if value is None else f"{compact(value)} {currency}"


def duration_unit(seconds: float | None) -> tuple[str, float]:
    """(unit name, seconds per unit) that keeps typical values readable."""
    if seconds is not None and seconds >= 3 * 86400:
        return "days", 86400.0
    if seconds is not None and seconds < 3600:
        return "minutes", 60.0
    return "hours", 3600.0


SHORT_UNITS = {"days": "d", "hours": "h", "minutes": "min"}


def typical(values: list[float | None]) -> float | None:
    """The median of the known values (to pick one unit for a whole axis)."""
    known = sorted(v for v in values if v is not None)
    return known[len(known) // 2] if known else None


def duration(seconds: float | None, *, short: bool = False) -> str:
    if seconds is None:
        return "–"
    unit, per = duration_unit(seconds)
    return f"{seconds / per:,.1f} {SHORT_UNITS[unit] if short else unit}"


def hours(value: float | None) -> str:
    return "–" if value is None else f"{compact(value)} h"


def delta(current: float | None, previous: float | None, *, lower_is_better: bool | None,
          rate: bool = False) -> tuple[str, str]:
    """(text, tone) of the change from the previous window: ▲ 12% worse / ▼ 3.1 pts better."""
    if current is None or previous is None:
        return "no previous period to compare", "flat"
    if rate:
        change = (current - previous) * 100
        text_change = f"{abs(change):.1f} pts"
    else:
        if previous == 0:
            return "previous period: 0", "flat"
        change = (current - previous) / abs(previous) * 100
        text_change = f"{abs(change):.0f}%"
    if abs(change) < 0.05:
        return "= unchanged vs previous", "flat"
    arrow = "▲" if change > 0 else "▼"
    if lower_is_better is None:
        tone = "flat"
    else:
        worse = change > 0 if lower_is_better else change < 0
        tone = "bad" if worse else "good"
    return f"{arrow} {text_change} vs previous", tone


def first(rows: list[dict[str, Any]], key: str, value: Any) -> dict[str, Any]:
    return next((r for r in rows if r.get(key) == value), {})
