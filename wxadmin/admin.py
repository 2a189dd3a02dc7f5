"""Django's own staff admin (users, groups) in the theme and in the user's language.

Group names are stored in English (accounts/roles.py marks them for translation) and
permission names are stored as Django wrote them ("Can add …"): both are shown here
translated — a permission as "app | model | action" with each part in the active
language — while the stored values stay as they are.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from accounts.installation import InstallationAdminMixin
from accounts.models import Entity, OfficialAccount

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

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def full_name(user: User) -> str:
    """姓名 in Chinese order (李娜), without a space, when the name is written in Chinese;
    "Ada Lovelace" otherwise (issue 29 §8). Django's own would print "娜 李"."""
    first, last = user.first_name.strip(), user.last_name.strip()
    if _CJK.search(first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


# Everywhere Django and unfold print a staff member's name (the user menu, history, lists).
User.get_full_name = full_name  # type: ignore[method-assign,assignment]

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


class StaffChangeForm(UserChangeForm):
    """The user's page also assigns accounts (issue 29 §8): one by one, or every account of
    an entity at once; the account's own staff picker stays as it is."""

    assigned_accounts = forms.ModelMultipleChoiceField(
        queryset=OfficialAccount.objects.select_related("entity").order_by("entity__full_name", "name"),
        required=False,
        label=_("Assigned official accounts"),
        help_text=_("The staff member sees and works on these accounts only."),
        widget=FilteredSelectMultiple(_("official accounts"), is_stacked=False),
    )
    assign_entities = forms.ModelMultipleChoiceField(
        queryset=Entity.objects.order_by("full_name"),
        required=False,
        label=_("Also assign every account of these entities"),
        widget=FilteredSelectMultiple(_("entities"), is_stacked=False),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["assigned_accounts"].initial = list(
                self.instance.assigned_accounts.values_list("pk", flat=True)
            )

    def assigned(self) -> list[OfficialAccount]:
        chosen = set(self.cleaned_data.get("assigned_accounts") or ())
        entities = self.cleaned_data.get("assign_entities") or ()
        chosen.update(OfficialAccount.objects.filter(entity__in=entities))
        return sorted(chosen, key=lambda account: account.pk)


@admin.register(User)
class UserAdmin(InstallationAdminMixin, BaseUserAdmin, ModelAdmin):
    """Staff users: installation-wide (issue 22 §2). Only a superuser makes a superuser."""

    form = StaffChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("username", "name", "email", "is_staff")

    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Official accounts"), {"fields": ("assigned_accounts", "assign_entities")}),
    )

    @admin.display(description=_("name"), ordering="last_name")
    def name(self, obj) -> str:
        return full_name(obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if isinstance(form, StaffChangeForm):
            form.instance.assigned_accounts.set(form.assigned())

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
