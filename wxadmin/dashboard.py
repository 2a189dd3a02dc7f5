"""The admin landing page: panels contributed by each app.

An app contributes panels with a `dashboard.py` module defining
`panels(request) -> list[dict]`; each dict has `title`, and either `items`
(a list of {"label", "value", "url"?, "tone"?}) or `rows` for a small table
({"headers": [...], "rows": [[...], ...]}), or `chart` ({"labels": [...], "values": [...]}),
drawn as bars by Chart.js — the copy django-unfold serves from its static files (no CDN).
Panels must be cheap: a few aggregate queries, scoped to what the user may see.

"What needs attention today" (issue 29 §4) is collected the same way: an app's
`attention(request) -> list[dict]` gives items {"account", "text", "when", "url", "tone"},
`when` the moment it becomes too late (a deadline, a window's end) or, for a failure, when
it happened; the card shows the most urgent first across apps.
"""

import json
from decimal import Decimal

from accounts.app_modules import app_modules


def collect_panels(request) -> list[dict]:
    panels: list[dict] = []
    for module in app_modules("dashboard"):
        if module.__name__ == __name__:
            continue
        panels.extend(module.panels(request))
    return panels


def chart_data(chart: dict, title: str) -> str:
    """The JSON django-unfold's chart script reads from a canvas's data-value (Chart.js data)."""
    values = [float(v) if isinstance(v, Decimal) else v for v in chart.get("values", [])]
    return json.dumps(
        {
            "labels": [str(label) for label in chart.get("labels", [])],
            "datasets": [
                {
                    "label": str(title),
                    "data": values,
                    "maxBarThickness": 28,
                    "displayYAxis": True,
                    "backgroundColor": "var(--color-primary-500)",
                }
            ],
        },
        ensure_ascii=False,
    )


#: items on the "attention today" card
ATTENTION_LIMIT = 12


def collect_attention(request) -> list[dict]:
    """Every app's attention items, most urgent (earliest ``when``) first."""
    items: list[dict] = []
    for module in app_modules("dashboard"):
        hook = getattr(module, "attention", None)
        if hook is not None and module.__name__ != __name__:
            items.extend(hook(request))
    items.sort(key=lambda item: item["when"])
    return items[:ATTENTION_LIMIT]


def dashboard_callback(request, context: dict) -> dict:
    context["attention"] = collect_attention(request)
    panels = collect_panels(request)
    for panel in panels:
        if panel.get("chart"):
            panel["chart"] = {**panel["chart"], "data": chart_data(panel["chart"], panel["title"])}
    context["panels"] = panels
    return context
