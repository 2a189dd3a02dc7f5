"""The sandbox's state and its rules: accounts, tokens, quotas, faults.

State is in memory and guarded by one lock; the endpoints (``areas/``, ``control``) read
and change it through the methods here. An area keeps state of its own in
``AppState.area_state(area, factory)`` and shows it with ``@state_section``. Time comes
from ``clock`` (``time.time`` by default) so tests can move it.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from .http import (
    DROP,
    ROUTES,
    BadBody,
    Drop,
    SandboxHTTPServer,
    SandboxRequest,
    SandboxResponse,
    json_response,
    serve_in_thread,
)

logger = logging.getLogger("wechat_sandbox")

T = TypeVar("T")

#: Daily quotas of a normal account (protocol §a/§b), declared by the area modules
#: (``declare_quota``, ``api_route(..., quota=N)``); other APIs get DEFAULT_QUOTA.
DEFAULT_QUOTAS: dict[str, int] = {}
DEFAULT_QUOTA = 100_000
STABLE_FORCE_PER_DAY = 20
STABLE_FORCE_MIN_INTERVAL = 30


def declare_quota(api: str, calls: int) -> None:
    """The daily quota of ``api`` on a normal account (Sandbox(quotas=...) and an account's
    own ``quotas`` still win)."""
    DEFAULT_QUOTAS[api] = calls


#: Sections an area adds to ``Sandbox.state``: name -> fn(app) (called under the lock).
STATE_SECTIONS: dict[str, Callable[[AppState], object]] = {}


def state_section(name: str) -> Callable[[Callable[[AppState], object]], Callable[[AppState], object]]:
    """Decorator: ``fn(app)`` answers the ``name`` key of the account's state (and of
    ``GET /sandbox/state/<appid>``); what it returns is copied, never shared."""

    def decorator(fn: Callable[[AppState], object]) -> Callable[[AppState], object]:
        STATE_SECTIONS[name] = fn
        return fn

    return decorator


def fingerprint(token: str) -> str:
    """A short, non-reversible name for a token (state and logs never show tokens)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def beijing_day(now: float) -> str:
    """Quotas reset at midnight Beijing time."""
    return time.strftime("%Y-%m-%d", time.gmtime(now + 8 * 3600))


@dataclass
class TokenRecord:
    token: str
    appid: str
    source: str  # "classic" | "stable"
    issued_at: float
    expires_at: float
    invalid_after: float | None = None  # set when superseded (classic: +overlap)

    def check(self, now: float) -> int:
        """0 when usable, else the errcode WeChat answers with."""
        if self.invalid_after is not None and now >= self.invalid_after:
            return 40001
        if now >= self.expires_at:
            return 42001
        return 0

    def describe(self) -> dict:
        return {
            "fingerprint": fingerprint(self.token),
            "source": self.source,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "invalid_after": self.invalid_after,
        }


#: the fault that applies the call and loses its answer
LOST = "lost"


@dataclass
class Fault:
    """A forced answer for the next ``times`` calls of ``api`` ("*" = any WeChat API).

    ``errcode`` is a WeChat code, or "drop" (close the connection without an
    answer), or "http502"; ``delay_ms`` sleeps before answering (0 errcode = only delay).
    "lost" lets the call do its work, then closes the connection without an answer (after
    ``delay_ms``): WeChat applied it and the caller never hears so (a timeout or a reset
    after sending).
    """

    api: str = "*"
    errcode: int | str = -1
    times: int = 1
    appid: str | None = None
    delay_ms: int = 0
    errmsg: str | None = None


@dataclass
class AppState:
    appid: str
    secret: str
    token: str | None = None  # server token, for callbacks
    encoding_aes_key: str | None = None
    message_mode: str = "plaintext"
    callback_url: str | None = None
    original_id: str | None = None
    wechat_id: str | None = None
    certified: bool = True
    kf_enabled: bool = True
    ip_whitelist: list[str] | None = None
    frozen: bool = False
    quotas: dict[str, int] = field(default_factory=dict)
    # runtime
    classic: TokenRecord | None = None
    stable: TokenRecord | None = None
    stable_forced_at: float = 0.0
    issued: Counter = field(default_factory=Counter)  # source -> tokens issued
    rejected_tokens: int = 0
    calls: Counter = field(default_factory=Counter)  # api -> calls
    calls_by_day: dict[str, Counter] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)  # errcode -> answers
    menu: list | None = None
    # the top-level button names of every menu/create that succeeded, oldest first
    # (tests check that an older menu never replaced a newer one)
    menu_history: list[list[str]] = field(default_factory=list)
    menu_id: int | None = None
    conditional_menus: list[dict] = field(default_factory=list)  # newest last
    website_menu: list | None = None
    menu_open: bool = True
    kf_accounts: dict[str, dict] = field(default_factory=dict)
    kf_next_id: int = 1001
    kf_avatars: dict[str, bytes] = field(default_factory=dict)
    sessions: dict[str, dict] = field(default_factory=dict)  # openid -> {kf_account, createtime}
    wait_cases: list[dict] = field(default_factory=list)
    interactions: dict[str, dict] = field(default_factory=dict)  # openid -> {kind, at, used}
    sent_messages: list[dict] = field(default_factory=list)
    media: dict[str, dict] = field(default_factory=dict)  # media_id -> {type, size, at}
    #: simulated users' profiles for menu/trymatch: openid -> {tag_ids, client_platform_type…}
    users: dict[str, dict] = field(default_factory=dict)
    #: Each area module's own state of the account: area name -> what ``area_state`` made.
    areas: dict[str, Any] = field(default_factory=dict)

    def used_today(self, api: str, day: str) -> int:
        return self.calls_by_day.get(day, Counter())[api]

    def area_state(self, area: str, factory: Callable[[], T]) -> T:
        """The state ``area`` keeps for this account, made by ``factory()`` on first use.
        Read and change it under ``Sandbox._lock``; it survives ``register_app`` like the
        rest of the runtime state."""
        if area not in self.areas:
            self.areas[area] = factory()
        return cast(T, self.areas[area])


class Sandbox:
    """An offline WeChat API on loopback. See ``wechat_sandbox/__init__.py``."""

    def __init__(
        self,
        apps: dict[str, dict] | None = None,
        *,
        token_ttl: int = 7200,
        overlap_seconds: int = 300,
        stable_renew_seconds: int = 300,
        quotas: dict[str, int] | None = None,
        fail_rate: float = 0.0,
        latency_ms: int = 0,
        enforce_reply_window: bool = True,
        content_type: str = "application/json; encoding=utf-8",
        clock: Callable[[], float] = time.time,
        resolve_app: Callable[[str], dict | None] | None = None,
        resolve_refresh_seconds: float = 1.0,
        seed: int | None = None,
        callback_base: str | None = None,
    ) -> None:
        self.token_ttl = token_ttl
        self.overlap_seconds = overlap_seconds
        self.stable_renew_seconds = stable_renew_seconds
        self.quotas = {**DEFAULT_QUOTAS, **(quotas or {})}
        self.fail_rate = fail_rate
        self.latency_ms = latency_ms
        self.enforce_reply_window = enforce_reply_window
        self.content_type = content_type
        self.clock = clock
        self.resolve_app = resolve_app
        # Accounts learned through resolve_app are asked again when their copy is older than
        # this: the sandbox follows changes in the project's database (certification, the
        # customer-service plug-in, credentials) without a restart.
        self.resolve_refresh_seconds = resolve_refresh_seconds
        self._resolved_at: dict[str, float] = {}
        self._random = random.Random(seed)
        # The only place besides each app's registered callback URL that the simulated
        # user may post to (a `callback_url` in a simulate request must lie under it).
        self.callback_base = callback_base
        self._lock = threading.RLock()
        self._apps: dict[str, AppState] = {}
        self._tokens: dict[str, TokenRecord] = {}
        self._faults: list[Fault] = []
        self._serial = 0
        self.routes = ROUTES.copy()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        for appid, options in (apps or {}).items():
            options = dict(options)
            self.register_app(appid, options.pop("secret"), **options)

    # --- accounts -------------------------------------------------------------------
    def register_app(
        self,
        appid: str,
        secret: str,
        *,
        token: str | None = None,
        encoding_aes_key: str | None = None,
        message_mode: str = "plaintext",
        callback_url: str | None = None,
        original_id: str | None = None,
        wechat_id: str | None = None,
        certified: bool = True,
        kf_enabled: bool = True,
        ip_whitelist: list[str] | None = None,
        frozen: bool = False,
        quotas: dict[str, int] | None = None,
    ) -> AppState:
        """Add or update an account. Updating keeps its runtime state (tokens, menu...)."""
        with self._lock:
            app = self._apps.get(appid)
            if app is None:
                app = self._apps[appid] = AppState(appid=appid, secret=str(secret))
            app.secret = str(secret)
            app.token = None if token is None else str(token)
            app.encoding_aes_key = None if encoding_aes_key is None else str(encoding_aes_key)
            app.message_mode = message_mode
            app.callback_url = callback_url
            app.original_id = original_id
            app.wechat_id = wechat_id
            app.certified = certified
            app.kf_enabled = kf_enabled
            app.ip_whitelist = ip_whitelist
            app.frozen = frozen
            app.quotas = dict(quotas or {})
            return app

    def app(self, appid: str) -> AppState | None:
        """The account, asking ``resolve_app`` (e.g. the project database) for unknown AppIDs
        and, every ``resolve_refresh_seconds``, again for the ones it resolved."""
        with self._lock:
            app = self._apps.get(appid)
            resolved_at = self._resolved_at.get(appid)
        if self.resolve_app is None:
            return app
        stale = resolved_at is not None and time.monotonic() - resolved_at >= self.resolve_refresh_seconds
        if app is None or stale:
            options = self.resolve_app(appid)
            if options:
                options = dict(options)
                secret = options.pop("secret")
                with self._lock:
                    if app is None:
                        app = self.register_app(appid, secret, **options)
                    else:  # only what the database knows; runtime state and faults stay
                        app.secret = str(secret)
                        for name, value in options.items():
                            setattr(app, name, value)
                    self._resolved_at[appid] = time.monotonic()
        return app

    def mark_resolved(self, appid: str) -> None:
        """Treat an account registered from ``resolve_app``'s source as resolved now, so that
        it is refreshed from there like the ones learned on first use."""
        with self._lock:
            self._resolved_at[appid] = time.monotonic()

    @property
    def appids(self) -> list[str]:
        with self._lock:
            return sorted(self._apps)

    # --- tokens ----------------------------------------------------------------------
    def _new_token(self, app: AppState, source: str, now: float, ttl: int) -> TokenRecord:
        self._serial += 1
        record = TokenRecord(
            token=f"{self._serial}_{secrets.token_urlsafe(96)}",
            appid=app.appid,
            source=source,
            issued_at=now,
            expires_at=now + ttl,
        )
        self._tokens[record.token] = record
        app.issued[source] += 1
        if len(self._tokens) > 50_000:  # forget long-dead tokens
            dead = [t for t, r in self._tokens.items() if r.check(now) and r.expires_at < now - 86400]
            for t in dead:
                del self._tokens[t]
        return record

    def issue_classic_token(self, app: AppState) -> TokenRecord:
        """A new cgi-bin/token; the previous one stays usable ``overlap_seconds`` more."""
        now = self.clock()
        with self._lock:
            previous = app.classic
            if previous is not None and previous.invalid_after is None:
                previous.invalid_after = min(previous.expires_at, now + self.overlap_seconds)
            app.classic = self._new_token(app, "classic", now, self.token_ttl)
            return app.classic

    def issue_stable_token(self, app: AppState, *, force_refresh: bool) -> tuple[TokenRecord | None, int]:
        """stable_token semantics: same token while valid, renewed in its last minutes.

        Returns (record, errcode); no record only with 45009 before any stable token was
        issued. ``force_refresh`` issues a new token and kills
        the previous one, at most 20 times a day and 30 s apart (else no refresh).
        """
        now = self.clock()
        with self._lock:
            current = app.stable
            usable = current is not None and current.check(now) == 0
            if force_refresh:
                day = beijing_day(now)
                if app.used_today("stable_token:force", day) >= STABLE_FORCE_PER_DAY:
                    return current, 45009
                if usable and now - app.stable_forced_at < STABLE_FORCE_MIN_INTERVAL:
                    return current, 0
                app.calls_by_day.setdefault(day, Counter())["stable_token:force"] += 1
                app.stable_forced_at = now
                if current is not None:
                    current.invalid_after = now
                app.stable = self._new_token(app, "stable", now, self.token_ttl)
                return app.stable, 0
            if usable and current is not None and current.expires_at - now > self.stable_renew_seconds:
                return current, 0
            # In its last minutes (or gone): a new one; the old one lives until it expires.
            app.stable = self._new_token(app, "stable", now, self.token_ttl)
            return app.stable, 0

    def check_token(self, token: str | None) -> tuple[TokenRecord | None, int]:
        if not token:
            return None, 41001
        if len(token) > 512 or not token.replace("_", "").replace("-", "").isalnum():
            return None, 40014
        with self._lock:
            record = self._tokens.get(token)
        if record is None:
            return None, 40001
        return record, record.check(self.clock())

    def expire_tokens(self, appid: str, source: str | None = None) -> int:
        """Make the account's tokens expire now (as if their time had run out)."""
        now = self.clock()
        count = 0
        with self._lock:
            for record in self._tokens.values():
                if record.appid == appid and (source is None or record.source == source):
                    if record.expires_at > now:
                        record.expires_at = now
                        count += 1
        return count

    def token_history(self, appid: str, source: str = "classic") -> list[dict]:
        """Every token issued to the account (fingerprints and times), oldest first."""
        with self._lock:
            records = [r.describe() for r in self._tokens.values() if r.appid == appid and r.source == source]
        return sorted(records, key=lambda r: r["issued_at"])

    def token_fetches(self, appid: str, source: str = "classic") -> int:
        with self._lock:
            return self._apps[appid].issued[source]

    # --- faults and quotas ----------------------------------------------------------------
    def force_error(
        self,
        api: str = "*",
        errcode: int | str = -1,
        *,
        times: int = 1,
        appid: str | None = None,
        delay_ms: int = 0,
        errmsg: str | None = None,
    ) -> None:
        with self._lock:
            self._faults.append(Fault(api, errcode, times, appid, delay_ms, errmsg))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, api: str, appid: str | None, *, lost: bool = False) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if (
                    fault.times > 0
                    and fault.api in ("*", api)
                    and fault.appid in (None, appid)
                    and (fault.errcode == LOST) == lost
                ):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def answer_lost(self, api: str, appid: str | None) -> bool:
        """After the call did its work: is its answer to be lost (a "lost" fault)?"""
        fault = self._take_fault(api, appid, lost=True)
        if fault is None:
            return False
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000)
        return True

    def quota_for(self, app: AppState, api: str) -> int:
        return app.quotas.get(api, self.quotas.get(api, DEFAULT_QUOTA))

    def inject(self, api: str, appid: str | None) -> SandboxResponse | Drop | None:
        """Latency, forced faults and the random fail rate, for any WeChat API call."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        fault = self._take_fault(api, appid)
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000)
            if fault.errcode == "drop":
                return DROP
            if fault.errcode == "http502":
                return SandboxResponse(status=502, body=b"<html>Bad Gateway</html>", content_type="text/html")
            if fault.errcode:
                return self.error(
                    int(fault.errcode), fault.errmsg or "system error", app=self._apps.get(appid or "")
                )
        if self.fail_rate and self._random.random() < self.fail_rate:
            return self.error(-1, "system error", app=self._apps.get(appid or ""))
        return None

    def count_call(self, app: AppState, api: str) -> bool:
        """Count a call against the daily quota; False when the quota is used up (45009)."""
        day = beijing_day(self.clock())
        with self._lock:
            today = app.calls_by_day.setdefault(day, Counter())
            if today[api] >= self.quota_for(app, api):
                return False
            today[api] += 1
            app.calls[api] += 1
            return True

    # --- responses ----------------------------------------------------------------------
    def error(self, errcode: int, errmsg: str, *, app: AppState | None = None) -> SandboxResponse:
        """WeChat's error shape, HTTP 200, with a ``rid:`` suffix like the real thing."""
        if app is not None:
            with self._lock:
                app.errors[errcode] += 1
        rid = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        return self.json({"errcode": errcode, "errmsg": f"{errmsg} rid: {rid}"})

    def ok(self) -> SandboxResponse:
        return self.json({"errcode": 0, "errmsg": "ok"})

    def json(self, data) -> SandboxResponse:
        return json_response(data, content_type=self.content_type)

    def handle(self, request: SandboxRequest) -> SandboxResponse | Drop:
        handler, params = self.routes.match(request.method, request.path)
        if handler is None:
            if self.routes.match("POST" if request.method == "GET" else "GET", request.path)[0]:
                return json_response(
                    {
                        "errcode": 43001 if request.method == "POST" else 43002,
                        "errmsg": f"require {'GET' if request.method == 'POST' else 'POST'} method",
                    }
                )
            return json_response({"errcode": 404, "errmsg": "no such endpoint in the sandbox"}, status=404)
        try:
            result = handler(self, request, **params)
        except BadBody as exc:
            return self.error(exc.errcode, exc.errmsg)
        except Exception:  # a bug in a handler must not kill the server thread
            logger.exception("sandbox handler failed for %s %s", request.method, request.path)
            return json_response({"errcode": -1, "errmsg": "sandbox internal error"}, status=500)
        if isinstance(result, SandboxResponse | Drop):
            return result
        return self.json(result)

    # --- state for tests and the state endpoint ------------------------------------------------
    def state(self, appid: str) -> dict:
        """JSON-able state of one account; never secrets or token values."""
        with self._lock:
            app = self._apps[appid]
            now = self.clock()
            return copy.deepcopy(
                {
                    "appid": app.appid,
                    "original_id": app.original_id,
                    "wechat_id": app.wechat_id,
                    "message_mode": app.message_mode,
                    "callback_url": app.callback_url,
                    "certified": app.certified,
                    "kf_enabled": app.kf_enabled,
                    "menu": {"button": app.menu} if app.menu is not None else None,
                    "menu_history": app.menu_history[-100:],
                    "conditional_menus": app.conditional_menus,
                    "website_menu": app.website_menu,
                    "tokens": {
                        "issued": {"classic": app.issued["classic"], "stable": app.issued["stable"]},
                        "current": {
                            source: (record.describe() | {"usable": record.check(now) == 0})
                            for source, record in (("classic", app.classic), ("stable", app.stable))
                            if record is not None
                        },
                        "rejected": app.rejected_tokens,
                    },
                    "calls": dict(app.calls),
                    "calls_today": dict(app.calls_by_day.get(beijing_day(now), Counter())),
                    "errors": {str(k): v for k, v in app.errors.items()},
                    "kf_accounts": [
                        {k: v for k, v in kf.items() if not k.startswith("_")}
                        for kf in app.kf_accounts.values()
                    ],
                    "sessions": app.sessions,
                    "wait_cases": app.wait_cases,
                    "sent_messages": app.sent_messages[-100:],
                    "media": app.media,
                    "users": app.users,
                }
                | {name: section(app) for name, section in STATE_SECTIONS.items()}
            )

    # --- helpers for tests / simulations (what a human would do on the phone or website) ------
    def set_website_menu(self, appid: str, buttons: list[dict]) -> None:
        """A menu set on mp.weixin.qq.com (types text/img/news... with ``value``)."""
        with self._lock:
            self._apps[appid].website_menu = copy.deepcopy(buttons)

    def accept_kf_invite(self, appid: str, kf_account: str, wx: str | None = None) -> None:
        """The invited WeChat user accepts: the KF account becomes bound."""
        with self._lock:
            kf = self._apps[appid].kf_accounts[kf_account]
            kf["kf_wx"] = wx or kf.get("invite_wx") or "wx_worker"
            for key in ("invite_wx", "invite_expire_time", "invite_status"):
                kf.pop(key, None)

    def set_kf_online(self, appid: str, kf_account: str, online: bool = True) -> None:
        with self._lock:
            self._apps[appid].kf_accounts[kf_account]["_online"] = 1 if online else 0

    def add_wait_case(self, appid: str, openid: str) -> None:
        with self._lock:
            self._apps[appid].wait_cases.append({"latest_time": int(self.clock()), "openid": openid})

    def record_interaction(
        self, appid: str, openid: str, *, kind: str = "message", at: float | None = None
    ) -> None:
        """The user messaged the account ("message") or clicked/subscribed/scanned ("event")."""
        with self._lock:
            self._apps[appid].interactions[openid] = {
                "kind": kind,
                "at": self.clock() if at is None else at,
                "used": 0,
            }

    def set_user(self, appid: str, openid: str, **profile) -> None:
        """What WeChat knows about a follower (tag_ids, client_platform_type, sex, country,
        province, city, language), used by menu/trymatch."""
        with self._lock:
            self._apps[appid].users.setdefault(openid, {}).update(copy.deepcopy(profile))

    # --- server -------------------------------------------------------------------------
    def _join_shared_routes(self) -> None:
        """Endpoints added with ``@route`` after this instance was made join its table (its
        own ``add_route`` endpoints win). The package's ``__init__`` imports the modules that
        register WeChat's endpoints, so they are in ``ROUTES`` before any Sandbox exists."""
        for method_path, handler in ROUTES._exact.items():
            self.routes._exact.setdefault(method_path, handler)
        known = {(m, r.pattern) for m, r, _ in self.routes._patterns}
        for method, regex, handler in ROUTES._patterns:
            if (method, regex.pattern) not in known:
                self.routes._patterns.append((method, regex, handler))

    def add_route(self, methods, pattern: str, handler, *, replace: bool = False) -> None:
        """An endpoint for this sandbox only (``route`` adds one to every sandbox). A path
        that already has a handler is refused (``DuplicateRoute``) unless ``replace=True``."""
        self.routes.add(methods, pattern, handler, replace=replace)

    def _listen(self, host: str, port: int) -> SandboxHTTPServer:
        """Bind the server (with every shared route) and set ``base_url`` to where it listens."""
        self._join_shared_routes()
        server = self._server = SandboxHTTPServer((host, port), self)
        real_host, real_port = server.server_address[:2]
        if isinstance(real_host, bytes):
            real_host = real_host.decode()
        self.base_url = f"http://{real_host}:{real_port}"
        return server

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        """Serve in a background thread; port 0 picks a free port (see ``base_url``)."""
        self._thread = serve_in_thread(self._listen(host, port))
        return self

    def serve_forever(
        self, host: str = "127.0.0.1", port: int = 8001, on_ready: Callable[[str], None] | None = None
    ) -> None:
        """Serve in this thread until interrupted; ``on_ready(base_url)`` once listening."""
        server = self._listen(host, port)
        if on_ready is not None:
            on_ready(self.base_url)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start() if self._server is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
