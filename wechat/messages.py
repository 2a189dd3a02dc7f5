"""Inbound callback XML: a hardened parser and typed message objects (docs/wechat-protocol.md §d).

WeChat's pushes are flat `<xml>` documents with a few nested blocks
(ScanCodeInfo, SendPicsInfo, SendLocationInfo). The parser refuses anything a
real push never contains and an attacker would use: a DTD (so no entities, no
XXE, no billion laughs — refused at the DOCTYPE, before anything is expanded),
external references, documents deeper than a few levels or with too many
elements, and a root other than `<xml>`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

#: a real push has < 40 elements and is 3 levels deep at most (SendPicsInfo/PicList/item)
MAX_ELEMENTS = 200
MAX_DEPTH = 6
#: the longest ToUserName/FromUserName accepted (OpenIDs have 28 characters, gh_ ids 15)
MAX_USER_LENGTH = 64
MAX_MSG_TYPE_LENGTH = 32
MAX_EVENT_LENGTH = 40
#: MsgId is a signed 64-bit integer where it is stored
MAX_MSG_ID = 2**63 - 1
#: CreateTime must be a Unix time a datetime can hold (up to 9999-12-31)
MAX_CREATE_TIME = 253402300799

# A safe-mode envelope exactly as WeChat sends it: read with one regular expression
# instead of a second XML parse. Anything else goes through the hardened parser.
_SAFE_ENVELOPE = re.compile(
    rb"\s*<xml>\s*(?:<ToUserName><!\[CDATA\[([A-Za-z0-9_\-]{1,64})\]\]></ToUserName>\s*)?"
    rb"<Encrypt><!\[CDATA\[([A-Za-z0-9+/=]+)\]\]></Encrypt>\s*</xml>\s*\Z"
)


class MessageParseError(ValueError):
    """The body is not a well-formed, harmless WeChat push."""


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """Parse a push into a dict: leaf elements become strings, nested ones dicts.

    Repeated child elements (PicList/item) become lists. Raises MessageParseError
    for DTDs, entities, external references, malformed XML, a wrong root, or a
    document too deep or too large.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body.strip():
        raise MessageParseError("empty body")
    # A DOCTYPE anywhere is refused before the expat parser sees it: defusedxml would
    # refuse it too, but this way nothing at all is done with a hostile document.
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise MessageParseError("DTDs and entities are not allowed")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise MessageParseError(f"malformed XML: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise MessageParseError("the root element must be <xml>")
    count = 0

    def convert(element: Element, depth: int) -> Any:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS or depth > MAX_DEPTH:
            raise MessageParseError("document too large or too deep")
        children = list(element)
        if not children:
            return element.text or ""
        result: dict[str, Any] = {}
        for child in children:
            value = convert(child, depth + 1)
            if child.tag in result:
                existing = result[child.tag]
                if not isinstance(existing, list):
                    result[child.tag] = [existing]
                result[child.tag].append(value)
            else:
                result[child.tag] = value
        return result

    data = convert(root, 1)
    if not isinstance(data, dict):
        raise MessageParseError("the <xml> element is empty")
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    return value if isinstance(value, str) else ""


def _int(data: dict[str, Any], key: str, high: int) -> int | None:
    """The field as an integer in 0..high, None when absent; MessageParseError otherwise."""
    value = _text(data, key).strip()
    if not value:
        return None
    if len(value) > 20 or not value.isascii() or not value.isdigit():
        raise MessageParseError(f"{key} is not a non-negative integer")
    number = int(value)
    if number > high:
        raise MessageParseError(f"{key} is out of range")
    return number


def _short_text(data: dict[str, Any], key: str, limit: int) -> str:
    value = _text(data, key)
    if len(value) > limit:
        raise MessageParseError(f"{key} is longer than {limit} characters")
    return value


@dataclass(frozen=True)
class Message:
    """Fields common to every push. `raw` keeps every field as parsed."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    is_event = False

    @property
    def created_at(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.create_time, tz=datetime.UTC)

    @property
    def dedupe_key(self) -> str:
        """How WeChat's retries are recognised: MsgId for messages (docs/wechat-protocol.md §d)."""
        msg_id = self.raw.get("MsgId")
        if isinstance(msg_id, str) and msg_id.strip():
            return f"msg:{msg_id.strip()}"
        return f"evt:{self.from_user}:{self.create_time}"

    @property
    def summary(self) -> str:
        """What the message log shows as content."""
        return ""


@dataclass(frozen=True)
class TextMessage(Message):
    content: str = ""
    msg_id: int | None = None

    @property
    def summary(self) -> str:
        return self.content


@dataclass(frozen=True)
class MediaMessage(Message):
    """image, voice, video, shortvideo, location, link, file… — anything but text."""

    msg_id: int | None = None

    @property
    def summary(self) -> str:
        raw = self.raw
        if self.msg_type == "image":
            return _text(raw, "PicUrl")
        if self.msg_type == "voice":
            return _text(raw, "Recognition") or _text(raw, "MediaId")
        if self.msg_type == "location":
            return " ".join(
                part
                for part in (_text(raw, "Label"), _text(raw, "Location_X"), _text(raw, "Location_Y"))
                if part
            )
        if self.msg_type == "link":
            return _text(raw, "Url")
        return _text(raw, "MediaId")


@dataclass(frozen=True)
class EventMessage(Message):
    event: str = ""
    event_key: str = ""

    is_event = True

    @property
    def dedupe_key(self) -> str:
        """Events have no MsgId: FromUserName + CreateTime (docs/wechat-protocol.md §d).

        The event name is added so that two different events of one user within the
        same second (a subscribe and the menu click right after) are not merged.
        """
        return f"evt:{self.from_user}:{self.create_time}:{self.event}"

    @property
    def summary(self) -> str:
        return self.event_key


@dataclass(frozen=True)
class KfSessionEvent(EventMessage):
    """kf_create_session / kf_close_session / kf_switch_session."""

    kf_account: str = ""
    from_kf_account: str = ""
    to_kf_account: str = ""

    @property
    def summary(self) -> str:
        if self.event == "kf_switch_session":
            return f"{self.from_kf_account} → {self.to_kf_account}"
        return self.kf_account


class _CommonFields(TypedDict):
    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    raw: dict[str, Any]


KF_SESSION_EVENTS = frozenset({"kf_create_session", "kf_close_session", "kf_switch_session"})


def parse_message(body: bytes | str | dict[str, Any]) -> Message:
    """Parse a (decrypted) push into a typed message; MessageParseError when it is not one."""
    data = body if isinstance(body, dict) else parse_xml(body)
    msg_type = _short_text(data, "MsgType", MAX_MSG_TYPE_LENGTH).strip()
    to_user = _short_text(data, "ToUserName", MAX_USER_LENGTH)
    from_user = _short_text(data, "FromUserName", MAX_USER_LENGTH)
    if not (msg_type and to_user and from_user):
        raise MessageParseError("ToUserName, FromUserName and MsgType are required")
    create_time = _int(data, "CreateTime", MAX_CREATE_TIME)
    if create_time is None:
        raise MessageParseError("CreateTime is required")
    common: _CommonFields = {
        "to_user": to_user,
        "from_user": from_user,
        "create_time": create_time,
        "msg_type": msg_type,
        "raw": data,
    }
    if msg_type == "event":
        event = _short_text(data, "Event", MAX_EVENT_LENGTH).strip()
        if not event:
            raise MessageParseError("Event is required for an event")
        if event in KF_SESSION_EVENTS:
            return KfSessionEvent(
                **common,
                event=event,
                event_key=_text(data, "EventKey"),
                kf_account=_text(data, "KfAccount"),
                from_kf_account=_text(data, "FromKfAccount"),
                to_kf_account=_text(data, "ToKfAccount"),
            )
        return EventMessage(**common, event=event, event_key=_text(data, "EventKey"))
    if msg_type == "text":
        return TextMessage(**common, content=_text(data, "Content"), msg_id=_int(data, "MsgId", MAX_MSG_ID))
    return MediaMessage(**common, msg_id=_int(data, "MsgId", MAX_MSG_ID))


def parse_envelope(body: bytes | str) -> dict[str, Any]:
    """Parse the outer document of a compatible/safe push; `Encrypt` must be present."""
    if isinstance(body, bytes):
        exact = _SAFE_ENVELOPE.match(body)
        if exact is not None:
            data = {"Encrypt": exact[2].decode("ascii")}
            if exact[1]:
                data["ToUserName"] = exact[1].decode("ascii")
            return data
    data = parse_xml(body)
    if not _text(data, "Encrypt").strip():
        raise MessageParseError("Encrypt is missing")
    return data
