"""R-MENU-01/R-MENU-02: for every rule, our validator and the sandbox's menu/create agree.

The sandbox is driven over loopback HTTP exactly like WeChat (token, then
menu/create with the JSON body). What one rejects, the other rejects with the
same errcode; what one accepts, the other accepts.
"""

import pytest
import requests

from menus.validation import validate_menu
from menus.wire import wechat_body

from .menu_cases import CASES, CLICK, VIEW

CERTIFIED = "wx00000000000000c1"
UNCERTIFIED = "wx00000000000000c0"


@pytest.fixture
def menu_api(sandbox):
    sandbox.register_app(CERTIFIED, "s" * 32, certified=True)
    sandbox.register_app(UNCERTIFIED, "s" * 32, certified=False)
    tokens = {}
    for appid in (CERTIFIED, UNCERTIFIED):
        answer = requests.get(
            f"{sandbox.base_url}/cgi-bin/token",
            timeout=5,
            params={"grant_type": "client_credential", "appid": appid, "secret": "s" * 32},
        ).json()
        tokens[appid] = answer["access_token"]

    def create(menu: dict, *, certified: bool) -> int:
        appid = CERTIFIED if certified else UNCERTIFIED
        answer = requests.post(
            f"{sandbox.base_url}/cgi-bin/menu/create",
            json=menu,
            timeout=5,
            params={"access_token": tokens[appid]},
        ).json()
        return answer["errcode"]

    return create


@pytest.mark.parametrize(
    ("menu", "certified", "errcode"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_validator_and_sandbox_reject_with_the_same_errcode(menu_api, menu, certified, errcode):
    """R-MENU-01/R-MENU-02: same verdict, same WeChat code, for every rule in the table."""
    ours = [issue.errcode for issue in validate_menu(menu, certified=certified)]
    theirs = menu_api(wechat_body(menu), certified=certified)
    if errcode is None:
        assert ours == [] and theirs == 0
    else:
        assert theirs == errcode
        assert ours == [errcode]


def test_a_menu_the_validator_accepts_is_echoed_back_by_menu_get(menu_api, sandbox):
    menu = {"button": [CLICK, {"name": "菜单", "sub_button": [VIEW]}]}
    assert validate_menu(menu, certified=True) == []
    assert menu_api(menu, certified=True) == 0
    stored = sandbox.state(CERTIFIED)["menu"]["button"]
    assert [b["name"] for b in stored] == ["今日歌曲", "菜单"]
    assert stored[1]["sub_button"][0]["url"] == VIEW["url"]
