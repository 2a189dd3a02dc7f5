"""The flusher's batch upsert of the conversation table (issue 30, `upkeep.insert_batch`):
the rows it derives from the batch alone are the rows `refresh` recomputes from the log."""

import datetime
import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from messaging.conversations import upkeep
from messaging.conversations.models import Conversation, OutboundMessage, OutboundStatus
from messaging.models import InboundMessage

FIELDS = (
    "openid",
    "last_inbound_at",
    "last_answer_at",
    "unanswered",
    "window_closes_at",
    "last_message_at",
    "preview",
    "preview_outbound",
)


def message(
    account,
    key,
    openid,
    minutes_ago,
    now,
    *,
    content="在吗",
    reply="",
    msg_type="text",
    event="",
    sent_minutes_ago=None,
):
    at = now - datetime.timedelta(minutes=minutes_ago)
    # a retry carries the CreateTime of the push it repeats (sent_at, a column of the log's unique key)
    sent = now - datetime.timedelta(minutes=sent_minutes_ago) if sent_minutes_ago is not None else at
    return InboundMessage(
        account=account,
        dedupe_key=key,
        openid=openid,
        msg_type=msg_type,
        event=event,
        content=content,
        reply_type=reply,
        reply_summary="自动回复" if reply else "",
        sent_at=sent,
        received_at=at,
    )


def table(account) -> list[tuple]:
    return list(Conversation.objects.filter(account=account).order_by("openid").values_list(*FIELDS))


@pytest.mark.django_db
def test_the_batch_upsert_gives_the_rows_refresh_computes_from_the_log():
    """A mixed batch over an existing log: new users, repeat users, automatic replies (they
    answer, issue 29), times out of order, events (not messages), a retry the INSERT skips
    (only inserted rows count) and an out-of-order automatic reply before a message already
    counted (that pair is recomputed from the log). Every column equals `refresh`'s."""
    account = OfficialAccountFactory(message_mode="plaintext")
    now = timezone.now()
    m = lambda *args, **kw: message(account, *args, now=now, **kw)  # noqa: E731
    earlier = [
        m("a1", "oRepeat", 10),
        m("a2", "oRepeat", 9),
        m("b1", "oAnswered", 10, reply="text"),
        m("b2", "oAnswered", 8, content="还有"),
        m("c1", "oLateAuto", 10),
        m("c2", "oLateAuto", 5),
        m("d1", "oReset", 10),
        m("e1", "oOutbound", 4),
    ]
    InboundMessage.objects.bulk_create(earlier)
    OutboundMessage.objects.create(
        account=account,
        openid="oOutbound",
        msg_type="text",
        text="已为您处理",
        status=OutboundStatus.SENT,
        created_at=now - datetime.timedelta(minutes=3),
    )
    upkeep.refresh({(account.pk, r.openid) for r in earlier} | {(account.pk, "oOutbound")}, now=now)
    batch = [
        m("a3", "oRepeat", 2, content="人呢"),
        m("a4", "oRepeat", 3),  # out of order within the batch
        m("a1", "oRepeat", 0, content="重试", sent_minutes_ago=10),  # WeChat's retry of a1: skipped
        m("a5", "oRepeat", 0.5, msg_type="event", event="CLICK", content="MENU"),  # not a message
        m("b3", "oAnswered", 9, content="早先的"),  # after the answer (-10), before b2: counted
        m("c3", "oLateAuto", 7, content="营业时间", reply="text"),  # auto reply before c2 (-5)
        m("c4", "oLateAuto", 1, content="最新"),
        m("d2", "oReset", 2, content="营业时间", reply="text"),
        m("d3", "oReset", 1, content="谢谢"),
        m("e2", "oOutbound", 6, content="旧消息"),  # older than the reply: preview stays the reply's
        m("f1", "oNewUser", 3, msg_type="event", event="subscribe", content="", reply="text"),
        m("f2", "oNewUser", 2, content="你好"),
        m("g1", "oOnlyEvent", 1, msg_type="event", event="CLICK", content="MENU"),
    ]
    with CaptureQueriesContext(connection) as queries:
        assert upkeep.insert_batch(batch, now=now) == len(batch) - 1
    # one statement, and the one pair that needs the log recomputed by a second
    assert len([q for q in queries if "messaging_conversation" in q["sql"]]) == 2
    assert InboundMessage.objects.get(account=account, dedupe_key="a1").content == "在吗"
    from_batch = table(account)
    pairs = Conversation.objects.filter(account=account).values_list("account_id", "openid")
    upkeep.refresh(list(pairs), now=now)
    assert from_batch == table(account)
    got = {row[0]: row for row in from_batch}
    # not a tautology: the figures the rules give
    assert got["oRepeat"][3] == 4 and got["oRepeat"][6] == "人呢"
    assert got["oAnswered"][3] == 2
    assert got["oLateAuto"][3] == 2 and got["oLateAuto"][2] == now - datetime.timedelta(minutes=7)
    assert got["oReset"][3] == 1
    assert got["oOutbound"][3] == 0 and got["oOutbound"][6:] == ("已为您处理", True)
    assert got["oNewUser"][1:4] == (
        now - datetime.timedelta(minutes=2),
        now - datetime.timedelta(minutes=3),
        1,
    )
    assert got["oOnlyEvent"][1] is None and got["oOnlyEvent"][3] == 0


@pytest.mark.django_db
def test_a_second_batch_of_the_same_users_adds_to_the_counts():
    """Batches after batches: the counts the upsert adds up equal the log's."""
    account = OfficialAccountFactory(message_mode="plaintext")
    now = timezone.now()
    for n in range(3):
        rows = [
            message(
                account,
                f"k{n}-{u}",
                f"oUser{u}",
                30 - n * 10 - u,
                now,
                reply="text" if (n + u) % 4 == 0 else "",
            )
            for u in range(6)
        ]
        upkeep.insert_batch(rows, now=now)
    from_batches = table(account)
    upkeep.refresh([(account.pk, f"oUser{u}") for u in range(6)], now=now)
    assert from_batches == table(account)
    assert sum(row[3] for row in from_batches) > 0


@pytest.mark.django_db(transaction=True)
def test_two_flushers_writing_the_same_new_user_at_once_lose_no_count():
    """Two flushers' batches both bring a user with no conversation row yet: the second
    waits on the first's uncommitted row, then its ON CONFLICT update cannot merge what
    it did not see — the pair is recomputed from the log in its transaction."""
    account = OfficialAccountFactory(message_mode="plaintext")
    now = timezone.now()
    written, release, errors = threading.Event(), threading.Event(), []

    def flusher(rows, hold):
        try:
            with transaction.atomic():
                upkeep.insert_batch(rows, now=now)
                if hold:
                    written.set()
                    release.wait(10)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(
        target=flusher,
        args=([message(account, "x1", "oBoth", 3, now), message(account, "x2", "oBoth", 2, now)], True),
    )
    second = threading.Thread(
        target=flusher, args=([message(account, "y1", "oBoth", 1, now, content="第三条")], False)
    )
    first.start()
    assert written.wait(10)
    second.start()
    time.sleep(0.5)  # the second now waits for the first's conversation row
    release.set()
    first.join(10)
    second.join(10)
    assert not errors
    row = Conversation.objects.get(account=account, openid="oBoth")
    assert (row.unanswered, row.preview, row.last_inbound_at) == (
        3,
        "第三条",
        now - datetime.timedelta(minutes=1),
    )
