"""Issue 23 (found by `bench/faults.py`'s "PostgreSQL dropped around replies"): a task whose
database connection broke while it ran — PostgreSQL restarted, a connection reset — made the
result backend raise *outside* the task body; the message was never acknowledged and, with
every pool slot holding one, the worker took no more work until it was restarted. The
project's result backend (`wxadmin.results.DatabaseBackend`) reconnects and stores the result
again, and if the database is still away it logs and drops the result (the work's own rows
say what happened), never raising outside the body."""

import time

import pytest
from django.db import connection
from django_celery_results.models import TaskResult

from wxadmin.celery import app


@app.task(name="wxadmin.tests.break_own_connection")
def break_own_connection(n: int) -> int:
    """The database connection this task's thread uses breaks under Django's feet (as when
    PostgreSQL restarts): the next query on it says "the connection is closed"."""
    connection.ensure_connection()
    connection.connection.close()
    return n


@pytest.mark.postgres
@pytest.mark.slow
def test_a_task_whose_connection_broke_stores_its_result_and_the_worker_goes_on(celery_worker_thread):
    from core.queueing import enqueue_now

    tasks = 6  # more than the worker's 4 slots: a slot held by an unacknowledged message shows
    ids = []
    for n in range(tasks):
        ticket = enqueue_now(break_own_connection, n)
        assert ticket.sent
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ids = list(
            TaskResult.objects.filter(
                task_name="wxadmin.tests.break_own_connection", status="SUCCESS"
            ).values_list("result", flat=True)
        )
        if len(ids) == tasks:
            break
        time.sleep(0.2)
    assert sorted(int(r) for r in ids) == list(range(tasks))
