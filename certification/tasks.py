"""Celery tasks: thin wrappers around one service each (JSON arguments, no secrets)."""

from celery import shared_task

from . import reminders
from .services.sweeps import accounts_expire_certifications, orders_fail_timed_out


@shared_task(name="certification.send_reminders")
def send_reminders() -> dict[str, int]:
    """R-POST-02, R-CERT-10, R-CERT-12: the daily reminder run (exactly once per milestone)."""
    return reminders.send_due_reminders()


@shared_task(name="certification.fail_timed_out_orders")
def fail_timed_out_orders() -> int:
    """R-CERT-12: fail rejected orders not resubmitted within 30 days of the first rejection."""
    return orders_fail_timed_out()


@shared_task(name="certification.expire_certifications")
def expire_certifications() -> int:
    """R-POST-04: accounts that missed their annual review lose the certification."""
    return accounts_expire_certifications()
