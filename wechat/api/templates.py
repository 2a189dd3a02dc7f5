"""Template messages (模板消息): the account's templates, its industry, sending one message,
and the members of a tag (whom a send "to a tag" reaches).

Protocol facts (docs/wechat-protocol.md §h "Template messages"; checked on WeChat's page
developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html):

- ``GET /cgi-bin/template/get_all_private_template`` answers ``template_list``: each with
  ``template_id``, ``title``, ``primary_industry``, ``deputy_industry``, ``content``
  (``{{thing1.DATA}}`` placeholders) and ``example``.
- ``POST /cgi-bin/template/api_add_template`` with ``template_id_short`` (and, for a category
  template, ``keyword_name_list``; an unknown keyword → 40246) answers ``template_id``.
  Adding is not idempotent: a retry could add the template twice.
- ``POST /cgi-bin/template/del_private_template`` with ``template_id``.
- ``GET /cgi-bin/template/get_industry`` answers ``primary_industry`` and
  ``secondary_industry``, each ``{first_class, second_class}``.
- ``POST /cgi-bin/message/template/send`` with ``touser``, ``template_id``, ``data``
  (``{"thing1": {"value": "…"}}``), optional ``url`` or ``miniprogram`` {``appid``,
  ``pagepath``}; answers ``msgid``. (A ``client_msg_id`` de-duplication field is reported
  by users but was not found on the official page [?]: the project does not rely on it.)
  An unknown template → 40037, a non-follower → 40003, an empty
  value → 47003; 43004 the user does not follow (or unsubscribed), 43019 the user blocked
  the account. Sending is not idempotent.
- ``POST /cgi-bin/user/tag/get`` with ``tagid`` and ``next_openid``: a tag's followers,
  10,000 a page (``count``, ``data.openid``, ``next_openid``; §h "Tags").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, cast

from wechat.client import JSONObject, WeChatClient

#: ``{{thing1.DATA}}`` in a template's content: the keyword's name and its kind ("thing").
PLACEHOLDER = re.compile(r"\{\{\s*(?P<name>(?P<kind>[a-z_]+?)\d*)\.DATA\s*\}\}")

#: Fields WeChat stopped displaying in 2023 (§h): a send must not fill them.
RETIRED_FIELDS = frozenset({"first", "remark"})

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff"
_SYMBOL = r"[^\w\s" + _HAN + r"]|_"  # not Chinese, a letter or a digit, nor a control char
_DATE = r"(\d{2,4}[年/.-])?\d{1,2}[月/.-]\d{1,2}日?|\d{2,4}[年/.-]\d{1,2}月?"
_CLOCK = r"\d{1,2}:\d{2}(:\d{2})?"


def _is_symbols(value: str) -> bool:
    return all(re.fullmatch(_SYMBOL, ch) for ch in value)


def _date_or_time(value: str, *, time_first: bool) -> bool:
    """One date/time or a range "a~b"; a time is HH:MM[:SS], a date y年m月d日, y-m-d …"""
    one = rf"({_DATE})(\s*{_CLOCK})?" if not time_first else rf"(({_DATE})\s*)?{_CLOCK}"
    return all(re.fullmatch(one, part.strip()) for part in value.split("~"))


def keyword_problem(kind: str, value: str) -> str | None:
    """Why WeChat would refuse ``value`` for a keyword of this kind (47003), or None.

    WeChat's table "类目模板消息 · 参数值内容限制" (developers.weixin.qq.com/doc/offiaccount/
    Message_Management/Template_Message_Interface.html#类目模板消息, the same table as the
    subscription messages' send page): thing ≤ 20 characters; number ≤ 32 digits, may have a
    decimal point; letter ≤ 32 letters; symbol ≤ 5 symbols; character_string ≤ 32 digits,
    letters or symbols; time 24-hour HH:MM[:SS], a date may come first, a range joined by
    "~"; date y年m月d日 (or joined by - / .), a time may follow, a range joined by "~";
    amount one currency sign + ≤ 10 digits, may have decimals, may end in 元; phone_number
    ≤ 17 digits and symbols; car_number ≤ 8, the first and last may be Chinese, the rest
    letters or digits; name ≤ 10 Chinese characters or ≤ 20 letters/symbols (mixed counts
    as Chinese); phrase ≤ 5 Chinese characters only (confirmed by WeChat's staff on the
    developers' forum); enum one of the template's values (not checkable here). A control
    character (a line break) is refused everywhere. Kinds the table does not name (the
    classic ``keyword1``) are checked for emptiness and a 200-character cap only [?].
    The answers are codes the caller translates: "empty", "too_long", "format".
    """
    if not value or not value.strip():
        return "empty"
    if any(ord(ch) < 32 for ch in value):
        return "format"
    limits = {
        "thing": 20,
        "number": 32,
        "letter": 32,
        "symbol": 5,
        "character_string": 32,
        "phone_number": 17,
        "car_number": 8,
        "phrase": 5,
        "time": 64,
        "date": 64,
        "amount": 14,
    }
    if kind == "name":
        han = bool(re.search(f"[{_HAN}]", value))
        if len(value) > (10 if han else 20):
            return "too_long"
        ok = re.fullmatch(f"[{_HAN}A-Za-z·. ]+", value) if han else re.fullmatch(r"[A-Za-z\W_]+", value)
        return None if ok else "format"
    limit = limits.get(kind, 200)
    if len(value) > limit:
        return "too_long"
    checks: dict[str, Callable[[str], object]] = {
        "number": lambda v: re.fullmatch(r"-?\d+(\.\d+)?", v),
        "letter": lambda v: re.fullmatch(r"[A-Za-z]+", v),
        "symbol": _is_symbols,
        "character_string": lambda v: all(ch.isascii() and (ch.isalnum() or _is_symbols(ch)) for ch in v),
        "time": lambda v: _date_or_time(v, time_first=True),
        "date": lambda v: _date_or_time(v, time_first=False),
        "amount": lambda v: re.fullmatch(r"[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?", v),
        "phone_number": lambda v: all(ch.isdigit() or _is_symbols(ch) for ch in v),
        "car_number": lambda v: re.fullmatch(f"[{_HAN}A-Za-z0-9][A-Za-z0-9]*[{_HAN}A-Za-z0-9]?", v),
        "phrase": lambda v: re.fullmatch(f"[{_HAN}]+", v),
    }
    check = checks.get(kind)
    return None if check is None or check(value) else "format"


def keywords_of(content: str) -> list[tuple[str, str]]:
    """(name, kind) of each placeholder of a template's content, in order, once each."""
    seen: dict[str, str] = {}
    for match in PLACEHOLDER.finditer(content or ""):
        seen.setdefault(match["name"], match["kind"])
    return list(seen.items())


def list_templates(client: WeChatClient) -> list[JSONObject]:
    """Every private template of the account (get_all_private_template)."""
    answer = client.call("GET", "/cgi-bin/template/get_all_private_template")
    return cast(list[JSONObject], answer.get("template_list") or [])


def add_template(client: WeChatClient, template_id_short: str, keyword_names: list[str] | None = None) -> str:
    """Add a library template to the account; its new ``template_id``. Never re-sent."""
    body: JSONObject = {"template_id_short": template_id_short}
    if keyword_names:
        body["keyword_name_list"] = list(keyword_names)
    answer = client.call("POST", "/cgi-bin/template/api_add_template", body=body, idempotent=False)
    return str(answer["template_id"])


def delete_template(client: WeChatClient, template_id: str) -> None:
    """Delete a private template (idempotent on our side: a second delete answers an error)."""
    client.call("POST", "/cgi-bin/template/del_private_template", body={"template_id": template_id})


def get_industry(client: WeChatClient) -> JSONObject:
    """The account's two industries: ``primary_industry`` and ``secondary_industry``."""
    return client.call("GET", "/cgi-bin/template/get_industry")


def send(
    client: WeChatClient,
    *,
    touser: str,
    template_id: str,
    data: dict[str, str],
    url: str | None = None,
    miniprogram: dict[str, str] | None = None,
    client_msg_id: str | None = None,
) -> int:
    """Send one template message; WeChat's ``msgid``. Never re-sent once it may have
    reached WeChat (``idempotent=False``)."""
    body: JSONObject = {
        "touser": touser,
        "template_id": template_id,
        "data": {name: {"value": value} for name, value in data.items()},
    }
    if url:
        body["url"] = url
    if miniprogram:
        body["miniprogram"] = dict(miniprogram)
    if client_msg_id:
        body["client_msg_id"] = client_msg_id
    answer = client.call("POST", "/cgi-bin/message/template/send", body=body, idempotent=False)
    return int(answer["msgid"])


def tag_members(client: WeChatClient, tag_id: int) -> Iterator[str]:
    """Every OpenID carrying the tag, page after page (user/tag/get, 10,000 a page)."""
    next_openid = ""
    while True:
        answer: dict[str, Any] = client.call(
            "POST", "/cgi-bin/user/tag/get", body={"tagid": int(tag_id), "next_openid": next_openid}
        )
        openids = (answer.get("data") or {}).get("openid") or []
        yield from (str(openid) for openid in openids)
        next_openid = str(answer.get("next_openid") or "")
        if not openids or not next_openid:
            return
