from celery import shared_task


@shared_task(name="wxadmin.health")
def health(payload: str) -> dict:
    """Echo the payload: proves a worker picked a task off the broker and answered."""
    return {"ok": True, "echo": payload}
