"""Installation-wide admin pages: one rule for who may open them (issue 22 §2).

Some admin pages are about the installation, not about a company's accounts: periodic
task schedules (django-celery-beat), task results (django-celery-results, which hold the
arguments and results of every tenant's tasks), login lockouts (django-axes), staff users
and groups. Their rows belong to no account, so account scoping cannot apply; they belong
to whoever runs the installation.

THE RULE: an *installation operator* is an active staff member who is a superuser or holds
the one explicit permission `accounts.operate_installation` (granted per user by a
superuser; no role includes it, see accounts/roles.py). Installation pages answer every
other user as if the model did not exist (403, no sidebar entry), whatever model
permissions their role grants. An installation operator may do on these pages what the
page itself offers (a read-only page stays read-only).

Reference pages (`ReferenceAdminMixin`: e.g. certification's review companies) are shared
by every tenant: staff with the view permission read them; only installation operators
change them, because a change shows in every company.

`wxadmin/tests/test_installation_pages.py` lists every registered admin and asserts which
of the rules (installation, reference, account-scoped, entity-scoped) it follows.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from core.admin_mixins import AdminBase

#: the one explicit permission (on accounts.Entity's Meta, no role grants it)
INSTALLATION_PERMISSION_CODENAME = "operate_installation"
INSTALLATION_PERMISSION = f"accounts.{INSTALLATION_PERMISSION_CODENAME}"


def is_installation_operator(user: Any) -> bool:
    """Superusers, and active staff holding `accounts.operate_installation`."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return bool(user.is_superuser or user.has_perm(INSTALLATION_PERMISSION))


class InstallationAdminMixin(AdminBase):
    """Put first in the bases. Overrides the model permissions: installation operators
    only. A class's own `has_*_permission` (e.g. "no add" on a read-only page) still
    applies, since it comes before the mixin in the MRO."""

    installation_wide = True

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_installation_operator(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_installation_operator(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_installation_operator(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_installation_operator(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_installation_operator(request.user)


class ReferenceAdminMixin(AdminBase):
    """Shared reference data: read with the view permission, written by installation operators."""

    reference_data = True

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_installation_operator(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_installation_operator(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_installation_operator(request.user)
