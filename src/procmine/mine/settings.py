"""The mining settings of procmine.toml ([waiting], [reopen], [rework], [cost], [sla], [mining])."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procmine.config import Config
from procmine.errors import ConfigError

WASTE_TYPES: tuple[str, ...] = (
    "waiting", "handoff", "ping_pong", "rework", "reopen", "escalation_bounce", "deviation",
)
DETAILS: tuple[str, ...] = ("", "vendor", "other", "direct", "indirect", "still_waiting")
RESOLVED_STAGES = frozenset({"resolve", "close"})
CLOCK_CLASSES: tuple[str, ...] = ("internal", "customer", "policy")   # clock.py
REFERENCE_LABELS = ("stage", "activity")


def _strings(section: dict[str, Any], key: str, default: list[str]) -> frozenset[str]:
    value = section.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a list of strings, got {value!r}")
    return frozenset(value)


def config_number(section: dict[str, Any], key: str, default: float, name: str) -> float:
    """section[key] (else `default`) as a float, checked to be a number >= 0; the error names
    the key as [name] key."""
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"[{name}] {key} must be a number >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ClockRules:
    """The clock-stopped states of one source ([sources.<name>.clock], else [clock])."""

    customer: frozenset[str] = frozenset()    # activities: waiting for the user / customer
    policy: frozenset[str] = frozenset()      # activities: scheduled or planned waits
    after_resolution: bool = True             # resolved until closed (or reopened): policy

    @classmethod
    def from_section(cls, section: dict[str, Any], name: str,
                     default: ClockRules | None = None) -> ClockRules:
        base = default or cls()
        after = section.get("after_resolution", base.after_resolution)
        if not isinstance(after, bool):
            raise ConfigError(f"[{name}] after_resolution must be true or false, got {after!r}")
        return cls(customer=_strings(section, "customer", sorted(base.customer)),
                   policy=_strings(section, "policy", sorted(base.policy)),
                   after_resolution=after)


def _clock_rules(config: Config) -> tuple[ClockRules, dict[str, ClockRules]]:
    """[clock] (sources without their own table) and each [sources.<name>.clock]."""
    default = ClockRules.from_section(config.section("clock"), "clock")
    by_source = {}
    for name, source in config.section("sources").items():
        table = source.get("clock") if isinstance(source, dict) else None
        if isinstance(table, dict):
            by_source[str(name)] = ClockRules.from_section(table, f"sources.{name}.clock",
                                                           default)
    return default, by_source


@dataclass(frozen=True)
class MiningSettings:
    """Everything the mining step reads from the configuration, checked once."""

    waiting_states: frozenset[str] = frozenset()
    waiting_stages: frozenset[str] = frozenset({"wait"})
    vendor_states: frozenset[str] = frozenset()
    resolved_activities: frozenset[str] = frozenset()
    work_stages: frozenset[str] = frozenset()
    response_stages: frozenset[str] = frozenset()
    rework_after_reopen: bool = True
    reopen_ignore_stages: frozenset[str] = frozenset()
    handoff_effort_h: float = 0.25
    ticket_effort_h: float = 1.0
    default_rate: float = 60.0
    rates_by_level: dict[str, float] = field(default_factory=dict)
    rates_by_sourcing: dict[str, float] = field(default_factory=dict)
    waste_factor: dict[str, float] = field(default_factory=dict)
    currency: str = "EUR"
    sla_resolution_h: dict[str, float] = field(default_factory=dict)
    security_categories: tuple[str, ...] = ("*security*",)
    reference_model: Path | None = None
    reference_labels: str = "stage"
    model_coverage: float = 0.8
    model_noise_threshold: float = 0.2
    driver_min_cases: int = 10
    conformance_max_variants: int = 20000
    clock_default: ClockRules = field(default_factory=ClockRules)
    clock_by_source: dict[str, ClockRules] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> MiningSettings:
        waiting, reopen = config.section("waiting"), config.section("reopen")
        rework, cost = config.section("rework"), config.section("cost")
        mining, sla = config.section("mining"), config.section("sla")
        labels = str(mining.get("reference_labels", "stage"))
        if labels not in REFERENCE_LABELS:
            raise ConfigError(f"[mining] reference_labels must be 'stage' or 'activity', "
                              f"got {labels!r}")
        coverage = config_number(mining, "model_coverage", 0.8, "mining")
        if not 0 < coverage <= 1:
            raise ConfigError(f"[mining] model_coverage must be in (0, 1], got {coverage}")
        model = str(mining.get("reference_model", "") or "")
        factors = {str(k): config_number(cost.get("waste_factor", {}), k, 1.0, "cost.waste_factor")
                   for k in cost.get("waste_factor", {})}
        unknown = set(factors) - set(WASTE_TYPES)
        if unknown:
            raise ConfigError(f"[cost.waste_factor] unknown waste types {sorted(unknown)}; "
                              f"known: {', '.join(WASTE_TYPES)}")
        clock_default, clock_by_source = _clock_rules(config)
        return cls(
            clock_default=clock_default,
            clock_by_source=clock_by_source,
            waiting_states=_strings(waiting, "states", []),
            waiting_stages=_strings(waiting, "stages", ["wait"]),
            vendor_states=_strings(waiting, "vendor_states", []),
            resolved_activities=_strings(reopen, "resolved_activities", []),
            work_stages=_strings(rework, "work_stages", []),
            response_stages=_strings(mining, "response_stages", ["assign", "diagnose"]),
            rework_after_reopen=bool(rework.get("count_after_reopen", True)),
            reopen_ignore_stages=_strings(reopen, "ignore_stages", ["assign", "classify"]),
            handoff_effort_h=config_number(cost, "handoff_effort_h", 0.25, "cost"),
            ticket_effort_h=config_number(cost, "ticket_effort_h", 1.0, "cost"),
            default_rate=config_number(cost, "default_rate", 60.0, "cost"),
            rates_by_level={str(k): config_number(cost.get("rates_by_level", {}), k, 0, "cost")
                            for k in cost.get("rates_by_level", {})},
            rates_by_sourcing={str(k): config_number(cost.get("rates_by_sourcing", {}), k, 0, "cost")
                               for k in cost.get("rates_by_sourcing", {})},
            waste_factor=factors,
            currency=str(cost.get("currency", "EUR")),
            sla_resolution_h={str(k): config_number(sla.get("resolution_h", {}), k, 0, "sla")
                              for k in sla.get("resolution_h", {})},
            security_categories=tuple(_strings(mining, "security_categories", ["*security*"])),
            reference_model=config.resolve(model) if model else None,
            reference_labels=labels,
            model_coverage=coverage,
            model_noise_threshold=config_number(mining, "model_noise_threshold", 0.2, "mining"),
            driver_min_cases=int(config_number(mining, "driver_min_cases", 10, "mining")),
            conformance_max_variants=int(
                config_number(mining, "conformance_max_variants", 20000, "mining")),
        )

    def rate(self, level: str | None, sourcing: str | None) -> float:
        """Hourly rate: the level's rate times the sourcing's multiplier.

        The multiplier is looked up by the full sourcing (``vendor:acme``), then by its kind
        (``vendor``), else 1.0.
        """
        base = self.rates_by_level.get(level or "", self.default_rate)
        sourcing = sourcing or "unmapped"
        kind = sourcing.split(":", 1)[0]
        factor = self.rates_by_sourcing.get(sourcing, self.rates_by_sourcing.get(kind, 1.0))
        return base * factor

    def clock_rules(self, source: str | None) -> ClockRules:
        """The clock-stopped states of a source's events ([clock] when it has no table)."""
        return self.clock_by_source.get(source or "", self.clock_default)

    def factor(self, waste_type: str) -> float:
        return self.waste_factor.get(waste_type, 1.0)

    def is_security(self, category: str | None) -> bool:
        """Whether a case category marks a security incident (glob, case-insensitive)."""
        if not category:
            return False
        lowered = category.lower()
        return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in self.security_categories)
