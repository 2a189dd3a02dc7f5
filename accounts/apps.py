from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Entities and official accounts")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the encryption-key check)
        from .lockout import clear_attempts_of_username
        from .roles import sync_roles_after_migrate

        # issue 22 §1: a success clears that username's failed logins, never another's
        user_logged_in.connect(clear_attempts_of_username, dispatch_uid="accounts.clear_attempts")

        # Acts on the last app's post_migrate signal, once every app's permissions exist,
        # so permissions of apps added later (menus, certification, messaging) reach the roles.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts.sync_roles")
