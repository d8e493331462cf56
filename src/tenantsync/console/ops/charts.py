"""Trend charts as SVG drawn on the server by pygal, served by the console itself (no
script runs: the pages show them as images, so the content security policy stays as it is).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

# Written into the SVG's own stylesheet (the page's policy does not reach an image).
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


@cache
def _pygal() -> tuple[ModuleType, Any]:
    """pygal and the console's chart style, imported on the first chart.

    Importing pygal appends a legacy import hook to ``sys.meta_path`` (for its map plugins,
    unused here) that makes every later import warn on Python 3.11+; it is taken out again.
    """
    import pygal
    from pygal.style import Style

    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "pygal"]
    style = Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1d2733",
        foreground_strong="#1d2733",
        foreground_subtle="#66717e",
        colors=("#1f5fbf", "#1f7a3d", "#9a6400"),
        font_family="system-ui, sans-serif",
    )
    return pygal, style


def line_chart(
    title: str,
    moments: Sequence[datetime],
    series: Mapping[str, Sequence[float]],
    zone: ZoneInfo,
    unit: str = "",
) -> bytes:
    """A line per series over the moments (labelled in the account's zone), as SVG."""
    pygal, style = _pygal()
    chart = pygal.Line(
        style=style,
        js=[],  # pygal's tooltips script comes from a CDN; an image runs none anyway
        width=900,
        height=320,
        title=title,
        show_dots=True,
        dots_size=3,
        x_label_rotation=20,
        show_minor_x_labels=False,
        truncate_label=-1,
        legend_at_bottom=True,
        show_legend=len(series) > 1,
        include_x_axis=True,
        no_data_text="no runs yet",
        value_formatter=lambda v: f"{v:g}{unit}",
    )
    labels = [m.astimezone(zone).strftime("%Y-%m-%d %H:%M") for m in moments]
    chart.x_labels = labels
    chart.x_labels_major = labels[:: max(1, len(labels) // 8)]
    for name, values in series.items():
        chart.add(name, list(values))
    rendered: bytes = chart.render()
    return rendered
