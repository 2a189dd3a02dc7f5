"""Retention: whole months dropped on PostgreSQL, rows deleted in batches on SQLite.

The row-deleting path (SQLite, or a log that is not partitioned) is tested on any database by
making `is_partitioned` answer False; the month-dropping path needs the partitioned log.
"""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from messaging import partitions
from messaging.models import InboundMessage
from messaging.retention import messages_prune
from messaging.tasks import prune_messages

UTC = datetime.UTC


def make_rows(account, *, days_ago: int, count: int, now=None, sent_at=None):
    at = (now or timezone.now()) - datetime.timedelta(days=days_ago)
    InboundMessage.objects.bulk_create(
        [
            InboundMessage(
                account=account,
                dedupe_key=f"k{days_ago}-{i}",
                openid="o",
                msg_type="text",
                sent_at=sent_at or at,
                received_at=at,
            )
            for i in range(count)
        ]
    )


@pytest.fixture
def rows_deleted(monkeypatch):
    """The row-by-row path, as on SQLite."""
    monkeypatch.setattr(partitions, "is_partitioned", lambda: False)


@pytest.mark.django_db
def test_prune_deletes_only_rows_older_than_the_retention_in_batches(settings, rows_deleted):
    settings.MESSAGE_RETENTION_DAYS = 90
    account = OfficialAccountFactory()
    make_rows(account, days_ago=91, count=25)
    make_rows(account, days_ago=89, count=5)
    assert messages_prune(batch_size=10) == 25
    assert InboundMessage.objects.count() == 5
    assert messages_prune(batch_size=10) == 0  # the second run finds nothing
    assert InboundMessage.objects.count() == 5


@pytest.mark.django_db
def test_prune_task_run_twice_uses_the_setting(settings, rows_deleted):
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


partitioned = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")


def fire_deferred_checks() -> None:
    """The test's rows leave deferred foreign-key checks pending in its one transaction, and
    PostgreSQL drops no table with pending checks (retention runs in its own transactions)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@partitioned
@pytest.mark.django_db
def test_prune_drops_whole_months_before_the_cutoff_and_keeps_the_straddling_one(settings):
    """Month precision: the cutoff's own month stays whole, also its rows older than the cutoff;
    the DEFAULT partition's old rows are deleted one by one."""
    now = datetime.datetime(2031, 3, 10, 12, tzinfo=UTC)
    settings.MESSAGE_RETENTION_DAYS = 150
    partitions.ensure_ahead(now=now)  # Oct 2030 … Jun 2031
    settings.MESSAGE_RETENTION_DAYS = 60  # cutoff 9 Jan 2031 12:00
    account = OfficialAccountFactory()
    make_rows(account, days_ago=110, count=4, now=now)  # 20 Nov 2030
    make_rows(account, days_ago=80, count=3, now=now)  # 19 Dec 2030
    make_rows(account, days_ago=64, count=2, now=now)  # 5 Jan 2031: before the cutoff, kept
    make_rows(account, days_ago=30, count=2, now=now)  # 8 Feb 2031
    # a CreateTime decades off: the DEFAULT partition, deleted by its received_at
    make_rows(account, days_ago=100, count=1, now=now, sent_at=datetime.datetime(1990, 1, 1, tzinfo=UTC))
    make_rows(account, days_ago=1, count=1, now=now, sent_at=datetime.datetime(1990, 1, 2, tzinfo=UTC))
    assert InboundMessage.objects.count() == 13
    fire_deferred_checks()

    assert messages_prune(now=now, batch_size=1) == 4 + 3 + 1
    names = [p.name for p in partitions.monthly_partitions()]
    assert (
        "messaging_inboundmessage_p2030_11" not in names and "messaging_inboundmessage_p2030_12" not in names
    )
    assert "messaging_inboundmessage_p2031_01" in names
    left = sorted(InboundMessage.objects.values_list("dedupe_key", flat=True))
    assert left == ["k1-0", "k30-0", "k30-1", "k64-0", "k64-1"]
    assert messages_prune(now=now) == 0  # the second run finds nothing


@partitioned
@pytest.mark.django_db
def test_prune_task_drops_months_with_the_setting(settings):
    settings.MESSAGE_RETENTION_DAYS = 400
    now = timezone.now()
    partitions.ensure_ahead(now=now)
    account = OfficialAccountFactory()
    make_rows(account, days_ago=380, count=3)
    make_rows(account, days_ago=2, count=2)
    fire_deferred_checks()
    settings.MESSAGE_RETENTION_DAYS = 300
    assert prune_messages.apply().get() == 3
    assert prune_messages.apply().get() == 0
    assert InboundMessage.objects.count() == 2
