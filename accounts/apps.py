from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Entities and official accounts")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the encryption-key check)
        from .roles import sync_roles_after_migrate

        # Runs after every app's migrations, so permissions of apps added later
        # (menus, certification, messaging) reach the roles too.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts.sync_roles")
