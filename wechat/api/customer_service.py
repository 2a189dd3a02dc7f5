"""Customer service (客服): agent accounts and sessions.

The lists are under ``/cgi-bin/customservice/``, the rest under ``/customservice/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wechat.client import JSONObject, WeChatClient

if TYPE_CHECKING:
    from _typeshed import SupportsRead


def list_accounts(client: WeChatClient) -> list[JSONObject]:
    accounts: list[JSONObject] = client.call("GET", "/cgi-bin/customservice/getkflist").get("kf_list", [])
    return accounts


def list_online(client: WeChatClient) -> list[JSONObject]:
    online: list[JSONObject] = client.call("GET", "/cgi-bin/customservice/getonlinekflist").get(
        "kf_online_list", []
    )
    return online


def add_account(client: WeChatClient, kf_account: str, nickname: str) -> None:
    client.call(
        "POST",
        "/customservice/kfaccount/add",
        body={"kf_account": kf_account, "nickname": nickname},
        idempotent=False,
    )


def update_account(client: WeChatClient, kf_account: str, nickname: str) -> None:
    client.call(
        "POST", "/customservice/kfaccount/update", body={"kf_account": kf_account, "nickname": nickname}
    )


def delete_account(client: WeChatClient, kf_account: str) -> None:
    client.call("POST", "/customservice/kfaccount/del", body={"kf_account": kf_account}, idempotent=False)


def upload_avatar(
    client: WeChatClient, kf_account: str, fileobj: SupportsRead[bytes] | bytes, filename: str
) -> None:
    content = fileobj.read() if hasattr(fileobj, "read") else bytes(fileobj)
    client.call(
        "POST",
        "/customservice/kfaccount/uploadheadimg",
        params={"kf_account": kf_account},
        files={"media": (filename, content, "image/jpeg")},
    )


def invite_worker(client: WeChatClient, kf_account: str, invite_wx: str) -> None:
    client.call(
        "POST",
        "/customservice/kfaccount/inviteworker",
        body={"kf_account": kf_account, "invite_wx": invite_wx},
        idempotent=False,
    )


def create_session(client: WeChatClient, kf_account: str, openid: str) -> None:
    client.call("POST", "/customservice/kfsession/create", body={"kf_account": kf_account, "openid": openid})


def close_session(client: WeChatClient, kf_account: str, openid: str) -> None:
    client.call(
        "POST",
        "/customservice/kfsession/close",
        body={"kf_account": kf_account, "openid": openid},
        idempotent=False,
    )


def get_session(client: WeChatClient, openid: str) -> JSONObject:
    return client.call("GET", "/customservice/kfsession/getsession", params={"openid": openid})


def list_sessions(client: WeChatClient, kf_account: str) -> list[JSONObject]:
    sessions: list[JSONObject] = client.call(
        "GET", "/customservice/kfsession/getsessionlist", params={"kf_account": kf_account}
    ).get("sessionlist", [])
    return sessions


def wait_cases(client: WeChatClient) -> JSONObject:
    return client.call("GET", "/customservice/kfsession/getwaitcase")
