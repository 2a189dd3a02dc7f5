from celery import shared_task


@shared_task(name="wxadmin.health")
def health(payload: str) -> dict[str, object]:
    """Echo the payload: proves a worker picked a task off the broker and answered."""
    return {"ok": True, "echo": payload}


@shared_task(name="wxadmin.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Beat sends this every 30 s; the worker that runs it records the time for /readyz."""
    from core.probes import heartbeat_record

    heartbeat_record()
