"""The suite's flush after transactional tests (core/testing/flush.py, issue 21)."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Entity, OfficialAccount
from accounts.tests.factories import OfficialAccountFactory, UserFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_flush_deletes_every_row_of_related_tables_without_truncate():
    """Rows tied by foreign keys (an account, its entity, its staff, their groups) all go,
    in one statement that deletes rather than truncates."""
    user = UserFactory(groups=["Operators"])
    OfficialAccountFactory(assigned_staff=[user])

    with CaptureQueriesContext(connection) as queries:
        call_command("flush", interactive=False, reset_sequences=False, inhibit_post_migrate=True)

    statements = [query["sql"] for query in queries.captured_queries]
    assert not any("TRUNCATE" in sql.upper() for sql in statements), statements
    assert any("DELETE FROM" in sql for sql in statements), statements
    assert not OfficialAccount.objects.exists()
    assert not Entity.objects.exists()
    assert not User.objects.exists()
    assert not Group.objects.exists()
    assert not Permission.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_flush_that_resets_sequences_still_truncates():
    """`reset_sequences=True` (a TransactionTestCase that asks for it) keeps Django's TRUNCATE
    … RESTART IDENTITY: DELETE would not reset the ids."""
    UserFactory()
    with CaptureQueriesContext(connection) as queries:
        call_command("flush", interactive=False, reset_sequences=True, inhibit_post_migrate=True)
    assert any("RESTART IDENTITY" in query["sql"] for query in queries.captured_queries)
    assert not User.objects.exists()
