"""The account list's "sync followers" action queues through core.queueing (issue 23,
point 4): the run row is written first, and with the broker down staff read so in words
instead of a 500 (the nightly reconcile resumes the run)."""

import pytest
from django.urls import reverse

from audience.models import SyncRun
from core.queueing import QUEUE_DOWN_MESSAGE
from core.testing.faults import free_port, point_broker_at


@pytest.mark.django_db(transaction=True)
def test_sync_action_with_the_queue_down_keeps_the_run_and_says_so(client, operator, account):
    from wxadmin.celery import app

    client.force_login(operator)
    original = app.conf.broker_url
    point_broker_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        answer = client.post(
            reverse("admin:accounts_officialaccount_changelist"),
            {"action": "sync_followers_of_accounts", "_selected_action": [account.pk]},
            follow=True,
        )
    finally:
        point_broker_at(original)
    assert answer.status_code == 200
    shown = [str(m) for m in answer.context["messages"]]
    assert str(QUEUE_DOWN_MESSAGE) in shown, shown
    assert SyncRun.objects.filter(account=account, status=SyncRun.Status.RUNNING).count() == 1
