"""The admin landing page: panels contributed by each app.

An app contributes panels with a `dashboard.py` module defining
`panels(request) -> list[dict]`; each dict has `title`, and either `items`
(a list of {"label", "value", "url"?, "tone"?}) or `rows` for a small table
({"headers": [...], "rows": [[...], ...]}), or `chart` ({"labels": [...], "values": [...]}, drawn as bars).
Panels must be cheap: a few aggregate queries, scoped to what the user may see.
"""
from importlib import import_module

from django.apps import apps


def collect_panels(request) -> list[dict]:
    panels: list[dict] = []
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.dashboard")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.dashboard":
                raise
            continue
        if module.__name__ == __name__:
            continue
        panels.extend(module.panels(request))
    return panels


def chart_bars(chart: dict) -> list[dict]:
    """Bar heights in percent of the largest value, for the CSS bar chart."""
    values = list(chart.get("values", []))
    top = max(values, default=0) or 1
    return [{"label": label, "value": value, "percent": round(100 * value / top)}
            for label, value in zip(chart.get("labels", []), values, strict=False)]


def dashboard_callback(request, context: dict) -> dict:
    panels = collect_panels(request)
    for panel in panels:
        if panel.get("chart"):
            panel["chart"] = {**panel["chart"], "bars": chart_bars(panel["chart"])}
    context["panels"] = panels
    return context
