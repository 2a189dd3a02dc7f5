# ruff: noqa: F811  (the mass-send fixtures are imported here: parameters named after them redefine them)
"""The mass-send pages (issue 25): the send form and its scoped tag picker, the buttons each role
gets, preview, approval with the client's yes, the send page with the month's limit, delete with
a confirmation, the calendar and the hub, all scoped to the staff member's accounts."""

import datetime
import html.parser

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from audience.models import Tag
from content.mass import services
from content.models import Draft, MassKind, MassSend, MassStatus
from content.tests.mass_fixtures import MEDIA, TAG, account, approver, draft, operator, wx  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _pages_in_english(client):
    """The assertions read the English texts (the pages default to Chinese)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def change_url(send):
    return reverse("admin:content_masssend_change", args=[send.pk])


def do_url(send, name):
    return reverse("admin:content_masssend_transition", args=[send.pk, name])


def test_an_operator_prepares_previews_and_submits_but_cannot_approve(client, wx, account, operator, draft):
    client.force_login(operator)
    add = client.post(
        reverse("admin:content_masssend_add"),
        {
            "account": account.pk,
            "title": "十二月活动",
            "kind": MassKind.ARTICLE,
            "draft": draft.pk,
            "media_id": "",
            "text": "",
            "target": "tag",
            "tag": Tag.objects.get(account=account, wechat_id=TAG).pk,
        },
    )
    assert add.status_code == 302, add.context_data["adminform"].form.errors
    send = MassSend.objects.get()
    assert (send.to_all, send.tag_id, send.tag_name, send.created_by) == (False, TAG, "VIP", operator)
    page = client.get(change_url(send)).content.decode()
    assert 'id="mass-preview"' in page and 'id="mass-do-submit"' in page and "mass-do-approve" not in page
    assert (
        client.post(
            reverse("admin:content_masssend_preview", args=[send.pk]), {"towxname": "editor_wang"}
        ).status_code
        == 302
    )
    assert client.post(do_url(send, "submit")).status_code == 302
    send.refresh_from_db()
    assert send.status == MassStatus.AWAITING_APPROVAL
    assert client.get(do_url(send, "approve")).status_code == 403
    assert client.post(do_url(send, "approve"), {"client_confirmation": "ok"}).status_code == 403
    send.refresh_from_db()
    assert send.status == MassStatus.AWAITING_APPROVAL


def test_the_tag_picker_offers_only_the_users_accounts_and_refuses_another_accounts_tag(
    client, wx, account, operator
):
    other = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1), name="别家公众号")
    foreign = Tag.objects.create(account=other, wechat_id=100, name="别家标签")
    client.force_login(operator)
    page = client.get(reverse("admin:content_masssend_add")).content.decode()
    assert "VIP" in page and "别家标签" not in page and "别家公众号" not in page
    refused = client.post(
        reverse("admin:content_masssend_add"),
        {
            "account": account.pk,
            "title": "t",
            "kind": MassKind.TEXT,
            "text": "x",
            "target": "tag",
            "tag": foreign.pk,
        },
    )
    assert refused.status_code == 200 and not MassSend.objects.exists()


def test_the_approver_approves_with_the_clients_yes_and_sends_after_a_confirmation(
    client, wx, account, operator, approver, draft
):
    send = services.mass_create(account=account, by=operator, title="t", kind=MassKind.ARTICLE, draft=draft)
    services.mass_preview(send=send, by=operator, towxname="editor_wang")
    services.mass_submit(send=send, by=operator)
    client.force_login(approver)
    assert 'id="mass-do-approve"' in client.get(change_url(send)).content.decode()
    empty = client.post(do_url(send, "approve"), {"client_confirmation": ""})
    assert empty.status_code == 200
    assert client.post(do_url(send, "approve"), {"client_confirmation": "李经理微信确认"}).status_code == 302
    send.refresh_from_db()
    assert send.status == MassStatus.APPROVED and send.approved_by == approver
    confirm = client.get(do_url(send, "send")).content.decode()
    assert 'id="mass-month-usage"' in confirm and "cannot be called back" in confirm
    assert client.post(do_url(send, "send")).status_code == 302
    send.refresh_from_db()
    assert send.status == MassStatus.SENDING


def test_past_the_limit_the_send_page_warns_and_refuses(client, wx, account, operator, approver, draft):
    for i in range(4):
        MassSend.objects.create(
            account=account,
            title=f"e{i}",
            kind=MassKind.TEXT,
            text="x",
            status=MassStatus.FINISHED,
            called_at=timezone.now(),
        )
    send = services.mass_create(account=account, by=operator, title="t", kind=MassKind.ARTICLE, draft=draft)
    services.mass_preview(send=send, by=operator, towxname="editor_wang")
    services.mass_submit(send=send, by=operator)
    services.mass_approve(send=send, by=approver, client_confirmation="ok")
    client.force_login(approver)
    page = client.get(do_url(send, "send")).content.decode()
    assert 'id="mass-warning"' in page and "WeChat would refuse" in page
    refused = client.post(do_url(send, "send")).content.decode()
    assert 'id="mass-error"' in refused and "Nothing was sent" in refused
    send.refresh_from_db()
    assert send.status == MassStatus.APPROVED and wx.sends() == []


def test_deleting_a_sent_article_asks_first(client, wx, account, operator, approver, draft):
    send = services.mass_create(account=account, by=operator, title="t", kind=MassKind.ARTICLE, draft=draft)
    services.mass_preview(send=send, by=operator, towxname="editor_wang")
    services.mass_submit(send=send, by=operator)
    services.mass_approve(send=send, by=approver, client_confirmation="ok")
    services.mass_send_now(send=send, by=approver)
    services.run_send(send.pk)
    send.refresh_from_db()
    wx.sb.app(account.appid).areas["mass"]["sends"][send.msg_id]["status"] = "SEND_SUCCESS"
    client.force_login(approver)
    asked = client.get(do_url(send, "delete")).content.decode()
    assert "cannot be undone" in asked
    send.refresh_from_db()
    assert send.status == MassStatus.SENT
    assert client.post(do_url(send, "delete"), {"article_idx": "0"}).status_code == 302
    send.refresh_from_db()
    assert send.status == MassStatus.DELETED


def test_another_tenants_send_is_out_of_reach(client, wx, operator):
    other = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1), name="别家公众号")
    foreign = MassSend.objects.create(account=other, title="别家群发", kind=MassKind.TEXT, text="x")
    client.force_login(operator)
    assert "别家群发" not in client.get(reverse("admin:content_masssend_changelist")).content.decode()
    for url in (
        change_url(foreign),
        do_url(foreign, "cancel"),
        reverse("admin:content_masssend_preview", args=[foreign.pk]),
    ):
        assert client.get(url).status_code in (403, 404)
    assert client.post(do_url(foreign, "cancel")).status_code in (403, 404)
    foreign.refresh_from_db()
    assert foreign.status == MassStatus.DRAFT


def test_the_list_searches_and_filters(client, wx, account, operator, draft):
    services.mass_create(account=account, by=operator, title="春节活动", kind=MassKind.TEXT, text="x")
    services.mass_create(account=account, by=operator, title="双十一", kind=MassKind.ARTICLE, draft=draft)
    client.force_login(operator)
    url = reverse("admin:content_masssend_changelist")
    found = client.get(url, {"q": "春节"}).content.decode()
    assert "春节活动" in found and "双十一" not in found
    filtered = client.get(url, {"kind__exact": "mpnews"}).content.decode()
    assert "双十一" in filtered and "春节活动" not in filtered


def test_the_calendar_shows_drafts_and_sends_of_the_users_accounts_only(
    client, wx, account, operator, approver, draft
):
    send = services.mass_create(
        account=account, by=operator, title="排期群发", kind=MassKind.ARTICLE, draft=draft
    )
    at = timezone.now() + datetime.timedelta(days=1)
    MassSend.objects.filter(pk=send.pk).update(status=MassStatus.SCHEDULED, scheduled_at=at)
    other = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1), name="别家公众号")
    Draft.objects.create(account=other, title="别家草稿", media_id=MEDIA)
    client.force_login(operator)
    month = timezone.localtime(at).strftime("%Y-%m")
    page = client.get(reverse("admin:content_calendar"), {"month": month}).content.decode()
    assert ("排期群发" in page and "十二月活动" in page) or timezone.localtime(
        at
    ).month != timezone.localdate().month
    assert "别家草稿" not in page and "别家公众号" not in page
    by_account = client.get(reverse("admin:content_calendar"), {"month": month, "account": account.pk})
    assert by_account.status_code == 200 and "排期群发" in by_account.content.decode()
    by_entity = client.get(reverse("admin:content_calendar"), {"month": month, "entity": account.entity_id})
    assert "排期群发" in by_entity.content.decode()
    assert client.get(reverse("admin:content_calendar"), {"month": "garbage"}).status_code == 200


def test_the_hub_shows_the_accounts_mass_send_state(client, wx, account, operator, draft):
    send = services.mass_create(account=account, by=operator, title="t", kind=MassKind.ARTICLE, draft=draft)
    MassSend.objects.filter(pk=send.pk).update(status=MassStatus.AWAITING_APPROVAL)
    client.force_login(operator)
    page = client.get(reverse("admin:accounts_officialaccount_hub", args=[account.pk])).content.decode()
    assert "Mass sends to all this month" in page and "0 of 4" in page
    assert "Awaiting approval" in page


@pytest.mark.parametrize("name", ["nonsense", "accepted", "start"])
def test_system_and_unknown_transitions_have_no_page(client, wx, account, operator, approver, draft, name):
    send = services.mass_create(account=account, by=operator, title="t", kind=MassKind.ARTICLE, draft=draft)
    client.force_login(approver)
    assert client.get(do_url(send, name)).status_code == 404


def test_the_send_page_reads_in_chinese(client, wx, account, operator, approver, draft):
    send = services.mass_create(account=account, by=operator, title="t", kind=MassKind.ARTICLE, draft=draft)
    services.mass_preview(send=send, by=operator, towxname="editor_wang")
    services.mass_submit(send=send, by=operator)
    services.mass_approve(send=send, by=approver, client_confirmation="ok")
    client.force_login(approver)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(do_url(send, "send")).content.decode()
    assert "本月群发给全部粉丝已用 0 次，上限 4 次" in page and "发出后无法撤回" in page


class _Text(html.parser.HTMLParser):
    """The visible text of a page (no scripts, styles or attributes)."""

    def __init__(self):
        super().__init__()
        self.texts, self._skip, self._stack = [], 0, []

    def handle_starttag(self, tag, attrs):
        icon = "material-symbols" in (dict(attrs).get("class") or "")  # icon names, drawn as glyphs
        # code: identifiers shown to be copied as they are (the walk skips them too)
        self._stack.append(tag in ("script", "style", "template", "code") or icon)
        self._skip += self._stack[-1]

    def handle_endtag(self, tag):
        if self._stack:
            self._skip -= self._stack.pop()

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def test_the_mass_send_pages_show_no_english_in_chinese(client, wx, account, operator, approver, draft):
    """The browser walk's rule (wxadmin/tests/test_walk_browser.py) on the pages of this app,
    without a browser: no English word outside the allowlist and the stored data."""
    from wxadmin.tests.test_walk_browser import ALLOWED, data_words, english_in

    send = services.mass_create(
        account=account, by=operator, title="会员日", kind=MassKind.ARTICLE, draft=draft
    )
    services.mass_preview(send=send, by=operator, towxname="editor_wang")
    services.mass_submit(send=send, by=operator)
    client.force_login(approver)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    urls = [
        reverse("admin:content_masssend_changelist"),
        reverse("admin:content_masssend_add"),
        change_url(send),
        reverse("admin:content_masssend_preview", args=[send.pk]),
        reverse("admin:content_calendar"),
        reverse("admin:accounts_officialaccount_hub", args=[account.pk]),
        *(do_url(send, name) for name in ("approve", "reject", "schedule", "send", "delete", "cancel")),
    ]
    data = data_words()
    problems = {}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            continue
        parser = _Text()
        parser.feed(response.content.decode())
        # the language switcher's codes and the Esc key hint are hidden chrome (innerText skips them)
        found = english_in(parser.texts, ALLOWED | {"zh-hans", "en", "esc"}, data)
        if found:
            problems[url] = found
    assert problems == {}


def test_the_calendar_shows_the_articles_wechat_published(client, account, operator, draft):
    """A published article shows on the day its publish job finished; a failed one does not."""
    from content.models import Publication, PublicationStatus

    now = timezone.now()
    for title, status in (
        ("已发布的文章", PublicationStatus.PUBLISHED),
        ("失败的文章", PublicationStatus.FAILED),
    ):
        Publication.objects.create(account=account, draft=draft, title=title, status=status, finished_at=now)
    client.force_login(operator)
    page = client.get(reverse("admin:content_calendar"), {"month": timezone.localtime(now).strftime("%Y-%m")})
    text = page.content.decode()
    assert "已发布的文章" in text and "失败的文章" not in text
