"""One exception type for everything that goes wrong when talking to WeChat.

WeChat answers errors with HTTP 200 and ``{"errcode": N, "errmsg": "..."}``
(docs/wechat-protocol.md, general conventions). We raise :class:`WeChatError` for
those, and also for network failures, timeouts and unreadable answers, which
get negative codes of our own. Whether an error is worth retrying is decided
here, once, from the code: ``temporary`` is True for "system busy", minute
quota and transport problems, never for the daily quota (45009).

The human explanations are translatable; they say what happened and what the
operator can do about it, and are shown in the admin next to the raw code.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

# Codes of our own for failures that never reached a WeChat answer.
ERR_NETWORK = -1001  #: connection refused/reset, DNS failure...
ERR_TIMEOUT = -1002  #: connect or read timeout
ERR_BAD_RESPONSE = -1003  #: not JSON, or an HTTP status other than 200
ERR_TOKEN_WAIT = -1004  #: another process held the token lock for too long

SYSTEM_BUSY = -1
INVALID_CREDENTIAL = 40001
INVALID_ACCESS_TOKEN = 40014
ACCESS_TOKEN_EXPIRED = 42001
DAILY_QUOTA = 45009
MINUTE_QUOTA = 45011
MENU_NOT_EXIST = 46003

#: "This access token is no good": expire it (if still current), refresh, retry once.
TOKEN_ERRCODES = frozenset({INVALID_CREDENTIAL, INVALID_ACCESS_TOKEN, ACCESS_TOKEN_EXPIRED})
#: Errors worth retrying with backoff. 45009 (daily quota) is deliberately absent.
TEMPORARY_ERRCODES = frozenset(
    {SYSTEM_BUSY, MINUTE_QUOTA, ERR_NETWORK, ERR_TIMEOUT, ERR_BAD_RESPONSE, ERR_TOKEN_WAIT}
)

#: WeChat refused what the staff member typed or chose (issue 22 §7): an unknown OpenID
#: (40003, 65302 for trymatch), an unknown conditional menuid (65301), a menu breaking a rule
#: (400xx, 65303-65317), bad JSON, media or parameters. Our endpoints answer these with a 4xx
#: or a form error, not as a gateway failure (502): nothing is wrong between us and WeChat.
INPUT_ERRCODES = frozenset(
    {40003, 40005, 40007, 40008, 40009, 40097, 44002, 46003, 47001}
    | set(range(40015, 40028))
    | {40054, 40055, 40119, 40120, 40165, 40166, 41007}
    | {65301, 65302, 65303, 65304, 65305, 65316, 65317, 65320}
    | {65400, 65401, 65402, 65403, 65404, 65405}
)

# " rid: 6513aa28-57d848c6-68a55827" (newer) or " hint: [XXXX]" (older) suffixes.
_SUFFIX = re.compile(r"[\s,;]*\b(?:rid|hint)\s*:.*\Z", re.DOTALL)


def clean_errmsg(errmsg: str | None) -> str:
    """WeChat's errmsg without the per-request ``rid:``/``hint:`` suffix."""
    return _SUFFIX.sub("", errmsg or "").strip()


EXPLANATIONS = {
    SYSTEM_BUSY: _(
        "WeChat is busy. The call will be retried; if it keeps failing, try again in a few minutes."
    ),
    ERR_NETWORK: _(
        "The WeChat API could not be reached (network error). Check the server's "
        "internet connection and WECHAT_API_BASE; the call is retried."
    ),
    ERR_TIMEOUT: _(
        "The WeChat API did not answer in time. The call is retried; if it keeps "
        "timing out, check the network."
    ),
    ERR_BAD_RESPONSE: _(
        "The WeChat API gave an unreadable answer (not JSON, or an HTTP error "
        "status). Check WECHAT_API_BASE; the call is retried."
    ),
    ERR_TOKEN_WAIT: _(
        "Another worker has been fetching this account's access token for too long. Try again in a moment."
    ),
    40001: _(
        "WeChat rejected the access token (wrong AppSecret, or the token was replaced by "
        "a newer one fetched elsewhere). Check the AppSecret, and make sure no other "
        "system fetches tokens for this AppID."
    ),
    40002: _("Invalid grant_type: the token request must use client_credential."),
    40003: _(
        "Invalid OpenID: the user does not follow this account, or the OpenID belongs to another account."
    ),
    40005: _("Unsupported media type: upload a JPG image."),
    40007: _("Invalid media_id: the material does not exist in this account's library."),
    40008: _("Invalid message type."),
    40009: _("Invalid media size: the file is empty or too large."),
    40013: _("Invalid AppID: check the AppID in the account settings (it starts with “wx”)."),
    40014: _("Invalid access token. It will be refreshed automatically."),
    40125: _(
        "Wrong AppSecret: copy the current AppSecret from the WeChat platform "
        "(Settings and development → Basic configuration) into the account, or reset it "
        "there."
    ),
    40164: _(
        "This server's IP address is not in the account's API IP whitelist. Add it on the "
        "WeChat platform under Settings and development → Basic configuration → IP "
        "whitelist, then refresh the token."
    ),
    40243: _("The AppSecret is frozen. Unfreeze or reset it on the WeChat platform."),
    41001: _("The access token is missing from the request."),
    41002: _("The AppID is missing from the request."),
    41004: _("The AppSecret is missing from the request. Enter the AppSecret of the account."),
    42001: _("The access token expired. It will be refreshed automatically."),
    44002: _("The request body is empty."),
    45009: _(
        "The daily quota of this API is used up for this account. It is not retried: wait "
        "until tomorrow (quotas reset at midnight Beijing time) or clear the quota on the "
        "WeChat platform (Development → Interface permissions)."
    ),
    45011: _("Too many calls in a short time (minute quota). The call is retried later."),
    45015: _(
        "Out of the reply window: the user has not messaged the account in the last 48 "
        "hours (or has unfollowed), so customer-service messages cannot be sent."
    ),
    45047: _(
        "Too many customer-service messages in this window: at most 5 within 48 hours of the user's message."
    ),
    46003: _("The account has no custom menu."),
    47001: _("The request body is not valid JSON (data format error)."),
    48001: _("The account is not authorised to use this API (it may need certification)."),
    48006: _("The API quota can only be cleared 10 times a month; that limit is reached."),
    40097: _("Invalid parameters in the request."),
    # Menus (docs/wechat-protocol.md §b).
    40015: _("Invalid menu type."),
    40016: _("A menu must have 1 to 3 top-level buttons."),
    40017: _("Invalid button type for a top-level button."),
    40018: _("A top-level button name is missing or longer than 16 bytes (about 4 Chinese characters)."),
    40019: _("A top-level button key is missing or longer than 128 bytes."),
    40020: _("A top-level button URL is missing or longer than 1024 bytes."),
    40021: _("Invalid menu version."),
    40022: _("Sub-menus cannot be nested: a sub-button cannot have its own sub-buttons."),
    40023: _("A top-level button must have 1 to 5 sub-buttons."),
    40024: _("Invalid button type for a sub-button."),
    40025: _("A sub-button name is missing or longer than 60 bytes."),
    40026: _("A sub-button key is missing or longer than 128 bytes."),
    40027: _("A sub-button URL is missing or longer than 1024 bytes."),
    40054: _("A sub-button URL is not valid: it must start with http:// or https://."),
    40055: _("A top-level button URL is not valid: it must start with http:// or https://."),
    40119: _(
        "This button type is not allowed for this account (mini-program buttons need a certified account)."
    ),
    40120: _(
        "This sub-button type is not allowed for this account (mini-program buttons need "
        "a certified account)."
    ),
    40165: _("Invalid mini-program page path."),
    40166: _("Invalid mini-program AppID."),
    41007: _("A top-level button without an action must have sub-buttons."),
    65301: _("There is no conditional menu with this menuid."),
    65302: _("No such user (check the OpenID or WeChat ID)."),
    65303: _("Create the default menu first: conditional menus need one."),
    65304: _("The match rule of the conditional menu is empty."),
    65305: _("This account has reached the limit of conditional menus."),
    65316: _("The menu links to more than 3 different domains."),
    65317: _("Invalid URL in the menu."),
    65320: _(
        "Conditional menus can no longer match on sex, region or language; use a user tag "
        "or the phone's platform."
    ),
    # Customer service (docs/wechat-protocol.md §c).
    65400: _(
        "The customer-service feature is not enabled for this account (or is still being "
        "enabled). Enable it on the WeChat platform and try again later."
    ),
    65401: _("No such customer-service account."),
    65402: _(
        "The customer-service account is not bound to a WeChat user yet: invite a WeChat "
        "user and wait until they accept."
    ),
    65403: _("Invalid nickname: 1 to 16 characters."),
    65404: _(
        "Invalid customer-service account: use “prefix@WeChat ID”, the prefix at most 10 "
        "letters, digits or “_”, and the official account's own WeChat ID after the @."
    ),
    65405: _("This account already has the maximum of 100 customer-service accounts."),
    65406: _("This customer-service account already exists."),
    65407: _("The invited WeChat user is already a worker of this account."),
    65408: _("This WeChat user has already been invited."),
    65409: _("Invalid WeChat ID for the invitation."),
    65410: _("The invited WeChat user is bound to too many official accounts."),
    65411: _("An invitation for this customer-service account is still pending."),
    65412: _("This customer-service account is already bound to a WeChat user."),
    65413: _("This user has no customer-service session."),
    65414: _("This user is being served by another customer-service agent."),
    65415: _("The customer-service agent is not online."),
}


def explain(errcode: int) -> str:
    """What an errcode means and what to do, in the active language."""
    text = EXPLANATIONS.get(errcode)
    if text is None:
        return str(
            _("WeChat returned error %(errcode)s. See the WeChat global error code table.")
            % {"errcode": errcode}
        )
    return str(text)


_ADDRESS_REFUSED = re.compile(r"invalid ip ([0-9A-Fa-f.:]+)")


def address_refused(errmsg: str | None) -> str | None:
    """The address WeChat saw us call from, named in a 40164's errmsg ("invalid ip 1.2.3.4 ...")."""
    seen = _ADDRESS_REFUSED.search(errmsg or "")
    return seen.group(1) if seen else None


def is_temporary(errcode: int) -> bool:
    return errcode in TEMPORARY_ERRCODES


class WeChatError(Exception):
    """A failed WeChat API call: WeChat's errcode/errmsg, or a transport failure.

    ``errmsg`` has the ``rid:``/``hint:`` suffix stripped; ``api`` is the path
    called (never the URL: it carries the access token or the AppSecret).

    Two facts about delivery, whose defaults describe WeChat's own error answers
    (the request got there, and WeChat refused it, so it did nothing):

    - ``request_sent`` (default True): the request reached WeChat, or may have.
      False only for transport failures before anything was sent (connect
      timeout, connection refused). Such requests count against WeChat's quotas.
    - ``may_have_acted`` (default False): the request was sent but no error
      answer came back (read timeout, dropped connection, unreadable answer), so
      WeChat may have done what was asked: a call that changes something must not
      be sent again. Implies ``request_sent``.
    """

    def __init__(
        self,
        errcode: int,
        errmsg: str = "",
        *,
        api: str = "",
        temporary: bool | None = None,
        request_sent: bool = True,
        may_have_acted: bool = False,
    ) -> None:
        self.errcode = int(errcode)
        self.errmsg = clean_errmsg(errmsg)
        self.api = api
        self.temporary = is_temporary(self.errcode) if temporary is None else temporary
        self.request_sent = request_sent or may_have_acted
        self.may_have_acted = may_have_acted
        super().__init__(self.errcode, self.errmsg)

    @property
    def explanation(self) -> str:
        """Translated human text (evaluated in the language active when read)."""
        return explain(self.errcode)

    @property
    def refuses_input(self) -> bool:
        """WeChat answered, refusing the input itself (INPUT_ERRCODES): the caller's 4xx."""
        return self.errcode in INPUT_ERRCODES

    @property
    def is_token_error(self) -> bool:
        return self.errcode in TOKEN_ERRCODES

    def __str__(self) -> str:  # no translation here: usable without Django settings
        where = f" [{self.api}]" if self.api else ""
        return f"WeChat error {self.errcode}: {self.errmsg}{where}"

    def __reduce__(self) -> tuple[Callable[..., WeChatError], tuple[object, ...]]:
        # Picklable across processes / Celery results.
        return (
            _rebuild,
            (self.errcode, self.errmsg, self.api, self.temporary, self.request_sent, self.may_have_acted),
        )


def _rebuild(
    errcode: int,
    errmsg: str,
    api: str,
    temporary: bool,
    request_sent: bool = True,
    may_have_acted: bool = False,
) -> WeChatError:
    return WeChatError(
        errcode,
        errmsg,
        api=api,
        temporary=temporary,
        request_sent=request_sent,
        may_have_acted=may_have_acted,
    )
