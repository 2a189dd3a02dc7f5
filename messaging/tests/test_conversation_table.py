"""The conversation table (issue 30): kept by the log flusher and by replies, one statement per
batch, idempotent, repaired from the log, filled for existing installs by a migration; the
list and the dashboard read it and agree; an automatic reply counts as an answer."""

import datetime
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from messaging import log_queue
from messaging.conversations import delivery, selectors, services, upkeep
from messaging.conversations.models import Conversation, OutboundMessage, OutboundStatus
from messaging.models import InboundMessage
from messaging.tests.factories import KeywordRuleFactory
from messaging.tests.pushes import build_push, event_xml, flush_log, text_xml

_ids = itertools.count(7_000_000_000_000_000)


def push(client, account, xml):
    query, body = build_push(account, xml)
    response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
    assert response.status_code == 200


def says(client, account, openid, text):
    push(client, account, text_xml(account, text, msg_id=next(_ids), openid=openid))


def row(account, openid) -> Conversation:
    return Conversation.objects.get(account=account, openid=openid)


@pytest.fixture
def account(db):
    account = OfficialAccountFactory(message_mode="plaintext")
    KeywordRuleFactory(account=account, pattern="营业时间", reply_text="九点到五点")
    return account


@pytest.mark.django_db(transaction=True)
def test_the_flusher_keeps_the_table_and_an_automatic_reply_counts_as_an_answer(client, account):
    says(client, account, "oWaiting000000001", "在吗")
    says(client, account, "oWaiting000000001", "有人吗")
    says(client, account, "oAutoAnswered0001", "在吗")
    says(client, account, "oAutoAnswered0001", "营业时间")  # the keyword rule answers
    push(client, account, event_xml(account, "subscribe", openid="oOnlySubscribed01"))
    assert flush_log() == 5
    waiting = row(account, "oWaiting000000001")
    assert (waiting.unanswered, waiting.preview, waiting.last_answer_at) == (2, "有人吗", None)
    assert waiting.window_closes_at == waiting.last_inbound_at + datetime.timedelta(hours=48)
    answered = row(account, "oAutoAnswered0001")
    assert answered.unanswered == 0 and answered.last_answer_at == answered.last_inbound_at
    # a subscription is not a message: no window, not in the list (the welcome reply is an answer)
    assert row(account, "oOnlySubscribed01").last_inbound_at is None
    admin = UserFactory(is_superuser=True)
    assert [(r["openid"], r["messages"], r["answered"]) for r in selectors.conversations(user=admin)] == [
        ("oWaiting000000001", 2, False),
        ("oAutoAnswered0001", 0, True),
    ]
    assert selectors.unanswered_count(user=admin) == 1
    # the user writes again after the automatic reply: waiting again
    says(client, account, "oAutoAnswered0001", "还有问题")
    flush_log()
    assert row(account, "oAutoAnswered0001").unanswered == 1
    assert selectors.unanswered_count(user=admin) == 2


@pytest.mark.django_db(transaction=True)
def test_one_statement_per_batch_whatever_its_size(client, account):
    for n in range(40):
        says(client, account, f"oBatch{n:011d}", "你好")
    with CaptureQueriesContext(connection) as queries:
        assert flush_log() == 40
    upserts = [q["sql"] for q in queries if "messaging_conversation" in q["sql"]]
    assert len(upserts) == 1
    assert Conversation.objects.filter(account=account).count() == 40


@pytest.mark.django_db(transaction=True)
def test_a_batch_written_twice_changes_nothing(client, account):
    """A flusher that died after its commit and before XACK: another writes the batch again
    (XAUTOCLAIM). Rows are recomputed, not added to: the counts stay true."""
    says(client, account, "oTwice00000000001", "在吗")
    says(client, account, "oTwice00000000001", "在吗?")
    assert flush_log() == 2
    before = Conversation.objects.values().get(account=account, openid="oTwice00000000001")
    rows = list(InboundMessage.objects.filter(account=account))
    copies = [InboundMessage(**{name: getattr(m, name) for name in log_queue.ROW_FIELDS}) for m in rows]
    log_queue._write(copies)
    after = Conversation.objects.values().get(account=account, openid="oTwice00000000001")
    assert InboundMessage.objects.filter(account=account).count() == 2
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert after["unanswered"] == 2


@pytest.mark.django_db
def test_a_reply_answers_and_a_failed_reply_answers_nothing(account):
    now = timezone.now()
    InboundMessage.objects.create(
        account=account,
        dedupe_key="k1",
        openid="oReply00000000001",
        msg_type="text",
        content="退款",
        sent_at=now,
        received_at=now,
    )
    upkeep.refresh([(account.pk, "oReply00000000001")])
    assert row(account, "oReply00000000001").unanswered == 1
    message = services.outbound_send(
        account=account, openid="oReply00000000001", msg_type="text", text="请稍等", by=None
    )
    answered = row(account, "oReply00000000001")
    assert (answered.unanswered, answered.preview, answered.preview_outbound) == (0, "请稍等", True)
    delivery.outbound_give_up(message_id=message.pk, error="-1 system busy")  # the last retry failed
    assert row(account, "oReply00000000001").unanswered == 1  # nothing reached the user


@pytest.mark.django_db
def test_stuck_replies_that_fail_give_the_conversation_back(account):
    now = timezone.now()
    InboundMessage.objects.create(
        account=account,
        dedupe_key="k1",
        openid="oStuck00000000001",
        msg_type="text",
        sent_at=now,
        received_at=now,
    )
    OutboundMessage.objects.create(
        account=account,
        openid="oStuck00000000001",
        msg_type="text",
        text="x",
        status=OutboundStatus.SENDING,
        created_at=now + datetime.timedelta(seconds=1),
    )
    upkeep.refresh([(account.pk, "oStuck00000000001")])
    assert row(account, "oStuck00000000001").unanswered == 0
    assert delivery.outbound_fail_stuck(now=now + datetime.timedelta(hours=1)) == 1
    assert row(account, "oStuck00000000001").unanswered == 1


@pytest.mark.django_db
def test_the_repair_task_rebuilds_what_the_log_says(account):
    from messaging.conversations.tasks import conversations_repair

    now = timezone.now()
    for n, (openid, reply) in enumerate([("oRepair000000001", ""), ("oRepair000000002", "text")]):
        InboundMessage.objects.create(
            account=account,
            dedupe_key=f"r{n}",
            openid=openid,
            msg_type="text",
            content="hi",
            reply_type=reply,
            reply_summary="auto" if reply else "",
            sent_at=now,
            received_at=now,
        )
    assert not Conversation.objects.exists()  # written outside the flusher
    assert conversations_repair.apply().get() == 2
    assert dict(Conversation.objects.values_list("openid", "unanswered")) == {
        "oRepair000000001": 1,
        "oRepair000000002": 0,
    }
    Conversation.objects.update(unanswered=9, preview="wrong")
    conversations_repair.apply().get()
    assert dict(Conversation.objects.values_list("openid", "unanswered")) == {
        "oRepair000000001": 1,
        "oRepair000000002": 0,
    }
    assert set(Conversation.objects.values_list("preview", flat=True)) == {"hi"}


@pytest.mark.django_db
def test_the_dashboard_figure_and_the_list_it_links_to_agree(account):
    """Issue 29/30: the dashboard counts the list's unanswered rows with the window open."""
    now = timezone.now()
    hours = {"oFresh0000000001": 1, "oOld00000000001": 47, "oClosed00000001": 50, "oAuto000000001": 2}
    for n, (openid, ago) in enumerate(hours.items()):
        at = now - datetime.timedelta(hours=ago)
        InboundMessage.objects.create(
            account=account,
            dedupe_key=f"d{n}",
            openid=openid,
            msg_type="text",
            reply_type="text" if openid.startswith("oAuto") else "",
            sent_at=at,
            received_at=at,
        )
    upkeep.repair(now=now, since=datetime.timedelta(days=3))
    admin = UserFactory(is_superuser=True)
    listed = [r for r in selectors.conversations(user=admin, state="unanswered", now=now) if r["window_open"]]
    assert {r["openid"] for r in listed} == {"oFresh0000000001", "oOld00000000001"}
    assert selectors.unanswered_count(user=admin, now=now) == len(listed)
    operator = UserFactory(groups=["Operators"])
    assert selectors.unanswered_count(user=operator, now=now) == 0  # not assigned


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_table_of_a_filled_install():
    from django.db.migrations.executor import MigrationExecutor

    account = OfficialAccountFactory()
    now = timezone.now()
    executor = MigrationExecutor(connection)
    executor.migrate([("messaging", "0007_conversation_table")])
    try:
        _fill_and_migrate(account, now)
    finally:
        # back to the latest schema: later migrations (0009 …) must not stay unapplied
        # for the tests this worker runs next
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def _fill_and_migrate(account, now):
    from django.db.migrations.executor import MigrationExecutor

    InboundMessage.objects.bulk_create(
        [
            InboundMessage(
                account=account,
                dedupe_key=f"m{n}",
                openid=f"oMigrated{n % 7:08d}",
                msg_type="text",
                content=f"第{n}条",
                reply_type="text" if n % 7 == 0 else "",
                sent_at=now - datetime.timedelta(minutes=100 - n),
                received_at=now - datetime.timedelta(minutes=100 - n),
            )
            for n in range(70)
        ]
    )
    Conversation.objects.all().delete()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("messaging", "0008_conversation_table_fill")])
    rows = {c.openid: c for c in Conversation.objects.all()}
    assert len(rows) == 7
    assert rows["oMigrated00000000"].unanswered == 0  # every one answered automatically
    assert rows["oMigrated00000006"].unanswered == 10
    assert rows["oMigrated00000006"].preview == "第69条"


@pytest.mark.django_db
def test_the_account_hub_shows_the_dashboards_figure_for_its_account(rf, account):
    from messaging.hub import hub_sections

    other = OfficialAccountFactory()
    now = timezone.now()
    for n, (acc, openid) in enumerate([(account, "oHubWaiting00001"), (other, "oHubOther000001")]):
        InboundMessage.objects.create(
            account=acc, dedupe_key=f"h{n}", openid=openid, msg_type="text", sent_at=now, received_at=now
        )
    upkeep.repair()
    request = rf.get("/admin/")
    request.user = UserFactory(is_superuser=True)
    items = next(s for s in hub_sections(request, account) if s["key"] == "messages")["items"]
    waiting = next(i for i in items if "state=waiting" in i.get("url", ""))
    assert waiting["value"] == 1 == selectors.unanswered_count(user=request.user, account_id=account.pk)
    assert selectors.unanswered_count(user=request.user) == 2
