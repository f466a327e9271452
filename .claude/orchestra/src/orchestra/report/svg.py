"""The burndown chart as an inline SVG: points remaining at the end of each day against the ideal line."""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 44
IDEAL, ACTUAL, GRID, TEXT = "#94a3b8", "#2563eb", "#e2e8f0", "#475569"


def nice_step(total: float, lines: int = 4) -> float:
    """A round gridline step (1, 2, 5 x 10^n) giving about `lines` lines up to `total`."""
    raw = max(total, 1e-9) / lines
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def burndown_svg(burndown: dict[str, Any], title: str = "Burndown") -> str:
    days = burndown["days"]
    total = float(burndown["total"])
    top = total or 1.0  # the axis of a sprint of no points still runs 0 to 1; its lines start at 0
    count = len(days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: float) -> float:
        return round(LEFT + plot_w * i / max(count, 1), 1)

    def y(points: float) -> float:
        return round(TOP + plot_h * (1 - points / top), 1)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
           f'height="{HEIGHT}" role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" '
           f'font-size="11">', f"<title>{escape(title)}</title>"]
    step = nice_step(top)
    level = 0.0
    while level <= top + 1e-9:
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level)}" y2="{y(level)}" stroke="{GRID}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(level) + 4}" text-anchor="end" fill="{TEXT}">{level:g}</text>')
        level += step
    every = max(1, math.ceil(count / 10))
    for i, day in enumerate(days):
        if i % every == 0 or i == count - 1:
            label = escape(day["date"][5:])  # MM-DD
            out.append(f'<text x="{x(i + 1)}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="{TEXT}">'
                       f"{label}</text>")
    ideal = [(x(0), y(total))] + [(x(i + 1), y(d["ideal"])) for i, d in enumerate(days)]
    out.append(f'<polyline fill="none" stroke="{IDEAL}" stroke-width="2" stroke-dasharray="6 4" '
               f'points="{_points(ideal)}"/>')
    actual = [(x(0), y(total))] + [(x(i + 1), y(d["remaining"])) for i, d in enumerate(days)
                                   if d["remaining"] is not None]
    if len(actual) > 1:
        out.append(f'<polyline fill="none" stroke="{ACTUAL}" stroke-width="2.5" points="{_points(actual)}"/>')
        out += [f'<circle cx="{px}" cy="{py}" r="3" fill="{ACTUAL}"/>' for px, py in actual[1:]]
    legend_y = HEIGHT - 10
    out.append(f'<line x1="{LEFT}" x2="{LEFT + 24}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{ACTUAL}" '
               f'stroke-width="2.5"/><text x="{LEFT + 30}" y="{legend_y}" fill="{TEXT}">remaining points</text>')
    out.append(f'<line x1="{LEFT + 150}" x2="{LEFT + 174}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
               f'stroke="{IDEAL}" stroke-width="2" stroke-dasharray="6 4"/>'
               f'<text x="{LEFT + 180}" y="{legend_y}" fill="{TEXT}">ideal</text>')
    out.append("</svg>")
    return "\n".join(out)


def _points(pairs: list[tuple[float, float]]) -> str:
    return " ".join(f"{px:g},{py:g}" for px, py in pairs)
