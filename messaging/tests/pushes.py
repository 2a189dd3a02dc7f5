"""Build pushes the way WeChat does: XML, signatures, encryption per mode."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from wechat.crypto import MessageCrypto, signature
from wechat.messages import parse_xml

OPENID = "oUser1234567890abcdefghijklm"


def text_xml(
    account,
    content: str,
    *,
    msg_id: int = 1234567890123456,
    openid: str = OPENID,
    create_time: int | None = None,
) -> str:
    created = int(time.time()) if create_time is None else create_time
    return (
        f"<xml><ToUserName><![CDATA[{account.original_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(
    account,
    event: str,
    *,
    key: str = "",
    openid: str = OPENID,
    create_time: int | None = None,
    extra: str = "",
) -> str:
    created = int(time.time()) if create_time is None else create_time
    return (
        f"<xml><ToUserName><![CDATA[{account.original_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        f"{extra}</xml>"
    )


def signed_query(
    account,
    *,
    timestamp: str | None = None,
    nonce: str = "1514711492",
    encrypt: str | None = None,
    openid: str = OPENID,
) -> dict:
    timestamp = timestamp or str(int(time.time()))
    query = {
        "signature": signature(account.server_token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
    }
    if encrypt is not None:
        query["encrypt_type"] = "aes"
        query["msg_signature"] = signature(account.server_token, timestamp, nonce, encrypt)
    return query


def build_push(
    account,
    xml: str,
    *,
    mode: str | None = None,
    timestamp: str | None = None,
    nonce: str = "1514711492",
    appid: str | None = None,
) -> tuple[str, bytes]:
    """(query string, body) for a push in `mode` (default: the account's)."""
    mode = mode or account.message_mode
    if mode == "plaintext":
        return urlencode(signed_query(account, timestamp=timestamp, nonce=nonce)), xml.encode()
    crypto = MessageCrypto(account.server_token, account.encoding_aes_key, appid or account.appid)
    encrypt = crypto.encrypt(xml)
    if mode == "compatible":
        body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    else:
        body = (
            f"<xml><ToUserName><![CDATA[{account.original_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
    query = signed_query(account, timestamp=timestamp, nonce=nonce, encrypt=encrypt)
    return urlencode(query), body.encode()


def open_reply(account, body: bytes | str) -> dict | None:
    """The reply as fields: decrypts an encrypted envelope (checking its signature)."""
    text = body.decode() if isinstance(body, bytes) else body
    if text == "success" or not text:
        return None
    data = parse_xml(text)
    if "Encrypt" in data:
        crypto = MessageCrypto(account.server_token, account.encoding_aes_key, account.appid)
        inner = crypto.decrypt_message(
            data["Encrypt"],
            msg_signature=data["MsgSignature"],
            timestamp=data["TimeStamp"],
            nonce=data["Nonce"],
        )
        return parse_xml(inner)
    return data


def flush_log(**kwargs) -> int:
    """Write the queued message-log rows now (web processes run a flusher thread instead)."""
    from messaging.log_queue import flush

    return flush(**kwargs)
