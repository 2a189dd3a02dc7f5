from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudienceConfig(AppConfig):
    name = "audience"
    verbose_name = _("Audience")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Contribute "sync the followers" and "sync the tags" to the account list."""
        from accounts.admin_extensions import register_account_action

        from .admin import sync_followers_of_accounts, sync_tags_of_accounts

        register_account_action(sync_followers_of_accounts)
        register_account_action(sync_tags_of_accounts)
