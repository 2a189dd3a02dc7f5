"""Issue 23: a reply records where its delivery got to, so a task handed out again settles
it at once; a token fetch that never answered sent nothing; a database error on the final
update is retried with the outcome; a reply written while Redis is down is kept, said so
in words, and queued again by the sweeper. Real PostgreSQL, Redis and the sandbox."""

import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from core.queueing import QueueUnavailable
from core.testing.faults import free_port
from menus.tests import test_publication_faults
from messaging.conversations import delivery, services
from messaging.conversations.models import OutboundMessage, OutboundStatus
from messaging.tests import test_conversations
from messaging.tests.test_conversations import OPENID, user_wrote

# the fixtures of the conversation tests, shared
account = test_conversations.account
sandboxed = test_conversations.sandboxed
broker_at = test_publication_faults.broker_at

SEND = "/cgi-bin/message/custom/send"


def write(account):
    return services.outbound_send(account=account, openid=OPENID, msg_type="text", text="您好", by=None)


def left_by_a_dead_worker(message, *, call_made: bool):
    """What a worker SIGKILLed around the call leaves: sending, taken, the call started or not."""
    now = timezone.now()
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundStatus.SENDING,
        attempts=1,
        claimed_at=now,
        call_started_at=now if call_made else None,
    )


@pytest.mark.django_db
def test_a_redelivered_task_sends_at_once_when_the_dead_worker_never_called(account, sandboxed):
    message = write(account)
    left_by_a_dead_worker(message, call_made=False)
    assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.SENT
    assert len(sandboxed.state(account.appid)["sent_messages"]) == 1
    assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.SENT  # and only once
    assert len(sandboxed.state(account.appid)["sent_messages"]) == 1


@pytest.mark.django_db
def test_a_redelivered_task_records_may_have_reached_when_the_call_was_made(account, sandboxed):
    message = write(account)
    left_by_a_dead_worker(message, call_made=True)
    assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.FAILED
    message.refresh_from_db()
    assert message.errmsg == delivery.ERRMSG_UNKNOWN and "may or may not" in message.explanation
    assert not sandboxed.state(account.appid)["sent_messages"]  # never sent twice


@pytest.mark.django_db
def test_a_try_taken_over_by_a_later_one_does_not_call(account, sandboxed):
    """Two tries of one message: the later take wins; the earlier one cannot mark the call."""
    message = write(account)
    left_by_a_dead_worker(message, call_made=False)
    assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.SENT
    # the earlier try (token 1) wakes up: its call mark matches no row
    assert not OutboundMessage.objects.filter(pk=message.pk, attempts=1).exists()


@pytest.mark.django_db
def test_an_unanswered_token_fetch_sent_nothing_and_says_so(account, sandboxed):
    """Point 2: the token endpoint drops the connection: the reply goes back to pending
    (retried), never "may have reached the user"."""
    from wechat.errors import WeChatError

    message = write(account)
    sandboxed.force_error("/cgi-bin/token", "drop", times=20)
    with pytest.raises(WeChatError) as caught:
        delivery.outbound_deliver(message_id=message.pk)
    assert not caught.value.request_sent
    message.refresh_from_db()
    assert message.status == OutboundStatus.PENDING and message.call_started_at is None
    assert "may or may not" not in message.explanation
    assert SEND not in sandboxed.state(account.appid)["calls"]


FAIL_SENT_ONCE = """
CREATE OR REPLACE FUNCTION wx_test_fail_sent_once() RETURNS trigger AS $$
BEGIN
  -- a sequence, not a table: nextval() is not undone when the statement fails
  IF NEW.status = 'sent' AND nextval('wx_test_fail_seq') = 1 THEN
    RAISE EXCEPTION 'terminating connection due to administrator command' USING ERRCODE = '57P01';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


@pytest.fixture
def final_update_fails_once(transactional_db):
    """PostgreSQL answers the final "sent" UPDATE with an OperationalError (admin_shutdown)
    once: a real server error, raised by a trigger."""
    table = OutboundMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE wx_test_fail_seq")
        cursor.execute(FAIL_SENT_ONCE)
        cursor.execute(
            f"CREATE TRIGGER wx_test_fail_sent BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION wx_test_fail_sent_once()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS wx_test_fail_sent ON {table}")
        cursor.execute("DROP FUNCTION IF EXISTS wx_test_fail_sent_once()")
        cursor.execute("DROP SEQUENCE IF EXISTS wx_test_fail_seq")


@pytest.mark.django_db(transaction=True)
def test_a_database_error_on_the_final_update_is_retried_with_the_outcome(
    account, sandboxed, final_update_fails_once
):
    """Point 8: the call succeeded, recording "sent" met an OperationalError: the task
    retries with the outcome and records it — sent once, not stuck in sending."""
    from messaging.conversations.tasks import outbound_deliver_task

    message = write(account)
    assert outbound_deliver_task.apply(args=[message.pk]).get() == OutboundStatus.SENT
    message.refresh_from_db()
    assert message.status == OutboundStatus.SENT
    assert len(sandboxed.state(account.appid)["sent_messages"]) == 1


@pytest.mark.django_db
def test_the_sweeper_requeues_lost_replies_and_settles_them(account, sandboxed, settings):
    """The sweeper queues again a reply never taken and one whose worker died before the
    call; the task settles both; a fresh one is left alone."""
    old = timezone.now() - datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 30)
    never_taken = write(account)
    OutboundMessage.objects.filter(pk=never_taken.pk).update(created_at=old)
    died = write(account)
    left_by_a_dead_worker(died, call_made=False)
    OutboundMessage.objects.filter(pk=died.pk).update(claimed_at=old, created_at=old)
    fresh = write(account)
    result = delivery.outbound_sweep()
    assert result["failed"] == 0
    assert OutboundMessage.objects.get(pk=fresh.pk).status == OutboundStatus.PENDING
    assert result["requeued"] == 2
    for message in (never_taken, died):  # what the queued tasks do
        assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.SENT
    assert len(sandboxed.state(account.appid)["sent_messages"]) == 2


@pytest.mark.django_db
def test_the_15_minute_backstop_says_whether_the_call_was_made(account):
    user_wrote(account)
    old = timezone.now() - datetime.timedelta(minutes=20)
    made = OutboundMessage.objects.create(
        account=account,
        openid=OPENID,
        msg_type="text",
        text="a",
        status=OutboundStatus.SENDING,
        created_at=old,
        claimed_at=old,
        call_started_at=old,
    )
    not_made = OutboundMessage.objects.create(
        account=account,
        openid=OPENID,
        msg_type="text",
        text="b",
        status=OutboundStatus.PENDING,
        created_at=old,
    )
    assert delivery.outbound_fail_stuck() == 2
    made.refresh_from_db()
    not_made.refresh_from_db()
    assert "may or may not" in made.explanation
    assert not_made.errmsg == "not sent" and "did not reach" in not_made.explanation


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_send_reply_with_redis_down_answers_503_in_chinese_and_keeps_the_reply(
    client,
    account,
    sandboxed,
    broker_at,
):
    """Point 4: no 500; the reply is stored as pending for the sweeper."""
    operator = UserFactory(groups=["Operators"])
    account.assigned_staff.add(operator)
    broker_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    client.force_login(operator)
    response = client.post(
        reverse("admin:messaging_workspace_send", args=[account.pk, OPENID]),
        {"msg_type": "text", "text": "稍等"},
        HTTP_ACCEPT="application/json",
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert response.status_code == 503, response.content[:300]
    assert "无法连接任务队列" in response.json()["error"]
    assert OutboundMessage.objects.get().status == OutboundStatus.PENDING
    with pytest.raises(QueueUnavailable):
        write(account)


@pytest.mark.django_db
def test_a_reply_sent_again_after_an_unknown_outcome_starts_from_the_beginning(account, sandboxed):
    message = write(account)
    left_by_a_dead_worker(message, call_made=True)
    assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.FAILED
    services.outbound_retry(message=OutboundMessage.objects.get(pk=message.pk), by=None)
    assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.SENT
    assert len(sandboxed.state(account.appid)["sent_messages"]) == 1
