"""Pieces shared by the content admin pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from accounts.selectors import accounts_visible_to


class VisibleAccountFilter(admin.RelatedFieldListFilter):
    """Choices: the accounts the user may see, never another tenant's name."""

    def field_choices(self, field: Any, request: Any, model_admin: Any) -> Any:
        return [(a.pk, str(a)) for a in accounts_visible_to(request.user).order_by("name")]

    def has_output(self) -> bool:
        return bool(self.lookup_choices)
