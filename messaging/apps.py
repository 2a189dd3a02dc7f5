from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messages and customer service")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from accounts.admin_extensions import register_account_action
        from accounts.models import OfficialAccount

        from .kf.admin import sync_kf_team
        from .selectors import forget_callback_account

        def forget(sender: object, instance: OfficialAccount, **kwargs: object) -> None:
            # The callback caches accounts per process; drop this one at once here
            # (other processes follow within WECHAT_CALLBACK_ACCOUNT_CACHE_SECONDS).
            forget_callback_account()  # all: the AppID itself may have changed

        post_save.connect(
            forget, sender=OfficialAccount, weak=False, dispatch_uid="messaging_forget_account_on_save"
        )
        post_delete.connect(
            forget, sender=OfficialAccount, weak=False, dispatch_uid="messaging_forget_account_on_delete"
        )
        register_account_action(sync_kf_team)

        from . import models, rules

        def rules_changed(
            sender: object,
            instance: models.KeywordRule | models.TransferRule | models.WelcomeReply | models.KfAccount,
            **kwargs: object,
        ) -> None:
            rules.rules_changed(account_id=instance.account_id)

        for model in (models.KeywordRule, models.TransferRule, models.WelcomeReply, models.KfAccount):
            post_save.connect(
                rules_changed,
                sender=model,
                weak=False,
                dispatch_uid=f"messaging_rules_changed_save_{model.__name__}",
            )
            post_delete.connect(
                rules_changed,
                sender=model,
                weak=False,
                dispatch_uid=f"messaging_rules_changed_delete_{model.__name__}",
            )
