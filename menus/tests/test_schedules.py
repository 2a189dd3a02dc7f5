"""The periodic menu jobs: installed into beat, and safe to run twice."""

import pytest

from menus import tasks
from menus.schedules import SCHEDULES

pytestmark = pytest.mark.django_db


def test_menu_schedules_install_once_and_name_registered_tasks():
    from django_celery_beat.models import PeriodicTask

    from wxadmin.celery import app
    from wxadmin.schedules import install_schedules

    install_schedules()
    install_schedules()  # a second install keeps what exists
    for spec in SCHEDULES:
        assert PeriodicTask.objects.filter(name=spec["name"], task=spec["task"]).count() == 1
        assert spec["task"] in app.tasks


def test_fail_stuck_versions_task_runs_twice_without_effect_when_nothing_is_stuck():
    assert tasks.fail_stuck_versions() == {"requeued": 0, "failed": 0}
    assert tasks.fail_stuck_versions() == {"requeued": 0, "failed": 0}


def test_check_drift_skips_accounts_without_a_published_menu(operator, certified_account):
    from menus import services

    services.draft_save(
        account=certified_account, data={"button": [{"type": "click", "name": "甲", "key": "A"}]}, by=operator
    )
    assert tasks.check_drift() == 0  # only drafts: nothing to compare
