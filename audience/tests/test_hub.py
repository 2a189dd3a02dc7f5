"""The account hub's audience section: followers, tags, the last sync and the API quota
(openapi/quota/get), read on demand and after each sync, never while the hub renders."""

from django.urls import reverse

from audience import services


def test_the_hub_shows_the_quota_read_after_a_sync_and_on_demand(client, operator, account, wx):
    client.force_login(operator)
    url = reverse("admin:accounts_officialaccount_hub", args=[account.pk])
    page = client.get(url).content.decode()
    assert "user/get" not in page  # not read yet: the hub made no call
    wx.generate(25)
    services.run_sync(services.start_sync(account=account).pk)
    quotas = services.cached_quotas(account)
    assert quotas["/cgi-bin/user/get"]["used"] == 2  # the page and the empty last page
    assert quotas["/cgi-bin/user/get"]["remain"] == quotas["/cgi-bin/user/get"]["daily_limit"] - 2
    page = client.get(url).content.decode()
    assert "user/get" in page and "25" in page
    wx.sb.app(account.appid).quotas["/cgi-bin/user/info/batchget"] = 3
    assert client.get(reverse("admin:audience_quota", args=[account.pk])).status_code == 200  # a button
    assert client.post(reverse("admin:audience_quota", args=[account.pk])).status_code == 302
    assert services.cached_quotas(account)["/cgi-bin/user/info/batchget"]["remain"] == 2


def test_a_refused_quota_read_is_said_in_words(client, operator, account, wx):
    wx.sb.force_error("/cgi-bin/openapi/quota/get", 76022, times=1, appid=account.appid)
    assert "76022" in services.read_quotas(account)
