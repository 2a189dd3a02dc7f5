import factory

from accounts.tests.factories import OfficialAccountFactory
from messaging.models import KeywordRule, KfAccount, KfAccountStatus, TransferRule, WelcomeReply


class KeywordRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KeywordRule

    account = factory.SubFactory(OfficialAccountFactory)
    name = factory.Sequence(lambda n: f"rule {n}")
    match_type = "exact"
    pattern = "你好"
    reply_type = "text"
    reply_text = "您好，欢迎咨询！"


class WelcomeReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WelcomeReply

    account = factory.SubFactory(OfficialAccountFactory)
    reply_type = "text"
    reply_text = "感谢关注！"


class KfAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KfAccount

    account = factory.SubFactory(OfficialAccountFactory)
    kf_account = factory.LazyAttributeSequence(lambda o, n: f"kf{n}@{o.account.wechat_id}")
    nickname = factory.Sequence(lambda n: f"客服{n}")
    status = KfAccountStatus.ACTIVE


class TransferRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TransferRule

    account = factory.SubFactory(OfficialAccountFactory)
    name = factory.Sequence(lambda n: f"transfer {n}")
    match_type = "contains"
    pattern = "人工"
