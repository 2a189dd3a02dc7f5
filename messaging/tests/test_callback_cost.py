"""What one callback costs, counted instead of timed (issue 13): database queries and
Redis commands per push, asserted exactly, so that a change that adds one is caught."""

import contextlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from redis.connection import AbstractConnection

from accounts.tests.factories import OfficialAccountFactory
from messaging import log_queue, selectors
from messaging.models import InboundMessage
from messaging.tests.factories import KeywordRuleFactory
from messaging.tests.pushes import build_push, open_reply, text_xml


class RedisSpy:
    """Records the commands and socket writes (round trips) of every real Redis connection."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.round_trips = 0


@contextlib.contextmanager
def spy_redis(monkeypatch):
    spy = RedisSpy()
    send_command = AbstractConnection.send_command
    pack_commands = AbstractConnection.pack_commands
    send_packed = AbstractConnection.send_packed_command

    def counting_send_command(self, *args, **kwargs):
        spy.commands.append(str(args[0]).upper())
        return send_command(self, *args, **kwargs)

    def counting_pack_commands(self, commands):
        commands = list(commands)
        spy.commands.extend(str(command[0]).upper() for command in commands)
        return pack_commands(self, commands)

    def counting_send_packed(self, command, check_health=True):
        spy.round_trips += 1
        return send_packed(self, command, check_health)

    with monkeypatch.context() as patch:
        patch.setattr(AbstractConnection, "send_command", counting_send_command)
        patch.setattr(AbstractConnection, "pack_commands", counting_pack_commands)
        patch.setattr(AbstractConnection, "send_packed_command", counting_send_packed)
        yield spy


def push(client, account, msg_id):
    query, body = build_push(account, text_xml(account, "营业时间", msg_id=msg_id))
    response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
    assert response.status_code == 200
    return open_reply(account, response.content)["Content"]


@pytest.fixture
def warm_account(client):
    account = OfficialAccountFactory(message_mode="safe")
    KeywordRuleFactory(account=account, pattern="营业时间", reply_text="九点到五点")
    for index in range(5):
        KeywordRuleFactory(account=account, pattern=f"其他{index}", reply_text="x", priority=9)
    assert push(client, account, 1) == "九点到五点"  # account and rules now cached
    return account


@pytest.mark.django_db(transaction=True)
def test_a_new_push_costs_no_query_and_one_redis_command(client, warm_account, monkeypatch):
    with spy_redis(monkeypatch) as spy, CaptureQueriesContext(connection) as queries:
        assert push(client, warm_account, 2) == "九点到五点"
    assert [query["sql"] for query in queries] == []
    assert spy.commands == ["EVALSHA"]  # claim the push and queue its row, atomically
    assert spy.round_trips == 1


@pytest.mark.django_db(transaction=True)
def test_a_retry_costs_no_query_and_one_redis_command(client, warm_account, monkeypatch):
    with spy_redis(monkeypatch) as spy, CaptureQueriesContext(connection) as queries:
        assert push(client, warm_account, 1) == "九点到五点"
    assert len(queries) == 0
    assert (spy.commands, spy.round_trips) == (["EVALSHA"], 1)


@pytest.mark.django_db(transaction=True)
def test_the_rule_version_is_rechecked_at_most_once_a_second(client, warm_account, monkeypatch):
    selectors._rules_cache[warm_account.pk].checked_at -= selectors.RULES_RECHECK_SECONDS
    with spy_redis(monkeypatch) as spy, CaptureQueriesContext(connection) as queries:
        push(client, warm_account, 3)
        push(client, warm_account, 4)
    assert len(queries) == 0  # the version did not change: no reload
    assert spy.commands == ["GET", "EVALSHA", "EVALSHA"]


@pytest.mark.django_db(transaction=True)
def test_the_flusher_writes_a_batch_with_one_insert(client, warm_account, monkeypatch):
    for msg_id in range(10, 20):
        push(client, warm_account, msg_id)
    with spy_redis(monkeypatch) as spy, CaptureQueriesContext(connection) as queries:
        assert log_queue.flush() == 11  # the warm-up push and these ten
    statements = [query["sql"] for query in queries]
    # one transaction, one statement: the batch's INSERT and, from the rows it returns, the
    # upsert of its conversations (issue 30)
    assert len(statements) == 3, statements
    assert statements[0] == "BEGIN" and statements[2] == "COMMIT"
    statement = statements[1]
    assert statement.lstrip().startswith("WITH ins AS (")
    assert 'INSERT INTO "messaging_inboundmessage"' in statement
    assert "ON CONFLICT DO NOTHING\n  RETURNING" in statement
    assert "INSERT INTO messaging_conversation" in statement
    assert "ON CONFLICT (account_id, openid)" in statement
    # create the group, read own pending, claim stale, read new, acknowledge + delete
    # (a new connection introduces itself first: HELLO, CLIENT SETINFO, SELECT db)
    commands = [
        name.split()[0] for name in spy.commands if name.split()[0] not in ("HELLO", "CLIENT", "SELECT")
    ]
    assert commands == ["XGROUP", "XREADGROUP", "XAUTOCLAIM", "XREADGROUP", "XACK", "XDEL"]
    assert InboundMessage.objects.filter(account=warm_account).count() == 11


@pytest.mark.django_db(transaction=True)
def test_the_flusher_names_its_columns_so_a_column_added_with_a_default_is_filled_by_it(client, warm_account):
    """Another change may add a column to the message table with a database default
    (outgoing messages, say): the flusher's INSERT names its own columns and still works."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE messaging_inboundmessage ADD COLUMN test_direction varchar(3) NOT NULL DEFAULT 'in'"
        )
    try:
        push(client, warm_account, 30)
        assert log_queue.flush() == 2
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT test_direction FROM messaging_inboundmessage")
            assert cursor.fetchall() == [("in",)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE messaging_inboundmessage DROP COLUMN test_direction")
