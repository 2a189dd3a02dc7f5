"""Admin smoke tests, account scoping, the conversation view, KF forms and the dashboard."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from messaging.models import (
    InboundMessage,
    KeywordRule,
    KfAccount,
    KfOperation,
    KfSession,
    KfWaitCase,
    TransferRule,
    WelcomeReply,
)
from messaging.tests.factories import (
    KeywordRuleFactory,
    KfAccountFactory,
    TransferRuleFactory,
    WelcomeReplyFactory,
)

CERTIFIED = datetime.date(2099, 1, 1)


def message(account, openid="o_user", content="你好", reply="您好", days_ago=0, key=None):
    at = timezone.now() - datetime.timedelta(days=days_ago)
    return InboundMessage.objects.create(
        account=account,
        dedupe_key=key or f"{openid}-{content}-{days_ago}",
        openid=openid,
        msg_type="text",
        content=content,
        sent_at=at,
        received_at=at,
        route="keyword",
        reply_type="text",
        reply_summary=reply,
    )


@pytest.fixture
def operator():
    return UserFactory(groups=["Operators"])


@pytest.fixture
def world(operator):
    """Rows of every model on an account assigned to the operator, and on one that is not."""
    mine = OfficialAccountFactory(
        assigned_staff=[operator], kf_enabled=True, certified_until=CERTIFIED, wechat_id="mine_shop"
    )
    theirs = OfficialAccountFactory(kf_enabled=True, certified_until=CERTIFIED, wechat_id="their_shop")
    rows = {}
    for account, tag in ((mine, "mine"), (theirs, "theirs")):
        kf = KfAccountFactory(account=account, kf_account=f"{tag}@{account.wechat_id}")
        rows[tag] = {
            "message": message(account, openid=f"o_{tag}", content=f"hello {tag}"),
            "keywordrule": KeywordRuleFactory(account=account, name=f"rule {tag}"),
            "welcomereply": WelcomeReplyFactory(account=account, reply_text=f"welcome {tag}"),
            "transferrule": TransferRuleFactory(account=account, name=f"transfer {tag}", kf_account=kf),
            "kfaccount": kf,
            "kfoperation": KfOperation.objects.create(
                account=account, kf=kf, kf_account=kf.kf_account, action="sync"
            ),
            "kfsession": KfSession.objects.create(
                account=account, openid=f"o_{tag}", kf_account=kf.kf_account, opened_at=timezone.now()
            ),
            "kfwaitcase": KfWaitCase.objects.create(
                account=account, openid=f"w_{tag}", latest_time=timezone.now()
            ),
        }
    return mine, theirs, rows


MODELS = [
    InboundMessage,
    KeywordRule,
    WelcomeReply,
    TransferRule,
    KfAccount,
    KfOperation,
    KfSession,
    KfWaitCase,
]


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_page_render_for_a_superuser(admin_client, world, model):
    name = model._meta.model_name
    response = admin_client.get(reverse(f"admin:messaging_{name}_changelist"))
    assert response.status_code == 200
    obj = world[2]["mine"]["message" if model is InboundMessage else name]
    response = admin_client.get(reverse(f"admin:messaging_{name}_change", args=[obj.pk]))
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model", [KeywordRule, WelcomeReply, TransferRule, KfAccount], ids=lambda m: m.__name__
)
def test_add_pages_render(admin_client, model):
    name = model._meta.model_name
    assert admin_client.get(reverse(f"admin:messaging_{name}_add")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_staff_only_see_rows_of_their_accounts(client, operator, world, model):
    from django.contrib.auth.models import Permission

    operator.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="messaging", codename__startswith="view_")
    )
    client.force_login(operator)
    name = model._meta.model_name
    key = "message" if model is InboundMessage else name
    mine, theirs = world[2]["mine"][key], world[2]["theirs"][key]
    response = client.get(reverse(f"admin:messaging_{name}_changelist"))
    assert response.status_code == 200
    pks = {obj.pk for obj in response.context["cl"].result_list}
    assert mine.pk in pks and theirs.pk not in pks
    response = client.get(reverse(f"admin:messaging_{name}_change", args=[theirs.pk]))
    assert response.status_code == 403


@pytest.mark.django_db
def test_conversation_view_shows_one_users_messages_and_replies(admin_client):
    account = OfficialAccountFactory()
    message(account, openid="o_a", content="第一条", reply="回复一", days_ago=1, key="1")
    message(account, openid="o_a", content="第二条", reply="回复二", key="2")
    message(account, openid="o_b", content="别人的", key="3")
    response = admin_client.get(reverse("admin:messaging_conversation", args=[account.pk, "o_a"]))
    assert response.status_code == 200
    text = response.content.decode()
    assert text.index("第一条") < text.index("第二条")
    assert "回复二" in text and "别人的" not in text


@pytest.mark.django_db
def test_conversation_of_an_unassigned_account_is_403(client, operator):
    from django.contrib.auth.models import Permission

    operator.user_permissions.add(Permission.objects.get(codename="view_inboundmessage"))
    client.force_login(operator)
    account = OfficialAccountFactory()
    response = client.get(reverse("admin:messaging_conversation", args=[account.pk, "o"]))
    assert response.status_code == 403


@pytest.mark.django_db
def test_message_log_search_and_filter(admin_client):
    first, second = OfficialAccountFactory(), OfficialAccountFactory()
    message(first, openid="o_x", content="退款怎么办", key="a")
    message(second, openid="o_y", content="发货时间", key="b")
    url = reverse("admin:messaging_inboundmessage_changelist")
    found = admin_client.get(url, {"q": "退款"}).context["cl"].result_list
    assert [m.content for m in found] == ["退款怎么办"]
    found = admin_client.get(url, {"account__id__exact": second.pk}).context["cl"].result_list
    assert [m.content for m in found] == ["发货时间"]


@pytest.mark.django_db
def test_kf_add_form_explains_a_bad_prefix(admin_client):
    account = OfficialAccountFactory(kf_enabled=True, certified_until=CERTIFIED, wechat_id="demo_shop")
    response = admin_client.post(
        reverse("admin:messaging_kfaccount_add"),
        {"account": account.pk, "prefix": "bad-prefix", "nickname": "小王"},
    )
    assert response.status_code == 200
    # the admin speaks zh-hans by default: the reason is shown translated
    assert "前缀为 1 到 10 个字母、数字或下划线" in response.content.decode()
    assert not KfAccount.objects.exists()


@pytest.mark.django_db
def test_kf_add_form_requests_the_account_through_a_task(admin_client, django_capture_on_commit_callbacks):
    account = OfficialAccountFactory(kf_enabled=True, certified_until=CERTIFIED, wechat_id="demo_shop")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            reverse("admin:messaging_kfaccount_add"),
            {"account": account.pk, "prefix": "amy", "nickname": "艾米"},
        )
    assert response.status_code == 302
    kf = KfAccount.objects.get()
    assert (kf.kf_account, kf.status) == ("amy@demo_shop", "pending")
    assert KfOperation.objects.get().action == "add"
    # the task is queued only after commit
    assert any("enqueue" in repr(callback) for callback in callbacks)  # core.queueing, after commit


@pytest.mark.django_db
def test_kf_change_form_sends_the_nickname_change(admin_client, django_capture_on_commit_callbacks):
    kf = KfAccountFactory(
        account=OfficialAccountFactory(wechat_id="demo_shop"), kf_account="amy@demo_shop", nickname="艾米"
    )
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(
            reverse("admin:messaging_kfaccount_change", args=[kf.pk]), {"new_nickname": "艾米米"}
        )
    assert response.status_code == 302
    operation = KfOperation.objects.get()
    assert (operation.action, operation.nickname) == ("update", "艾米米")
    kf.refresh_from_db()
    assert kf.nickname == "艾米"  # changed only once WeChat accepts it


@pytest.mark.django_db
def test_transfer_rule_admin_says_why_a_rule_has_no_effect(admin_client, settings):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    TransferRuleFactory(account=OfficialAccountFactory(kf_enabled=False, certified_until=CERTIFIED))
    TransferRuleFactory(account=OfficialAccountFactory(kf_enabled=False, certified_until=None))
    response = admin_client.get(reverse("admin:messaging_transferrule_changelist"))
    text = response.content.decode()
    assert "plug-in is off" in text
    assert "only certified service accounts" in text


@pytest.mark.django_db
def test_dashboard_counts_messages_per_day_for_visible_accounts(rf, operator):
    from django.contrib.auth.models import Permission

    from messaging.daily_counts import message_counts_refresh
    from messaging.dashboard import panels

    operator.user_permissions.add(Permission.objects.get(codename="view_inboundmessage"))
    mine = OfficialAccountFactory(assigned_staff=[operator])
    message(mine, key="t1")
    message(mine, key="t2")
    message(mine, key="y1", days_ago=1)
    message(OfficialAccountFactory(), key="other")
    message_counts_refresh()  # the periodic task that fills the dashboard's rollup
    request = rf.get("/admin/")
    request.user = operator
    summary, chart = panels(request)[:2]  # the conversation workspace's panel follows
    assert summary["items"][0]["value"] == 2
    assert summary["items"][1]["value"] == 3
    assert chart["chart"]["values"][-2:] == [1, 2]
    assert len(chart["chart"]["labels"]) == 14


@pytest.mark.django_db
def test_dashboard_panel_is_hidden_without_permission(rf):
    from messaging.dashboard import panels

    request = rf.get("/admin/")
    request.user = UserFactory()
    assert panels(request) == []


@pytest.mark.django_db
def test_sync_action_on_the_kf_list_requests_one_sync_per_account(
    admin_client, django_capture_on_commit_callbacks
):
    first = OfficialAccountFactory(kf_enabled=True, certified_until=CERTIFIED, wechat_id="a_shop")
    second = OfficialAccountFactory(kf_enabled=True, certified_until=CERTIFIED, wechat_id="b_shop")
    rows = [
        KfAccountFactory(account=first),
        KfAccountFactory(account=first),
        KfAccountFactory(account=second),
    ]
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(
            reverse("admin:messaging_kfaccount_changelist"),
            {"action": "sync_from_wechat", "_selected_action": [kf.pk for kf in rows]},
            follow=True,
        )
    assert response.status_code == 200
    syncs = KfOperation.objects.filter(action="sync")
    assert sorted(syncs.values_list("account_id", flat=True)) == sorted([first.pk, second.pk])


@pytest.mark.django_db
def test_sync_action_on_the_account_list_skips_accounts_without_the_plugin(
    admin_client, django_capture_on_commit_callbacks
):
    enabled = OfficialAccountFactory(kf_enabled=True, certified_until=CERTIFIED)
    disabled = OfficialAccountFactory(kf_enabled=False)
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(
            reverse("admin:accounts_officialaccount_changelist"),
            {"action": "sync_kf_team", "_selected_action": [enabled.pk, disabled.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert list(KfOperation.objects.values_list("account_id", flat=True)) == [enabled.pk]
