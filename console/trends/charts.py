"""Small server-rendered SVG charts for the trends page.

No JavaScript and no chart library: each chart is an ``<svg role="img">`` with a ``<title>`` and a
``<desc>`` naming what it shows, and the page prints the same numbers in a table next to it for
screen readers and for copying. Colours come from CSS classes in ``console.css``.

All text placed in the SVG goes through :func:`markupsafe.escape`.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from markupsafe import Markup, escape

WIDTH = 760
HEIGHT = 240
MARGIN_LEFT = 48
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 36


def nice_max(value: float) -> float:
    """Round the axis maximum up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - loop always returns


def _open(chart_id: str, title: str, desc: str, height: int = HEIGHT) -> List[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _shares(top: float, whole_numbers: bool) -> Tuple[float, ...]:
    """Grid lines at 0, half and top, leaving out the half when it would not be a whole count."""
    if whole_numbers and (top / 2) != int(top / 2):
        return (0.0, 1.0)
    return (0.0, 0.5, 1.0)


def _y_axis(
    top: float, fmt: Callable[[float], str], plot_bottom: float, plot_top: float, whole_numbers: bool = True
) -> List[str]:
    parts = []
    for share in _shares(top, whole_numbers):
        y = plot_bottom - share * (plot_bottom - plot_top)
        parts.append(f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        label = escape(fmt(top * share))
        parts.append(f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    return parts


def _x_labels(labels: Sequence[str], xs: Sequence[float], y: float) -> List[str]:
    every = max(1, math.ceil(len(labels) / 10))
    return [
        f'<text class="tick" x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{escape(label)}</text>'
        for index, (label, x) in enumerate(zip(labels, xs))
        if index % every == 0
    ]


def _count(value: float) -> str:
    return f"{value:,.0f}"


def bar_chart(chart_id: str, title: str, desc: str, labels: Sequence[str], values: Sequence[float]) -> Markup:
    """Vertical bars, one per label (days)."""
    plot_top, plot_bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    top = nice_max(max(values, default=0))
    slot = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / max(1, len(values))
    parts = _open(chart_id, title, desc) + _y_axis(top, _count, plot_bottom, plot_top)
    xs = []
    for index, (label, value) in enumerate(zip(labels, values)):
        height = (value / top) * (plot_bottom - plot_top)
        x = MARGIN_LEFT + index * slot
        xs.append(x + slot / 2)
        parts.append(
            f'<rect class="bar" x="{x + slot * 0.1:.1f}" y="{plot_bottom - height:.1f}" '
            f'width="{max(1.0, slot * 0.8):.1f}" height="{height:.1f}">'
            f"<title>{escape(label)}: {escape(_count(value))}</title></rect>"
        )
    parts += _x_labels(labels, xs, HEIGHT - MARGIN_BOTTOM + 16)
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Dict[str, Sequence[Optional[float]]],
    percent: bool = False,
) -> Markup:
    """One line per series; gaps (``None``) break the line, e.g. days without messages."""
    plot_top, plot_bottom = MARGIN_TOP + (22 if len(series) > 1 else 0), HEIGHT - MARGIN_BOTTOM
    values = [v for line in series.values() for v in line if v is not None]
    top = 1.0 if percent else nice_max(max(values, default=0))
    if percent and values and max(values) <= 0.5:
        top = nice_max(max(values) * 100) / 100
    fmt = (lambda v: f"{v * 100:.0f}%") if percent else _count
    step = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / max(1, len(labels) - 1)
    xs = [MARGIN_LEFT + index * step for index in range(len(labels))]
    parts = _open(chart_id, title, desc) + _y_axis(top, fmt, plot_bottom, plot_top, whole_numbers=not percent)
    dots = len(labels) <= 62
    for number, line in enumerate(series.values()):
        segments: List[List[Tuple[float, float]]] = [[]]
        for x, value in zip(xs, line):
            if value is None:
                segments.append([])
                continue
            segments[-1].append((x, plot_bottom - (value / top) * (plot_bottom - plot_top)))
        for segment in segments:
            if len(segment) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                parts.append(f'<polyline class="line series-{number}" points="{points}"/>')
            # Dots mark each day on short ranges; a lone day needs one to be visible at all.
            if dots or len(segment) == 1:
                parts.extend(
                    f'<circle class="dot series-{number}" cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>' for x, y in segment
                )
    parts += _x_labels(labels, xs, HEIGHT - MARGIN_BOTTOM + 16)
    parts += _legend(list(series))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(names: List[str]) -> List[str]:
    if len(names) < 2:
        return []
    parts = []
    for number, name in enumerate(names):
        x = MARGIN_LEFT + number * 110
        parts.append(f'<rect class="swatch series-{number}" x="{x}" y="2" width="10" height="10"/>')
        parts.append(f'<text class="legend" x="{x + 14}" y="11">{escape(name)}</text>')
    return parts


def hbar_chart(chart_id: str, title: str, desc: str, items: Sequence[Tuple[str, float]]) -> Markup:
    """Horizontal bars with labels, for rankings such as the top topics."""
    row = 24
    height = MARGIN_TOP * 2 + row * max(1, len(items))
    label_width = 170
    top = nice_max(max((value for _, value in items), default=0))
    span = WIDTH - label_width - MARGIN_RIGHT - 60
    parts = _open(chart_id, title, desc, height)
    for index, (label, value) in enumerate(items):
        y = MARGIN_TOP + index * row
        width = (value / top) * span
        parts.append(
            f'<text class="tick" x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{label_width}" y="{y + 4}" width="{max(1.0, width):.1f}" height="{row - 8}">'
            f"<title>{escape(label)}: {escape(_count(value))}</title></rect>"
            f'<text class="value" x="{label_width + width + 6:.1f}" y="{y + 15}">{escape(_count(value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
