"""Issue 23, points 3 and 8: after an ambiguous menu/create (the request was sent, no answer
came back) the menus are read back with menu/get, and the version is recorded published when
WeChat has it; a last failure no longer says the call "will be retried". Real sandbox."""

import pytest

from menus import services
from menus.models import MenuVersion, VersionStatus

MENU = {"button": [{"type": "click", "name": "今日推荐", "key": "TODAY", "reply": "拿铁"}]}
OTHER = {"button": [{"type": "click", "name": "会员中心", "key": "VIP", "reply": "欢迎"}]}


def pending_version(account, operator, data):
    services.draft_save(account=account, data=data, by=operator)
    with pytest.MonkeyPatch.context() as patch:  # the publish view queues after the commit;
        patch.setattr(services, "_enqueue", lambda ids: None)  # here the test sends it itself
        return services.menu_publish(account=account, by=operator)


@pytest.mark.django_db
def test_an_unanswered_create_that_wechat_applied_is_recorded_published(wechat, operator, certified_account):
    wechat(certified_account)
    first = pending_version(certified_account, operator, MENU)
    assert services.version_send(version_id=first.pk, final_attempt=True) == "published"
    again = pending_version(certified_account, operator, MENU)  # WeChat has this set already
    wechat.sandbox.force_error("/cgi-bin/menu/create", "drop", times=5)  # sent, never answered
    assert services.version_send(version_id=again.pk, final_attempt=True) == "published"
    assert MenuVersion.objects.get(pk=again.pk).status == VersionStatus.PUBLISHED


@pytest.mark.django_db
def test_an_unanswered_create_wechat_did_not_apply_fails_without_promising_a_retry(
    wechat, operator, certified_account
):
    wechat(certified_account)
    first = pending_version(certified_account, operator, MENU)
    assert services.version_send(version_id=first.pk, final_attempt=True) == "published"
    other = pending_version(certified_account, operator, OTHER)
    wechat.sandbox.force_error("/cgi-bin/menu/create", "drop", times=5)
    assert services.version_send(version_id=other.pk, final_attempt=True) == "failed"
    version = MenuVersion.objects.get(pk=other.pk)
    assert "retried" not in version.explanation and "重试" not in version.explanation
    assert "重新发布" in version.explanation or "Publish again" in version.explanation
