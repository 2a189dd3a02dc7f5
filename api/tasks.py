"""Celery tasks of the api app: thin, each calling one function."""

from celery import shared_task


@shared_task(name="api.flush_calls")
def flush_calls() -> int:
    """Beat: move the queued audit rows of API calls into the database (api/audit.py)."""
    from .audit import flush

    return flush()
