from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WechatConfig(AppConfig):
    """Installed for its translations (WeChat's error messages); it has no models."""

    name = "wechat"
    verbose_name = _("WeChat protocol")
