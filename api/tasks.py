"""Celery tasks of the api app: thin, each calling one function."""

from celery import shared_task


@shared_task(name="api.flush_calls")
def flush_calls() -> int:
    """Beat: move the queued audit rows of API calls into the database (api/audit.py)."""
    from .audit import flush

    return flush()


@shared_task(name="api.prune_idempotency")
def prune_idempotency() -> int:
    """Beat: delete Idempotency-Key answers past API_IDEMPOTENCY_HOURS (api/idempotency.py)."""
    from .idempotency import prune

    return prune()
