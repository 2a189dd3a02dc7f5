"""The three staff roles and their permissions, kept in code and synced after every migrate.

Operators run accounts, menus and messages; Finance runs certification orders,
invoices and fees; Administrators do both. Installation pages (schedules, task
results, lockouts) belong to no role: accounts/installation.py. Which accounts a
member sees is decided by assignment (OfficialAccount.assigned_staff), not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_noop

if TYPE_CHECKING:
    from django.apps.registry import Apps
    from django.contrib.auth.models import Group, Permission

ALL = "*"
VIEW = "view"

OPERATORS = gettext_noop("Operators")
FINANCE = gettext_noop("Finance")
ADMINISTRATORS = gettext_noop("Administrators")

# app label -> ALL (every permission), VIEW (view_* only) or a list of codenames.
ROLE_PERMISSIONS: dict[str, dict[str, str | list[str]]] = {
    OPERATORS: {
        "accounts": [
            "view_entity",
            "add_entity",
            "change_entity",
            "view_officialaccount",
            "add_officialaccount",
            "change_officialaccount",
            "view_accounttokenstatus",
        ],
        "menus": ALL,
        "messaging": ALL,  # with reply_to_users: answering users from the back-office
        "notifications": ALL,  # with send_template_message (issue 26)
        "certification": VIEW,
        # issue 27: JS-SDK domains and the API call log; client systems (keys) are the Administrators'
        "api": ["view_jsdomain", "add_jsdomain", "change_jsdomain", "delete_jsdomain", "view_apicall"],
        "audience": ALL,
        # issue 25: Operators prepare content and mass sends; approving and sending a mass send
        # (content.approve_masssend) is not theirs (ROLE_EXCLUSIONS): an Administrator, or a
        # member given the permission one by one, approves after the client's yes (R-MASS-01)
        "content": ALL,
        "insights": ALL,  # issue 28
    },
    FINANCE: {
        "accounts": ["view_entity", "view_officialaccount"],
        "certification": ALL,
    },
    ADMINISTRATORS: {
        "accounts": ALL,
        "menus": ALL,
        "messaging": ALL,  # with reply_to_users: answering users from the back-office
        "notifications": ALL,  # with send_template_message (issue 26)
        "certification": ALL,
        "api": ALL,  # issue 27: client systems, keys, JS-SDK domains, the call log
        "audience": ALL,
        "content": ALL,  # with approve_masssend: approving and sending mass sends (R-MASS-01)
        "insights": ALL,
    },
}
#: Permissions a role's ALL leaves out: role -> app label -> codenames.
ROLE_EXCLUSIONS: dict[str, dict[str, set[str]]] = {
    OPERATORS: {"content": {"approve_masssend"}},
}
# Schedules, task results and login lockouts are installation-wide (issue 22 §2): no role
# reaches them; superusers and holders of accounts.operate_installation do
# (accounts/installation.py), and no role's ALL includes that permission.
NEVER_GRANTED = {"accounts": {"operate_installation"}}


def sync_roles(*, group_model: type[Group], permission_model: type[Permission]) -> None:
    """Create the role groups and give each exactly the permissions declared above."""
    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted: list[Permission] = []
        for app_label, grant in grants.items():
            permissions = permission_model.objects.filter(content_type__app_label=app_label)
            if grant == VIEW:
                permissions = permissions.filter(codename__startswith="view_")
            elif grant != ALL:
                permissions = permissions.filter(codename__in=grant)
            permissions = permissions.exclude(codename__in=NEVER_GRANTED.get(app_label, ()))
            permissions = permissions.exclude(codename__in=ROLE_EXCLUSIONS.get(role, {}).get(app_label, ()))
            wanted.extend(permissions)
        group.permissions.set(wanted)


def _last_app_with_models() -> object:
    from django.apps import apps as global_apps

    return [config for config in global_apps.get_app_configs() if config.models_module is not None][-1]


def sync_roles_after_migrate(
    sender: object, apps: Apps | None = None, using: str = "default", **kwargs: object
) -> None:
    """Sync once per migrate (or flush): post_migrate is sent once for every installed app,
    and only the last one's signal comes when every app's permissions exist (issue 21: a
    sync for each of the 30-odd apps cost seconds after every transactional test)."""
    if sender is not _last_app_with_models():
        return
    if apps is None:  # `flush` (used between transactional tests) sends no app registry
        from django.apps import apps as global_apps

        apps = global_apps
    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    except LookupError:
        return
    sync_roles(group_model=group_model, permission_model=permission_model)
