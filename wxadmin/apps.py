from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WxadminConfig(AppConfig):
    name = "wxadmin"
    verbose_name = _("wxadmin")

    def ready(self) -> None:
        # Connect the Celery signal handlers (task context in logs, task outcome metrics,
        # beat's first heartbeat).
        from core import logs, metrics  # noqa: F401

        from . import health  # noqa: F401
