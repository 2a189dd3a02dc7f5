"""A dashboard figure and the list it links to, from one selector (issue 29 §4).

A figure is a condition (a ``Q``) over the rows of one admin list. The dashboard counts the
rows of the user's scoped queryset that meet it (one aggregate for all of a panel's
figures), and its link opens that list with ``?figure=<key>``, which applies the same
condition through :func:`figure_filter`. A figure and its list cannot disagree: there is
no second copy of the condition to drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Figure:
    """``key`` is unique per list; ``where()`` is evaluated at each use (it may read the clock)."""

    key: str
    label: str | Promise
    where: Callable[[], Q]
    #: the tone of the figure when it is not zero ("warning", "danger", "info", "success")
    tone: str = ""

    def item(self, value: int, changelist_url: str) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": value,
            "url": f"{changelist_url}?figure={self.key}",
            "tone": self.tone if value else "",
            "figure": self.key,
        }


def figure_counts(queryset: QuerySet[Any], figures: Iterable[Figure]) -> dict[str, int]:
    """Each figure's count over the (already scoped) queryset, in one aggregate query."""
    return queryset.aggregate(**{f.key: Count("pk", filter=f.where()) for f in figures})


def figure_filter(*figures: Figure) -> type[admin.SimpleListFilter]:
    """The list filter that opens a figure's rows: add it to the list's ``list_filter``."""
    by_key = {figure.key: figure for figure in figures}

    class FigureFilter(admin.SimpleListFilter):
        title = _("dashboard figure")
        parameter_name = "figure"

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
            return [(figure.key, figure.label) for figure in figures]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            figure = by_key.get(self.value() or "")
            return queryset.filter(figure.where()) if figure else queryset

    return FigureFilter
