"""Access tokens per account (R-MENU-04): glue, status rows, scheduled refresh, admin.

Everything runs against the wechat sandbox over loopback HTTP and the real
test Redis and PostgreSQL.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import admin as accounts_admin
from accounts.dashboard import token_panels
from accounts.models import AccountTokenStatus, TokenSource
from accounts.services import account_token_refresh, token_refresh_plan
from accounts.tests.factories import OfficialAccountFactory, UserFactory
from accounts.wechat_api import client_for, crypto_for, token_store
from wechat.api import menus
from wechat.errors import WeChatError


@pytest.fixture
def wechat(sandbox, settings, redis_client):
    settings.WECHAT_API_BASE = sandbox.base_url
    return sandbox


@pytest.fixture
def account(wechat):
    account = OfficialAccountFactory()
    wechat.register_app(account.appid, account.appsecret, wechat_id=account.wechat_id)
    return account


def status_of(account) -> AccountTokenStatus:
    return AccountTokenStatus.objects.get(account=account)


@pytest.mark.django_db
def test_client_for_uses_the_sandbox_and_records_token_status(account, wechat):
    menus.current_selfmenu_info(client_for(account))
    status = status_of(account)
    assert status.fetches_today == 1 and status.last_errcode is None
    assert status.source == TokenSource.CLASSIC
    assert status.expires_at - status.fetched_at == datetime.timedelta(seconds=7200)
    assert status.state() == "valid"


@pytest.mark.django_db
def test_client_for_follows_the_accounts_token_source(account, wechat):
    account.token_source = TokenSource.STABLE
    account.save()
    menus.current_selfmenu_info(client_for(account))
    assert wechat.token_fetches(account.appid, "stable") == 1
    assert wechat.token_fetches(account.appid, "classic") == 0


@pytest.mark.django_db
def test_crypto_for_uses_the_accounts_key_and_appid(account):
    crypto = crypto_for(account)
    assert crypto.decrypt(crypto.encrypt("<xml>你好</xml>")) == "<xml>你好</xml>"
    assert crypto.appid == account.appid


@pytest.mark.django_db
def test_r_menu_04_refresh_service_is_idempotent(account, wechat):
    account_token_refresh(account=account)
    account_token_refresh(account=account)
    assert wechat.token_fetches(account.appid) == 1
    account_token_refresh(account=account, force=True)
    assert wechat.token_fetches(account.appid) == 2
    assert status_of(account).fetches_today == 2


@pytest.mark.django_db
def test_whitelist_error_40164_is_recorded_with_what_to_do(account, wechat):
    wechat.register_app(account.appid, account.appsecret, ip_whitelist=["10.9.9.9"])
    with pytest.raises(WeChatError) as caught:
        account_token_refresh(account=account, force=True)
    assert caught.value.errcode == 40164
    status = status_of(account)
    assert status.last_errcode == 40164 and "not in whitelist" in status.last_errmsg
    assert "whitelist" in status.last_error_explanation
    assert status.state() == "failing"


@pytest.mark.django_db
def test_a_later_success_clears_the_error(account, wechat):
    wechat.force_error("/cgi-bin/token", 40125)
    with pytest.raises(WeChatError):
        account_token_refresh(account=account, force=True)
    account_token_refresh(account=account, force=True)
    assert status_of(account).last_errcode is None


@pytest.mark.django_db
def test_token_refresh_plan_selects_accounts_expiring_within_the_window(wechat, settings):
    settings.TOKEN_REFRESH_WINDOW_SECONDS = 900
    settings.TOKEN_REFRESH_SPREAD_SECONDS = 100
    fresh, expiring, never = (OfficialAccountFactory() for _ in range(3))
    now = timezone.now()
    AccountTokenStatus.objects.create(account=fresh, expires_at=now + datetime.timedelta(hours=1))
    AccountTokenStatus.objects.create(account=expiring, expires_at=now + datetime.timedelta(seconds=800))
    plan = token_refresh_plan(now=now)
    assert [pk for pk, _ in plan] == sorted([expiring.pk, never.pk])
    assert [countdown for _, countdown in plan] == [0, 50]  # spread over the 100 s


@pytest.mark.django_db
def test_stable_tokens_are_only_refreshed_in_their_last_five_minutes(wechat, settings):
    settings.TOKEN_REFRESH_WINDOW_SECONDS = 900
    account = OfficialAccountFactory(token_source=TokenSource.STABLE)
    now = timezone.now()
    AccountTokenStatus.objects.create(
        account=account, source=TokenSource.STABLE, expires_at=now + datetime.timedelta(seconds=800)
    )
    assert token_refresh_plan(now=now) == []
    assert [pk for pk, _ in token_refresh_plan(now=now + datetime.timedelta(seconds=600))] == [account.pk]


@pytest.mark.django_db
def test_lasting_errors_back_off_until_credentials_change(wechat, settings):
    settings.TOKEN_ERROR_BACKOFF_SECONDS = 1800
    account = OfficialAccountFactory()
    now = timezone.now()
    AccountTokenStatus.objects.create(
        account=account, last_errcode=40125, last_error_at=now - datetime.timedelta(minutes=5)
    )
    assert token_refresh_plan(now=now) == []
    account.set_credentials(appsecret="ab" * 16)
    account.save()
    assert [pk for pk, _ in token_refresh_plan(now=timezone.now())] == [account.pk]


@pytest.mark.django_db
def test_temporary_errors_do_not_back_off(wechat):
    account = OfficialAccountFactory()
    AccountTokenStatus.objects.create(account=account, last_errcode=-1, last_error_at=timezone.now())
    assert [pk for pk, _ in token_refresh_plan()] == [account.pk]


@pytest.mark.django_db(transaction=True)
def test_r_menu_04_beat_task_run_twice_fetches_once_per_account(sandbox, settings, celery_worker_thread):
    import time

    from accounts.tasks import refresh_expiring_tokens

    settings.WECHAT_API_BASE = sandbox.base_url
    settings.TOKEN_REFRESH_SPREAD_SECONDS = 0
    accounts = [OfficialAccountFactory() for _ in range(3)]
    for a in accounts:
        sandbox.register_app(a.appid, a.appsecret, wechat_id=a.wechat_id)
    first = refresh_expiring_tokens.apply().get()
    second = refresh_expiring_tokens.apply().get()
    assert first == {"due": 3, "queued": 3}
    assert second["queued"] == 0
    deadline = time.monotonic() + 20
    while AccountTokenStatus.objects.filter(expires_at__isnull=False).count() < 3:
        assert time.monotonic() < deadline, "the refresh tasks did not run"
        time.sleep(0.1)
    assert [sandbox.token_fetches(a.appid) for a in accounts] == [1, 1, 1]
    # A third run later finds nothing due: every token is fresh.
    assert refresh_expiring_tokens.apply().get() == {"due": 0, "queued": 0}


@pytest.mark.django_db
def test_refresh_task_is_idempotent_and_returns_no_token(account, wechat):
    from accounts.tasks import refresh_account_token

    first = refresh_account_token.apply(args=(account.pk,)).get()
    second = refresh_account_token.apply(args=(account.pk,)).get()
    token = token_store().cached(account.appid).token
    assert wechat.token_fetches(account.appid) == 1
    assert token not in str(first) and first["account"] == account.pk
    assert second["expires_at"] == first["expires_at"]


@pytest.mark.django_db
def test_refresh_task_gives_up_on_lasting_errors_without_retrying(account, wechat):
    from accounts.tasks import refresh_account_token

    wechat.register_app(account.appid, "f" * 32)
    assert refresh_account_token.apply(args=(account.pk,)).get() == {"account": account.pk, "errcode": 40125}
    assert wechat.state(account.appid)["errors"] == {"40125": 1}


# --- admin ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_token_status_admin_lists_status_without_the_token(admin_client, account, wechat):
    menus.current_selfmenu_info(client_for(account))
    token = token_store().cached(account.appid).token
    response = admin_client.get(reverse("admin:accounts_accounttokenstatus_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert account.appid in html and token not in html
    detail = admin_client.get(
        reverse("admin:accounts_accounttokenstatus_change", args=[status_of(account).pk])
    )
    assert detail.status_code == 200 and token not in detail.content.decode()


@pytest.mark.django_db
def test_token_status_admin_is_scoped_to_assigned_accounts(client, wechat):
    operator = UserFactory(groups=["Operators"])
    mine = OfficialAccountFactory(assigned_staff=[operator])
    other = OfficialAccountFactory()
    AccountTokenStatus.objects.create(account=mine)
    theirs = AccountTokenStatus.objects.create(account=other)
    client.force_login(operator)
    response = client.get(reverse("admin:accounts_accounttokenstatus_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert mine.appid in html and other.appid not in html
    assert (
        client.get(reverse("admin:accounts_accounttokenstatus_change", args=[theirs.pk])).status_code == 403
    )


@pytest.mark.django_db
def test_refresh_token_now_action_on_the_account_list(admin_client, account, wechat):
    wechat.register_app(account.appid, account.appsecret, wechat_id=account.wechat_id)
    url = reverse("admin:accounts_officialaccount_changelist")
    response = admin_client.post(
        url, {"action": "refresh_token_now", "_selected_action": [account.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "已刷新 1 个账号的 access_token。" in response.content.decode()
    assert wechat.token_fetches(account.appid) == 1
    status = status_of(account)
    assert status.last_manual_refresh_by is not None
    listing = admin_client.get(url).content.decode()
    assert "有效" in listing  # the token column, in Chinese by default
    assert token_store().cached(account.appid).token not in listing


@pytest.mark.django_db
def test_refresh_token_now_reports_the_wechat_error_and_what_to_do(admin_client, account, wechat):
    wechat.register_app(account.appid, account.appsecret, ip_whitelist=["10.9.9.9"])
    response = admin_client.post(
        reverse("admin:accounts_officialaccount_changelist"),
        {"action": "refresh_token_now", "_selected_action": [account.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "40164" in html and "白名单" in html  # the UI is in Chinese by default


@pytest.mark.django_db
def test_token_column_in_chinese(admin_client, account, wechat):
    from django.utils import translation

    account_token_refresh(account=account)
    with translation.override("zh-hans"):
        cell = str(accounts_admin.token_column(account))
    assert "有效" in cell and account.appid not in cell


@pytest.mark.django_db
def test_token_panel_counts_only_the_users_accounts(rf, wechat):
    operator = UserFactory(groups=["Operators"])
    mine = OfficialAccountFactory(assigned_staff=[operator])
    OfficialAccountFactory(assigned_staff=[operator])
    other = OfficialAccountFactory()
    AccountTokenStatus.objects.create(account=mine, last_errcode=40164, last_error_at=timezone.now())
    AccountTokenStatus.objects.create(account=other, last_errcode=40125, last_error_at=timezone.now())
    request = rf.get("/admin/")
    request.user = operator
    [panel] = token_panels(request)
    values = {item["label"]: item["value"] for item in panel["items"]}
    assert values == {
        "not fetched yet": 1,
        "valid": 0,
        "expiring soon": 0,
        "expired": 0,
        "last fetch failed": 1,
    }


@pytest.mark.django_db
def test_a_temporary_error_retries_sooner_than_redis_would_hand_the_task_out_again(account, wechat, settings):
    """R-MENU-04: a retry waiting for its countdown sits unacknowledged in Redis; past
    TASK_RETRY_MAX_COUNTDOWN a second worker would get it (the old 15 s × 2ⁿ did: 30, 60 s)."""
    from celery.exceptions import Retry

    from accounts.tasks import refresh_account_token

    for retries in range(refresh_account_token.max_retries):
        wechat.force_error("/cgi-bin/token", -1, times=10)  # system busy, past the client's own tries
        # as a worker runs it (not called directly): retry() queues the next try on the broker
        refresh_account_token.push_request(
            retries=retries,
            id=f"retry-{retries}",
            called_directly=False,
            args=[account.pk],
            kwargs={"force": True},
        )
        try:
            with pytest.raises(Retry) as caught:
                refresh_account_token.run(account.pk, force=True)
        finally:
            refresh_account_token.pop_request()
        assert 0 < caught.value.when <= settings.TASK_RETRY_MAX_COUNTDOWN


@pytest.mark.django_db
def test_refresh_token_now_with_redis_down_says_so_instead_of_a_500(admin_client, account, wechat, settings):
    """Issue 23, point 4: the token store lives in Redis; a refused Redis is said in words."""
    from core.testing.faults import free_port

    wechat.register_app(account.appid, account.appsecret, wechat_id=account.wechat_id)
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = admin_client.post(
        reverse("admin:accounts_officialaccount_changelist"),
        {"action": "refresh_token_now", "_selected_action": [account.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Redis" in response.content.decode()
    assert wechat.token_fetches(account.appid) == 0


@pytest.mark.slow
@pytest.mark.django_db
def test_an_unanswered_fetch_is_said_on_the_token_status_page(admin_client, account, wechat, settings):
    """Issue 23, point 7: the status row says the token is treated as ending early."""
    settings.WECHAT_HTTP_READ_TIMEOUT = 0.5
    wechat.register_app(account.appid, account.appsecret, wechat_id=account.wechat_id)
    account_token_refresh(account=account)
    wechat.force_error("/cgi-bin/token", 0, delay_ms=1500, times=3)  # answered too late
    with pytest.raises(WeChatError):
        account_token_refresh(account=account, force=True)
    status = status_of(account)
    assert status.expires_at <= timezone.now() + datetime.timedelta(seconds=241)
    assert "提前视为失效" in status.last_errmsg  # in Chinese: the stored text of the page
    page = admin_client.get(reverse("admin:accounts_accounttokenstatus_change", args=[status.pk]))
    assert "提前视为失效" in page.content.decode()
