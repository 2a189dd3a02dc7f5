"""Admin mixins shared by the apps' admins (one place for each)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import models
from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    # Mixins meant for a ModelAdmin subclass it for the type checker only: their `super()`
    # calls and `self.model` are then checked against ModelAdmin; at run time they stay plain.
    AdminBase = ModelAdmin[Any]
else:
    AdminBase = object


#: `formfield_overrides` for admins whose URL fields default to https:// when typed bare.
HTTPS_URL_FIELDS: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


class ReadOnlyAdminMixin(AdminBase):
    """Rows written by services, tasks, the callback or syncs: viewable, never added or
    changed by hand.

    `allow_delete` is the one difference between the read-only lists: the message log and
    the customer-service rows may be deleted by staff with the delete permission (the
    admins further along the MRO decide, e.g. by account scope); a menu's versions, its
    audit log and fan-outs never are. Put the mixin first, before the scoping mixin."""

    #: whether the delete permission of the rest of the MRO applies (False: nobody deletes)
    allow_delete: bool = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_delete and super().has_delete_permission(request, obj)
