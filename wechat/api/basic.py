"""Basic information (基础信息): cgi-bin/getcallbackip, WeChat's callback addresses.

Used to ask WeChat whether one given access token still works, without the client's automatic
token refresh (``WeChatClient.call`` would expire and replace it): the API of issue 27 refreshes
a token on a caller's request only when WeChat says that token is invalid (protocol §a).
"""

from __future__ import annotations

from wechat.client import JSONObject, WeChatClient
from wechat.errors import WeChatError
from wechat.transport import exchange

CALLBACK_IP_API = "/cgi-bin/getcallbackip"


def callback_ip(client: WeChatClient) -> JSONObject:
    """``{"ip_list": [...]}``: the addresses WeChat's callbacks come from."""
    return client.call("GET", CALLBACK_IP_API)


def token_rejected(client: WeChatClient, token: str) -> bool:
    """Whether WeChat rejects ``token`` (40001/40014/42001); other errors are raised."""
    try:
        exchange(
            client.session,
            "GET",
            client.base_url + CALLBACK_IP_API,
            api=CALLBACK_IP_API,
            params={"access_token": token},
            timeout=client.timeout,
        )
    except WeChatError as error:
        if error.is_token_error:
            return True
        raise
    return False
