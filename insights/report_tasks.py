"""insights' tasks of the report half (issue 28): our own rollup and the monthly reports.

Thin: each calls one function. Imported by ``insights/tasks.py`` (Celery's autodiscovery
looks for ``tasks`` only); the datacube sync's tasks live there.
"""

from __future__ import annotations

from celery import shared_task

from . import rollups


@shared_task(name="insights.rollup_own_figures")
def rollup_own_figures() -> int:
    """Roll up our own figures of every due Beijing day (catching up missed ones)."""
    return rollups.rollup_due()
