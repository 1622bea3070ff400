"""Server-rendered inline SVG: sparklines and the detail chart as plain geometry (no JavaScript chart library).

Pure functions: numbers in, coordinates out; the templates draw them, so every label stays autoescaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spark:
    width: int
    height: int
    points: str  # "x,y x,y ..." for <polyline>
    last_x: float
    last_y: float
    total: int


def sparkline(values: Sequence[int], width: int = 120, height: int = 28, pad: float = 2.0) -> Spark:
    n = len(values)
    top = max(values) if values else 0
    xs = [pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5) for i in range(n)]
    ys = [height - pad - (height - 2 * pad) * (v / top if top else 0) for v in values]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    return Spark(width, height, points, xs[-1] if xs else 0, ys[-1] if ys else 0, sum(values))


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str
    value: int
    axis: str  # what is written under the bar (``label`` is its tooltip)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    line: str  # polyline of the second series (accounts)
    max_value: int
    axis_y: float


def bar_chart(labels: Sequence[str], bars: Sequence[int], line: Sequence[int], width: int = 640,
              height: int = 200, pad_left: float = 36, pad_bottom: float = 24, pad_top: float = 10, *,
              axis: Sequence[str] | None = None) -> Chart:
    """Bars for items per period and a line for distinct accounts per period, on one scale. ``axis`` is written under
    the bars when given (a shorter form of ``labels``)."""
    n = max(1, len(bars))
    top = max([*bars, *line, 1])
    plot_h = height - pad_bottom - pad_top
    step = (width - pad_left - 4) / n
    out = []
    under = list(axis) if axis is not None else list(labels)
    for i, (label, v) in enumerate(zip(labels, bars)):
        h = plot_h * v / top
        out.append(Bar(pad_left + i * step + step * 0.15, pad_top + plot_h - h, step * 0.7, h, label, v, under[i]))
    pts = " ".join(f"{pad_left + i * step + step / 2:.1f},{pad_top + plot_h - plot_h * v / top:.1f}"
                   for i, v in enumerate(line))
    return Chart(width, height, out, pts, top, pad_top + plot_h)
