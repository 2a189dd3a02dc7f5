from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WechatConfig(AppConfig):
    """Installed only so that `manage.py wechat_sandbox` is found; it has no models."""

    name = "wechat"
    verbose_name = _("WeChat protocol")
