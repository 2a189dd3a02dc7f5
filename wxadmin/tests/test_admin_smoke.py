"""Every registered admin page renders, in Chinese and in English.

For each model registered on the admin site: the changelist, a search, the add
page (when adding is allowed) and the change page of an existing row (when one
exists after loading the demo data and each app's `admin_smoke_objects`).
"""

import pytest
import redis
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

LANGUAGES = ["zh-hans", "en"]


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def populated(django_db_setup, django_db_blocker):
    """Demo data plus at least one row of each of our models, made through the services
    (and a real callback) where that is how rows come to exist.

    Built once per module (per xdist worker) in a transaction rolled back after the module's
    last test; each test runs in a savepoint of it (pytest-django's `django_db`), like the
    permission matrix. Built for each of the 200-odd items it cost 1–2 s of CPU each (issue 21).
    """
    from django.contrib.auth import get_user_model
    from django.test import Client

    redis_client = redis.Redis.from_url(settings.REDIS_URL)
    redis_client.flushdb()
    with django_db_blocker.unblock(), transaction.atomic():
        admin_user = get_user_model().objects.create_superuser("admin", "admin@example.com", "password")
        call_command("load_demo", verbosity=0)
        call_command("install_schedules", verbosity=0)
        _token_status_rows()
        _menus_rows(admin_user)
        _certification_rows(admin_user)
        _messaging_rows(admin_user, Client())
        _notifications_rows(admin_user)
        _content_rows(admin_user)
        _insights_rows(admin_user)
        yield admin_user
        transaction.set_rollback(True)
    redis_client.flushdb()
    redis_client.close()


def _token_status_rows():
    from django.utils import timezone

    from accounts.models import AccountTokenStatus, OfficialAccount

    for account in OfficialAccount.objects.all():
        AccountTokenStatus.objects.create(
            account=account, fetched_at=timezone.now(), last_errcode=40164, last_errmsg="invalid ip"
        )


def _menus_rows(user):
    from accounts.models import OfficialAccount
    from menus import services

    account = OfficialAccount.objects.get(appid="wxd0000000000000a1")
    menu = {"button": [{"type": "click", "name": "今日推荐", "key": "TODAY", "reply": "示范回复"}]}
    services.draft_save(account=account, data=menu, by=user)
    services.menu_publish(account=account, by=user)  # the task would run after commit
    services.fanout_start(data=menu, accounts=[account], by=user)


def _certification_rows(user):
    import datetime

    from certification.models import Milestone, Notification, OrderStatus, Reminder
    from certification.tests.factories import make_order, review_company

    review_company()
    order = make_order(by=user, until=OrderStatus.IN_REVIEW)
    Reminder.objects.create(order=order, milestone=Milestone.values[0], due_on=datetime.date(2027, 1, 1))
    Notification.objects.create(
        user=user, order=order, milestone=Milestone.values[0], title="示范提醒", body="示范"
    )
    from certification.wechat_events import Push, wechat_event_apply

    wechat_event_apply(account=order.account, push=Push(event="annual_renew", create_time=1_780_000_000))


def _messaging_rows(user, client):
    import time

    from django.utils import timezone

    from accounts.models import OfficialAccount
    from messaging.models import KfOperation, KfSession, KfWaitCase
    from messaging.tests.factories import (
        KeywordRuleFactory,
        KfAccountFactory,
        TransferRuleFactory,
        WelcomeReplyFactory,
    )
    from wechat.crypto import signature

    account = OfficialAccount.objects.get(appid="wxd0000000000000b2")  # plaintext mode
    KeywordRuleFactory(account=account)
    WelcomeReplyFactory(account=account)
    kf = KfAccountFactory(account=account)
    TransferRuleFactory(account=account)
    KfOperation.objects.create(
        account=account, kf=kf, kf_account=kf.kf_account, action="add", requested_by=user
    )
    KfSession.objects.create(
        account=account, openid="oDemoUser", kf_account=kf.kf_account, opened_at=timezone.now()
    )
    KfWaitCase.objects.create(account=account, openid="oDemoUser2", latest_time=timezone.now())
    timestamp, nonce = str(int(time.time())), "12345"
    body = (
        f"<xml><ToUserName><![CDATA[{account.original_id}]]></ToUserName>"
        "<FromUserName><![CDATA[oDemoUser]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[你好]]></Content><MsgId>1234567890</MsgId></xml>"
    )
    query = (
        f"signature={signature(account.server_token, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
    )
    response = client.post(f"/wechat/{account.appid}/?{query}", body, content_type="text/xml")
    assert response.status_code == 200
    from messaging.tests.pushes import flush_log

    flush_log()  # the log row is queued in Redis until a flusher writes it (issue 13)
    from messaging.daily_counts import message_counts_refresh

    message_counts_refresh()  # the dashboard's daily counts, a beat task's work (issue 17)
    # the user wrote, so staff may answer in the conversation workspace (a reply to users)
    from messaging.conversations.services import outbound_send

    outbound_send(
        account=account,
        openid="oDemoUser",
        msg_type="text",
        text="示范回复",
        by=user,
        kf_account=kf.kf_account,
    )


def _notifications_rows(user):
    """A template, the industry, a send awaiting confirmation and its delivery (issue 26)."""
    from accounts.models import OfficialAccount
    from notifications.models import Delivery, Industry, Send, SendStatus, TargetKind, Template

    account = OfficialAccount.objects.get(appid="wxd0000000000000a1")
    Industry.objects.create(account=account, primary="IT科技 / 互联网|电子商务", secondary="交通工具 / 物流")
    template = Template.objects.create(
        account=account,
        template_id="示范模板ID",
        title="订单发货通知",
        content="订单号：{{character_string1.DATA}}\n商品：{{thing2.DATA}}",
        keywords=[["character_string1", "character_string"], ["thing2", "thing"]],
    )
    send = Send.objects.create(
        account=account,
        template=template,
        wechat_template_id=template.template_id,
        template_title=template.title,
        target_kind=TargetKind.CSV,
        status=SendStatus.AWAITING_CONFIRMATION,
        status_note="示范备注",
        bad_rows=[[3, "第 3 行：示范原因"]],
        total=1,
        created_by=user,
    )
    Delivery.objects.create(
        send=send,
        account=account,
        template_id=template.template_id,
        openid="oDemoUser",
        row_number=2,
        data={"character_string1": "SN-1", "thing2": "示范商品"},
    )


def _content_rows(user):
    """Content (issue 25): the library, drafts and publishing; mass sends."""
    _library_rows(user)
    _mass_rows(user)


def _mass_rows(user):
    """A draft and mass sends: awaiting approval, scheduled, finished with WeChat's totals,
    each with its history (issue 25)."""
    import datetime

    from django.utils import timezone

    from accounts.models import OfficialAccount
    from content.models import Draft, MassKind, MassSend, MassSendLog, MassStatus

    account = OfficialAccount.objects.get(appid="wxd0000000000000a1")
    draft = Draft.objects.create(account=account, title="十二月会员日", media_id="示范草稿", created_by=user)
    now = timezone.now()
    for title, status, extra in (
        ("会员日预告", MassStatus.AWAITING_APPROVAL, {"previewed_at": now, "previewed_to": "editor_wang"}),
        ("周末闭馆通知", MassStatus.SCHEDULED, {"scheduled_at": now + datetime.timedelta(days=1)}),
        (
            "十一月月报",
            MassStatus.FINISHED,
            {
                "called_at": now,
                "sent_at": now,
                "msg_id": 1000000001,
                "wechat_status": "send success",
                "total_count": 120,
                "filter_count": 118,
                "sent_count": 117,
                "error_count": 1,
            },
        ),
    ):
        send = MassSend.objects.create(
            account=account,
            title=title,
            kind=MassKind.ARTICLE,
            draft=draft,
            status=status,
            created_by=user,
            client_confirmation="客户李经理微信确认" if status != MassStatus.AWAITING_APPROVAL else "",
            **extra,
        )
        MassSendLog.objects.create(send=send, by=user, action="create", to_status=status, note="示范记录")


def _library_rows(user):
    """A material, a draft with a version and a failed publication (issue 25)."""
    from accounts.models import OfficialAccount
    from content.models import Draft, DraftVersion, Material, Publication

    account = OfficialAccount.objects.get(appid="wxd0000000000000a1")
    cover = Material.objects.create(
        account=account, kind="image", media_id="示范封面ID", name="示范封面.jpg", size=2048, created_by=user
    )
    articles = [
        {
            "title": "示范文章",
            "author": "小编",
            "content": "<p>示范正文</p>",
            "thumb_media_id": cover.media_id,
            "need_open_comment": 1,
        }
    ]
    draft = Draft.objects.create(
        account=account, title="示范文章", articles=articles, article_count=1, created_by=user
    )
    DraftVersion.objects.create(draft=draft, number=1, articles=articles, created_by=user)
    Publication.objects.create(
        account=account,
        draft=draft,
        title="示范文章",
        media_id="示范草稿ID",
        status="failed",
        publish_status=4,
        fail_idx=[1],
        error="内容未通过微信审核（平台审核不通过）。",
        created_by=user,
    )


def _insights_rows(user):
    """A backfill and the sync state of a missing day of WeChat's statistics (issue 28)."""
    import datetime

    from accounts.models import OfficialAccount
    from insights.models import Backfill, DailyFigure, SyncDay

    account = OfficialAccount.objects.get(appid="wxd0000000000000a1")
    day = datetime.date(2026, 12, 1)
    Backfill.objects.create(
        account=account, start=day, end=day, days_total=5, days_missing=1, requested_by=user
    )
    SyncDay.objects.create(
        account=account,
        area="user_summary",
        day=day,
        status="missing",
        errcode=-1,
        attempts=1,
        reason="系统繁忙",
    )
    DailyFigure.objects.create(account=account, day=day, metric="user.cumulate", value=1200, source="wechat")
    from django.core.files.base import ContentFile

    from insights.models import Report

    report = Report(entity=account.entity, month=day.replace(day=1), status="done", size=9)
    report.file.save("walk.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
    report.save()


def test_every_model_of_ours_has_a_row_to_open(populated):
    """Guards the smoke test itself: a change page is only tried when a row exists."""
    ours = {"accounts", "menus", "certification", "messaging", "notifications", "content", "insights"}
    empty = [
        model._meta.label
        for model, _admin in registered()
        if model._meta.app_label in ours and not model._default_manager.exists()
    ]
    assert not empty


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("model", "model_admin"), registered(), ids=[model._meta.label for model, _ in registered()]
)
def test_admin_pages_render(client, populated, model, model_admin, language):
    client.force_login(populated)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    headers = {}
    info = (model._meta.app_label, model._meta.model_name)
    changelist = reverse("admin:{}_{}_changelist".format(*info))
    assert client.get(changelist, **headers).status_code == 200
    if model_admin.search_fields:
        assert client.get(changelist, {"q": "示范"}, **headers).status_code == 200
    request_user_can_add = model_admin.has_add_permission(_request(populated))
    if request_user_can_add:
        assert client.get(reverse("admin:{}_{}_add".format(*info)), **headers).status_code == 200
    obj = model._default_manager.order_by("pk").first()
    if obj is not None:
        url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
        # some change pages lead on to a custom page (a menu to its editor): follow it
        assert client.get(url, follow=True, **headers).status_code == 200


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


def test_dashboard_renders_in_chinese_by_default(client, populated):
    client.force_login(populated)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "待处理事项" in response.content.decode()
    # the browser's Accept-Language does not switch the language; the switcher's cookie does
    browser_in_english = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en")
    assert "待处理事项" in browser_in_english.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("admin:index"))
    assert "What needs attention" in english.content.decode()


def test_language_switcher_sets_english(client, populated):
    client.force_login(populated)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    assert response.status_code == 302
    page = client.get(reverse("admin:index"))
    assert "What needs attention" in page.content.decode()


def test_demo_account_list_shows_demo_accounts_in_chinese(client, populated):
    client.force_login(populated)
    response = client.get(reverse("admin:accounts_officialaccount_changelist"))
    text = response.content.decode()
    assert "微行示范服务号" in text and "微行示范客服号" in text
    assert "公众号" in text
