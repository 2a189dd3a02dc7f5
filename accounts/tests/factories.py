import secrets

import factory
from django.contrib.auth import get_user_model

from accounts.models import AccountType, Entity, EntityKind, EntitySubtype, MessageMode, OfficialAccount


def random_hex(length: int) -> str:
    return secrets.token_hex(length // 2)


def random_alnum(length: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-123")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        from django.contrib.auth.models import Group

        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get(name=name))
        if create:
            self.save()


class EntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entity

    full_name = factory.Sequence(lambda n: f"示例科技有限公司{n}")
    short_name = factory.Sequence(lambda n: f"示例{n}")
    kind = EntityKind.ENTERPRISE
    subtype = EntitySubtype.GENERAL_ENTERPRISE
    credit_code = "91440300MA5DABCD1K"
    legal_representative = "张三"
    office_address = "深圳市南山区科技园"
    office_phone = "0755-12345678"
    bank_name = "招商银行深圳分行"
    bank_account_number = "755912345610001"


class OfficialAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OfficialAccount
        skip_postgeneration_save = True

    entity = factory.SubFactory(EntityFactory)
    name = factory.Sequence(lambda n: f"示例服务号{n}")
    wechat_id = factory.Sequence(lambda n: f"demo_account{n}")
    original_id = factory.LazyFunction(lambda: "gh_" + random_hex(12))
    account_type = AccountType.SERVICE
    appid = factory.LazyFunction(lambda: "wx" + random_hex(16))
    appsecret = factory.LazyFunction(lambda: random_hex(32))
    server_token = factory.LazyFunction(lambda: random_alnum(32))
    encoding_aes_key = factory.LazyFunction(lambda: random_alnum(43))
    message_mode = MessageMode.SAFE

    @factory.post_generation
    def assigned_staff(self, create, extracted, **kwargs):
        if create and extracted:
            self.assigned_staff.add(*extracted)
