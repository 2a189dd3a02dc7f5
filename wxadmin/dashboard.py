"""The admin landing page: panels contributed by each app.

An app contributes panels with a `dashboard.py` module defining
`panels(request) -> list[dict]`; each dict has `title`, and either `items`
(a list of {"label", "value", "url"?, "tone"?}) or `rows` for a small table
({"headers": [...], "rows": [[...], ...]}), or `chart` ({"labels", "values"}).
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


def dashboard_callback(request, context: dict) -> dict:
    context["panels"] = collect_panels(request)
    return context
