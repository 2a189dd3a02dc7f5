from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Template messages")

    def ready(self) -> None:
        from accounts.admin_extensions import register_follower_link
        from messaging.event_hooks import register_event_handler

        from .events import handle_finish
        from .links import may_send, send_page_url

        register_event_handler(["TEMPLATESENDJOBFINISH"], handle_finish)
        # "Send a template message" on the follower list and the conversation page
        register_follower_link(
            name="notifications.send",
            label=_("Send a template message"),
            url=send_page_url,
            allowed=may_send,
        )
