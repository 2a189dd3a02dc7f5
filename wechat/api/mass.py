"""Mass sends (群发, ``/cgi-bin/message/mass/*``): to all followers or a tag, to a list of OpenIDs,
a preview to one user, the status of a send, deleting a sent article, and the sending speed.

Protocol facts (docs/wechat-protocol.md §h "Mass sends", checked on WeChat's pages
developers.weixin.qq.com/doc/service/guide/product/message/Batch_Sends.html and
…/doc/service/api/notify/message/api_sendall, api_deletemassmsg; the Chinese originals at
…/doc/offiaccount/Message_Management/Batch_Sends_and_Originality_Checks.html):

- ``POST message/mass/sendall`` ``{"filter": {"is_to_all": bool, "tag_id": n}, "msgtype",
  "<msgtype>": {...}, "send_ignore_reprint": 0|1, "clientmsgid"}`` answers ``msg_id`` and, for
  ``mpnews``, ``msg_data_id``. ``mpnews`` takes a draft's ``media_id`` (``draft/add``; the old
  news materials are refused with 45103 since 2022); ``text`` ``{"content"}``; ``image`` and
  ``voice`` a permanent material's ``media_id``.
- ``send_ignore_reprint``: 1 goes on when an article is judged a reprint that its author allows;
  0 stops the send then.
- ``clientmsgid`` (at most 64 bytes, longer → 45067): WeChat refuses a second send with the same
  clientmsgid within 24 hours with 45065 "clientmsgid exist" — the documented way to avoid a
  repeated push. The project sends one fixed clientmsgid per mass send, recorded before the
  call, so a retry after an unknown outcome can never reach followers twice.
- ``POST message/mass/send`` ``{"touser": [openids…]}``: at least 2 OpenIDs (fewer → 40130),
  at most 10,000.
- Service accounts: each follower receives at most **4** mass messages a month (natural month),
  whether sent on the MP website or through the API; past that the send fails for them
  (errcode 45028 "has no masssend quota" when nobody is left). The interface takes at most 60
  requests a minute.
- ``POST message/mass/preview`` ``{"touser": openid}`` or ``{"towxname": WeChat ID}`` (towxname
  wins when both are given); answers ``msg_id``. Previews do not count against the monthly limit.
- ``POST message/mass/get`` ``{"msg_id"}`` answers ``msg_status``: ``SEND_SUCCESS``,
  ``SENDING``, ``SEND_FAIL`` or ``DELETE``.
- ``POST message/mass/delete`` ``{"msg_id", "article_idx"}``: only messages sent successfully
  through the API, only articles (mpnews) and videos; ``article_idx`` 1-based, 0 or absent
  deletes every article. Deleting makes the article page invalid; followers keep the card. The
  API page says a send may be deleted "at any time" after it was sent (no window is documented
  for the API).
- ``message/mass/speed/get`` → ``{"speed": 0..4, "realspeed": n}`` (0 is the fastest, 80w/min);
  ``speed/set`` ``{"speed"}``.
- The outcome is pushed as the ``MASSSENDJOBFINISH`` event: ``MsgID``, ``Status`` ("send
  success", "send fail", "err(num)"), ``TotalCount``, ``FilterCount`` (after filtering, the 4-a-
  month limit among others), ``SentCount``, ``ErrorCount``.
"""

from __future__ import annotations

from typing import Any

from wechat.client import JSONObject, WeChatClient

#: The kinds of message a mass send carries here (videos are not offered).
MSGTYPES = ("mpnews", "text", "image", "voice")
#: Service accounts: mass messages a follower receives per natural month (Beijing time).
MONTHLY_LIMIT_PER_FOLLOWER = 4
CLIENTMSGID_MAX_BYTES = 64
OPENIDS_MIN = 2
OPENIDS_MAX = 10_000
#: WeChat's codes of this area.
NO_MASS_QUOTA = 45028
CLIENTMSGID_EXISTS = 45065
CLIENTMSGID_TOO_LONG = 45067
TOO_FEW_OPENIDS = 40130
#: message/mass/get's statuses.
STATUS_SUCCESS = "SEND_SUCCESS"
STATUS_SENDING = "SENDING"
STATUS_FAIL = "SEND_FAIL"
STATUS_DELETED = "DELETE"


def content_body(msgtype: str, *, media_id: str = "", text: str = "") -> JSONObject:
    """The message part of a body: ``{"msgtype": …, "<msgtype>": {…}}``."""
    if msgtype not in MSGTYPES:
        raise ValueError(f"unsupported mass msgtype {msgtype!r}")
    inner: dict[str, Any] = {"content": text} if msgtype == "text" else {"media_id": media_id}
    return {"msgtype": msgtype, msgtype: inner}


def send_to_all_or_tag(
    client: WeChatClient,
    *,
    msgtype: str,
    media_id: str = "",
    text: str = "",
    tag_id: int | None = None,
    send_ignore_reprint: bool = False,
    clientmsgid: str = "",
) -> JSONObject:
    """message/mass/sendall to every follower (``tag_id`` None) or a tag's; answers
    ``{"msg_id", "msg_data_id"?}``. Never re-sent by the client once it may have reached WeChat."""
    body: JSONObject = {
        "filter": {"is_to_all": True} if tag_id is None else {"is_to_all": False, "tag_id": int(tag_id)},
        **content_body(msgtype, media_id=media_id, text=text),
        "send_ignore_reprint": 1 if send_ignore_reprint else 0,
    }
    if clientmsgid:
        body["clientmsgid"] = clientmsgid
    return client.call("POST", "/cgi-bin/message/mass/sendall", body=body, idempotent=False)


def send_to_openids(
    client: WeChatClient,
    openids: list[str],
    *,
    msgtype: str,
    media_id: str = "",
    text: str = "",
    send_ignore_reprint: bool = False,
    clientmsgid: str = "",
) -> JSONObject:
    """message/mass/send to 2–10,000 OpenIDs; answers ``{"msg_id", "msg_data_id"?}``."""
    body: JSONObject = {
        "touser": list(openids),
        **content_body(msgtype, media_id=media_id, text=text),
        "send_ignore_reprint": 1 if send_ignore_reprint else 0,
    }
    if clientmsgid:
        body["clientmsgid"] = clientmsgid
    return client.call("POST", "/cgi-bin/message/mass/send", body=body, idempotent=False)


def preview(
    client: WeChatClient,
    *,
    msgtype: str,
    media_id: str = "",
    text: str = "",
    towxname: str = "",
    touser: str = "",
) -> JSONObject:
    """message/mass/preview to one user, by WeChat ID (``towxname``) or OpenID (``touser``)."""
    if not towxname and not touser:
        raise ValueError("a preview needs towxname or touser")
    body: JSONObject = {**content_body(msgtype, media_id=media_id, text=text)}
    if towxname:
        body["towxname"] = towxname
    else:
        body["touser"] = touser
    return client.call("POST", "/cgi-bin/message/mass/preview", body=body, idempotent=False)


def status(client: WeChatClient, msg_id: int) -> str:
    """message/mass/get: ``SEND_SUCCESS``, ``SENDING``, ``SEND_FAIL`` or ``DELETE``."""
    answer = client.call("POST", "/cgi-bin/message/mass/get", body={"msg_id": int(msg_id)})
    return str(answer.get("msg_status") or "")


def delete(client: WeChatClient, msg_id: int, *, article_idx: int = 0) -> None:
    """message/mass/delete: ``article_idx`` 0 deletes every article of the send."""
    client.call(
        "POST",
        "/cgi-bin/message/mass/delete",
        body={"msg_id": int(msg_id), "article_idx": int(article_idx)},
    )


def get_speed(client: WeChatClient) -> JSONObject:
    """message/mass/speed/get: ``{"speed": 0..4, "realspeed": n}``."""
    return client.call("POST", "/cgi-bin/message/mass/speed/get", body={})


def set_speed(client: WeChatClient, speed: int) -> None:
    if not 0 <= int(speed) <= 4:
        raise ValueError("speed is 0 to 4")
    client.call("POST", "/cgi-bin/message/mass/speed/set", body={"speed": int(speed)})
