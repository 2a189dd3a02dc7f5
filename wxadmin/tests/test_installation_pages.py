"""Issue 22 §2: one rule for installation-wide admin pages, asserted for EVERY registered admin.

Each admin in `admin.site._registry` follows exactly one rule (accounts/installation.py,
accounts/scoping.py): installation-wide (superusers and holders of
accounts.operate_installation only), reference data (read by staff with the view
permission, written by installation operators), account- or entity-scoped, or a staff
member's own rows. A new admin that follows none fails `test_every_registered_admin_has_a_rule`.
"""

import json

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.installation import InstallationAdminMixin, ReferenceAdminMixin, is_installation_operator
from accounts.roles import ROLE_PERMISSIONS
from accounts.scoping import ScopedAdminMixin
from accounts.tests.factories import OfficialAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

#: admins whose rows belong to one staff member (model label → the field naming them)
OWN_ROWS = {"menus.FanOut": "created_by", "certification.Notification": "user"}


def rule_of(model_admin) -> str:
    if isinstance(model_admin, InstallationAdminMixin):
        return "installation"
    if isinstance(model_admin, ReferenceAdminMixin):
        return "reference"
    if isinstance(model_admin, ScopedAdminMixin):
        return "scoped"
    if model_admin.model._meta.label in OWN_ROWS:
        return "own rows"
    return "none"


def installation_operator():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="operate_installation"))
    return user


def test_every_registered_admin_has_a_rule():
    rules = {model._meta.label: rule_of(model_admin) for model, model_admin in admin.site._registry.items()}
    assert [label for label, rule in rules.items() if rule == "none"] == []
    installation = {label for label, rule in rules.items() if rule == "installation"}
    assert installation == {
        "auth.User",
        "auth.Group",
        "axes.AccessAttempt",
        "django_celery_beat.PeriodicTask",
        "django_celery_beat.CrontabSchedule",
        "django_celery_beat.IntervalSchedule",
        "django_celery_beat.ClockedSchedule",
        "django_celery_beat.SolarSchedule",
        "django_celery_results.TaskResult",
        "django_celery_results.GroupResult",
    }
    # every app of an installation-wide page is out of every role's grants
    for grants in ROLE_PERMISSIONS.values():
        assert not {label.split(".")[0] for label in installation} & set(grants)


def test_no_role_holds_the_installation_permission():
    for role in ROLE_PERMISSIONS:
        user = UserFactory(groups=[role])
        assert not is_installation_operator(user), role


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda model: model._meta.label)
def test_each_admin_follows_its_rule(client, model):
    model_admin = admin.site._registry[model]
    rule = rule_of(model_admin)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    administrator = UserFactory(groups=["Administrators"])
    OfficialAccountFactory(assigned_staff=[administrator])
    client.force_login(administrator)
    if rule == "installation":
        assert client.get(changelist).status_code == 403
        client.force_login(installation_operator())
        assert client.get(changelist).status_code == 200
        client.force_login(UserFactory(is_superuser=True))
        assert client.get(changelist).status_code == 200
    elif rule == "reference":
        assert client.get(changelist).status_code == 200
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
        client.force_login(installation_operator())
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200
    elif rule == "own rows":
        field = OWN_ROWS[opts.label]
        query = str(model_admin.get_queryset(type("R", (), {"user": administrator})()).query)
        assert f'"{opts.db_table}"."{model._meta.get_field(field).column}" =' in query
    else:
        assert rule == "scoped"


def test_the_periodic_task_picker_offers_schedule_safe_tasks_without_ids(client):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval = IntervalSchedule.objects.create(every=3, period=IntervalSchedule.SECONDS)
    add = reverse("admin:django_celery_beat_periodictask_add")
    client.force_login(installation_operator())
    choices = dict(client.get(add).context["adminform"].form.fields["regtask"].choices)
    assert "accounts.refresh_expiring_tokens" in choices
    assert not {
        "accounts.refresh_account_token",
        "messaging.outbound_deliver",
        "menus.publish_version",
    } & set(choices)
    base = {
        "name": "x",
        "interval": interval.pk,
        "enabled": "on",
        "args": "[]",
        "kwargs": "{}",
        "priority": "",
    }
    refused = [
        {"task": "accounts.refresh_account_token", "args": json.dumps([1])},  # the attack of §2
        {"regtask": "messaging.outbound_deliver"},
        {"regtask": "accounts.refresh_expiring_tokens", "args": "[1]"},
        {"regtask": "messaging.prune_messages", "kwargs": json.dumps({"account_id": 1})},
        {"regtask": "messaging.prune_messages", "kwargs": json.dumps({"batch_size": "1; drop"})},
    ]
    for fields in refused:
        response = client.post(add, {**base, **fields})
        assert response.status_code == 200, fields
        assert response.context["adminform"].form.errors, fields
    assert not PeriodicTask.objects.filter(name="x").exists()
    response = client.post(
        add, {**base, "regtask": "messaging.prune_messages", "kwargs": '{"batch_size": 500}'}
    )
    assert response.status_code == 302
    assert PeriodicTask.objects.get(name="x").task == "messaging.prune_messages"
