from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MenusConfig(AppConfig):
    name = "menus"
    verbose_name = _("Custom menus")

    def ready(self) -> None:
        """Contribute the drift column and the fan-out action to the account admin."""
        from accounts.admin_extensions import register_account_action, register_account_column

        from .admin import publish_menu_to_accounts, render_menu_column

        register_account_column(
            name="menu_drift", render=render_menu_column, description=_("Menu"), prefetch=("menu",)
        )
        register_account_action(publish_menu_to_accounts)
