from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = _("Content")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Mass sends (MASSSENDJOBFINISH) and publish jobs (PUBLISHJOBFINISH) learn their outcome
        through the callback's extension point."""
        from messaging.event_hooks import register_event_handler

        from .events import handle_publish_finish
        from .mass.events import handle_finish

        register_event_handler(["MASSSENDJOBFINISH"], handle_finish)
        register_event_handler(["PUBLISHJOBFINISH"], handle_publish_finish)
