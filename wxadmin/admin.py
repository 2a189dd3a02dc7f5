"""Django's own staff admin (users, groups) in the theme and in the user's language.

Group names are stored in English (accounts/roles.py marks them for translation) and
permission names are stored as Django wrote them ("Can add …"): both are shown here
translated — a permission as "app | model | action" with each part in the active
language — while the stored values stay as they are.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from accounts.installation import InstallationAdminMixin

from .admin_results import NamedRowMixin

ACTIONS = {"add": _("may add"), "change": _("may change"), "delete": _("may delete"), "view": _("may view")}


def permission_label(permission: Permission) -> str:
    model = permission.content_type.model_class()
    action = permission.codename.split("_", 1)[0]
    if model is None:
        return permission.name
    opts = model._meta
    # gettext again: a model without a verbose_name of its own (django-celery-results' chord
    # counter) has Django's plain English default, which locale_vendor/ translates
    name = gettext(str(opts.verbose_name))
    if hasattr(model, "instance_type"):  # simple-history's "historical …" models
        name = _("history of %(name)s") % {"name": model.instance_type._meta.verbose_name}
    what = (
        ACTIONS[action]
        if action in ACTIONS and permission.codename == f"{action}_{opts.model_name}"
        else gettext(permission.name)
    )
    return f"{opts.app_config.verbose_name} | {name} | {what}"


class PermissionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return permission_label(obj)


class GroupChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return gettext(obj.name)


def _translated_choices(db_field, kwargs):
    if db_field.name in ("permissions", "user_permissions"):
        return PermissionChoiceField(
            queryset=Permission.objects.select_related("content_type"),
            required=False,
            label=db_field.verbose_name,
            help_text=db_field.help_text,
            widget=kwargs.get("widget"),
        )
    if db_field.name == "groups":
        return GroupChoiceField(
            queryset=Group.objects.all(),
            required=False,
            label=db_field.verbose_name,
            widget=kwargs.get("widget"),
            help_text=_("The user gets every permission of each group."),
        )
    return None


def _group_name_translated(group: Group) -> str:
    return gettext(group.name)


# A role's name reads in the user's language wherever Django prints a group: the user list's
# filter, breadcrumbs, history, the log (issue 29 §6). The stored name stays as roles.py has it.
Group.__str__ = _group_name_translated  # type: ignore[method-assign,assignment]

admin.site.unregister(Group)
admin.site.unregister(User)


@admin.register(Group)
class GroupAdmin(InstallationAdminMixin, NamedRowMixin, BaseGroupAdmin, ModelAdmin):
    list_display = ("translated_name",)

    def row_name(self, obj) -> str:
        return gettext(obj.name)

    @admin.display(description=_("name"), ordering="name")
    def translated_name(self, obj) -> str:
        return gettext(obj.name)

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is None:
            return None
        return _translated_choices(db_field, {"widget": field.widget}) or field


@admin.register(User)
class UserAdmin(InstallationAdminMixin, BaseUserAdmin, ModelAdmin):
    """Staff users: installation-wide (issue 22 §2). Only a superuser makes a superuser."""

    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, "is_superuser", "user_permissions")

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is None:
            return None
        return _translated_choices(db_field, {"widget": field.widget}) or field


# the schedule pages in the user's language (the task results: imported above)
from . import admin_beat  # noqa: E402, F401
