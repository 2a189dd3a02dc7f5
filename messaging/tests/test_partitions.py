"""The message log's monthly partitions (PostgreSQL, issue 30): created ahead, dropped whole,
and one row per push also when WeChat's retry arrives in the next month."""

import datetime

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from messaging import log_queue, partitions
from messaging.models import InboundMessage
from messaging.receiving import message_receive, redis_client
from messaging.tests.factories import KeywordRuleFactory
from messaging.tests.pushes import flush_log, text_xml
from wechat.messages import parse_message

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")

UTC = datetime.UTC
NOW = datetime.datetime(2031, 3, 10, 12, tzinfo=UTC)


def fire_deferred_checks() -> None:
    """The test's rows leave deferred foreign-key checks pending in its one transaction, and
    PostgreSQL drops no table with pending checks (retention runs in its own transactions)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def names() -> list[str]:
    return [p.name for p in partitions.monthly_partitions()]


def partition_of(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM messaging_inboundmessage WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def message(account, key: str, sent_at: datetime.datetime, received_at: datetime.datetime | None = None):
    return InboundMessage.objects.create(
        account=account,
        dedupe_key=key,
        openid="o",
        msg_type="text",
        sent_at=sent_at,
        received_at=received_at or sent_at,
    )


@pytest.mark.django_db
def test_ensure_ahead_creates_the_missing_months_once(settings):
    settings.MESSAGE_RETENTION_DAYS = 60  # the oldest needed month: January (cutoff 9 Jan)
    created = partitions.ensure_ahead(3, now=NOW)
    assert created == [f"messaging_inboundmessage_p2031_{m:02d}" for m in (1, 2, 3, 4, 5, 6)]
    assert partitions.ensure_ahead(3, now=NOW) == []
    assert "messaging_inboundmessage_p2031_07" not in names()
    # a new month has the log's indexes, and its rows are found through the log
    row = message(OfficialAccountFactory(), "k", datetime.datetime(2031, 4, 2, tzinfo=UTC))
    assert partition_of(row.pk) == "messaging_inboundmessage_p2031_04"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = %s", ["messaging_inboundmessage_p2031_04"]
        )
        assert cursor.fetchone()[0] == 6  # primary key, unique push, and the four indexes


@pytest.mark.django_db
def test_a_row_outside_every_month_is_kept_and_moves_into_its_month_when_created(settings):
    settings.MESSAGE_RETENTION_DAYS = 60
    account = OfficialAccountFactory()
    far = message(account, "far", datetime.datetime(2031, 5, 20, tzinfo=UTC))  # no May 2031 yet
    ancient = message(account, "ancient", datetime.datetime(1990, 1, 1, tzinfo=UTC))
    assert partition_of(far.pk) == partition_of(ancient.pk) == partitions.DEFAULT_PARTITION
    assert "messaging_inboundmessage_p2031_05" in partitions.ensure_ahead(3, now=NOW)
    assert partition_of(far.pk) == "messaging_inboundmessage_p2031_05"
    assert partition_of(ancient.pk) == partitions.DEFAULT_PARTITION
    assert InboundMessage.objects.filter(account=account).count() == 2


@pytest.mark.django_db
def test_drop_older_than_drops_only_months_ending_by_the_cutoff(settings):
    settings.MESSAGE_RETENTION_DAYS = 120
    partitions.ensure_ahead(1, now=NOW)  # Nov 2030 … Apr 2031
    account = OfficialAccountFactory()
    old = message(account, "old", datetime.datetime(2030, 11, 30, 23, 59, tzinfo=UTC))
    kept = message(account, "kept", datetime.datetime(2031, 1, 1, tzinfo=UTC))
    fire_deferred_checks()
    dropped = partitions.drop_older_than(datetime.date(2031, 1, 1))
    assert {"messaging_inboundmessage_p2030_11", "messaging_inboundmessage_p2030_12"} <= set(dropped)
    assert all(name < "messaging_inboundmessage_p2031_01" for name in dropped)
    assert "messaging_inboundmessage_p2031_01" in names()
    assert not InboundMessage.objects.filter(pk=old.pk).exists()
    assert InboundMessage.objects.filter(pk=kept.pk).exists()
    assert partitions.drop_older_than(datetime.date(2031, 1, 1)) == []
    with connection.cursor() as cursor:  # dropped, not only detached
        cursor.execute("SELECT to_regclass('messaging_inboundmessage_p2030_11')")
        assert cursor.fetchone()[0] is None


def _push(account, *, create_time: int, msg_id: int):
    return parse_message(text_xml(account, "退款", msg_id=msg_id, create_time=create_time))


@pytest.mark.django_db(transaction=True)  # the callback queues only outside a transaction
def test_a_retry_in_the_next_month_after_its_claim_expired_is_stored_once():
    """WeChat's retry of a push sent at 23:59:59 on the last day of a month arrives after
    midnight (the next month's partition by its received time) and after the Redis claim is
    gone: the unique (account, dedupe_key, sent_at) refuses it. With `received_at` as the
    partition key and in the unique constraint, this stores two rows."""
    today = timezone.now()
    partitions.ensure_ahead(3, now=today)  # this month and the next exist (kept: real months)
    next_month = partitions.add_months(partitions.month_of(today), 1)
    midnight = datetime.datetime(next_month.year, next_month.month, 1, tzinfo=UTC)
    sent = midnight - datetime.timedelta(seconds=1)
    account = OfficialAccountFactory(message_mode="plaintext")
    KeywordRuleFactory(account=account, pattern="退款", reply_text="请稍候")
    push = _push(account, create_time=int(sent.timestamp()), msg_id=9_000_000_001)

    first = message_receive(account=account, message=push, now=sent + datetime.timedelta(milliseconds=400))
    assert not first.duplicate
    assert flush_log() == 1
    redis_client().flushdb()  # the claim expired (REPLY_TTL_SECONDS) before the retry came
    retry_at = midnight + datetime.timedelta(seconds=4)
    retry = message_receive(account=account, message=push, now=retry_at)
    assert not retry.duplicate  # Redis no longer knows it: queued again
    flush_log()  # the flusher's INSERT … ON CONFLICT DO NOTHING skips it
    assert log_queue.queued() == 0
    rows = list(InboundMessage.objects.filter(account=account))
    assert len(rows) == 1
    assert rows[0].received_at < midnight
    assert partition_of(rows[0].pk) == partitions.partition_name(partitions.month_of(sent))


@pytest.mark.django_db
def test_a_retry_in_the_next_month_through_the_database_gets_the_stored_reply(settings):
    """The write-through path (here: the caller holds a transaction; also when Redis is down)
    relies on the unique constraint alone to recognise the retry and answer the first reply."""
    settings.MESSAGE_RETENTION_DAYS = 60
    partitions.ensure_ahead(3, now=NOW)
    account = OfficialAccountFactory(message_mode="plaintext")
    KeywordRuleFactory(account=account, pattern="退款", reply_text="请稍候")
    sent = datetime.datetime(2031, 4, 30, 23, 59, 58, tzinfo=UTC)
    push = _push(account, create_time=int(sent.timestamp()), msg_id=9_000_000_002)
    with transaction.atomic():
        first = message_receive(account=account, message=push, now=sent + datetime.timedelta(seconds=1))
    redis_client().flushdb()
    with transaction.atomic():
        retry = message_receive(
            account=account, message=push, now=datetime.datetime(2031, 5, 1, 0, 0, 5, tzinfo=UTC)
        )
    assert not first.duplicate and retry.duplicate
    assert retry.reply_xml == first.reply_xml and "请稍候" in first.reply_xml
    assert InboundMessage.objects.filter(account=account).count() == 1


def test_partitions_are_created_ahead_by_beat():
    from messaging.schedules import SCHEDULES
    from messaging.tasks import partitions_ensure_ahead

    schedule = next(s for s in SCHEDULES if s["task"] == "messaging.partitions_ensure_ahead")
    assert schedule["kwargs"]["months"] >= 2
    assert partitions_ensure_ahead.name == "messaging.partitions_ensure_ahead"


@pytest.mark.django_db
def test_search_statistics_are_read_from_the_partitions():
    """The parent index of a partitioned table keeps no statistics: without reading the
    partitions' ones, a common word would go through the index and sort every match."""
    from messaging.search import _statistics

    account = OfficialAccountFactory()
    now = timezone.now()
    InboundMessage.objects.bulk_create(
        InboundMessage(
            account=account,
            dedupe_key=f"s{i}",
            openid="o",
            msg_type="text",
            content="营业时间" if i % 2 else "退款",
            sent_at=now - datetime.timedelta(days=40 * (i % 3)),
            received_at=now,
        )
        for i in range(300)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_inboundmessage")
    share, rows = _statistics(InboundMessage.objects.all(), "营业")
    assert rows == pytest.approx(300, rel=0.05)
    assert share == pytest.approx(0.5, abs=0.1)
