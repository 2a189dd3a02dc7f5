"""The roles are synced once per migrate (or flush), after every app's permissions exist."""

import pytest
from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal

from accounts import roles


@pytest.mark.django_db
def test_post_migrate_syncs_the_roles_once_with_the_permissions_of_every_app(monkeypatch):
    """post_migrate comes once per installed app: the roles are synced on the last one only
    (issue 21), and then hold the permissions of the apps installed last too."""
    calls = []
    sync = roles.sync_roles

    def counted(**kwargs):
        calls.append(kwargs)
        sync(**kwargs)

    monkeypatch.setattr(roles, "sync_roles", counted)
    operators = Group.objects.get(name=roles.OPERATORS)
    operators.permissions.clear()

    emit_post_migrate_signal(0, False, "default")

    assert len(calls) == 1
    assert operators.permissions.filter(content_type__app_label="insights").exists()
    assert operators.permissions.filter(codename="view_officialaccount").exists()
