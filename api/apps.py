from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("API for client systems")

    def ready(self) -> None:
        """Any change to what the API's key cache holds makes every process re-read it."""
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from accounts.models import OfficialAccount

        from .gate import forget_keys_after_commit
        from .models import ApiKey, ClientSystem, JsDomain

        for model in (ClientSystem, ApiKey, JsDomain, OfficialAccount):
            post_save.connect(
                forget_keys_after_commit, sender=model, dispatch_uid=f"api.keys.{model.__name__}.save"
            )
            post_delete.connect(
                forget_keys_after_commit, sender=model, dispatch_uid=f"api.keys.{model.__name__}.delete"
            )
        m2m_changed.connect(
            forget_keys_after_commit, sender=ClientSystem.accounts.through, dispatch_uid="api.keys.accounts"
        )
