"""Charts drawn on the server as SVG (issue 28): the same drawing on the pages, the printable
report and its PDF (WeasyPrint runs no JavaScript), no script for the Content-Security-Policy
to allow, and nothing to vendor. A chart is a pure function of the figures: no query.

``line_chart`` draws one period (solid) against the previous one (dashed), gaps where a day is
missing (not zeros); ``bar_chart`` draws a breakdown (per button, rule, code…).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
CURRENT, PREVIOUS, GRID, TEXT = "#2563eb", "#9ca3af", "#e5e7eb", "#4b5563"


def _nice_max(value: int) -> int:
    """The top of the value axis: four round steps (1, 2, 2.5, 5 × 10ⁿ) reaching ``value``."""
    if value <= 4:
        return 4
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    tick = next(
        f * magnitude for f in (1, 2, 2.5, 5, 10) if f * magnitude >= raw and (f != 2.5 or magnitude >= 10)
    )
    return int(tick * 4)


def _label(value: int) -> str:
    if value >= 10_000:
        return f"{value / 10_000:g}万"
    return f"{value:,}"


def _paths(values: Sequence[int | None], x: list[float], y_of) -> list[str]:  # type: ignore[no-untyped-def]
    paths: list[str] = []
    current: list[str] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                paths.append(" ".join(current))
            current = []
            continue
        current.append(f"{'M' if not current else 'L'}{x[index]:.1f},{y_of(value):.1f}")
    if current:
        paths.append(" ".join(current))
    return paths


def line_chart(
    title: str,
    days: Sequence[datetime.date],
    values: Sequence[int | None],
    previous: Sequence[int | None] = (),
    *,
    current_label: str = "",
    previous_label: str = "",
    compact: bool = False,
) -> SafeString:
    """An SVG line chart of ``values`` per day (or per bucket of days), with ``previous`` (same
    length) dashed behind. ``compact`` (the printed report): three value labels, three dates, no
    dots — text is what costs most when the PDF is drawn."""
    n = max(len(days), 1)
    present = [v for v in [*values, *previous] if v is not None]
    top = _nice_max(max(present, default=0))
    bottom_value = min(0, min(present, default=0))
    span = (top - bottom_value) or 1
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    x = [LEFT + (inner_w * i / (n - 1) if n > 1 else inner_w / 2) for i in range(n)]

    def y_of(value: int) -> float:
        return TOP + inner_h * (1 - (value - bottom_value) / span)

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="ins-chart" '
            f'role="img" aria-label="{escape(title)}" data-testid="chart" data-points="{len(present)}">'
        ),
        f"<title>{escape(title)}</title>",
    ]
    steps = 2 if compact else 4
    for step in range(steps + 1):
        value = bottom_value + span * step / steps
        y = y_of(int(value))
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{TEXT}">'
            f"{escape(_label(int(value)))}</text>"
        )
    ticks = sorted({0, n - 1, n // 2} if compact else {0, n - 1, *range(0, n, max(1, n // 6))})
    parts.extend(
        f'<text x="{x[i]:.1f}" y="{HEIGHT - 8}" font-size="11" fill="{TEXT}" '
        f'text-anchor="{"end" if i == n - 1 and n > 1 else "start" if i == 0 and n > 1 else "middle"}">'
        f"{days[i]:%m-%d}</text>"
        for i in ticks
        if i < len(days) and (i == n - 1 or n - 1 - i >= max(1, n // 12))
    )
    if previous:
        parts.extend(
            f'<path d="{d}" fill="none" stroke="{PREVIOUS}" stroke-width="1.5" stroke-dasharray="4 3"/>'
            for d in _paths(previous, x, y_of)
        )
    parts.extend(
        f'<path d="{d}" fill="none" stroke="{CURRENT}" stroke-width="2"/>' for d in _paths(values, x, y_of)
    )
    if n <= 62 and not compact:  # a dot per day while they stay apart; lone days show between gaps
        parts.extend(
            f'<circle cx="{x[i]:.1f}" cy="{y_of(value):.1f}" r="2.2" fill="{CURRENT}"/>'
            for i, value in enumerate(values)
            if value is not None
        )
    if current_label and not compact:
        parts.append(
            f'<g font-size="11" fill="{TEXT}">'
            f'<rect x="{LEFT + 4}" y="{TOP}" width="10" height="3" fill="{CURRENT}"/>'
            f'<text x="{LEFT + 18}" y="{TOP + 5}">{escape(current_label)}</text>'
        )
        if previous:
            parts.append(
                f'<rect x="{LEFT + 150}" y="{TOP}" width="10" height="3" fill="{PREVIOUS}"/>'
                f'<text x="{LEFT + 164}" y="{TOP + 5}">{escape(previous_label)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text in it is escaped above


def bar_chart(title: str, rows: Sequence[tuple[str, int]]) -> SafeString:
    """Horizontal bars, one per (label, value), longest first as given."""
    row_h, label_w = 22, 220
    height = TOP + row_h * max(len(rows), 1) + 4
    top = max((v for _, v in rows), default=0) or 1
    inner_w = WIDTH - label_w - RIGHT - 60
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'class="ins-chart ins-bars" role="img" aria-label="{escape(title)}" '
            f'data-testid="bar-chart" data-points="{len(rows)}">'
        ),
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(rows):
        y = TOP + i * row_h
        width = max(1.0, inner_w * value / top)
        shown = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" font-size="11" text-anchor="end" fill="{TEXT}">'
            f"{escape(shown)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 8}" '
            f'fill="{CURRENT}" rx="2"/>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 14}" font-size="11" fill="{TEXT}">{value:,}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text in it is escaped above
