"""Admin mixins: staff see and change only rows of the accounts assigned to them.

Every ModelAdmin whose rows belong to an official account uses
`AccountScopedAdminMixin`; the entity admin uses `EntityScopedAdminMixin`. Both
derive their rows from `accounts.selectors` (the one scoping rule). Objects are
looked up unscoped, so opening someone else's row answers 403 (not a confusing
redirect), while lists, filters and form choices only ever show what the user may see.
Admins with django-simple-history add `ScopedHistoryMixin`.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.admin import AdminSite
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import ForeignKey, ManyToManyField, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models import Model
    from django.forms import ModelChoiceField, ModelMultipleChoiceField
    from django.http import HttpRequest, HttpResponse
    from simple_history.admin import SimpleHistoryAdmin as HistoryAdminBase

    # ModelForm is generic in the stubs only (no django_stubs_ext monkeypatch at run time).
    ModelFormBase = forms.ModelForm[Model]
else:
    HistoryAdminBase = object
    ModelFormBase = forms.ModelForm

from core.admin_mixins import AdminBase

from .models import Entity, OfficialAccount
from .selectors import (
    accounts_visible_to,
    entities_visible_to,
    scope_to_user,
    user_can_access_account,
    user_can_access_entity,
)


def scoped_choices(
    admin_site: AdminSite, model: type[Model] | str | None, request: HttpRequest
) -> QuerySet[Any] | None:
    """The rows of `model` the user may pick in a form, or None when `model` is not scoped.

    Accounts and entities follow the selectors; any model whose admin is scoped
    (a KF account picked on a transfer rule, an order picked on a reminder…) offers
    exactly the rows that admin lists, so a new scoped admin needs nothing here.
    """
    if model is OfficialAccount:
        return accounts_visible_to(request.user)
    if model is Entity:
        return entities_visible_to(request.user)
    related_admin = admin_site._registry.get(model) if isinstance(model, type) else None
    if isinstance(related_admin, ScopedAdminMixin):
        return related_admin.get_queryset(request)
    return None


class ListEditRowForm(ModelFormBase):
    """A row of a changelist's `list_editable` formset.

    Django builds a blank new instance for a posted id that is not a row of the
    (scoped) list — another tenant's rule, a deleted one, garbage — and validating
    it against fields not on the row raised (500). Such a row gets a form error and
    nothing is saved (issue 9).
    """

    def _post_clean(self) -> None:
        if self.instance._state.adding:
            self.add_error(
                None, _("This row is not in your list (it was deleted, or it is not yours). Reload the page.")
            )
            return
        super()._post_clean()  # type: ignore[misc]  # a private hook the stubs leave out


class ScopedAdminMixin(AdminBase):
    """Shared by the account- and entity-scoped admins: permissions follow `may_access`."""

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[forms.ModelForm[Any]]:
        kwargs.setdefault("form", ListEditRowForm)
        return super().get_changelist_form(request, **kwargs)

    def may_access(self, request: HttpRequest, obj: Any) -> bool:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # Unscoped on purpose: the permission checks below turn "not yours" into 403.
        model = self.model
        field = model._meta.pk if from_field is None else model._meta.get_field(from_field)
        try:
            object_id = field.to_python(object_id)
            return model._default_manager.get(**{field.name: object_id})
        except (model.DoesNotExist, ValidationError, ValueError, TypeError, OverflowError):
            return None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self.may_access(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self.may_access(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self.may_access(request, obj)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        choices = scoped_choices(self.admin_site, db_field.related_model, request)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        choices = scoped_choices(self.admin_site, db_field.related_model, request)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class AccountScopedAdminMixin(ScopedAdminMixin):
    #: lookup path from this admin's model to OfficialAccount ("" for the account itself)
    account_path = "account"

    def account_of(self, obj: Any) -> OfficialAccount | None:
        if not self.account_path:
            itself: OfficialAccount = obj
            return itself
        account: OfficialAccount | None = reduce(
            lambda o, part: getattr(o, part, None) if o else None, self.account_path.split("__"), obj
        )
        return account

    def may_access(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        account = self.account_of(obj)
        return account is not None and user_can_access_account(request.user, account)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scope_to_user(super().get_queryset(request), request.user, self.account_path)


class EntityScopedAdminMixin(ScopedAdminMixin):
    """Entities: those owning an account the user may see, or created by the user."""

    def may_access(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or user_can_access_entity(request.user, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(pk__in=entities_visible_to(request.user).values("pk"))


# simple_history ships no types: its admin is Any to mypy, the methods below override it.
class ScopedHistoryMixin(HistoryAdminBase):  # type: ignore[misc]
    """django-simple-history pages that follow the change page's permission and scoping.

    The history list and a past version are shown to whoever may view the current
    row (so never another tenant's). Reverting is offered to superusers only: a
    revert replays a whole snapshot — entity, assignments, switches — past the
    per-field rules the change form applies for staff (entity choices, assignment
    by superusers only), and staff can make any allowed change through the change
    form itself. Even for superusers, the fields in `revert_protected_fields`
    (credentials, certification state) keep their current values: history never
    holds credentials, and certification state is set by orders only.
    """

    revert_protected_fields: tuple[str, ...] = ()

    def _current_or_refuse(self, request: HttpRequest, object_id: str) -> Any:
        current = self.get_object(request, unquote(object_id))
        if current is None:
            if not request.user.is_superuser:  # a deleted row: its history is the superuser's
                raise Http404
        elif not self.has_view_permission(request, current):
            raise PermissionDenied
        return current

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._current_or_refuse(request, object_id)
        response: HttpResponse = super().history_view(request, object_id, extra_context)
        return response

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        current = self._current_or_refuse(request, object_id)
        if request.method == "POST" and not request.user.is_superuser:
            raise PermissionDenied
        request._wxadmin_revert_current = current  # type: ignore[attr-defined]  # read back by get_form below
        response: HttpResponse = super().history_form_view(request, object_id, version_id, extra_context)
        return response

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return not request.user.is_superuser or super().revert_disabled(request, obj)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        # simple-history builds the revert form on the historical instance; give it the
        # current protected values before the form (and its save) sees them.
        current = getattr(request, "_wxadmin_revert_current", None)
        if current is not None and obj is not None and obj is not current:
            for name in self.revert_protected_fields:
                setattr(obj, name, getattr(current, name))
        form: type[forms.ModelForm[Any]] = super().get_form(request, obj, change=change, **kwargs)
        return form


def require_account_access(user: User | AnonymousUser, account: OfficialAccount) -> None:
    """For custom admin views and endpoints: 403 unless the user may act on the account."""
    if not user_can_access_account(user, account):
        raise PermissionDenied
