"""Login throttling (django-axes, issue 9): a handful of failures locks the username and the
address for a cool-off, with a Chinese message; an administrator can unlock earlier."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-123"
LOGIN = "/admin/login/"


def log_in(client, username, password, address="10.0.0.1"):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username, times, address="10.0.0.1"):
    """Wrong passwords; the one reaching the limit already answers 429 (locked)."""
    for attempt in range(1, times + 1):
        status = log_in(client, username, "wrong-password", address).status_code
        assert status == (429 if attempt >= settings.AXES_FAILURE_LIMIT else 200)
        assert not logged_in(client)


def test_right_password_is_refused_after_a_handful_of_failures_with_a_chinese_message(client):
    user = UserFactory(groups=["Operators"])
    fail(client, user.username, settings.AXES_FAILURE_LIMIT)
    response = log_in(client, user.username, PASSWORD)  # the 75-guesses attack ends here
    assert response.status_code == 429
    assert not logged_in(client)
    html = response.content.decode()
    assert "登录失败次数过多" in html and "15" in html and 'id="login-form"' in html


def test_below_the_limit_the_right_password_still_logs_in(client):
    user = UserFactory()
    fail(client, user.username, settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(client, user.username, PASSWORD).status_code == 302
    assert logged_in(client)


def test_the_lock_follows_the_username_to_another_address(client):
    user = UserFactory()
    fail(client, user.username, settings.AXES_FAILURE_LIMIT, address="10.0.0.1")
    assert log_in(client, user.username, PASSWORD, address="10.9.9.9").status_code == 429


def test_one_address_guessing_many_usernames_is_locked_too(client):
    for number in range(settings.AXES_FAILURE_LIMIT):  # a new username each time
        log_in(client, f"nobody-{number}", "wrong-password")
    user = UserFactory()
    assert log_in(client, user.username, PASSWORD).status_code == 429
    assert log_in(client, user.username, PASSWORD, address="10.0.0.2").status_code == 302


def test_the_lock_lifts_after_the_cooloff(client):
    user = UserFactory()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(client, user.username, settings.AXES_FAILURE_LIMIT)
        assert log_in(client, user.username, PASSWORD).status_code == 429
        # (each refused try restarts the cool-off, so wait it out in one go)
        clock.shift(settings.AXES_COOLOFF_TIME + datetime.timedelta(seconds=30))
        assert log_in(client, user.username, PASSWORD).status_code == 302


def test_an_installation_operator_unlocks_from_the_admin(client):
    """Lockouts are installation-wide (issue 22 §2): a company's Administrator cannot see them."""
    from axes.models import AccessAttempt
    from django.contrib.auth.models import Permission

    user = UserFactory()
    fail(client, user.username, settings.AXES_FAILURE_LIMIT)
    assert log_in(client, user.username, PASSWORD).status_code == 429
    attempts = list(AccessAttempt.objects.filter(username=user.username))
    assert attempts
    installation_operator = UserFactory()
    installation_operator.user_permissions.add(Permission.objects.get(codename="operate_installation"))
    changelist = reverse("admin:axes_accessattempt_changelist")
    action = {"action": "unlock", "_selected_action": [a.pk for a in attempts]}
    for role in ("Operators", "Administrators"):
        client.force_login(UserFactory(groups=[role]))
        assert client.get(changelist).status_code == 403
        assert client.post(changelist, action).status_code == 403
    assert AccessAttempt.objects.filter(username=user.username).exists()
    client.force_login(installation_operator)
    page = client.get(changelist)
    assert page.status_code == 200 and user.username in page.content.decode()
    assert client.post(changelist, action).status_code == 302
    assert not AccessAttempt.objects.filter(username=user.username).exists()
    client.logout()
    assert log_in(client, user.username, PASSWORD).status_code == 302


def test_an_attackers_own_logins_do_not_reset_guesses_at_another_username(client):
    """Issue 22 §1: 4 wrong guesses at a victim, then the attacker's own correct login,
    repeated. A success clears only that username's attempts, so the victim locks."""
    victim = UserFactory(groups=["Operators"])
    attacker = UserFactory(groups=["Operators"])
    statuses = []
    for _round in range(3):
        statuses.extend(
            log_in(client, victim.username, "wrong-password").status_code
            for _guess in range(settings.AXES_FAILURE_LIMIT - 1)
        )
        log_in(client, attacker.username, PASSWORD)
        client.logout()
    assert 429 in statuses
    # the victim's real password is refused from the attacker's address and from any other
    assert log_in(client, victim.username, PASSWORD).status_code == 429
    assert log_in(client, victim.username, PASSWORD, address="10.7.7.7").status_code == 429


def test_a_success_clears_that_usernames_attempts_only(client):
    from axes.models import AccessAttempt

    user, other = UserFactory(), UserFactory()
    fail(client, user.username, settings.AXES_FAILURE_LIMIT - 2)
    fail(client, other.username, 1)
    assert log_in(client, user.username, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username=user.username).exists()
    assert AccessAttempt.objects.filter(username=other.username).exists()
