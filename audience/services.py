"""Writes of the audience app (issue 24): the full follower sync and its reconcile, tags,
tagging, the blacklist, remarks and channel QR codes. Every rule WeChat would refuse with a
known code is checked here first, so staff get a Chinese sentence and WeChat gets no call;
WeChat's own refusals come back as ``AudienceError`` with its code in words.

Facts: ``wechat/api/users.py``, ``tags.py``, ``qrcodes.py`` (protocol §h).
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OfficialAccount
from core.domain_errors import DomainError
from core.typing import Actor
from wechat.api import qrcodes as qr_api
from wechat.api import quota as quota_api
from wechat.api import tags as tags_api
from wechat.api import users as users_api
from wechat.client import WeChatClient
from wechat.errors import WeChatError

from . import operations
from .models import Follower, FollowerTag, QrCode, SyncRun, Tag, WeChatWrite

logger = logging.getLogger(__name__)


class AudienceError(DomainError):
    """A refusal, in words, before or from WeChat."""


class WriteUnsettled(AudienceError):
    """Not a refusal: the change is recorded and not done yet — WeChat or Redis could not be
    reached (it is sent automatically), or WeChat's answer was lost (it is being checked)."""


#: WeChat's refusals of this area, in words (protocol §h).
WECHAT_REFUSALS = {
    40003: "微信不认识这个 OpenID（用户可能已取消关注）。",
    40032: "一次提交的用户数超过了微信的上限。",
    40092: "备注名超过 30 个字节。",
    45009: "今天该接口的调用次数已用完，明天会自动继续。",
    45056: "标签已达 100 个上限，不能再创建。",
    45057: "该标签下粉丝超过 10 万，不能直接删除：请先分批取消标签。",
    45058: "0、1、2 是微信保留的系统标签，不能修改或删除。",
    45059: "有用户的标签已达 20 个上限。",
    45157: "标签名不合法或与已有标签重名。",
    45158: "标签名超过 30 个字节。",
    45159: "微信上已没有这个标签，请先同步标签。",
}


def refusal_words(error: WeChatError) -> str:
    """WeChat's refusal in words, with its code."""
    return _refusal(error).user_message


def _refusal(error: WeChatError) -> AudienceError:
    words = WECHAT_REFUSALS.get(error.errcode, _("WeChat refused: %(msg)s") % {"msg": error.errmsg})
    return AudienceError(f"{words}（{error.errcode}）")


def _words(error: WeChatError) -> str:
    """A WeChat error in the words staff read (``operations`` records them on the write)."""
    if error.errcode in WECHAT_REFUSALS or not error.temporary:
        return _refusal(error).user_message
    return f"{error.explanation}（{error.errcode}）"


#: what staff read when a write could not be sent yet (WeChat or Redis unreachable)
NOT_SENT_YET = gettext_lazy(
    "WeChat (or Redis) could not be reached, so nothing was changed yet. The change is saved "
    "and sent automatically once they answer again."
)
#: what staff read when WeChat's answer was lost and reading it back has not settled it yet
BEING_CHECKED = gettext_lazy(
    "WeChat did not answer. Whether it applied the change is being checked with WeChat and "
    "recorded automatically; look again in a few minutes."
)


def _run_one(write: WeChatWrite, client: WeChatClient) -> WeChatWrite:
    """One recorded write, sent; a result other than done is raised in words."""
    write = operations.run(write, client, words=_words)
    if write.state == WeChatWrite.State.DONE:
        return write
    if write.state == WeChatWrite.State.FAILED:
        raise AudienceError(write.detail)
    if write.state == WeChatWrite.State.PENDING:
        raise WriteUnsettled(str(NOT_SENT_YET))
    raise WriteUnsettled(str(BEING_CHECKED))


def settle_writes(*, limit: int = 200) -> dict[str, int]:
    """The sweeper (beat task ``audience.settle_writes``): writes whose writer died or that
    could not be sent are sent or read back (``operations.sweep``); follower counts of the
    tags touched are refreshed."""

    def refresh(account_ids: set[int]) -> None:
        for account in OfficialAccount.objects.filter(pk__in=account_ids):
            refresh_local_counts(account)

    return operations.sweep(words=_words, on_tags_changed=refresh, limit=limit)


def _client(account: OfficialAccount) -> WeChatClient:
    from accounts.wechat_api import client_for

    return client_for(account)


# --- full sync and reconcile ---------------------------------------------------------------

#: the columns a sync page refreshes on a follower already stored (the rest are ours)
_SYNCED_FIELDS = (
    "unionid",
    "subscribed",
    "subscribe_time",
    "subscribe_scene",
    "qr_scene",
    "remark",
    "language",
    "unsubscribed_at",
    "seen_by_run",
    "updated_at",
)


def _timestamp(value: object) -> datetime.datetime | None:
    seconds = int(value or 0)  # type: ignore[call-overload]
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC) if seconds else None


def upsert_followers(account_id: int, run_id: int, infos: list[dict]) -> tuple[int, int]:
    """A page of ``user/info`` answers in a few set-based statements. Returns (added,
    updated). A second upsert of the same rows (a resumed run) changes nothing but
    ``updated_at``: no duplicates.

    On PostgreSQL (``_upsert_followers_pg``) the page goes as arrays into one
    ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE … RETURNING`` — no model instance
    per row: building and compiling 10,000 ORM objects was most of the old 742 followers/s
    (bench/audience_sync.py). Elsewhere (SQLite, ``make run``) the ORM path below: one SELECT
    of the OpenIDs already here, one ``bulk_create(update_conflicts=True)``, one DELETE and one
    INSERT for the tags."""
    rows = [i for i in infos if i.get("subscribe")]
    if not rows:
        return 0, 0
    if connection.vendor == "postgresql":
        return _upsert_followers_pg(account_id, run_id, rows)
    openids = [i["openid"] for i in rows]
    known = set(
        Follower.objects.filter(account_id=account_id, openid__in=openids).values_list("openid", flat=True)
    )
    now = timezone.now()
    followers = [
        Follower(
            account_id=account_id,
            openid=i["openid"],
            unionid=i.get("unionid", ""),
            subscribed=True,
            subscribe_time=_timestamp(i.get("subscribe_time")),
            subscribe_scene=i.get("subscribe_scene", ""),
            qr_scene=i.get("qr_scene_str") or str(i.get("qr_scene") or ""),
            remark=i.get("remark", "")[:30],
            language=i.get("language", ""),
            unsubscribed_at=None,
            seen_by_run=run_id,
            updated_at=now,
        )
        for i in rows
    ]
    saved = Follower.objects.bulk_create(
        followers,
        update_conflicts=True,
        unique_fields=["account", "openid"],
        update_fields=list(_SYNCED_FIELDS),
    )
    ids = {f.openid: f.pk for f in saved if f.pk is not None}
    if len(ids) < len(saved):  # a backend that does not return ids from an upsert
        ids = dict(
            Follower.objects.filter(account_id=account_id, openid__in=openids).values_list("openid", "pk")
        )
    if known:
        FollowerTag.objects.filter(follower_id__in=[ids[o] for o in known]).delete()
    FollowerTag.objects.bulk_create(
        [
            FollowerTag(follower_id=ids[i["openid"]], account_id=account_id, tag_id=int(t))
            for i in rows
            for t in set(i.get("tagid_list") or ())
        ],
        ignore_conflicts=True,
    )
    return len(rows) - len(known), len(known)


#: the page's rows, COPYed in (one per session, emptied at each commit)
_PG_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS audience_sync_stage (
    openid text, unionid text, subscribe_time bigint, subscribe_scene text, qr_scene bigint,
    qr_scene_str text, remark text, language text
) ON COMMIT DELETE ROWS
"""
_STAGE_FIELDS = (
    "openid",
    "unionid",
    "subscribe_time",
    "subscribe_scene",
    "qr_scene",
    "qr_scene_str",
    "remark",
    "language",
)

_PG_UPSERT = """
WITH page AS (
    INSERT INTO audience_follower (
        account_id, openid, unionid, subscribed, subscribe_time, subscribe_scene, qr_scene, remark,
        language, blacklisted, unsubscribed_at, seen_by_run, updated_at
    )
    SELECT DISTINCT ON (t.openid)
           %(account)s, t.openid, COALESCE(t.unionid, ''), true,
           to_timestamp(NULLIF(t.subscribe_time, 0)), COALESCE(t.subscribe_scene, ''),
           COALESCE(NULLIF(t.qr_scene_str, ''), NULLIF(t.qr_scene, 0)::text, ''),
           left(COALESCE(t.remark, ''), 30), COALESCE(t.language, ''), false, NULL, %(run)s, %(now)s
    FROM audience_sync_stage AS t
    ON CONFLICT (account_id, openid) DO UPDATE SET
        unionid = EXCLUDED.unionid, subscribed = true, subscribe_time = EXCLUDED.subscribe_time,
        subscribe_scene = EXCLUDED.subscribe_scene, qr_scene = EXCLUDED.qr_scene,
        remark = EXCLUDED.remark, language = EXCLUDED.language, unsubscribed_at = NULL,
        seen_by_run = EXCLUDED.seen_by_run, updated_at = EXCLUDED.updated_at
    RETURNING id, (xmax = 0) AS inserted
), untagged AS (
    DELETE FROM audience_followertag
    WHERE follower_id IN (SELECT id FROM page WHERE NOT inserted)
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM page
"""

_PG_TAGS = """
INSERT INTO audience_followertag (follower_id, account_id, tag_id)
SELECT f.id, %(account)s, tag.value::int
FROM json_to_recordset(%(page)s::json) AS t(openid varchar, tagid_list json)
JOIN audience_follower f ON f.account_id = %(account)s AND f.openid = t.openid
CROSS JOIN LATERAL json_array_elements_text(t.tagid_list) AS tag(value)
WHERE t.tagid_list IS NOT NULL
ON CONFLICT DO NOTHING
"""


def _upsert_followers_pg(account_id: int, run_id: int, rows: list[dict]) -> tuple[int, int]:
    """The PostgreSQL path of ``upsert_followers``: the page is COPYed into a temporary
    staging table (psycopg writes COPY rows in C: a tenth of the Python time of dumping the
    page as one json parameter, and no json_to_recordset parse on the server — same-run A/B at
    300,000 rows: 11,900 vs 8,200 rows/s), then ONE statement upserts the followers from it
    and deletes the updated followers' tags (``xmax = 0`` tells an insert from an update),
    returning two counts, not 10,000 rows; one INSERT adds the page's tags. No model instance
    per row (building and compiling 10,000 ORM objects was most of the first 742/s). The
    page's commit does not wait for the WAL flush (``synchronous_commit`` off for this
    transaction only): a PostgreSQL crash can lose the last pages, but with the cursor they
    were committed with, so the run resumes before them — nothing lost or counted twice."""
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(_PG_STAGE)
        with cursor.cursor.copy("COPY audience_sync_stage FROM STDIN") as copy:
            for info in rows:
                copy.write_row(tuple(info.get(field) for field in _STAGE_FIELDS))
        cursor.execute(_PG_UPSERT, {"account": account_id, "run": run_id, "now": timezone.now()})
        added, updated = cursor.fetchone()
        # empty for a next page in the same transaction (the commit empties it otherwise)
        cursor.execute("DELETE FROM audience_sync_stage")
        tagged = [{"openid": i["openid"], "tagid_list": i["tagid_list"]} for i in rows if i.get("tagid_list")]
        if tagged:
            cursor.execute(_PG_TAGS, {"account": account_id, "page": json.dumps(tagged)})
    return added, updated


def start_sync(*, account: OfficialAccount) -> SyncRun:
    """The account's open run (to resume) or a new one: one open run per account."""
    with transaction.atomic():
        run = (
            SyncRun.objects.select_for_update()
            .filter(account=account)
            .exclude(status=SyncRun.Status.DONE)
            .first()
        )
        if run is None:
            run = SyncRun.objects.create(account=account)
        elif run.status == SyncRun.Status.PAUSED:
            run.status = SyncRun.Status.RUNNING
            run.save(update_fields=["status"])
    return run


@dataclass
class SyncTiming:
    """Where a sync's time went (the benchmark's DB-side rate)."""

    wechat_seconds: float = 0.0
    db_seconds: float = 0.0


#: concurrent ``user/info/batchget`` calls while a page is fetched (WeChat's per-call limit
#: is 100 OpenIDs; it states no concurrency limit, only the daily quota, which is the same
#: number of calls either way)
FETCH_THREADS = 4


def _fetch_page(client: WeChatClient, cursor: str, pool: ThreadPoolExecutor) -> tuple[dict, list[dict]]:
    """One ``user/get`` page and its details, the batchget calls ``FETCH_THREADS`` at a time.
    Touches no database (it runs in a thread)."""
    page = users_api.list_page(client, cursor)
    openids = page["openids"]
    chunks = [openids[s : s + users_api.BATCHGET_MAX] for s in range(0, len(openids), users_api.BATCHGET_MAX)]
    infos = [info for batch in pool.map(lambda c: users_api.batch_get(client, c), chunks) for info in batch]
    return page, infos


def run_sync(
    run_id: int,
    *,
    client: WeChatClient | None = None,
    max_pages: int | None = None,
    timing: SyncTiming | None = None,
) -> SyncRun:
    """Page ``user/get`` (10,000 a call) from the run's cursor, fill details with
    ``user/info/batchget`` (100 a call) and upsert each page in one statement, committing the
    cursor with the rows: a killed worker resumes after the last committed page, and memory
    holds at most two pages (the one being written and the next, fetched meanwhile by a
    thread: WeChat's latency overlaps the database's work). At the end the reconcile marks
    unsubscribed every follower this run did not see and reads the blacklist. The quota
    (45009) or a lasting error pauses the run with its cursor (issue 24)."""
    timing = timing or SyncTiming()
    run = SyncRun.objects.select_related("account").get(pk=run_id)
    if run.status != SyncRun.Status.RUNNING:
        return run
    client = client or _client(run.account)
    pages = 0
    with ThreadPoolExecutor(1) as pager, ThreadPoolExecutor(FETCH_THREADS) as batches:
        ahead: Future[tuple[dict, list[dict]]] | None = None
        try:
            ahead = pager.submit(_fetch_page, client, run.next_openid, batches)
            while max_pages is None or pages < max_pages:
                started = time.perf_counter()
                page, infos = ahead.result()
                fetched = time.perf_counter()
                timing.wechat_seconds += fetched - started
                openids = page["openids"]
                if not openids:
                    ahead = None
                    _finish(run, client=client)
                    timing.db_seconds += time.perf_counter() - fetched
                    return run
                ahead = None
                if max_pages is None or pages + 1 < max_pages:
                    ahead = pager.submit(_fetch_page, client, page["next_openid"], batches)
                with transaction.atomic():
                    added, updated = upsert_followers(run.account_id, run.pk, infos)
                    SyncRun.objects.filter(pk=run.pk).update(
                        next_openid=page["next_openid"],
                        total=page["total"],
                        seen=F("seen") + len(openids),
                        added=F("added") + added,
                        updated=F("updated") + updated,
                    )
                timing.db_seconds += time.perf_counter() - fetched
                run.refresh_from_db()
                pages += 1
                if ahead is None:
                    break
        except WeChatError as error:
            SyncRun.objects.filter(pk=run.pk).update(
                status=SyncRun.Status.PAUSED, errors=F("errors") + 1, last_error=_refusal(error).user_message
            )
            run.refresh_from_db()
        finally:
            if ahead is not None:
                ahead.cancel()
    return run


def _finish(run: SyncRun, *, client: WeChatClient | None = None) -> None:
    """The reconcile: followers this run did not see are no longer followers; then the
    blacklist is read back from WeChat (``sync_blacklist``). A refusal there is recorded on
    the run in words and leaves the run done (its followers are right)."""
    with transaction.atomic():
        gone = (
            Follower.objects.filter(account_id=run.account_id, subscribed=True)
            .filter(Q(seen_by_run__isnull=True) | ~Q(seen_by_run=run.pk))
            .update(subscribed=False, unsubscribed_at=timezone.now())
        )
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.DONE, unsubscribed=gone, finished_at=timezone.now()
        )
    try:
        sync_blacklist(account=run.account, client=client)
        sync_tags(account=run.account, client=client)
        read_quotas(run.account, client)  # for the hub: what the sync left of today's quota
    except WeChatError as error:
        SyncRun.objects.filter(pk=run.pk).update(
            errors=F("errors") + 1,
            last_error=_("Followers synced; the tags were not read: %(why)s") % {"why": refusal_words(error)},
        )
    except AudienceError as refusal:
        SyncRun.objects.filter(pk=run.pk).update(
            errors=F("errors") + 1,
            last_error=_("Followers synced; the blacklist was not read: %(why)s")
            % {"why": refusal.user_message},
        )
    run.refresh_from_db()


def sync_blacklist(*, account: OfficialAccount, client: WeChatClient | None = None) -> int:
    """``tags/members/getblacklist`` (10,000 a page from ``begin_openid``) into
    ``Follower.blacklisted``, in ONE transaction: every flag of the account is cleared and
    each page sets its own, so nobody sees a half-read blacklist and memory holds one page.
    Returns how many followers here are blacklisted. Called by the nightly reconcile."""
    client = client or _client(account)
    marked = 0
    with transaction.atomic():
        Follower.objects.filter(account=account, blacklisted=True).update(blacklisted=False)
        cursor = ""
        while True:
            try:
                page = users_api.blacklist_page(client, cursor)
            except WeChatError as error:
                raise _refusal(error) from error  # the atomic block rolls the clearing back
            if not page["openids"]:
                break
            marked += Follower.objects.filter(account=account, openid__in=page["openids"]).update(
                blacklisted=True
            )
            if not page["next_openid"] or len(page["openids"]) < users_api.USER_GET_PAGE:
                break
            cursor = page["next_openid"]
    return marked


# --- the API quota (for the account hub) ----------------------------------------------------

#: the audience's calls whose daily quota the hub shows (a full sync of N followers makes
#: N / 10,000 user/get and N / 100 batchget calls)
QUOTA_APIS = ("/cgi-bin/user/get", "/cgi-bin/user/info/batchget", "/cgi-bin/tags/members/batchtagging")
QUOTA_CACHE_SECONDS = 600
Quotas = dict[str, dict[str, int]]


def _quota_key(account: OfficialAccount) -> str:
    return f"audience:quota:{account.pk}"


def cached_quotas(account: OfficialAccount) -> Quotas | str | None:
    """What ``read_quotas`` found last (None: not read, or too long ago)."""
    return cache.get(_quota_key(account))


def read_quotas(account: OfficialAccount, client: WeChatClient | None = None) -> Quotas | str:
    """``openapi/quota/get`` for each of QUOTA_APIS: path -> {daily_limit, used, remain}, or
    WeChat's refusal in words; kept QUOTA_CACHE_SECONDS for the hub either way."""
    client = client or _client(account)
    found: Quotas | str
    try:
        found = {path: quota_api.get(client, path) for path in QUOTA_APIS}
    except WeChatError as error:
        logger.info("quota of account %s not read: %s", account.pk, error.errcode)
        found = refusal_words(error)
    cache.set(_quota_key(account), found, QUOTA_CACHE_SECONDS)
    return found


# --- tags ----------------------------------------------------------------------------------


def check_tag_name(*, account: OfficialAccount, name: str, own: Tag | None = None) -> str:
    """≤ 30 UTF-8 bytes (45158), not empty, unique on the account (45157)."""
    name = (name or "").strip()
    if not name:
        raise AudienceError(_("A tag needs a name."))
    if len(name.encode("utf-8")) > tags_api.NAME_MAX_BYTES:
        raise AudienceError(
            _("The tag name is %(n)d bytes; WeChat allows at most 30 (a Chinese character is 3).")
            % {"n": len(name.encode("utf-8"))}
        )
    clash = Tag.objects.filter(account=account, name=name)
    if own is not None:
        clash = clash.exclude(pk=own.pk)
    if clash.exists():
        raise AudienceError(_("The account already has a tag named “%(name)s”.") % {"name": name})
    return name


def sync_tags(*, account: OfficialAccount, client: WeChatClient | None = None) -> list[Tag]:
    """WeChat's tags and counts (tags/get) and our own counts, for the drift flag."""
    answer = tags_api.list_all(client or _client(account))
    now = timezone.now()
    with transaction.atomic():
        ids = []
        for item in answer:
            ids.append(item["id"])
            Tag.objects.update_or_create(
                account=account,
                wechat_id=item["id"],
                defaults={"name": item["name"], "wechat_count": item.get("count", 0), "synced_at": now},
            )
        Tag.objects.filter(account=account).exclude(wechat_id__in=ids).delete()
        refresh_local_counts(account)
    return list(Tag.objects.filter(account=account))


def refresh_local_counts(account: OfficialAccount) -> None:
    """Each tag's ``local_count``: our subscribed followers holding it (one grouped query)."""
    counts = dict(
        FollowerTag.objects.filter(account=account, follower__subscribed=True)
        .values("tag_id")
        .annotate(n=Count("id"))
        .values_list("tag_id", "n")
    )
    tags = list(Tag.objects.filter(account=account))
    for tag in tags:
        tag.local_count = counts.get(tag.wechat_id, 0)
    Tag.objects.bulk_update(tags, ["local_count"])


def create_tag(*, account: OfficialAccount, name: str, by: Actor, client: WeChatClient | None = None) -> Tag:
    """At most 100 tags per account (45056), name rules as ``check_tag_name``."""
    name = check_tag_name(account=account, name=name)
    if Tag.objects.filter(account=account).count() >= tags_api.MAX_TAGS:
        raise AudienceError(_("The account already has 100 tags, WeChat's limit: delete one first."))
    write = operations.record(account=account, action=WeChatWrite.Action.TAG_CREATE, by=by, text=name)
    write = _run_one(write, client or _client(account))
    return Tag.objects.get(account=account, wechat_id=int(write.tag_wechat_id or 0))


def rename_tag(*, tag: Tag, name: str, by: Actor, client: WeChatClient | None = None) -> Tag:
    if tag.reserved:
        raise AudienceError(WECHAT_REFUSALS[45058])
    name = check_tag_name(account=tag.account, name=name, own=tag)
    write = operations.record(
        account=tag.account,
        action=WeChatWrite.Action.TAG_RENAME,
        by=by,
        tag_wechat_id=tag.wechat_id,
        text=name,
    )
    _run_one(write, client or _client(tag.account))
    tag.refresh_from_db()
    return tag


def delete_tag(*, tag: Tag, by: Actor, client: WeChatClient | None = None) -> None:
    """Reserved tags (45058) and tags over 100,000 followers (45057) are refused first."""
    if tag.reserved:
        raise AudienceError(WECHAT_REFUSALS[45058])
    if max(tag.wechat_count, tag.local_count) > tags_api.DELETE_MAX_FOLLOWERS:
        raise AudienceError(WECHAT_REFUSALS[45057])
    write = operations.record(
        account=tag.account, action=WeChatWrite.Action.TAG_DELETE, by=by, tag_wechat_id=tag.wechat_id
    )
    _run_one(write, client or _client(tag.account))  # 45159 (already gone in WeChat) counts as done


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _followers_for_bulk(account: OfficialAccount, openids: list[str]) -> list[Follower]:
    followers = list(Follower.objects.filter(account=account, openid__in=openids))
    found = {f.openid for f in followers}
    missing = [o for o in openids if o not in found]
    if missing:
        raise AudienceError(
            _("%(n)d of the chosen users are not followers of this account.") % {"n": len(missing)}
        )
    gone = [f for f in followers if not f.subscribed]
    if gone:
        raise AudienceError(
            _("%(n)d of the chosen users have unsubscribed, e.g. %(who)s.") % {"n": len(gone), "who": gone[0]}
        )
    return followers


def tag_followers(
    *, tag: Tag, openids: list[str], by: Actor, untag: bool = False, client: WeChatClient | None = None
) -> int:
    """batchtagging / batchuntagging, 50 a call; a follower holds at most 20 tags (45059),
    checked before any call. A failure part-way says how many were done (those stay done,
    here as in WeChat). Returns how many followers were changed."""
    if tag.reserved and not untag:
        raise AudienceError(WECHAT_REFUSALS[45058])
    followers = _followers_for_bulk(tag.account, openids)
    if not untag:
        held = (
            FollowerTag.objects.filter(follower__in=followers)
            .values("follower_id")
            .annotate(n=Count("id"), has=Count("id", filter=Q(tag_id=tag.wechat_id)))
        )
        full_ids = {h["follower_id"] for h in held if not h["has"] and h["n"] >= tags_api.MAX_TAGS_PER_USER}
        full = [f for f in followers if f.pk in full_ids]
        if full:
            raise AudienceError(
                _("%(n)d of the chosen followers already hold 20 tags, WeChat's limit, e.g. %(who)s.")
                % {"n": len(full), "who": full[0]}
            )
    writes = operations.record_batches(
        account=tag.account,
        action=WeChatWrite.Action.UNTAG if untag else WeChatWrite.Action.TAG,
        by=by,
        tag_wechat_id=tag.wechat_id,
        batches=list(_chunks([f.openid for f in followers], tags_api.TAGGING_BATCH_MAX)),
    )
    try:
        return _run_batches(writes, client or _client(tag.account), total=len(followers))
    finally:
        refresh_local_counts(tag.account)


def _run_batches(writes: list[WeChatWrite], client: WeChatClient, *, total: int) -> int:
    """The recorded batches of one bulk write, in order. A refusal stops the rest (never
    sent, recorded so); WeChat or Redis out of reach leaves the rest for the sweeper; a lost
    answer is read back (``operations``) and the next batch goes on. Returns how many
    followers were done when all were; otherwise says in words how far it got."""
    done = unsure = 0
    for index, write in enumerate(writes):
        write = operations.run(write, client, words=_words)
        done += write.applied
        if write.state == WeChatWrite.State.FAILED and not write.read_backs:  # WeChat refused
            operations.cancel(
                writes[index + 1 :], detail=_("Not sent: an earlier batch of the same action was refused.")
            )
            raise AudienceError(
                _("%(done)d of %(all)d followers were done, then: %(why)s")
                % {"done": done, "all": total, "why": write.detail}
            )
        if write.state == WeChatWrite.State.PENDING:
            later = sum(len(w.openids) for w in writes[index:])
            operations.release(writes[index + 1 :], detail=write.detail)
            raise AudienceError(
                _("%(done)d of %(all)d followers were done; the other %(later)d: %(why)s")
                % {"done": done, "all": total, "later": later, "why": str(NOT_SENT_YET)}
            )
        if write.state in (WeChatWrite.State.SENT, WeChatWrite.State.UNKNOWN):
            unsure += len(write.openids) - write.applied
    if done == total:
        return done
    missed = total - done - unsure
    parts = [_("%(done)d of %(all)d followers were done.") % {"done": done, "all": total}]
    if unsure:
        parts.append(_("%(n)d: %(why)s") % {"n": unsure, "why": str(BEING_CHECKED)})
    if missed:
        parts.append(
            _("%(n)d: WeChat's answer was lost and reading it back shows no change; do them again.")
            % {"n": missed}
        )
    raise AudienceError(" ".join(parts))


def blacklist_followers(
    *,
    account: OfficialAccount,
    openids: list[str],
    by: Actor,
    remove: bool = False,
    client: WeChatClient | None = None,
) -> int:
    """batchblacklist / batchunblacklist, 20 a call; part-way failures say how many were done."""
    followers = _followers_for_bulk(account, openids)
    writes = operations.record_batches(
        account=account,
        action=WeChatWrite.Action.UNBLACKLIST if remove else WeChatWrite.Action.BLACKLIST,
        by=by,
        batches=list(_chunks([f.openid for f in followers], users_api.BLACKLIST_BATCH_MAX)),
    )
    return _run_batches(writes, client or _client(account), total=len(followers))


def set_remark(*, follower: Follower, remark: str, by: Actor, client: WeChatClient | None = None) -> Follower:
    """user/info/updateremark: ≤ 30 bytes (40092)."""
    if len(remark.encode("utf-8")) > users_api.REMARK_MAX_BYTES:
        raise AudienceError(WECHAT_REFUSALS[40092])
    write = operations.record(
        account=follower.account,
        action=WeChatWrite.Action.REMARK,
        by=by,
        openids=[follower.openid],
        text=remark,
    )
    _run_one(write, client or _client(follower.account))
    follower.refresh_from_db()
    return follower


# --- channel QR codes ----------------------------------------------------------------------


def create_qr_code(
    *,
    account: OfficialAccount,
    kind: str,
    scene: str,
    name: str,
    expire_days: int | None = None,
    tag: Tag | None = None,
    by: Actor,
    client: WeChatClient | None = None,
) -> QrCode:
    """Temporary codes last at most 30 days; permanent numeric scenes are 1–100,000; a scene
    string is 1–64 characters; the tag must be the account's (protocol §h)."""
    scene = (scene or "").strip()
    if not 1 <= len(scene) <= qr_api.SCENE_STR_MAX:
        raise AudienceError(_("The scene must be 1 to 64 characters (it has %(n)d).") % {"n": len(scene)})
    if tag is not None and tag.account_id != account.pk:
        raise AudienceError(_("The tag belongs to another account."))
    permanent = kind == QrCode.Kind.PERMANENT
    scene_id = int(scene) if scene.isdigit() else None
    if permanent and scene_id is not None and not 1 <= scene_id <= qr_api.PERMANENT_MAX_SCENE_ID:
        raise AudienceError(_("A numeric permanent scene must be between 1 and 100000."))
    if permanent and QrCode.objects.filter(account=account, kind=kind, scene=scene).exists():
        raise AudienceError(_("The account already has a permanent code with this scene."))
    if (
        permanent
        and QrCode.objects.filter(account=account, kind=kind).count() >= qr_api.PERMANENT_MAX_SCENE_ID
    ):
        raise AudienceError(_("The account has 100,000 permanent codes, WeChat's limit."))
    seconds = None
    if not permanent:
        days = expire_days or 30
        if not 1 <= days <= 30:
            raise AudienceError(_("A temporary code lasts 1 to 30 days."))
        seconds = days * 86400
    try:
        answer = qr_api.create(
            client or _client(account),
            permanent=permanent,
            scene_id=scene_id,
            scene_str=None if scene_id is not None else scene,
            expire_seconds=seconds,
        )
    except WeChatError as error:
        raise _refusal(error) from error
    expires = None
    if not permanent:
        expires = timezone.now() + datetime.timedelta(seconds=int(answer.get("expire_seconds", seconds or 0)))
    return QrCode.objects.create(
        account=account,
        kind=kind,
        scene=scene,
        name=name,
        tag=tag,
        ticket=answer["ticket"],
        url=answer["url"],
        expires_at=expires,
    )


def qr_png(code: QrCode, *, scale: int = 8) -> bytes:
    """The code's image drawn from WeChat's ``url`` (segno); an expired code is refused."""
    import io

    import segno

    if code.expired():
        raise AudienceError(_("This temporary code has expired."))
    out = io.BytesIO()
    segno.make(code.url, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()
