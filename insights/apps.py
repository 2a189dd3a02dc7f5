from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = _("Insights")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Contribute "backfill WeChat statistics" to the account list."""
        from accounts.admin_extensions import register_account_action

        from .sync_admin import backfill_accounts

        register_account_action(backfill_accounts)
