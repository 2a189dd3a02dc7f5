"""Celery tasks of content: thin wrappers, ids only."""

from __future__ import annotations

from celery import shared_task

from content.mass.tasks import mass_sweep, run_mass_send  # each sub-domain's tasks, for autodiscovery

__all__ = ["mass_sweep", "poll_publication", "run_mass_send", "sweep"]


@shared_task(name="content.poll_publication")
def poll_publication(publication_id: int) -> str:
    """Ask WeChat for a publish job's state (freepublish/get); it queues itself again."""
    from .publishing import publication_poll

    return publication_poll(publication_id)


@shared_task(name="content.sweep")
def sweep() -> int:
    """Beat: settle draft pushes and publications of unknown outcome, re-poll lost jobs."""
    from .drafts import drafts_settle_unknown
    from .publishing import publications_sweep

    return drafts_settle_unknown() + publications_sweep()
