"""The account admin's "publish a menu to the selected accounts" action and the progress view."""

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from menus import services
from menus.models import FanOut, MenuVersion, VersionStatus

from .menu_cases import CLICK, VIEW

pytestmark = pytest.mark.django_db

MENU = {"button": [{**CLICK, "reply": "嗨"}, VIEW]}


def run_action(client, accounts, **extra):
    return client.post(
        reverse("admin:accounts_officialaccount_changelist"),
        {"action": "publish_menu_to_accounts", ACTION_CHECKBOX_NAME: [a.pk for a in accounts], **extra},
    )


def test_action_asks_which_menu_then_starts_a_fanout(
    client, operator, certified_account, django_capture_on_commit_callbacks
):
    targets = [OfficialAccountFactory(assigned_staff=[operator]) for _ in range(3)]
    services.draft_save(account=certified_account, data=MENU, by=operator)
    source = certified_account.menu
    client.force_login(operator)
    page = run_action(client, targets)
    assert page.status_code == 200
    assert 'data-testid="fanout-source"' in page.content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = run_action(client, targets, apply="1", source=source.pk, which="working", mode="publish")
    fanout = FanOut.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:menus_fanout_progress", args=[fanout.pk])
    assert fanout.total == 3 and fanout.source_account == certified_account
    assert MenuVersion.objects.filter(fanout=fanout, status=VersionStatus.PENDING).count() == 3
    assert len(callbacks) == 1  # tasks are enqueued after the commit
    progress = client.get(reverse("menus:fanout_progress", args=[fanout.pk])).json()
    assert progress["pending"] == 3 and not progress["done"]
    assert client.get(response["Location"]).status_code == 200


def test_action_can_copy_into_drafts_only(client, operator, certified_account):
    targets = [OfficialAccountFactory(assigned_staff=[operator]) for _ in range(2)]
    services.draft_save(account=certified_account, data=MENU, by=operator)
    client.force_login(operator)
    run_action(client, targets, apply="1", source=certified_account.menu.pk, which="working", mode="copy")
    assert not FanOut.objects.exists()
    for target in targets:
        draft = MenuVersion.objects.get(menu__account=target)
        assert draft.status == VersionStatus.DRAFT and draft.data["button"][0]["reply"] == "嗨"


def test_action_ignores_accounts_the_user_does_not_see(client, operator, certified_account):
    """Staff only publish for accounts assigned to them."""
    theirs = OfficialAccountFactory()
    services.draft_save(account=certified_account, data=MENU, by=operator)
    client.force_login(operator)
    run_action(
        client,
        [theirs, certified_account],
        apply="1",
        source=certified_account.menu.pk,
        which="working",
        mode="publish",
    )
    assert not MenuVersion.objects.filter(menu__account=theirs).exists()


def test_progress_of_someone_elses_fanout_is_forbidden(client, operator, certified_account):
    services.draft_save(account=certified_account, data=MENU, by=operator)
    fanout = services.fanout_start(data=MENU, accounts=[certified_account], by=operator)
    other = UserFactory(groups=["Operators"])
    client.force_login(other)
    assert client.get(reverse("menus:fanout_progress", args=[fanout.pk])).status_code == 403
    assert client.get(reverse("admin:menus_fanout_progress", args=[fanout.pk])).status_code == 403


def test_progress_json_has_a_row_per_account_with_the_reason(client, operator, uncertified_account):
    miniprogram = {
        "type": "miniprogram",
        "name": "小程序",
        "url": "https://a.cn",
        "appid": "wx286b93c14bbf93aa",
        "pagepath": "pages/index",
    }
    fanout = services.fanout_start(
        data={"button": [miniprogram]}, accounts=[uncertified_account], by=operator
    )
    client.force_login(operator)
    progress = json.loads(client.get(reverse("menus:fanout_progress", args=[fanout.pk])).content)
    assert progress["done"] and progress["failed"] == 1
    [row] = progress["rows"]
    assert row["errcode"] == 40119 and "certified" in row["explanation"]
    # a finished fan-out no longer says it is publishing (issue 12)
    page = client.get(reverse("admin:menus_fanout_progress", args=[fanout.pk])).content.decode()
    assert '<p id="fo-running" hidden>' in page
    assert '<p id="fo-finished" data-testid="fo-finished" >' in page


def test_starting_a_fanout_takes_the_same_queries_for_3_or_30_accounts(
    operator, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    few = [OfficialAccountFactory(assigned_staff=[operator]) for _ in range(3)]
    many = [OfficialAccountFactory(assigned_staff=[operator]) for _ in range(30)]
    with django_assert_max_num_queries(20) as small:
        services.fanout_start(data=MENU, accounts=few, by=operator)
    with django_assert_max_num_queries(len(small.captured_queries)):
        fanout = services.fanout_start(data=MENU, accounts=many, by=operator)
    numbers = MenuVersion.objects.filter(menu__account=many[0]).values_list("number", flat=True)
    assert list(numbers) == [1] and fanout.total == 30
