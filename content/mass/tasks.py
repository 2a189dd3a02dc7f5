"""Celery tasks of mass sends: thin wrappers, ids only (imported by content/tasks.py)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="content.run_mass_send", acks_late=True)
def run_mass_send(send_id: int) -> str:
    """Send one mass message, at most once (services.run_send)."""
    return services.run_send(send_id)


@shared_task(name="content.mass_sweep")
def mass_sweep() -> dict[str, int]:
    """Beat: scheduled sends whose time came, sends no worker holds, accepted sends read back."""
    return services.sweep()
