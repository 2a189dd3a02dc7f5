"""The hub's "WeChat server settings": what to paste into the MP console, with copy buttons (issue 29 §7)."""

import datetime
import logging

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountTokenStatus
from accounts.tests.factories import OfficialAccountFactory
from wechat import crypto

pytestmark = pytest.mark.django_db

TOKEN = "PasteMeToken2026"
AES_KEY = "a" * 43


@pytest.fixture
def account():
    return OfficialAccountFactory(server_token=TOKEN, encoding_aes_key=AES_KEY, message_mode="safe")


def hub(client, account):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("admin:accounts_officialaccount_hub", args=[account.pk]))
    assert response.status_code == 200
    section = next(s for s in response.context["sections"] if s["key"] == "console")
    return response, {item["label"]: item for item in section["items"]}


def reveal_url(account, field):
    return reverse("admin:accounts_officialaccount_credential", args=[account.pk, field])


def test_hub_shows_the_server_url_mode_and_masked_credentials_never_the_secrets(admin_client, account):
    response, items = hub(admin_client, account)
    url = items["Server URL"]["value"]
    assert url == f"http://testserver/wechat/{account.appid}/"
    assert items["Server URL"]["copy_text"] == url
    assert items["Message encryption"]["value"] == "Safe (encrypted)"
    assert items["Token"]["reveal"] == reveal_url(account, "server_token")
    assert items["EncodingAESKey"]["reveal"] == reveal_url(account, "encoding_aes_key")
    html = response.content.decode()
    assert TOKEN not in html and AES_KEY not in html
    assert 'data-copy="http://testserver/wechat/' in html
    assert "wxadmin/copy.js" in html
    # a copy button beside what may be copied, not beside every fact on the page
    assert html.count('class="wx-copy" data-copy=') == 1


def test_site_url_decides_the_host_of_the_server_url(admin_client, account, settings):
    settings.SITE_URL = "https://wx.agency.example/"
    _, items = hub(admin_client, account)
    assert items["Server URL"]["value"] == f"https://wx.agency.example/wechat/{account.appid}/"


def test_url_check_is_reported_once_wechat_reached_us(admin_client, client, account):
    _, items = hub(admin_client, account)
    assert items["URL check"]["tone"] == "warning"
    timestamp, nonce = str(int(timezone.now().timestamp())), "7781"
    signature = crypto.signature(TOKEN, timestamp, nonce)
    answer = client.get(
        f"/wechat/{account.appid}/",
        {"signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": "echo-1"},
    )
    assert answer.content == b"echo-1"
    _, items = hub(admin_client, account)
    assert items["URL check"]["tone"] == "success"
    assert "WeChat reached this server on" in items["URL check"]["value"]


def test_outgoing_addresses_come_from_settings(admin_client, account, settings):
    settings.WECHAT_OUTGOING_IPS = ["203.0.113.7", "203.0.113.8"]
    _, items = hub(admin_client, account)
    assert items["IP whitelist"]["value"] == "203.0.113.7, 203.0.113.8"
    assert items["IP whitelist"]["copy_text"] == "203.0.113.7, 203.0.113.8"


def test_without_settings_the_address_wechat_refused_is_shown(admin_client, account, settings):
    settings.WECHAT_OUTGOING_IPS = []
    _, items = hub(admin_client, account)
    assert items["IP whitelist"]["value"].startswith("Not configured")
    AccountTokenStatus.objects.create(
        account=account,
        fetched_at=timezone.now() - datetime.timedelta(hours=3),
        expires_at=timezone.now() - datetime.timedelta(hours=1),
        last_errcode=40164,
        last_errmsg="invalid ip 198.51.100.23 ipv6 ::ffff:198.51.100.23, not in whitelist",
    )
    _, items = hub(admin_client, account)
    assert items["IP whitelist"]["value"] == "WeChat saw this server as 198.51.100.23"
    assert items["IP whitelist"]["copy_text"] == "198.51.100.23"


def test_reveal_answers_the_credential_to_a_post_only_and_never_caches_it(admin_client, account, caplog):
    # the record is INFO: an earlier test on this worker (Celery's embedded worker sets up
    # logging) may have raised the level, so the test sets the one it reads
    caplog.set_level(logging.INFO, logger="accounts.admin")
    response = admin_client.post(reveal_url(account, "server_token"))
    assert response.status_code == 200
    assert response.json() == {"value": TOKEN}
    assert "no-store" in response["Cache-Control"]
    assert admin_client.post(reveal_url(account, "encoding_aes_key")).json() == {"value": AES_KEY}
    assert TOKEN not in caplog.text and AES_KEY not in caplog.text
    assert "credential server_token of account" in caplog.text
    assert admin_client.get(reveal_url(account, "server_token")).status_code == 405


def test_the_appsecret_is_never_revealed(admin_client, account):
    """It comes from the MP console and goes nowhere: no field but the two the console asks for."""
    assert admin_client.post(reveal_url(account, "appsecret")).status_code == 404


def test_reveal_needs_the_change_permission_and_the_account(client, finance, operator, account):
    account.assigned_staff.add(finance)
    client.force_login(finance)  # may view the account, not change it
    assert client.post(reveal_url(account, "server_token")).status_code == 403
    _, items = hub(client, account)
    assert "reveal" not in items["Token"]
    client.force_login(operator)  # may change accounts, but not this one: not assigned
    assert client.post(reveal_url(account, "server_token")).status_code in (403, 404)
    account.assigned_staff.add(operator)
    assert client.post(reveal_url(account, "server_token")).json() == {"value": TOKEN}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_show_and_copy_reveals_the_token_in_the_browser_and_copies_it(page, live_server, admin_login):
    """The button POSTs with the page's CSRF token, shows the value and puts it on the clipboard."""
    from accounts.tests.factories import UserFactory

    account = OfficialAccountFactory(server_token=TOKEN, encoding_aes_key=AES_KEY)
    boss = UserFactory(is_superuser=True, is_staff=True)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    admin_login(boss.username)
    page.wait_for_url("**/admin/")
    page.goto(f"{live_server.url}{reverse('admin:accounts_officialaccount_hub', args=[account.pk])}")
    assert TOKEN not in page.content()
    section = page.get_by_test_id("hub-section-console")
    section.locator("button[data-reveal*=server_token]").click()
    section.get_by_text(TOKEN).wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == TOKEN
