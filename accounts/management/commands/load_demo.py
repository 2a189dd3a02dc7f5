"""Demo data for `make run`: one entity with two service accounts, one in safe mode.

Idempotent: running it again updates the same rows. The credentials are fixed
demo values that only the bundled sandbox accepts; never use them for real.
"""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import (
    AccountType,
    Entity,
    EntityKind,
    EntitySubtype,
    MessageMode,
    OfficialAccount,
)

DEMO_ENTITY = {
    "full_name": "微行示范科技有限公司",
    "short_name": "微行示范",
    "kind": EntityKind.ENTERPRISE,
    "subtype": EntitySubtype.GENERAL_ENTERPRISE,
    "credit_code": "91440300MA5DEM0019",
    "legal_representative": "李示范",
    "office_address": "广东省深圳市南山区科技园示范路 1 号",
    "office_phone": "0755-88886666",
    "bank_name": "招商银行深圳科技园支行",
    "bank_account_number": "755900000000001",
}

DEMO_ACCOUNTS = [
    {
        "appid": "wxd0000000000000a1",
        "name": "微行示范服务号",
        "wechat_id": "weixing_demo",
        "original_id": "gh_d000000000a1",
        "appsecret": "d0d0d0d0d0d0d0d0d0d0d0d0d0d0a1a1",
        "server_token": "weixingDemoToken1",
        "encoding_aes_key": "WeixingDemoEncodingAesKey0000000000000000a1",
        "message_mode": MessageMode.SAFE,
    },
    {
        "appid": "wxd0000000000000b2",
        "name": "微行示范客服号",
        "wechat_id": "weixing_help",
        "original_id": "gh_d000000000b2",
        "appsecret": "d0d0d0d0d0d0d0d0d0d0d0d0d0d0b2b2",
        "server_token": "weixingDemoToken2",
        "encoding_aes_key": "WeixingDemoEncodingAesKey0000000000000000b2",
        "message_mode": MessageMode.PLAINTEXT,
    },
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo entity and its two official accounts."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        entity, _ = Entity.objects.update_or_create(full_name=DEMO_ENTITY["full_name"], defaults=DEMO_ENTITY)
        for spec in DEMO_ACCOUNTS:
            account = OfficialAccount.objects.filter(appid=spec["appid"]).first()
            if account is None:
                account = OfficialAccount(appid=spec["appid"])
            for field in ("name", "wechat_id", "original_id", "message_mode"):
                setattr(account, field, spec[field])
            account.entity = entity
            account.account_type = AccountType.SERVICE
            account.appsecret = spec["appsecret"]
            account.server_token = spec["server_token"]
            account.encoding_aes_key = spec["encoding_aes_key"]
            account.full_clean()
            account.save()
        self.stdout.write(f"demo: entity “{entity.full_name}” with {len(DEMO_ACCOUNTS)} accounts")
