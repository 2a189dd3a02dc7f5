"""Admin mixin: staff see and change only rows of the accounts assigned to them.

Used by every ModelAdmin whose rows belong to an official account. Objects are
looked up unscoped, so opening someone else's row answers 403 (not a confusing
redirect), while lists and choices only ever show assigned accounts.
"""
from functools import reduce

from django.core.exceptions import PermissionDenied, ValidationError

from .models import OfficialAccount
from .selectors import accounts_visible_to, scope_to_user, user_can_access_account


class AccountScopedAdminMixin:
    #: lookup path from this admin's model to OfficialAccount ("" for the account itself)
    account_path = "account"

    def account_of(self, obj) -> OfficialAccount | None:
        if not self.account_path:
            return obj
        return reduce(lambda o, part: getattr(o, part, None) if o else None,
                      self.account_path.split("__"), obj)

    def may_access(self, request, obj) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        account = self.account_of(obj)
        return account is not None and user_can_access_account(request.user, account)

    def get_queryset(self, request):
        return scope_to_user(super().get_queryset(request), request.user, self.account_path)

    def get_object(self, request, object_id, from_field=None):
        # Unscoped on purpose: the permission checks below turn "not yours" into 403.
        model = self.model
        field = model._meta.pk if from_field is None else model._meta.get_field(from_field)
        try:
            object_id = field.to_python(object_id)
            return model._default_manager.get(**{field.name: object_id})
        except (model.DoesNotExist, ValidationError, ValueError):
            return None

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self.may_access(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.may_access(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self.may_access(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is OfficialAccount:
            kwargs["queryset"] = accounts_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.related_model is OfficialAccount:
            kwargs["queryset"] = accounts_visible_to(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def require_account_access(user, account: OfficialAccount) -> None:
    """For custom admin views and endpoints: 403 unless the user may act on the account."""
    if not user_can_access_account(user, account):
        raise PermissionDenied
