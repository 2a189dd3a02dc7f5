"""Conditional menus choose a user tag BY NAME; a copy or fan-out maps it by name onto each
target account's own tag id and refuses, naming them, the accounts that lack it (issue 24)."""

import datetime

import pytest
from django.urls import reverse

from accounts.tests.factories import OfficialAccountFactory
from audience.models import Tag
from menus import services
from menus.models import Menu, VersionStatus

pytestmark = pytest.mark.django_db

DEFAULT = {"type": "click", "name": "默认", "key": "D", "reply": "默认回复"}
VIP = {"type": "view", "name": "会员中心", "url": "https://vip.example.com/"}


def tagged_set(tag_id):
    return {"button": [DEFAULT], "conditionalmenu": [{"button": [VIP], "matchrule": {"tag_id": str(tag_id)}}]}


@pytest.fixture
def accounts(operator):
    made = [
        OfficialAccountFactory(
            assigned_staff=[operator], certified_until=datetime.date(2099, 1, 1), name=f"号{i}"
        )
        for i in range(3)
    ]
    source, has_it, lacks_it = made
    Tag.objects.create(account=source, wechat_id=101, name="VIP")
    Tag.objects.create(account=has_it, wechat_id=117, name="VIP")
    Tag.objects.create(account=lacks_it, wechat_id=101, name="老客户")  # same id, another tag
    return made


def test_a_copy_maps_the_tag_by_name_and_refuses_the_account_without_it(operator, accounts):
    source, has_it, lacks_it = accounts
    copied, refused = services.menu_copy(
        data=tagged_set(101), accounts=[has_it, lacks_it], by=operator, source_account=source
    )
    assert copied == [has_it]
    draft = Menu.objects.get(account=has_it).versions.get(status=VersionStatus.DRAFT)
    assert draft.data["conditionalmenu"][0]["matchrule"] == {"tag_id": "117"}
    message = str(refused[lacks_it][0])
    assert "号2" in message and "VIP" in message
    assert not Menu.objects.filter(account=lacks_it, versions__isnull=False).exists()


def test_a_fan_out_sends_each_account_its_own_id_and_fails_the_one_without_the_tag(operator, accounts):
    source, has_it, lacks_it = accounts
    fanout = services.fanout_start(
        data=tagged_set(101), accounts=[source, has_it, lacks_it], by=operator, source_account=source
    )
    versions = {v.menu.account_id: v for v in fanout.versions.select_related("menu")}
    assert versions[source.pk].data["conditionalmenu"][0]["matchrule"] == {"tag_id": "101"}
    assert versions[has_it.pk].data["conditionalmenu"][0]["matchrule"] == {"tag_id": "117"}
    failed = versions[lacks_it.pk]
    assert failed.status == VersionStatus.FAILED and "VIP" in failed.explanation
    assert versions[has_it.pk].status == VersionStatus.PENDING


def test_an_unknown_source_tag_is_refused_and_system_tags_pass_as_they_are(operator, accounts):
    source, has_it, _lacks_it = accounts
    _copied, refused = services.menu_copy(
        data=tagged_set(555), accounts=[has_it], by=operator, source_account=source
    )
    assert "555" in str(refused[has_it][0])
    copied, refused = services.menu_copy(data=tagged_set(2), accounts=[has_it], by=operator)
    assert copied == [has_it] and not refused


def test_the_editor_offers_the_accounts_tags_by_name(client, operator, accounts):
    source = accounts[0]
    client.force_login(operator)
    page = client.get(reverse("admin:menus_menu_editor", args=[source.pk])).content.decode()
    assert '<option value="101">VIP</option>' in page
    assert "老客户" not in page  # another account's tag
