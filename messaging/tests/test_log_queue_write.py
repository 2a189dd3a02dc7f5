"""The log flusher's write of a batch (issue 30, `log_queue._store`): on PostgreSQL the queued
JSON goes to the database as it is, one statement; whatever it cannot write that way (an
unreadable entry, a row the database refuses) is read in Python and written row by row, as
on SQLite. Every test runs on both."""

import datetime
import json
import logging
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from messaging import log_queue
from messaging.conversations.models import Conversation
from messaging.models import InboundMessage, KeywordRule
from messaging.tests.factories import KeywordRuleFactory
from messaging.tests.pushes import flush_log

pytestmark = pytest.mark.django_db(transaction=True)


def fields(account, n: int, **changes) -> dict:
    """A log row's fields as the callback queues them."""
    now = timezone.now()
    values = {
        "account_id": account.pk,
        "dedupe_key": f"msg:{n}",
        "openid": f"oQueued{n % 7:010d}",
        "msg_type": "text",
        "event": "",
        "content": f"你好 {n}",
        "msg_id": n,
        "sent_at": now.replace(microsecond=0),
        "received_at": now,
        "route": "none",
        "keyword_rule_id": None,
        "reply_type": "",
        "reply_summary": "",
        "reply_xml": "",
        "processing_ms": 1.5,
        "raw": {"MsgType": "text", "Content": f"你好 {n}"},
    }
    return {**values, **changes}


def queue(redis_client, *payloads) -> None:
    """Put entries on the stream as the callback does (`claim_and_queue`: compact JSON)."""
    for payload in payloads:
        if isinstance(payload, dict):
            payload = json.dumps(log_queue.row_payload(payload), ensure_ascii=False, separators=(",", ":"))
        redis_client.xadd(log_queue.STREAM, {"row": payload})


def errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "messaging.log_queue" and r.levelno >= logging.ERROR]


def stored(account) -> dict[str, InboundMessage]:
    return {m.dedupe_key: m for m in InboundMessage.objects.filter(account_id=account.pk)}


def test_every_column_but_id_is_written():
    """The flusher's INSERT names ROW_FIELDS; a column left out would get its database
    default only if it has one."""
    columns = {
        f.attname
        for f in InboundMessage._meta.concrete_fields
        if not f.primary_key and not f.has_db_default()
    }
    assert columns == set(log_queue.ROW_FIELDS)


def test_the_rows_are_stored_exactly_as_queued(redis_client):
    """Times to the microsecond (epoch seconds in the queue), text of every kind, the raw
    fields' structure, numbers."""
    account = OfficialAccountFactory()
    rule = KeywordRuleFactory(account=account)
    rng = random.Random(30)
    start = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)
    rows = []
    for n in range(200):
        received = start + datetime.timedelta(microseconds=rng.randrange(100 * 365 * 86400 * 10**6))
        rows.append(
            fields(
                account,
                n,
                received_at=received,
                sent_at=received.replace(microsecond=0),
                content=f'引号 " 反斜杠 \\ 换行\n制表\t表情 😀 {n}',
                msg_id=2**62 + n,
                keyword_rule_id=rule.pk if n % 2 else None,
                reply_xml="<xml><Content><![CDATA[您好]]></Content></xml>",
                processing_ms=rng.random() * 1000,
                raw={"MsgType": "text", "List": [1, 2.5, None, True], "Nested": {"键": "值"}},
            )
        )
    queue(redis_client, *rows)
    assert flush_log() == 200
    got = stored(account)
    for row in rows:
        message = got[row["dedupe_key"]]
        assert {name: getattr(message, name) for name in log_queue.ROW_FIELDS} == row
    assert log_queue.queued() == 0


def test_an_unreadable_entry_in_a_batch_is_dropped_and_the_others_stored(redis_client, caplog):
    account = OfficialAccountFactory()
    no_times = {k: v for k, v in log_queue.row_payload(fields(account, 99)).items() if k != "received_at"}
    queue(
        redis_client,
        fields(account, 1),
        "{not json",
        fields(account, 2),
        "[1, 2]",
        '"text"',
        json.dumps(no_times),
        json.dumps({**log_queue.row_payload(fields(account, 98)), "sent_at": 1e20}),  # no datetime holds it
        fields(account, 3),
    )
    with caplog.at_level(logging.ERROR, logger="messaging.log_queue"):
        assert flush_log() == 3
    assert sorted(stored(account)) == ["msg:1", "msg:2", "msg:3"]
    assert [r.getMessage().startswith("message log: unreadable queue entry") for r in errors(caplog)] == [
        True
    ] * 5
    assert log_queue.queued() == 0
    assert Conversation.objects.filter(account=account).count() == 3


def test_a_row_whose_keyword_rule_is_gone_is_stored_without_it(redis_client, caplog):
    account = OfficialAccountFactory()
    rule = KeywordRuleFactory(account=account)
    queue(redis_client, fields(account, 1), fields(account, 2, keyword_rule_id=rule.pk, route="keyword"))
    KeywordRule.objects.filter(pk=rule.pk).delete()
    with caplog.at_level(logging.ERROR, logger="messaging.log_queue"):
        assert flush_log() == 2
    got = stored(account)
    assert sorted(got) == ["msg:1", "msg:2"]
    assert (got["msg:2"].keyword_rule_id, got["msg:2"].route) == (None, "keyword")
    assert errors(caplog) == []


def test_a_row_the_database_refuses_is_dropped_with_an_error_and_the_others_stored(redis_client, caplog):
    account = OfficialAccountFactory()
    gone = OfficialAccountFactory()
    gone_id = gone.pk
    gone.delete()
    refused = [fields(account, 2, account_id=gone_id), fields(account, 6, account_id="abc")]
    refuses = "message log: dropped a queued row of account {} that the database refuses ({})"
    expected = [refuses.format(gone_id, "IntegrityError"), refuses.format("abc", "ValueError")]
    if connection.vendor == "postgresql":  # SQLite does not enforce a column's length
        refused.append(fields(account, 3, msg_type="m" * 33))
        refused.append(fields(account, 5, content="NUL \x00 inside"))  # no text column takes it
        expected += [refuses.format(account.pk, "DataError")] * 2
    queue(redis_client, fields(account, 1), *refused, fields(account, 4))
    with caplog.at_level(logging.ERROR, logger="messaging.log_queue"):
        assert flush_log() == 2 + len(refused)  # the rows read
    assert sorted(stored(account)) == ["msg:1", "msg:4"]
    assert not InboundMessage.objects.filter(account_id=gone_id).exists()
    assert [r.getMessage() for r in errors(caplog)] == expected
    assert log_queue.queued() == 0


def test_an_entry_queued_by_an_older_release_gets_the_defaults_of_the_fields_it_lacks(redis_client):
    account = OfficialAccountFactory()
    old = log_queue.row_payload(fields(account, 1))
    for name in ("event", "route", "keyword_rule_id", "reply_summary", "processing_ms", "raw", "msg_id"):
        del old[name]
    queue(redis_client, json.dumps(old, ensure_ascii=False), fields(account, 2))
    assert flush_log() == 2
    message = stored(account)["msg:1"]
    assert (message.event, message.route, message.keyword_rule_id, message.reply_summary) == (
        "",
        "none",
        None,
        "",
    )
    assert (message.processing_ms, message.raw, message.msg_id) == (0, {}, None)


def test_a_batch_written_again_after_a_crash_inserts_nothing(redis_client):
    """A flusher that died after its commit and before XACK: another writes the same
    entries again (XAUTOCLAIM); the unique constraint skips them, the counts stay."""
    account = OfficialAccountFactory()
    rows = [fields(account, n, openid="oTwice0000000001") for n in range(3)]
    queue(redis_client, *rows)
    flush_log()
    before = Conversation.objects.values().get(account=account)
    queue(redis_client, *rows)
    flush_log()
    after = Conversation.objects.values().get(account=account)
    assert InboundMessage.objects.filter(account=account).count() == 3
    # (SQLite recomputes the row from the log: the same values, a new updated_at)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert after["unanswered"] == 3


@pytest.mark.postgres
def test_postgres_writes_a_batch_in_one_statement_with_one_parameter_for_the_rows(redis_client):
    account = OfficialAccountFactory()
    queue(redis_client, *[fields(account, n) for n in range(50)])
    with CaptureQueriesContext(connection) as queries:
        assert flush_log() == 50
    inserts = [
        q["sql"] for q in queries if "INSERT INTO" in q["sql"] and "messaging_inboundmessage" in q["sql"]
    ]
    assert len(inserts) == 1 and "jsonb_array_elements" in inserts[0]
    assert InboundMessage.objects.filter(account=account).count() == 50
