"""Migration 0011 on a filled log (PostgreSQL): every row kept once with its id, and the ids go on."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.factories import OfficialAccountFactory
from messaging.models import InboundMessage

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")

BEFORE = [("messaging", "0010_kfoperation_claimed_at")]
AFTER = [("messaging", "0011_inbound_message_partitioned")]
UTC = datetime.UTC


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def relkind() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'messaging_inboundmessage'::regclass")
        return cursor.fetchone()[0]


INSERT = """
INSERT INTO messaging_inboundmessage (account_id, dedupe_key, openid, msg_type, event, content, sent_at,
  received_at, route, reply_type, reply_summary, reply_xml, processing_ms, raw)
VALUES (%s, %s, 'o', 'text', '', %s, %s, %s, 'none', '', '', '', 0, '{}') RETURNING id
"""


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_every_row_once_with_its_id_and_the_sequence_goes_on():
    account = OfficialAccountFactory()
    now = datetime.datetime.now(UTC)
    migrate(BEFORE)
    try:
        assert relkind() == "r"
        stored = {}
        with connection.cursor() as cursor:
            # several months back, this month, one far in the past (the DEFAULT partition),
            # and a push sent at the end of a month and received in the next
            for days in (95, 62, 31, 3, 0):
                for n in range(3):
                    at = now - datetime.timedelta(days=days, minutes=n)
                    cursor.execute(INSERT, [account.pk, f"msg:{days}-{n}", f"text {days}", at, at])
                    stored[cursor.fetchone()[0]] = (f"msg:{days}-{n}", at)
            ancient = datetime.datetime(1995, 6, 1, tzinfo=UTC)
            cursor.execute(INSERT, [account.pk, "evt:ancient", "old", ancient, now])
            stored[cursor.fetchone()[0]] = ("evt:ancient", ancient)
            month_end = datetime.datetime(now.year, now.month, 1, tzinfo=UTC) - datetime.timedelta(seconds=1)
            cursor.execute(INSERT, [account.pk, "msg:boundary", "retry", month_end, month_end])
            boundary_id = cursor.fetchone()[0]
            stored[boundary_id] = ("msg:boundary", month_end)
            # the highest id is gone before the migration: the next id still comes after it
            cursor.execute(INSERT, [account.pk, "msg:deleted", "gone", now, now])
            deleted_id = cursor.fetchone()[0]
            cursor.execute("DELETE FROM messaging_inboundmessage WHERE id = %s", [deleted_id])

        migrate(AFTER)

        assert relkind() == "p"
        after = {
            pk: (key, sent)
            for pk, key, sent in InboundMessage.objects.values_list("id", "dedupe_key", "sent_at")
        }
        assert after == stored
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT tableoid) FROM messaging_inboundmessage")
            assert cursor.fetchone()[0] >= 4  # spread over months and the default partition
            cursor.execute(
                "SELECT tableoid::regclass::text FROM messaging_inboundmessage WHERE dedupe_key = %s",
                ["evt:ancient"],
            )
            assert cursor.fetchone()[0] == "messaging_inboundmessage_default"
        new = InboundMessage.objects.create(
            account=account, dedupe_key="msg:new", openid="o", msg_type="text", sent_at=now
        )
        assert new.pk == deleted_id + 1
        # WeChat's retry of the boundary push, received in the next month: not a second row
        retry = InboundMessage(
            account=account,
            dedupe_key="msg:boundary",
            openid="o",
            msg_type="text",
            sent_at=month_end,
            received_at=month_end + datetime.timedelta(seconds=6),
        )
        InboundMessage.objects.bulk_create([retry], ignore_conflicts=True)
        assert InboundMessage.objects.filter(dedupe_key="msg:boundary").count() == 1
    finally:
        migrate(AFTER)
