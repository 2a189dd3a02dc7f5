"""What the figures pages and the report draw from one ``Figures``: charts (SVG), the summary
table, breakdowns, per-account rows and the missing days, ready for a template. No query."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from . import charts, metrics
from .figures import Figures


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return _("%(n)d s") % {"n": round(seconds)}
    return _("%(n).1f min") % {"n": seconds / 60}


#: a longer period is drawn per week (sums, or the week's last value for "last" metrics)
DAILY_POINTS_MAX = 92
#: the printed report's charts (fewer: each one costs the PDF time)
REPORT_CHARTED = ("user.new", "user.cumulate", "msg.inbound", "menu.click")


def _buckets(
    days: list[Any], values: list[int | None], kind: str, size: int
) -> tuple[list[Any], list[int | None]]:
    if size == 1:
        return days, values
    out_days, out_values = [], []
    for start in range(0, len(days), size):
        chunk = [v for v in values[start : start + size] if v is not None]
        out_days.append(days[start])
        out_values.append((chunk[-1] if kind == "last" else sum(chunk)) if chunk else None)
    return out_days, out_values


def page_context(figures: Figures, *, names: Mapping[int, str], compact: bool = False) -> dict[str, Any]:
    all_days = figures.period.each_day()
    size = 7 if len(all_days) > DAILY_POINTS_MAX else 1
    current_label = f"{figures.period.start:%Y-%m-%d} – {figures.period.end:%Y-%m-%d}"
    previous_label = f"{figures.previous.start:%Y-%m-%d} – {figures.previous.end:%Y-%m-%d}"
    drawn = []
    for key in REPORT_CHARTED if compact else metrics.CHARTED:
        item = figures.get(key)
        if item is None:
            continue
        days, series = _buckets(all_days, item.series, item.kind, size)
        _days, before = _buckets(all_days, item.previous_series, item.kind, size)
        drawn.append(
            {
                "label": item.label,
                "per_week": size > 1,
                "svg": charts.line_chart(
                    str(item.label),
                    days,
                    series,
                    before,
                    current_label=_("this period"),
                    previous_label=_("previous period"),
                    compact=compact,
                ),
            }
        )
    top = 5 if compact else 10
    breakdowns = [
        {
            "label": metrics.metric(key).label,
            "split": metrics.metric(key).split,
            "svg": charts.bar_chart(str(metrics.metric(key).label), rows[:top]),
            "more": max(0, len(rows) - top),
        }
        for key, rows in figures.breakdowns.items()
        if rows
    ]
    groups = [
        {"label": metrics.GROUPS.get(group, group), "rows": rows}
        for group, rows in sorted(
            figures.groups.items(),
            key=lambda item: list(metrics.GROUPS).index(item[0]) if item[0] in metrics.GROUPS else 99,
        )
    ]
    shown = [m.key for m in figures.metrics if m.key not in metrics.HIDDEN]
    per_account = [
        {
            "id": account_id,
            "name": name,
            "values": [figures.per_account.get(account_id, {}).get(k) for k in shown],
        }
        for account_id, name in names.items()
    ]
    current_avg, previous_avg = figures.average_response_seconds
    return {
        "figures": figures,
        "period": figures.period,
        "previous": figures.previous,
        "current_label": current_label,
        "previous_label": previous_label,
        "charts": drawn,
        "breakdowns": breakdowns,
        "groups": groups,
        "per_account_headers": [metrics.metric(k).label for k in shown],
        "per_account": per_account if len(names) > 1 else [],
        "response_time": (_fmt_seconds(current_avg), _fmt_seconds(previous_avg)),
        "missing": figures.missing,
        "has_data": figures.has_data,
        "account_count": len(names),
    }
