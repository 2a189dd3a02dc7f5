"""The login lockout counts the client's address, not the proxy's (issue 9, behind nginx)."""

import pytest
from django.test import RequestFactory

from accounts.client_ip import client_ip


@pytest.mark.parametrize(
    ("count", "remote", "forwarded", "expected"),
    [
        (0, "127.0.0.1", "203.0.113.9", "127.0.0.1"),  # no proxy declared: the peer
        (1, "127.0.0.1", "203.0.113.9", "203.0.113.9"),  # nginx appended the client
        (1, "127.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # a forged entry on the left
        (2, "10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1", "198.51.100.7"),  # LB + nginx
        (2, "10.0.0.2", "10.0.0.1", "10.0.0.2"),  # fewer entries than proxies: only the peer
        (1, "127.0.0.1", "", "127.0.0.1"),
    ],
)
def test_client_ip_counts_trusted_proxies_from_the_right(settings, count, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/admin/login/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.django_db
def test_behind_nginx_a_lockout_of_one_address_spares_the_others(client, settings):
    """Five failures from one client lock that client's address, not nginx's for everyone."""
    from axes.models import AccessAttempt

    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/admin/login/",
            {"username": "nobody", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}
    other = client.post(
        "/admin/login/",
        {"username": "someone", "password": "wrong"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert other.status_code != 429  # another client behind the same nginx is not locked out
