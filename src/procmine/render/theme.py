"""One look for every chart: fonts, colour-blind-safe schemes, axis and title styles."""

from __future__ import annotations

from typing import Any

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
MUTED = "#52606d"
GRID = "#e4e7eb"

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies.
CATEGORICAL = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
               "#F0E442", "#000000"]
GOOD = "#0072B2"       # blue: better
BAD = "#D55E00"        # vermillion: worse
NEUTRAL = "#7b8794"
# Single-hue sequential schemes read by lightness alone (safe for every colour vision).
WASTE_SCHEME = "oranges"
VOLUME_SCHEME = "blues"
WAIT_SCHEME = "purples"
DIVERGING_SCHEME = "blueorange"   # blue = fewer, orange = more; no red/green

CHART_WIDTH = 760


def vega_config() -> dict[str, Any]:
    """The Vega-Lite `config` embedded in every spec (so the PNG looks like the page)."""
    return {
        "font": FONT,
        "background": "#ffffff",
        "padding": 8,
        "view": {"stroke": None, "continuousWidth": CHART_WIDTH, "continuousHeight": 280},
        "title": {"anchor": "start", "fontSize": 16, "fontWeight": 600, "color": INK,
                  "subtitleFontSize": 12, "subtitleColor": MUTED, "offset": 12},
        "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": 500,
                 "labelColor": MUTED, "titleColor": INK, "gridColor": GRID,
                 "domainColor": "#9aa5b1", "tickColor": "#9aa5b1", "labelLimit": 260},
        "legend": {"labelFontSize": 11, "titleFontSize": 12, "titleColor": INK,
                   "labelColor": MUTED, "orient": "right"},
        "header": {"labelFontSize": 12, "titleFontSize": 12},
        "range": {"category": CATEGORICAL},
        "bar": {"color": CATEGORICAL[0]},
        "line": {"color": CATEGORICAL[0], "strokeWidth": 2},
        "point": {"color": CATEGORICAL[0]},
        "rect": {"stroke": "#ffffff", "strokeWidth": 1},
        "text": {"font": FONT, "fontSize": 11, "color": INK},
    }
