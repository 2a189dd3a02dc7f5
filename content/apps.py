from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = _("Content")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Mass sends learn their outcome (MASSSENDJOBFINISH) through the callback's extension point."""
        from messaging.event_hooks import register_event_handler

        from .mass.events import handle_finish

        register_event_handler(["MASSSENDJOBFINISH"], handle_finish)
