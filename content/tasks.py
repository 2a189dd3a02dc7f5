"""The content app's Celery tasks, for Celery's autodiscovery: each sub-domain's tasks module."""

from content.mass.tasks import mass_sweep, run_mass_send

__all__ = ["mass_sweep", "run_mass_send"]
