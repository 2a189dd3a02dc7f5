from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificationConfig(AppConfig):
    name = "certification"
    verbose_name = _("WeChat certification")

    def ready(self) -> None:
        from accounts.admin_extensions import register_account_action, register_account_column

        from .admin_account import certification_badge, start_annual_review

        register_account_column(
            name="certification", render=certification_badge, description=_("Certification")
        )
        register_account_action(start_annual_review)

        from messaging.event_hooks import register_event_handler

        from .models import WeChatEventType
        from .wechat_events import handle_push

        register_event_handler(WeChatEventType.values, handle_push)
