"""Admin mixins shared by the apps' admins (one place for each)."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
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


def install_autocomplete_guard() -> None:
    """Autocomplete widgets render a garbage value as "nothing selected" (issue 22 §7).

    A form posted back with `entity=abc` is invalid, so the admin re-renders it; Django's
    `AutocompleteMixin.optgroups` then looks the posted value up with
    `filter(pk__in=["abc"])` and raises ValueError — a 500 on every add/change form with an
    autocomplete foreign key (ticket-free since Django 2.0; still so in 5.2). The values
    are passed through `core.parsing` (integer keys) or the target field's `to_python`
    first, so the form shows its own "select a valid choice" error instead. Called once
    from wxadmin.apps; covers every autocomplete field, including ones added later.
    """
    from django.contrib.admin.widgets import AutocompleteMixin
    from django.core.exceptions import ValidationError

    from .parsing import id_or_none

    if getattr(AutocompleteMixin.optgroups, "guarded", False):
        return
    original = AutocompleteMixin.optgroups

    def usable(widget: Any, value: Any) -> bool:
        remote = widget.field.remote_field
        opts = remote.model._meta
        target = opts.get_field(getattr(remote, "field_name", None) or opts.pk.name)
        if isinstance(target, models.IntegerField):  # AutoField, BigAutoField, …
            return id_or_none(str(value)) is not None
        try:
            target.to_python(value)
        except (ValidationError, ValueError, TypeError):
            return False
        return "\x00" not in str(value)

    def optgroups(self: Any, name: str, value: list[Any], attr: Any = None) -> Any:
        return original(self, name, [v for v in value if v in (None, "") or usable(self, v)], attr)

    optgroups.guarded = True  # type: ignore[attr-defined]
    AutocompleteMixin.optgroups = optgroups  # type: ignore[method-assign,assignment]


def install_changelist_header_cache() -> None:
    """Every admin list computes its column headers once per page, not once per row.

    unfold's ``items_for_result`` (unfold/templatetags/unfold_list.py, django-unfold 0.91) calls
    ``result_headers(cl)`` for every row it renders: 100 rows of 12 columns were 1,200 header
    computations (label lookups, lazy translations, sort URLs) — a quarter of the follower
    list's CPU (bench/audience_sync.py, issue 24). The headers depend on the changelist only,
    so the first computation is kept on ``cl`` and handed out again. Called once from
    wxadmin.apps.
    """
    from unfold.templatetags import unfold_list

    if getattr(unfold_list.result_headers, "cached", False):
        return
    original = unfold_list.result_headers

    def result_headers(cl: Any) -> Any:
        headers = getattr(cl, "_wxadmin_headers", None)
        if headers is None:
            headers = cl._wxadmin_headers = list(result_headers.original(cl))  # type: ignore[attr-defined]
        return iter(headers)

    result_headers.cached = True  # type: ignore[attr-defined]
    result_headers.original = original  # type: ignore[attr-defined]
    unfold_list.result_headers = result_headers


#: set while Django's `AdminSite.each_context` runs (see install_lazy_available_apps)
_IN_EACH_CONTEXT: ContextVar[bool] = ContextVar("wxadmin_in_each_context", default=False)


def install_lazy_available_apps() -> None:
    """Every admin page builds Django's app list only if its template reads it (issue 21).

    `AdminSite.each_context` puts `available_apps` (`get_app_list`: every registered model's
    permissions and two reversed URLs each, some 90 `reverse` calls) in the context of
    every admin page. With unfold and our sidebar (settings.UNFOLD["SIDEBAR"]) no template
    reads it, unless the sidebar is empty for the user (then unfold lists the apps) or
    "show_all_applications" is on. Inside `each_context` the list is a lazy object, built
    on first use with the same request, so those templates see what they saw; every other
    caller of `get_app_list` (the index, an app's index, the search) gets the list itself.
    Called once from wxadmin.apps.
    """
    from django.contrib.admin.sites import AdminSite
    from django.utils.functional import SimpleLazyObject

    if getattr(AdminSite.each_context, "lazy_available_apps", False):
        return
    original_each_context = AdminSite.each_context
    original_get_app_list = AdminSite.get_app_list

    def each_context(self: AdminSite, request: HttpRequest) -> dict[str, Any]:
        token = _IN_EACH_CONTEXT.set(True)
        try:
            return original_each_context(self, request)
        finally:
            _IN_EACH_CONTEXT.reset(token)

    def get_app_list(self: AdminSite, request: HttpRequest, app_label: str | None = None) -> Any:
        if _IN_EACH_CONTEXT.get():
            return SimpleLazyObject(lambda: original_get_app_list(self, request, app_label))
        return original_get_app_list(self, request, app_label)

    each_context.lazy_available_apps = True  # type: ignore[attr-defined]
    each_context.original = original_each_context  # type: ignore[attr-defined]
    get_app_list.original = original_get_app_list  # type: ignore[attr-defined]
    AdminSite.each_context = each_context  # type: ignore[method-assign]
    AdminSite.get_app_list = get_app_list  # type: ignore[method-assign]
