"""Admin mixins shared by the apps' admins (one place for each)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    # Mixins meant for a ModelAdmin subclass it for the type checker only: their `super()`
    # calls and `self.model` are then checked against ModelAdmin; at run time they stay plain.
    AdminBase = ModelAdmin[Any]
else:
    AdminBase = object


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
