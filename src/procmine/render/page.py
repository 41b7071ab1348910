"""What a page is made of: charts (Vega-Lite specs with named datasets) and HTML blocks."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from procmine.render.theme import vega_config

if TYPE_CHECKING:   # Altair is imported by the page builders (render.pages), when they run
    import altair as alt

# Altair can check every chart against the Vega-Lite JSON schema as it builds its dict
# (jsonschema, ~40 ms of pure Python a chart: more than all the charts' other work), and
# (its "debug mode", on by default) every schema object as it is constructed (~0.1-0.2 s
# of CPU in a 10M render's page building: 0.64 vs 0.76 s). The charts are code, not data: the tests build and validate
# every one of them (tests/test_dashboards.py sets this), a render does not repeat the check.
VALIDATE_SPECS = False
# Encodings are given as channel objects (alt.X2("x1:Q"), conditional_value(alt.ColorValue, ...)),
# not as shorthand strings or dicts: Altair turns those into channel objects by `from_dict`,
# which rebuilds its table of every schema class each call (~7 ms; 23 of them were ~0.25 s of
# a render's CPU). Except in a view that holds a selection's params: Altair names that view by
# a hash of its encoding's repr, which is in the spec, so it keeps the dict it was built with.

T = TypeVar("T")


@contextmanager
def chart_checks() -> Iterator[None]:
    """Altair's construction-time checks on only while `VALIDATE_SPECS` (the specs are the
    same bytes either way: the checks only raise)."""
    from altair.utils import schemapi

    with schemapi.debug_mode(VALIDATE_SPECS):
        yield


@dataclass
class Chart:
    """One Vega-Lite chart: its spec uses named data only; the rows live in `datasets`."""

    slug: str
    chart: alt.TopLevelMixin
    datasets: dict[str, list[dict[str, Any]]]
    caption: str = ""

    @cached_property
    def _spec(self) -> dict[str, Any]:
        with chart_checks():
            spec = self.chart.to_dict(validate=VALIDATE_SPECS)
        spec.pop("datasets", None)
        spec["config"] = vega_config()
        return spec

    def spec(self) -> dict[str, Any]:
        """The spec without data values (what the snapshot tests compare)."""
        return copy.deepcopy(self._spec)

    def full_spec(self) -> dict[str, Any]:
        """The spec with its data, as embedded in the page and rendered to PNG."""
        spec = self.spec()
        spec["datasets"] = {name: self.datasets[name] for name in sorted(self.datasets)}
        return spec


@dataclass
class Html:
    """A block of ready, escaped HTML (tiles, tables, notes)."""

    html: str


@dataclass
class Page:
    slug: str                  # file name without .html
    title: str                 # navigation label
    heading: str               # what the reader learns, in one line
    lede: str = ""             # one or two sentences of context
    blocks: list[Chart | Html] = field(default_factory=list)
    summary: str = ""          # one line for the index card

    @property
    def charts(self) -> list[Chart]:
        return [b for b in self.blocks if isinstance(b, Chart)]


@dataclass(frozen=True)
class Context:
    """What every page needs besides the marts."""

    currency: str = "EUR"
    validation_docs: str | None = None   # relative link to the validation data docs, if any
    current_run: dict[str, Any] | None = None  # a run not yet in marts.run_log (JSON values)
    model_files: tuple[str, ...] = ()    # relative links to the discovered model (svg, bpmn)
    model_bpmn: str | None = None        # the discovered model's BPMN text, when there is one


def named(name: str) -> alt.Data:
    import altair as alt

    return alt.Data(name=name)


def conditional_value(channel: Callable[..., T], test: Any, when_true: Any, otherwise: Any) -> T:
    """The value channel `channel` (e.g. alt.ColorValue) at `when_true` where `test` holds,
    else `otherwise`: alt.condition's dict built as the channel object (the note above)."""
    import altair as alt

    return channel(**alt.condition(test, alt.value(when_true), alt.value(otherwise)))
