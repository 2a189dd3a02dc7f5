"""One parser for what comes in from a request: ids, page numbers, date parts, text, JSON.

Issue 22 §7: garbage (a non-numeric id, page 0, `?created_at__year=99999`, a NUL or a lone
surrogate in a JSON body or an OpenID) must become a 400 or a form error and change
nothing — never a 500 from PostgreSQL (which refuses NUL in text), from Python's `date`
(years 1-9999) or from an `int()` nobody guarded. Views, admin pages and the request
middleware (wxadmin/middleware.py) all parse through here, so the rules are in one place:

- an *id* is a decimal integer from 1 to 2**63 - 1 (PostgreSQL's bigint), ASCII digits only;
- a *page* is a decimal integer from 1 up (a page past the end is the paginator's business);
- a *date part* (`…__year`, `__month`, `__day`, …) is an integer within its calendar range,
  the year from 1 to 9998 so that "the next month/year" of a drill-down still exists;
- *text* has no NUL and no lone surrogate (neither can be stored or encoded as UTF-8);
- a *JSON body* is well-formed UTF-8 JSON whose every string and key is such text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.utils.translation import gettext as _

from .domain_errors import DomainError

MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}\Z")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

#: date-part lookups Django offers in query strings → the range a value must fall in
DATE_PARTS = {
    "year": (1, 9998),
    "iso_year": (1, 9998),
    "month": (1, 12),
    "day": (1, 31),
    "week": (1, 53),
    "week_day": (1, 7),
    "iso_week_day": (1, 7),
    "quarter": (1, 4),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}


class BadInput(DomainError, ValueError):
    """A value from the request cannot be used; the message says which, for the user."""


def parse_id(value: object) -> int:
    """A row id from a URL, query string, form or JSON value."""
    if isinstance(value, bool):
        raise BadInput(_("“%(value)s” is not an id.") % {"value": value})
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.match(value):
        number = int(value)
    else:
        raise BadInput(_("“%(value)s” is not an id.") % {"value": shown(value)})
    if not 1 <= number <= MAX_ID:
        raise BadInput(_("“%(value)s” is not an id.") % {"value": number})
    return number


def id_or_none(value: object) -> int | None:
    try:
        return parse_id(value)
    except BadInput:
        return None


def parse_page(value: object, default: int = 1) -> int:
    """A page number from a query string; absent → `default`."""
    if value in (None, ""):
        return default
    if isinstance(value, str) and _DIGITS.match(value) and 1 <= int(value) <= MAX_ID:
        return int(value)
    raise BadInput(_("“%(value)s” is not a page number.") % {"value": shown(value)})


def check_date_part(lookup: str, value: str) -> None:
    """Raise BadInput when `lookup` ends in a date part and `value` is outside its range."""
    part = date_part_of(lookup)
    if part is None:
        return
    low, high = DATE_PARTS[part]
    if not (_DIGITS.match(value) and low <= int(value) <= high):
        raise BadInput(
            _("“%(value)s” is not a valid %(part)s (%(low)d–%(high)d).")
            % {"value": shown(value), "part": part, "low": low, "high": high}
        )


def date_part_of(lookup: str) -> str | None:
    parts = lookup.split("__")
    if len(parts) >= 2 and parts[-1] in DATE_PARTS:
        return parts[-1]
    if len(parts) >= 3 and parts[-2] in DATE_PARTS:  # created_at__year__gte
        return parts[-2]
    return None


def is_clean_text(text: str) -> bool:
    return "\x00" not in text and not _LONE_SURROGATE.search(text)


def check_text(text: str) -> str:
    if not is_clean_text(text):
        raise BadInput(_("The text contains a NUL character or an invalid character (a lone surrogate)."))
    return text


def check_json(data: Any) -> Any:
    """Every string and key of decoded JSON is clean text; returns `data`."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                check_text(str(key))
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return data


def parse_json_object(body: bytes | str) -> dict[str, Any]:
    """A request body that must be a JSON object of clean text."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadInput(_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise BadInput(_("The request body must be a JSON object."))
    checked: dict[str, Any] = check_json(data)
    return checked


def shown(value: object, limit: int = 40) -> str:
    """A value as it may be echoed in a message: short, without NUL or lone surrogates."""
    text = value if isinstance(value, str) else repr(value)
    text = _LONE_SURROGATE.sub("\ufffd", text.replace("\x00", "\ufffd"))
    return text if len(text) <= limit else text[:limit] + "…"
