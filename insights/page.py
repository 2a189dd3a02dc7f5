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


def page_context(figures: Figures, *, names: Mapping[int, str]) -> dict[str, Any]:
    days = figures.period.each_day()
    current_label = f"{figures.period.start:%Y-%m-%d} – {figures.period.end:%Y-%m-%d}"
    previous_label = f"{figures.previous.start:%Y-%m-%d} – {figures.previous.end:%Y-%m-%d}"
    drawn = []
    for key in metrics.CHARTED:
        item = figures.get(key)
        if item is None:
            continue
        drawn.append(
            {
                "label": item.label,
                "svg": charts.line_chart(
                    str(item.label),
                    days,
                    item.series,
                    item.previous_series,
                    current_label=_("this period"),
                    previous_label=_("previous period"),
                ),
            }
        )
    breakdowns = [
        {
            "label": metrics.metric(key).label,
            "split": metrics.metric(key).split,
            "svg": charts.bar_chart(str(metrics.metric(key).label), rows[:10]),
            "more": max(0, len(rows) - 10),
        }
        for key, rows in figures.breakdowns.items()
        if rows
    ]
    groups = [
        {"label": metrics.GROUPS.get(group, group), "rows": rows}
        for group, rows in sorted(
            figures.groups.items(), key=lambda item: list(metrics.GROUPS).index(item[0]) if item[0] in metrics.GROUPS else 99
        )
    ]
    shown = [m.key for m in figures.metrics if m.key not in metrics.HIDDEN]
    per_account = [
        {"id": account_id, "name": name, "values": [figures.per_account.get(account_id, {}).get(k) for k in shown]}
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
