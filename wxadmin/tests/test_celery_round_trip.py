import pytest
from django_celery_results.models import TaskResult

from wxadmin.tasks import health


@pytest.mark.django_db(transaction=True)
def test_health_task_round_trip_through_real_redis_broker(celery_worker_thread):
    """A task sent to the Redis broker is run by a worker and its result is stored for the admin."""
    result = health.delay("ping")
    assert result.get(timeout=20) == {"ok": True, "echo": "ping"}
    stored = TaskResult.objects.get(task_id=result.id)
    assert stored.status == "SUCCESS"
    assert stored.task_name == "wxadmin.health"
