"""CSV import/export of official accounts (django-import-export).

Import header: entity,name,wechat_id,original_id,appid,appsecret,token,encoding_aes_key,message_mode
Rows are matched by AppID, so re-importing a file updates and never duplicates.
Exports never carry credentials; the import preview shows them masked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tablib
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from core.secrecy import mask

from .exports import FormulaSafeResourceMixin
from .models import Entity, MessageMode, OfficialAccount, taken_message
from .selectors import entities_visible_to, user_can_access_account

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

IMPORT_HEADER = [
    "entity",
    "name",
    "wechat_id",
    "original_id",
    "appid",
    "appsecret",
    "token",
    "encoding_aes_key",
    "message_mode",
]
# The example row of the downloadable template (issue 29): made-up but well-formed values.
IMPORT_EXAMPLE = [
    "示例科技有限公司",
    "示例服务号",
    "example_account",
    "gh_0123456789ab",
    "wx0123456789abcdef",
    "0123456789abcdef0123456789abcdef",
    "ExampleToken2026",
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
    "安全",
]


def import_template_csv() -> str:
    """The import file's header and one example row, UTF-8 with a BOM so that Excel
    opens the Chinese correctly."""
    dataset = tablib.Dataset(IMPORT_EXAMPLE, headers=IMPORT_HEADER)
    return "\ufeff" + dataset.export("csv")


EXPORT_HEADER = ["entity", "name", "wechat_id", "original_id", "appid", "message_mode"]


class SecretField(fields.Field):
    """A credential column: written on import, shown masked anywhere it is read back."""

    def export(self, instance, **kwargs):
        return mask(self.get_value(instance))


class EntityByNameWidget(widgets.ForeignKeyWidget):
    """The entity column holds the entity's full name (or its short name).

    Names are looked up among the entities the importing user may see
    (`entities_visible_to`), so a file cannot attach an account to another
    tenant's entity; an unknown and a foreign name get the same answer.
    """

    def __init__(self):
        super().__init__(Entity, field="full_name")
        self.user = None  # set by the resource; None = a management command (all entities)

    def get_queryset(self, value, row, *args, **kwargs):
        return Entity.objects.all() if self.user is None else entities_visible_to(self.user)

    def clean(self, value, row=None, **kwargs):
        value = (value or "").strip()
        if not value:
            raise ValueError(_("The entity is required."))
        entities = self.get_queryset(value, row)
        entity = entities.filter(full_name=value).first() or entities.filter(short_name=value).first()
        if entity is None:
            raise ValueError(_("No entity named “%(name)s”; create it first.") % {"name": value})
        return entity


def message_mode_aliases() -> dict[str, str]:
    """Every way a message mode may be written in an import file → its code: the code,
    the label in English and in Chinese, and the short Chinese name the UI and the MP
    console use (明文/兼容/安全, issue 29)."""
    aliases: dict[str, str] = {}
    for mode in MessageMode:
        aliases[mode.value] = mode.value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                label = str(mode.label).strip().lower()
            aliases[label] = mode.value
            short = label.split("（")[0].split(" (")[0]
            aliases[short] = mode.value
            aliases[short.removesuffix("模式")] = mode.value
    return aliases


class MessageModeWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        value = (value or "").strip().lower()
        if not value:
            return MessageMode.SAFE
        code = message_mode_aliases().get(value)
        if code is None:
            raise ValueError(
                _("Message mode must be one of: %(modes)s.")
                % {"modes": "明文, 兼容, 安全 (plaintext, compatible, safe)"}
            )
        return code


class OfficialAccountImportResource(resources.ModelResource):
    entity = fields.Field(attribute="entity", column_name="entity", widget=EntityByNameWidget())
    name = fields.Field(attribute="name", column_name="name")
    wechat_id = fields.Field(attribute="wechat_id", column_name="wechat_id")
    original_id = fields.Field(attribute="original_id", column_name="original_id")
    appid = fields.Field(attribute="appid", column_name="appid")
    appsecret = SecretField(attribute="appsecret", column_name="appsecret")
    token = SecretField(attribute="server_token", column_name="token")
    encoding_aes_key = SecretField(attribute="encoding_aes_key", column_name="encoding_aes_key")
    message_mode = fields.Field(
        attribute="message_mode", column_name="message_mode", widget=MessageModeWidget()
    )

    def __init__(self, user: User | AnonymousUser | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user
        self.fields["entity"].widget.user = user

    class Meta:
        model = OfficialAccount
        fields = IMPORT_HEADER
        import_id_fields = ["appid"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def before_import(self, dataset, **kwargs):
        missing = [column for column in IMPORT_HEADER if column not in (dataset.headers or [])]
        if missing:
            raise ValidationError(
                _("The file lacks the column(s): %(columns)s. Expected header: %(header)s")
                % {"columns": ", ".join(missing), "header": ",".join(IMPORT_HEADER)}
            )

    def after_init_instance(self, instance, new, row, **kwargs):
        """Staff may only update accounts assigned to them (superusers: any)."""
        user = self.user or kwargs.get("user")
        if new or user is None or user.is_superuser:
            return
        if not user_can_access_account(user, instance):
            # the words a taken AppID gets anywhere (issue 22 §5): nothing about its owner
            raise ValidationError(taken_message(OfficialAccount, "appid"))

    def import_instance(self, instance, row, **kwargs):
        before = {f: getattr(instance, f) for f in OfficialAccount.CREDENTIAL_FIELDS}
        super().import_instance(instance, row, **kwargs)
        after = {f: getattr(instance, f) for f in OfficialAccount.CREDENTIAL_FIELDS}
        if before != after:
            instance.set_credentials(**after)

    def after_save_instance(self, instance, row, **kwargs):
        user = self.user or kwargs.get("user")
        if user is not None and not user.is_superuser and not kwargs.get("dry_run"):
            instance.assigned_staff.add(user)


class OfficialAccountExportResource(FormulaSafeResourceMixin, resources.ModelResource):
    """What leaves the building: identifiers and settings, never credentials; names that
    a spreadsheet would run as formulas are neutralised."""

    entity = fields.Field(attribute="entity__full_name", column_name="entity")

    class Meta:
        model = OfficialAccount
        fields = EXPORT_HEADER
        export_order = EXPORT_HEADER
