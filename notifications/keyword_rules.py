"""What WeChat accepts in a template keyword of each kind, in words for the send page (issue 26).

The rules themselves, and where WeChat states them, are in `wechat.api.templates.keyword_problem`
(WeChat's table 类目模板消息 · 参数值内容限制); this module only says them to staff, one line a kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise  # the stubs' type of a lazy string

RULES: dict[str, _StrPromise] = {
    "thing": _("Up to 20 characters: Chinese, letters, digits or symbols."),
    "number": _("Up to 32 digits; a decimal point is allowed (e.g. 3.50)."),
    "letter": _("Up to 32 letters (A–Z, a–z)."),
    "symbol": _("Up to 5 symbols."),
    "character_string": _("Up to 32 digits, letters or symbols (e.g. SN-2024-001)."),
    "time": _("A 24-hour time (15:01 or 15:01:30), a date may come first; a range joined by ~."),
    "date": _("A date (2024年5月1日 or 2024-05-01), a time may follow; a range joined by ~."),
    "amount": _("A currency sign and up to 10 digits with at most 2 decimals, may end in 元 (e.g. ¥12.50)."),
    "phone_number": _("Up to 17 digits and symbols (e.g. +86-10-12345678)."),
    "car_number": _("Up to 8 characters: the first and last may be Chinese, the rest letters or digits."),
    "name": _("Up to 10 Chinese characters, or up to 20 letters."),
    "phrase": _("Up to 5 Chinese characters, nothing else."),
    "enum": _("One of the values the template lists."),
}
OTHER = _("Up to 200 characters, on one line.")

#: each kind's name, as WeChat's documentation names it
KIND_NAMES: dict[str, _StrPromise] = {
    "thing": _("thing"),
    "number": _("number"),
    "letter": _("letters"),
    "symbol": _("symbols"),
    "character_string": _("character string"),
    "time": _("time"),
    "date": _("date"),
    "amount": _("amount"),
    "phone_number": _("phone number"),
    "car_number": _("car number"),
    "name": _("name"),
    "phrase": _("phrase"),
    "enum": _("enumeration"),
}

#: the longest value of a kind (the input's maxlength; WeChat's rule is checked on sending)
MAX_LENGTH = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "phrase": 5,
    "name": 20,
    "amount": 14,
}


def rule(kind: str) -> _StrPromise:
    return RULES.get(kind, OTHER)


def label(name: str, kind: str) -> str:
    """ "thing2 (thing)" in the user's language; the field's own name as WeChat writes it."""
    kind_name = KIND_NAMES.get(kind)
    return f"{name} ({kind_name})" if kind_name is not None else name
