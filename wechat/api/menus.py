"""Custom menus (自定义菜单): the default menu, conditional menus, trymatch."""

from __future__ import annotations

from wechat.client import JSONObject, WeChatClient


def create(client: WeChatClient, menu: JSONObject) -> None:
    """Replace the default menu (idempotent: the whole menu is sent every time)."""
    client.call("POST", "/cgi-bin/menu/create", body=menu)


def get(client: WeChatClient) -> JSONObject:
    """The API-set menu; raises WeChatError 46003 when there is none."""
    return client.call("GET", "/cgi-bin/menu/get")


def delete(client: WeChatClient) -> None:
    client.call("GET", "/cgi-bin/menu/delete")


def current_selfmenu_info(client: WeChatClient) -> JSONObject:
    """get_current_selfmenu_info: the menu users see, set by the API or on the website."""
    return client.call("GET", "/cgi-bin/get_current_selfmenu_info")


def add_conditional(client: WeChatClient, menu: JSONObject) -> str:
    """Add a conditional menu (``{"button": [...], "matchrule": {...}}``); its menuid."""
    return str(client.call("POST", "/cgi-bin/menu/addconditional", body=menu, idempotent=False)["menuid"])


def delete_conditional(client: WeChatClient, menuid: str) -> None:
    client.call("POST", "/cgi-bin/menu/delconditional", body={"menuid": str(menuid)})


def try_match(client: WeChatClient, user_id: str) -> JSONObject:
    return client.call("POST", "/cgi-bin/menu/trymatch", body={"user_id": user_id})
