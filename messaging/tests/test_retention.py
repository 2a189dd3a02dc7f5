"""Retention: the prune task deletes old log rows in batches; running it twice is harmless."""

import datetime

import pytest
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from messaging.models import InboundMessage
from messaging.retention import messages_prune
from messaging.tasks import prune_messages


def make_rows(account, *, days_ago: int, count: int):
    at = timezone.now() - datetime.timedelta(days=days_ago)
    InboundMessage.objects.bulk_create(
        [
            InboundMessage(
                account=account,
                dedupe_key=f"k{days_ago}-{i}",
                openid="o",
                msg_type="text",
                sent_at=at,
                received_at=at,
            )
            for i in range(count)
        ]
    )


@pytest.mark.django_db
def test_prune_deletes_only_rows_older_than_the_retention_in_batches(settings):
    settings.MESSAGE_RETENTION_DAYS = 90
    account = OfficialAccountFactory()
    make_rows(account, days_ago=91, count=25)
    make_rows(account, days_ago=89, count=5)
    assert messages_prune(batch_size=10) == 25
    assert InboundMessage.objects.count() == 5
    assert messages_prune(batch_size=10) == 0  # the second run finds nothing
    assert InboundMessage.objects.count() == 5


@pytest.mark.django_db
def test_prune_task_run_twice_uses_the_setting(settings):
    settings.MESSAGE_RETENTION_DAYS = 7
    account = OfficialAccountFactory()
    make_rows(account, days_ago=8, count=3)
    make_rows(account, days_ago=6, count=2)
    assert prune_messages.apply(kwargs={"batch_size": 2}).get() == 3
    assert prune_messages.apply(kwargs={"batch_size": 2}).get() == 0
    assert InboundMessage.objects.count() == 2


@pytest.mark.django_db
def test_retention_of_zero_days_keeps_everything(settings):
    settings.MESSAGE_RETENTION_DAYS = 0
    make_rows(OfficialAccountFactory(), days_ago=1000, count=2)
    assert messages_prune() == 0
    assert InboundMessage.objects.count() == 2


def test_prune_is_scheduled_for_beat():
    from messaging.schedules import SCHEDULES

    tasks = [s["task"] for s in SCHEDULES]
    assert "messaging.prune_messages" in tasks and "messaging.refresh_daily_counts" in tasks
