from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WxadminConfig(AppConfig):
    name = "wxadmin"
    verbose_name = _("wxadmin")
