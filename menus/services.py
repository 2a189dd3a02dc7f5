"""Writes for custom menus: drafts, publishing, pull, delete, copy, fan-out, drift.

Every function takes keyword-only arguments, runs in one transaction, checks the
current state, and leaves a `MenuAuditEntry`. Remote calls go through
`accounts.wechat_api.client_for(account)`; tasks are enqueued with
`transaction.on_commit` and receive ids only (never tokens or secrets).
"""

from __future__ import annotations

import copy
import datetime
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.models import OfficialAccount
from accounts.selectors import accounts_visible_to, user_can_access_account
from core.domain_errors import DomainError
from core.queueing import enqueue_now
from wechat.api import menus as wechat_menus

from . import conditional, limits, tag_mapping
from .models import (
    ClickReply,
    DriftStatus,
    FanOut,
    Menu,
    MenuAction,
    MenuAuditEntry,
    MenuVersion,
    VersionSource,
    VersionStatus,
)
from .validation import MenuIssue
from .wire import wechat_body

if TYPE_CHECKING:
    from core.typing import Actor
    from wechat.client import WeChatClient
    from wechat.errors import WeChatError

logger = logging.getLogger(__name__)


class MenuError(DomainError):
    """A business error shown to the user as is (already translated)."""


class MenuInvalid(MenuError):
    """The menu breaks WeChat's rules; `issues` says where and why."""

    def __init__(self, issues: list[MenuIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))


class TemporaryPublishError(DomainError):
    """WeChat (or the network) failed temporarily; the task retries with backoff."""

    def __init__(self, errcode: int, errmsg: str, attempts: int = 1) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.attempts = attempts  # menu/create attempts of the version so far
        super().__init__(f"{errcode} {errmsg}")


def _client(account: OfficialAccount) -> WeChatClient:
    from accounts.wechat_api import client_for

    return client_for(account)


def _audit(
    account: OfficialAccount,
    action: str,
    *,
    by: Actor = None,
    version: MenuVersion | None = None,
    detail: str = "",
) -> None:
    MenuAuditEntry.objects.create(account=account, action=action, by=by, version=version, detail=detail[:500])


def _require_access(by: Actor, account: OfficialAccount) -> None:
    if by is not None and not user_can_access_account(by, account):
        raise PermissionDenied


def menu_get_or_create(*, account: OfficialAccount) -> Menu:
    menu, _created = Menu.objects.get_or_create(account=account)
    return menu


def _lock_menu(account: OfficialAccount) -> Menu:
    menu = menu_get_or_create(account=account)
    return Menu.objects.select_for_update().get(pk=menu.pk)


def _write_draft(*, menu: Menu, data: dict[str, Any], by: Actor, source: str) -> MenuVersion:
    draft = menu.versions.select_for_update().filter(status=VersionStatus.DRAFT).first()
    if draft is None:
        draft = MenuVersion(menu=menu, status=VersionStatus.DRAFT, created_by=by)
    draft.data = data
    draft.source = source
    draft.save()
    return draft


def menu_check(*, account: OfficialAccount, data: Any) -> tuple[dict[str, Any], list[MenuIssue]]:
    """Normalise a menu set (default + conditional menus) and validate it for this account
    (R-MENU-01/02, certification, match rules: see menus/conditional.py)."""
    data = conditional.normalize_set(data)
    return data, conditional.validate_set(data, certified=account.is_certified())


def draft_save(
    *, account: OfficialAccount, data: Any, by: Actor, source: str = VersionSource.EDITOR
) -> MenuVersion:
    """Save the account's draft after normalising (keys generated when blank, R-MENU-02)
    and validating it (R-MENU-01/02). Raises `MenuInvalid`; nothing is written then."""
    _require_access(by, account)
    data, issues = menu_check(account=account, data=data)
    if issues:
        raise MenuInvalid(issues)
    with transaction.atomic():
        menu = _lock_menu(account)
        draft = _write_draft(menu=menu, data=data, by=by, source=source)
        action = MenuAction.IMPORT if source == VersionSource.IMPORT else MenuAction.SAVE_DRAFT
        _audit(account, action, by=by, version=draft)
    return draft


def draft_discard(*, account: OfficialAccount, by: Actor) -> bool:
    """Throw the draft away; the editor then starts again from the live version."""
    _require_access(by, account)
    with transaction.atomic():
        menu = _lock_menu(account)
        draft = menu.versions.filter(status=VersionStatus.DRAFT).first()
        if draft is None:
            return False
        draft.delete()
        _audit(account, MenuAction.DISCARD_DRAFT, by=by)
    return True


class PublishNotQueued(MenuError):
    """The publish task could not be handed to the broker; the version was failed."""


def _enqueue(version_ids: list[int]) -> None:
    """Hand one publish task per version to the broker (runs after the commit).

    A broker that is down or hung fails the enqueue within seconds (short broker
    timeouts in the settings); the versions not queued are then failed with the
    reason instead of staying pending, and the rest are not tried.
    """
    from .tasks import publish_version

    for index, version_id in enumerate(version_ids):
        if not enqueue_now(publish_version, version_id).sent:
            logger.error("could not queue menu publication(s) %s", version_ids[index:])
            versions_fail_unqueued(version_ids=version_ids[index:])
            return


def versions_fail_unqueued(*, version_ids: list[int]) -> int:
    """pending → failed for versions whose task never reached the broker."""
    count = 0
    for version in MenuVersion.objects.filter(
        pk__in=version_ids, status=VersionStatus.PENDING
    ).select_related("menu__account"):
        count += _finish(
            version,
            ok=False,
            errcode=None,
            errmsg="task queue unreachable",
            explanation=str(QUEUE_DOWN_MESSAGE),
        )
    return count


QUEUE_DOWN_MESSAGE = _lazy(
    "The task queue (Redis) could not be reached, so the menu was not sent to WeChat. "
    "Make sure Redis and the Celery workers are running, then publish again."
)


def _supersede(versions: QuerySet[MenuVersion], *, detail: str = "") -> int:
    """pending → superseded: a newer version of the same menu was published, so these
    must never reach WeChat after it. Returns how many moved."""
    now = timezone.now()
    rows = list(versions.filter(status=VersionStatus.PENDING).values_list("pk", "menu__account_id"))
    if not rows:
        return 0
    moved = MenuVersion.objects.filter(pk__in=[pk for pk, _a in rows], status=VersionStatus.PENDING).update(
        status=VersionStatus.SUPERSEDED,
        finished_at=now,
        updated_at=now,
        explanation=_(
            "A newer version of this menu was published before this one reached WeChat, so it was not sent."
        ),
    )
    MenuAuditEntry.objects.bulk_create(
        [
            MenuAuditEntry(account_id=account_id, version_id=pk, action=MenuAction.SUPERSEDED, detail=detail)
            for pk, account_id in rows
        ]
    )
    return moved


def menu_publish(*, account: OfficialAccount, by: Actor) -> MenuVersion:
    """Freeze the draft as an immutable version (draft → pending) and enqueue menu/create.

    Validates again first (R-MENU-01/02; miniprogram needs certification, which
    may have lapsed since the draft was saved). R-MENU-03: clients may take up to
    24 hours to show the menu — the admin says so after success. Older versions
    still pending are superseded: the newest menu wins. If the task cannot be
    queued (broker down or hung) the version is failed and `PublishNotQueued`
    says so.
    """
    _require_access(by, account)
    with transaction.atomic():
        menu = _lock_menu(account)
        draft = menu.versions.filter(status=VersionStatus.DRAFT).first()
        if draft is None:
            raise MenuError(_("There is no draft to publish. Edit the menu and save it first."))
        _data, issues = menu_check(account=account, data=draft.data)
        if issues:
            raise MenuInvalid(issues)
        draft.status = VersionStatus.PENDING
        draft.submitted_by = by
        draft.submitted_at = timezone.now()
        draft.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
        _audit(account, MenuAction.PUBLISH, by=by, version=draft)
        # older pending versions go now, except one a worker may be sending right now
        # (its outcome is recorded; this version waits for the account's lock)
        _supersede(
            menu.versions.filter(number__lt=draft.number).exclude(number=menu.sent_number),
            detail=f"#{draft.number}",
        )
        transaction.on_commit(lambda: _enqueue([draft.pk]))
    if not transaction.get_connection().in_atomic_block:  # the task was queued (or not) now
        draft.refresh_from_db()
        if draft.status == VersionStatus.FAILED:
            raise PublishNotQueued(draft.explanation)
    return draft


def _claim(version_id: int) -> MenuVersion | None:
    """The pending version with its account, or None if it is no longer pending.

    No database lock is held across the HTTP call that follows: `_finish` moves the
    version out of pending with a conditional UPDATE, so only one outcome is ever
    recorded, and the account's publish lock keeps calls of one account in order."""
    return (
        MenuVersion.objects.select_related("menu__account")
        .filter(pk=version_id, status=VersionStatus.PENDING)
        .first()
    )


def _take_turn(version: MenuVersion) -> bool:
    """Raise the menu's sent number to this version's, or supersede the version.

    A conditional UPDATE: it succeeds only if no newer version of the menu was sent
    yet (sending the same version again, on retry, is allowed); older versions still
    pending are superseded then. Called with the account's publish lock held, right
    before menu/create."""
    with transaction.atomic():
        moved = Menu.objects.filter(pk=version.menu_id, sent_number__lte=version.number).update(
            sent_number=version.number
        )
        older_or_self = (
            MenuVersion.objects.filter(menu_id=version.menu_id, number__lt=version.number)
            if moved
            else MenuVersion.objects.filter(pk=version.pk)
        )
        _supersede(older_or_self, detail=f"#{version.number}" if moved else "")
    return bool(moved)


def _finish(
    version: MenuVersion,
    *,
    ok: bool,
    errcode: int | None = None,
    errmsg: str = "",
    explanation: str = "",
    attempted: bool = False,
) -> bool:
    """pending → published | failed, exactly once; on success the click replies of the
    live menu are replaced (R-MENU-02) and the drift flag cleared."""
    now = timezone.now()
    with transaction.atomic():
        # the conditional UPDATE is the guard: only one caller moves it out of pending
        moved = MenuVersion.objects.filter(pk=version.pk, status=VersionStatus.PENDING).update(
            attempts=F("attempts") + (1 if attempted else 0),
            status=VersionStatus.PUBLISHED if ok else VersionStatus.FAILED,
            finished_at=now,
            updated_at=now,
            errcode=0 if ok else errcode,
            errmsg="ok" if ok else (errmsg or "")[:300],
            explanation=explanation,
        )
        if not moved:
            return False
        account = version.menu.account
        by_id = version.submitted_by_id
        if ok:
            # updating the menu row first locks it: concurrent publications of one
            # account replace the click replies one after the other
            Menu.objects.filter(pk=version.menu_id).update(
                drift_status=DriftStatus.IN_SYNC, drift_checked_at=now, drift_detail="", updated_at=now
            )
            ClickReply.objects.filter(account=account).delete()
            ClickReply.objects.bulk_create(
                [
                    ClickReply(account=account, key=key, reply=reply, version=version)
                    for key, reply in conditional.set_click_replies(version.data).items()
                ]
            )
            MenuAuditEntry.objects.create(
                account=account, action=MenuAction.PUBLISHED, by_id=by_id, version=version
            )
        else:
            MenuAuditEntry.objects.create(
                account=account,
                action=MenuAction.FAILED,
                by_id=by_id,
                version=version,
                detail=f"{errcode} {errmsg}".strip()[:500],
            )
    return True


def version_send(*, version_id: int, final_attempt: bool) -> str:
    """Send a pending version to WeChat (menu/create) and record the outcome.

    Returns "published", "failed", "superseded" (a newer version was sent first) or
    "skipped" (not pending any more). The account's publish lock is held from the
    checks to the recorded outcome, and the version must raise the menu's sent
    number (`_take_turn`), so an older version never reaches WeChat after a newer
    one (R-MENU-03). `final_attempt` is also true once the version has used its
    attempts (counted in the database, so a re-queued task keeps the budget).
    Raises `limits.AccountBusy` when the lock stays taken. Before
    calling WeChat it validates again (the same validator, R-MENU-01/02), takes
    one unit of the account's daily menu/create quota (1000/day) and waits for the
    global rate. A temporary WeChatError raises `TemporaryPublishError` (the
    task retries with backoff) unless `final_attempt`; permanent errors fail the
    version at once with errcode, errmsg and the human explanation.
    """
    version = _claim(version_id)
    if version is None:
        return "skipped"
    with limits.publish_lock(version.menu.account_id):
        return _send_locked(version_id, final_attempt=final_attempt)


def _send_locked(version_id: int, *, final_attempt: bool) -> str:
    from wechat.errors import WeChatError, explain

    version = _claim(version_id)  # again: another worker may have finished it meanwhile
    if version is None:
        return "skipped"
    final_attempt = final_attempt or version.attempts >= settings.MENU_PUBLISH_MAX_RETRIES
    account = version.menu.account
    _data, issues = menu_check(account=account, data=version.data)
    if issues:
        first = issues[0]
        _finish(
            version,
            ok=False,
            errcode=first.errcode,
            errmsg=first.message,
            explanation="\n".join(str(issue) for issue in issues),
        )
        return "failed"
    if not _take_turn(version):
        return "superseded"
    if not limits.daily_quota_take(account.appid):
        _finish(
            version,
            ok=False,
            errcode=45009,
            errmsg="menu/create daily quota used up",
            explanation=str(explain(45009)),
        )
        return "failed"
    limits.global_rate_wait()
    had_conditional = _live_has_conditional(version)
    client = _client(account)
    try:
        wechat_menus.create(client, version.wechat_body())
        conditional.publish_conditional(client, version.data, had_conditional=had_conditional)
    except WeChatError as exc:
        if exc.may_have_acted and _wechat_has(client, version):
            _finish(version, ok=True, attempted=True)  # WeChat applied it; only the answer was lost
            return "published"
        if exc.temporary and not final_attempt:
            MenuVersion.objects.filter(pk=version.pk, status=VersionStatus.PENDING).update(
                attempts=F("attempts") + 1,
                updated_at=timezone.now(),
                errcode=exc.errcode,
                errmsg=str(exc.errmsg)[:300],
                explanation=str(exc.explanation),
            )
            _audit(account, MenuAction.RETRY, version=version, detail=f"{exc.errcode} {exc.errmsg}")
            raise TemporaryPublishError(exc.errcode, exc.errmsg, version.attempts + 1)
        _finish(
            version,
            ok=False,
            errcode=exc.errcode,
            errmsg=str(exc.errmsg),
            explanation=_final_explanation(exc),
            attempted=True,
        )
        return "failed"
    _finish(version, ok=True, attempted=True)
    return "published"


def _wechat_has(client: WeChatClient, version: MenuVersion) -> bool:
    """After an ambiguous menu/create (the request was sent, no answer came back): read
    the menus back with menu/get and say whether WeChat has this version's whole set,
    default and conditional menus (issue 23, point 3). A failed read says no: the
    version is then retried (sending the same menu again is harmless) or failed."""
    from wechat.errors import WeChatError

    try:
        remote = conditional.remote_set(wechat_menus.get(client))
    except WeChatError as exc:
        logger.warning("menu version %s: read-back failed: %s", version.pk, exc)
        return False
    return conditional.canonical_set(remote) == conditional.canonical_set(version.data)


def _final_explanation(exc: WeChatError) -> str:
    """The failure text of the last try: a temporary error's own explanation says "the
    call is retried", which is no longer true (issue 23, point 8)."""
    if not exc.temporary:
        return str(exc.explanation)
    if exc.may_have_acted:
        return str(
            _(
                "WeChat did not answer the last try and the menu read back from WeChat is "
                "not this version: it was not published. Publish again."
            )
        )
    return str(
        _(
            "WeChat could not be reached after several tries (%(reason)s); the menu was "
            "not published. Publish again when WeChat answers."
        )
        % {"reason": f"{exc.errcode} {exc.errmsg}".strip()}
    )


def _live_has_conditional(version: MenuVersion) -> bool:
    """Whether the set published before this one had conditional menus (to remove)."""
    live = version.menu.live_version
    return live is not None and bool(conditional.conditional_menus(live.data))


def versions_sweep_stuck(*, older_than: datetime.timedelta | None = None) -> dict[str, int]:
    """Versions nobody worked on for `older_than`: queue the task again once, then fail.

    The broker hands back the task of a killed worker within about two minutes
    (visibility timeout), so this is the backstop for a message that was lost all
    the same. "Worked on" is `updated_at`, touched by every attempt. Selects by
    state, so running it twice changes nothing the second time.
    """
    older_than = older_than or datetime.timedelta(seconds=settings.MENU_PUBLISH_STUCK_AFTER_SECONDS)
    now = timezone.now()
    cutoff = now - older_than
    stuck = MenuVersion.objects.filter(status=VersionStatus.PENDING, updated_at__lt=cutoff)
    with transaction.atomic():
        # rows locked by a concurrent sweep (a second beat host) are left to it
        requeue = list(
            stuck.filter(requeued_at__isnull=True)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        requeued = MenuVersion.objects.filter(pk__in=requeue).update(requeued_at=now, updated_at=now)
        MenuAuditEntry.objects.bulk_create(
            [
                MenuAuditEntry(account_id=account_id, version_id=pk, action=MenuAction.REQUEUED)
                for pk, account_id in MenuVersion.objects.filter(pk__in=requeue).values_list(
                    "pk", "menu__account_id"
                )
            ]
        )
        transaction.on_commit(lambda: _enqueue(requeue))
    failed = 0
    for version in stuck.filter(requeued_at__isnull=False).select_related("menu__account"):
        failed += _finish(
            version,
            ok=False,
            errcode=None,
            errmsg="timeout",
            explanation=_(
                "No worker finished publishing this version, even "
                "after it was queued again; the menu may or may not "
                "have reached WeChat. Publish again."
            ),
        )
    return {"requeued": requeued, "failed": failed}


# --- Pull, delete, compare --------------------------------------------------------------

SELFMENU_TYPES = {"text", "img", "voice", "video", "news"}


def selfmenu_to_menu(info: dict[str, Any], *, replies: dict[str, str] | None = None) -> dict[str, Any]:
    """Turn get_current_selfmenu_info's `selfmenu_info` into menu/create's shape.

    Buttons set on the website have types the API cannot create: a `text` reply
    becomes a click button whose reply is that text (R-MENU-02); images and voice
    become media_id buttons; videos and news become view buttons on their URL.
    """
    replies = replies or {}
    counter = [0]

    def convert(button: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": button.get("name", "")}
        subs = button.get("sub_button")
        if isinstance(subs, dict):
            subs = subs.get("list")
        if subs:
            out["sub_button"] = [convert(sub) for sub in subs]
            return out
        kind = button.get("type")
        if kind == "text":
            counter[0] += 1
            out.update(type="click", key=f"TEXT_{counter[0]}", reply=button.get("value", ""))
        elif kind in ("img", "voice"):
            out.update(type="media_id", media_id=button.get("value", ""))
        elif kind == "video":
            out.update(type="view", url=button.get("value", ""))
        elif kind == "news":
            items = (button.get("news_info") or {}).get("list") or [{}]
            out.update(type="view", url=items[0].get("content_url", ""))
        else:
            for field in ("type", "key", "url", "media_id", "article_id", "appid", "pagepath"):
                if button.get(field):
                    out[field] = button[field]
            if out.get("type") == "click" and out.get("key") in replies:
                out["reply"] = replies[out["key"]]
        return out

    return {"button": [convert(button) for button in info.get("button", [])]}


def _known_replies(menu: Menu) -> dict[str, str]:
    known: dict[str, str] = {}
    for version in menu.versions.filter(status__in=[VersionStatus.DRAFT, VersionStatus.PUBLISHED]).order_by(
        "number"
    ):
        known.update(conditional.set_click_replies(version.data))
    return known


def menu_pull(*, account: OfficialAccount, by: Actor, selfmenu: bool = False) -> MenuVersion:
    """R-MENU-03 "Pull from WeChat": import the live menu into a new draft (replacing the draft).

    `menu/get` by default; `selfmenu=True` uses get_current_selfmenu_info, which
    also sees menus set on the website (different shape, converted). Click replies
    we know for the same keys are kept. The draft is stored even if it breaks a
    rule (it is what WeChat has); the editor shows the issues. No menu on WeChat
    (menu/get answers 46003) pulls an empty draft, as get_current_selfmenu_info does.
    """
    _require_access(by, account)
    client = _client(account)
    conditional_menus: list[dict[str, Any]] = []
    if selfmenu:
        info = wechat_menus.current_selfmenu_info(client).get("selfmenu_info") or {"button": []}
    else:
        remote = conditional.remote_set(conditional.remote_answer(client))
        info, conditional_menus = remote, remote.get(conditional.CONDITIONAL, [])
    with transaction.atomic():
        menu = _lock_menu(account)
        replies = _known_replies(menu)
        data = selfmenu_to_menu(info, replies=replies)
        if conditional_menus:
            data[conditional.CONDITIONAL] = [
                {**selfmenu_to_menu(item, replies=replies), "matchrule": item["matchrule"]}
                for item in conditional_menus
            ]
        data = conditional.normalize_set(data)
        draft = _write_draft(menu=menu, data=data, by=by, source=VersionSource.PULL)
        _audit(
            account,
            MenuAction.PULL,
            by=by,
            version=draft,
            detail="get_current_selfmenu_info" if selfmenu else "menu/get",
        )
    return draft


def menu_delete_remote(*, account: OfficialAccount, by: Actor) -> None:
    """ "Delete on WeChat" (menu/delete: default and conditional menus). Clicks have no
    buttons left, so the click replies go too (R-MENU-02)."""
    _require_access(by, account)
    wechat_menus.delete(_client(account))
    with transaction.atomic():
        menu = _lock_menu(account)
        ClickReply.objects.filter(account=account).delete()
        menu.drift_status = DriftStatus.MISSING
        menu.drift_checked_at = timezone.now()
        menu.drift_detail = ""
        menu.save(update_fields=["drift_status", "drift_checked_at", "drift_detail", "updated_at"])
        _audit(account, MenuAction.DELETE_REMOTE, by=by)


def menu_check_drift(*, account_id: int) -> str:
    """Compare the live version with menu/get and flag the account when they differ
    (someone edited the menu on the website, say). Returns the new drift status."""
    from wechat.errors import WeChatError

    account = OfficialAccount.objects.get(pk=account_id)
    menu = menu_get_or_create(account=account)
    live = menu.live_version
    if live is None:
        return menu.drift_status
    detail = ""
    try:
        remote = conditional.remote_set(wechat_menus.get(_client(account)))
        status = (
            DriftStatus.IN_SYNC
            if conditional.canonical_set(remote) == conditional.canonical_set(live.data)
            else DriftStatus.DRIFTED
        )
    except WeChatError as exc:
        if exc.errcode == 46003:
            status = DriftStatus.MISSING
        else:
            status, detail = DriftStatus.ERROR, f"{exc.errcode} {exc.errmsg}"
    with transaction.atomic():
        locked = Menu.objects.select_for_update().get(pk=menu.pk)
        changed = locked.drift_status != status
        locked.drift_status = status
        locked.drift_checked_at = timezone.now()
        locked.drift_detail = detail[:300]
        locked.save(update_fields=["drift_status", "drift_checked_at", "drift_detail", "updated_at"])
        if changed and status in (DriftStatus.DRIFTED, DriftStatus.MISSING):
            _audit(account, MenuAction.DRIFT, version=live, detail=status)
    return status


# --- Copy and fan-out ----------------------------------------------------------------------


def _visible_targets(by: Actor, accounts: Iterable[OfficialAccount]) -> list[OfficialAccount]:
    accounts = list(accounts)
    if by is not None:
        allowed = set(
            accounts_visible_to(by).filter(pk__in=[a.pk for a in accounts]).values_list("pk", flat=True)
        )
        if len(allowed) != len({a.pk for a in accounts}):
            raise PermissionDenied
    return accounts


def _check_for_targets(
    data: dict[str, Any], source: OfficialAccount | None, targets: list[OfficialAccount]
) -> dict[int, tuple[dict[str, Any], list[MenuIssue]]]:
    """Each target's own copy of the menu: conditional menus' user tags mapped by name
    (``tag_mapping``: a target lacking the tag is refused, named), then ``menu_check``."""
    mapped = tag_mapping.map_for_targets(data, source=source, targets=targets)
    checked: dict[int, tuple[dict[str, Any], list[MenuIssue]]] = {}
    for account in targets:
        data_for, tag_issues = mapped[account.pk]
        if tag_issues:
            checked[account.pk] = (data_for, list(tag_issues))
        else:
            checked[account.pk] = menu_check(account=account, data=copy.deepcopy(data_for))
    return checked


def menu_copy(
    *,
    data: dict[str, Any],
    accounts: Iterable[OfficialAccount],
    by: Actor,
    source_account: OfficialAccount | None = None,
) -> tuple[list[OfficialAccount], dict[OfficialAccount, list[MenuIssue]]]:
    """Copy a menu into the drafts of other accounts (replacing their drafts).

    Each target is validated on its own (miniprogram needs a certified account; a
    conditional menu's user tag must exist BY NAME on the target, issue 24); those that
    fail are reported and left untouched. Returns (copied, refused).
    """
    targets = _visible_targets(by, accounts)
    copied: list[OfficialAccount] = []
    refused: dict[OfficialAccount, list[MenuIssue]] = {}
    checked = _check_for_targets(data, source_account, targets)
    with transaction.atomic():
        for account in targets:
            clean, issues = checked[account.pk]
            if issues:
                refused[account] = issues
                continue
            draft = _write_draft(menu=_lock_menu(account), data=clean, by=by, source=VersionSource.COPY)
            _audit(account, MenuAction.COPY, by=by, version=draft)
            copied.append(account)
    return copied, refused


def fanout_start(
    *,
    data: dict[str, Any],
    accounts: Iterable[OfficialAccount],
    by: Actor,
    source_account: OfficialAccount | None = None,
) -> FanOut:
    """Publish one menu to many accounts: one frozen version and one task per account.

    A staff member only publishes for accounts assigned to them (PermissionDenied
    otherwise). Accounts the menu is invalid for (e.g. miniprogram on an
    uncertified account) fail at once with the validator's reason, so nothing
    waits forever. Quota and global rate are applied by each task.
    """
    targets = _visible_targets(by, accounts)
    if not targets:
        raise MenuError(_("Select at least one account."))
    now = timezone.now()
    checked = _check_for_targets(data, source_account, targets)
    # A fixed number of queries whatever the number of accounts: agencies fan out to
    # hundreds of accounts and the tasks cannot start before this transaction commits.
    with transaction.atomic():
        Menu.objects.bulk_create([Menu(account=account) for account in targets], ignore_conflicts=True)
        menus = {
            menu.account_id: menu
            for menu in Menu.objects.select_for_update().filter(account__in=targets).order_by("pk")
        }
        numbers = dict(
            MenuVersion.objects.filter(menu__in=menus.values())
            .values("menu")
            .annotate(last=Max("number"))
            .values_list("menu", "last")
        )
        fanout = FanOut.objects.create(
            data=data, created_by=by, source_account=source_account, total=len(targets)
        )
        versions = []
        for account in targets:
            clean, issues = checked[account.pk]
            menu = menus[account.pk]
            version = MenuVersion(
                menu=menu,
                number=numbers.get(menu.pk, 0) + 1,
                data=clean if not issues else data,
                status=VersionStatus.PENDING,
                source=VersionSource.FANOUT,
                fanout=fanout,
                created_by=by,
                submitted_by=by,
                submitted_at=now,
            )
            if issues:
                version.status = VersionStatus.FAILED
                version.finished_at = now
                version.errcode = issues[0].errcode
                version.errmsg = issues[0].message[:300]
                version.explanation = "\n".join(str(issue) for issue in issues)
            versions.append(version)
        MenuVersion.objects.bulk_create(versions)
        _supersede(
            MenuVersion.objects.filter(menu__in=menus.values())
            .exclude(fanout=fanout)
            .exclude(number=F("menu__sent_number")),
            detail=f"fan-out #{fanout.pk}",
        )
        MenuAuditEntry.objects.bulk_create(
            [
                MenuAuditEntry(
                    account_id=version.menu.account_id,
                    action=MenuAction.FANOUT,
                    by=by,
                    version=version,
                    detail=f"fan-out #{fanout.pk}",
                )
                for version in versions
            ]
        )
        pending = [version.pk for version in versions if version.status == VersionStatus.PENDING]
        transaction.on_commit(lambda: _enqueue(pending))
    return fanout


def wechat_menu_body(data: dict[str, Any]) -> dict[str, Any]:
    """Export: exactly the JSON WeChat's menu/create takes (our reply texts left out),
    plus the menu/addconditional bodies under "conditionalmenu" when there are any."""
    body = wechat_body(data)
    bodies = conditional.wechat_conditional_bodies(data)
    if bodies:
        body[conditional.CONDITIONAL] = bodies
    return body


# --- Conditional menus (menus/conditional.py) --------------------------------------------


def conditional_try_match(*, account: OfficialAccount, user_id: str, data: Any, by: Actor) -> dict[str, Any]:
    """menu/trymatch: which menu of the set a user sees (65302 when WeChat knows no such
    user). Read-only on WeChat's side, so no audit entry."""
    _require_access(by, account)
    return conditional.try_match(_client(account), user_id=user_id, data=conditional.normalize_set(data))


def conditional_remote_list(*, account: OfficialAccount) -> list[dict[str, Any]]:
    """The conditional menus WeChat has (menu/get), newest first, with menuids."""
    items = conditional.remote_conditional_items(conditional.remote_answer(_client(account)))
    return [
        {
            "menuid": str(item.get("menuid")),
            "matchrule": conditional.clean_matchrule(item.get("matchrule")),
            "names": [b.get("name", "") for b in item.get("button") or [] if isinstance(b, dict)],
        }
        for item in items
    ]


def conditional_delete_remote(*, account: OfficialAccount, menuid: str, by: Actor) -> None:
    """menu/delconditional for one conditional menu (65301 when WeChat has no such menuid);
    audited. The drift check flags the account until the set is published again."""
    _require_access(by, account)
    wechat_menus.delete_conditional(_client(account), menuid)
    with transaction.atomic():
        _lock_menu(account)
        _audit(account, MenuAction.DELETE_REMOTE, by=by, detail=f"menu/delconditional {menuid}")
