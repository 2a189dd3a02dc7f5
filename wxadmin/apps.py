from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WxadminConfig(AppConfig):
    name = "wxadmin"
    verbose_name = _("wxadmin")

    def ready(self) -> None:
        # Connect the Celery signal handlers (task context in logs, task outcome metrics,
        # beat's first heartbeat).
        from core import logs, metrics  # noqa: F401
        from core.admin_mixins import (
            install_autocomplete_guard,
            install_changelist_header_cache,
            install_lazy_available_apps,
        )

        from . import health  # noqa: F401

        install_autocomplete_guard()  # issue 22 §7: `entity=abc` is a form error, not a 500
        install_changelist_header_cache()  # issue 24: headers once per list page, not per row
        install_lazy_available_apps()  # issue 21: Django's app list only where a page shows it
