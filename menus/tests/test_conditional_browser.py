"""In a real browser: add a conditional menu beside the default one, build it and give it a
match rule, see a refused rule explained, publish the set through a Celery worker, and ask
menu/trymatch which menu a user gets (docs/wechat-protocol.md §b)."""

import datetime

import pytest

from accounts.tests.factories import OfficialAccountFactory, UserFactory

from .test_editor_browser import ARTIFACTS

USER = "oAndroidUser000000000001"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_build_publish_and_try_a_conditional_menu_in_the_browser(
    page, live_server, admin_login, celery_worker_thread, wechat
):
    user = UserFactory(username="menu-editor", groups=["Operators"])
    account = OfficialAccountFactory(
        assigned_staff=[user], name="示例咖啡", certified_until=datetime.date(2099, 1, 1)
    )
    wechat(account)
    admin_login("menu-editor")
    page.goto(f"{live_server.url}/admin/menus/menu/account/{account.pk}/editor/")
    page.get_by_test_id("phone-preview").wait_for()

    page.get_by_test_id("add-button").click()
    page.get_by_test_id("field-name").fill("今日推荐")
    page.get_by_test_id("field-key").fill("TODAY")

    page.get_by_test_id("add-conditional").click()  # starts as a copy of the default
    assert page.get_by_test_id("menu-tab-0").get_attribute("class").count("me-sel")
    page.get_by_test_id("field-name").fill("安卓专享")
    page.get_by_test_id("field-key").fill("ANDROID")
    assert page.get_by_test_id("preview-button-0").inner_text() == "安卓专享"
    # an empty rule, then a privacy field: explained with the code WeChat would answer
    page.get_by_test_id("rule-errors").get_by_text("65304").wait_for()
    page.locator("details.me-set-legacy summary").click()
    page.get_by_test_id("rule-sex").select_option("1")
    page.get_by_test_id("rule-errors").get_by_text("65320").wait_for()
    page.get_by_test_id("rule-sex").select_option("")
    page.get_by_test_id("rule-client_platform_type").select_option("2")
    page.wait_for_function("() => document.querySelector('[data-testid=issues]').children.length === 0")

    page.get_by_test_id("menu-tab-default").click()
    assert page.get_by_test_id("preview-button-0").inner_text() == "今日推荐"

    page.get_by_test_id("publish").click()
    page.wait_for_function(
        "() => document.getElementById('menu-editor').dataset.lastStatus === 'published'", timeout=30_000
    )
    state = wechat.sandbox.state(account.appid)
    assert state["menu"]["button"][0]["name"] == "今日推荐"
    assert [(m["button"][0]["name"], m["matchrule"]) for m in state["conditional_menus"]] == [
        ("安卓专享", {"client_platform_type": "2"})
    ]

    wechat.sandbox.set_user(account.appid, USER, client_platform_type="2")
    page.get_by_test_id("trymatch-user").fill(USER)
    page.get_by_test_id("trymatch").click()
    result = page.get_by_test_id("trymatch-result")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=trymatch-result]').dataset.matched === '0'"
    )
    assert "安卓专享" in result.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "menu-editor-conditional.png"), full_page=True)
