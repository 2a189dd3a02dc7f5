"""The editor in a real browser: build a 3-button menu with sub-buttons, see the preview,
publish through a real Celery worker, and find the menu in the sandbox's state endpoint."""

import datetime
from pathlib import Path

import pytest
import requests

from accounts.tests.factories import OfficialAccountFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def fill_selected(page, name, *, kind=None, **fields):
    page.get_by_test_id("field-name").fill(name)
    if kind:
        page.get_by_test_id("field-type").select_option(kind)
    for field, value in fields.items():
        page.get_by_test_id(f"field-{field}").fill(value)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_build_preview_and_publish_a_menu_in_the_browser(
    page, live_server, admin_login, celery_worker_thread, wechat, settings
):
    """R-MENU-01 (3 buttons, sub-buttons), R-MENU-02 (click reply in the preview),
    R-MENU-03 (published through the API, with the 24-hour note)."""
    user = UserFactory(username="menu-editor", groups=["Operators"])
    account = OfficialAccountFactory(
        assigned_staff=[user], name="示例咖啡", certified_until=datetime.date(2099, 1, 1)
    )
    wechat(account)
    # The callback base is configured, never taken from the request's Host (issue 9).
    settings.WECHAT_SIMULATE_CALLBACK_BASE = wechat.sandbox.callback_base = live_server.url

    admin_login("menu-editor")
    page.goto(f"{live_server.url}/admin/menus/menu/account/{account.pk}/editor/")
    page.get_by_test_id("phone-preview").wait_for()

    add = page.get_by_test_id("add-button")
    # button 1: a click button with a reply
    add.click()
    fill_selected(page, "今日推荐", kind="click", key="TODAY", reply="今天推荐拿铁")
    # button 2: a parent with two sub-buttons
    add.click()
    page.get_by_test_id("add-sub-1").click()
    fill_selected(page, "官网", kind="view", url="https://example.com/")
    page.get_by_test_id("add-sub-1").click()
    fill_selected(page, "门店位置", kind="location_select")
    # button 3: a parent with one sub-button
    add.click()
    page.get_by_test_id("add-sub-2").click()
    fill_selected(page, "扫一扫", kind="scancode_push")
    page.get_by_test_id("tree-1").click()
    fill_selected(page, "关于我们")
    page.get_by_test_id("tree-2").click()
    fill_selected(page, "工具")
    assert add.is_disabled()  # R-MENU-01: no fourth top-level button

    # the preview follows: three slots, the sub-menu pops up on click
    for i, label in enumerate(["今日推荐", "关于我们", "工具"]):
        assert label in page.get_by_test_id(f"preview-button-{i}").inner_text()
    page.get_by_test_id("preview-button-1").click()
    assert page.get_by_test_id("preview-sub-1-0").inner_text() == "官网"
    assert page.get_by_test_id("preview-sub-1-1").inner_text() == "门店位置"
    # the byte counter counts UTF-8 bytes: 4 Chinese characters = 12 of 16 bytes
    page.get_by_test_id("tree-0").click()
    assert "12 / 16" in page.get_by_test_id("count-name").inner_text()
    # a name over 16 bytes is flagged by the server-side validator with its errcode
    page.get_by_test_id("field-name").fill("今日推荐今日推荐")
    page.get_by_test_id("issues").get_by_text("40018").wait_for()
    page.get_by_test_id("field-name").fill("今日推荐")
    page.wait_for_function("() => document.querySelector('[data-testid=issues]').children.length === 0")

    ARTIFACTS.mkdir(exist_ok=True)
    page.get_by_test_id("preview-button-1").click()
    page.screenshot(path=str(ARTIFACTS / "menu-editor.png"), full_page=False)

    page.get_by_test_id("publish").click()
    page.wait_for_function(
        "() => document.getElementById('menu-editor').dataset.lastStatus === 'published'", timeout=30_000
    )
    assert "24" in page.get_by_test_id("status").inner_text()  # R-MENU-03 note

    # the phone preview plays a user tapping the published click button: the sandbox
    # calls our callback, which answers with the button's reply (R-MENU-02)
    page.get_by_test_id("preview-button-0").click()
    page.get_by_test_id("reply-bubble").filter(has_text="今天推荐拿铁").wait_for()

    state = requests.get(f"{wechat.sandbox.base_url}/sandbox/state/{account.appid}", timeout=5).json()
    buttons = state["menu"]["button"]
    assert [b["name"] for b in buttons] == ["今日推荐", "关于我们", "工具"]
    assert buttons[0]["type"] == "click" and buttons[0]["key"] == "TODAY"
    assert [s["name"] for s in buttons[1]["sub_button"]] == ["官网", "门店位置"]
    assert buttons[1]["sub_button"][1]["key"]  # generated because it was left blank
    assert buttons[2]["sub_button"][0]["type"] == "scancode_push"

    # issue 12: the versions table follows the publication without a reload
    page.get_by_test_id("versions").locator("tbody tr td").first.filter(has_text="1").wait_for()
    # compare: phones side by side; the blank key generated at publishing is no difference,
    # and the page stays within the window
    page.get_by_test_id("compare").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=compare-remote-verdict]').dataset.differs === '0'"
    )
    assert page.get_by_test_id("compare-live-verdict").get_attribute("data-differs") == "0"
    assert page.get_by_test_id("compare-remote").locator(".me-cmp-slot").count() == 3
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    page.get_by_test_id("tree-0").click()
    fill_selected(page, "今日特价")
    page.get_by_test_id("compare").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=compare-remote-verdict]').dataset.differs === '1'"
    )
    page.set_viewport_size({"width": 1440, "height": 1350})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "menu-editor-compare.png"))
    # import: the dialog sits in the middle of the window and shows its own error
    page.get_by_test_id("import").click()
    page.get_by_test_id("import-text").fill("{not json")
    page.get_by_test_id("import-go").click()
    page.get_by_test_id("import-error").locator("p").first.wait_for()
    box = page.locator("#me-import-dialog").bounding_box()
    viewport = page.viewport_size
    assert abs((box["x"] + box["width"] / 2) - viewport["width"] / 2) < 20
    assert box["y"] > 20
