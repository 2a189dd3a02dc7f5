from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Template messages")

    def ready(self) -> None:
        from messaging.event_hooks import register_event_handler

        from .events import handle_finish

        register_event_handler(["TEMPLATESENDJOBFINISH"], handle_finish)
