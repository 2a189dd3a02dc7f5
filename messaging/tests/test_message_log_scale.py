"""The message log at millions of rows: what makes it fast must keep it correct.

Search (bigram index on PostgreSQL), filter choices from the visible accounts, a query
count that does not grow with the log, the dashboard's daily rollup and bounded pruning.
Timing is proven by bench/message_log_scale.py, not here.
"""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from messaging.daily_counts import message_counts_refresh
from messaging.models import InboundMessage, MessageDailyCount
from messaging.retention import messages_prune
from messaging.selectors import message_counts_per_day
from messaging.tasks import refresh_daily_counts

URL = "/admin/messaging/inboundmessage/"
SH = datetime.timezone(datetime.timedelta(hours=8))
OPENID = "oAbCdEfGhIjKlMnOpQrStUvWx-_1"
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the bigram index exists on PostgreSQL only"
)


def log(account, n, *, content="你好", reply="", openid="o_user", msg_id=None, at=None):
    at = at or timezone.now()
    return InboundMessage.objects.create(
        account=account,
        dedupe_key=f"msg:{msg_id}" if msg_id else f"k{n}-{at.timestamp()}",
        openid=openid,
        msg_type="text",
        content=content,
        msg_id=msg_id,
        sent_at=at,
        received_at=at,
        reply_summary=reply,
    )


def many(account, count, *, start=0, at=None):
    at = at or timezone.now() - datetime.timedelta(hours=1)
    InboundMessage.objects.bulk_create(
        [
            InboundMessage(
                account=account,
                dedupe_key=f"bulk{start + i}",
                openid=f"o_{i % 7}",
                msg_type="text",
                content=f"第{start + i}条消息",
                sent_at=at,
                received_at=at - datetime.timedelta(seconds=i),
            )
            for i in range(count)
        ]
    )


def found(client, **params) -> list:
    response = client.get(URL, params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def operator():
    from django.contrib.auth.models import Permission

    user = UserFactory(groups=["Operators"])
    user.user_permissions.add(Permission.objects.get(codename="view_inboundmessage"))
    return user


# --- search ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_search_finds_a_two_character_chinese_word_in_messages_and_replies(admin_client):
    account = OfficialAccountFactory()
    asked = log(account, 1, content="请问营业时间是几点")
    answered = log(account, 2, content="什么时候开门", reply="每天 9:00 开始营业")
    log(account, 3, content="退款怎么办", reply="请联系客服")
    log(account, 4, content="营 业")  # the two characters apart are not the word
    assert {m.pk for m in found(admin_client, q="营业")} == {asked.pk, answered.pk}
    assert [m.pk for m in found(admin_client, q="营业时间")] == [asked.pk]
    assert [m.pk for m in found(admin_client, q="营业 几点")] == [asked.pk]  # every word
    assert found(admin_client, q="营业时间到了") == []


@postgres_only
@pytest.mark.django_db
def test_a_common_phrase_is_found_by_walking_the_newest_rows(admin_client, monkeypatch):
    """From COMMON_MATCHES likely matches (index statistics) the search walks the newest
    rows without the index condition; it finds the same rows."""
    import messaging.search

    account = OfficialAccountFactory()
    rows = {log(account, n, content=f"营业时间{n}").pk for n in range(4)}
    log(account, 9, content="营业到几点")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_inboundmessage")

    def search() -> tuple[set, str]:
        with CaptureQueriesContext(connection) as queries:
            pks = {m.pk for m in found(admin_client, q="营业时间")}
        page = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].startswith('SELECT "messaging_inboundmessage"."id"')
        ][-1]
        return pks, page

    pks, page = search()
    assert pks == rows and "@>" in page  # rare: through the index
    monkeypatch.setattr(messaging.search, "COMMON_MATCHES", 3)
    pks, page = search()
    assert pks == rows and "@>" not in page  # common: the walk


@postgres_only
@pytest.mark.django_db
def test_a_common_word_with_a_rare_number_goes_through_the_index_for_both(admin_client, monkeypatch):
    """Issue 30, "hello 777": the word alone is common (walked), with the number the terms
    together are rare — the index answers for both terms instead of walking every row.
    Two common words that occur together are walked: one bounded count decides."""
    import messaging.search

    account = OfficialAccountFactory()
    for n in range(6):
        log(account, n, content=f"hello there {n}")
    wanted = log(account, 6, content="hello 777 ok")
    log(account, 7, content="order 777")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_inboundmessage")
    monkeypatch.setattr(messaging.search, "COMMON_MATCHES", 6)

    pks, page, _probes = searched(admin_client, "hello")
    assert len(pks) == 7 and "@>" not in page  # common: the walk
    pks, page, probes = searched(admin_client, "hello 777")
    assert pks == {wanted.pk}  # together rare: the index, both terms in ONE containment
    assert ["messaging_search_bigrams('hello 777', '')" in probe for probe in probes] == [True], probes
    pks, page, _probes = searched(
        admin_client, "hello there"
    )  # each common, together 6 (the product guesses 5.25)
    assert len(pks) == 6 and "@>" not in page


def searched(client, q) -> tuple[set, str, list[str]]:
    """(ids found, the page's SQL, the SQL of every query that reads the bigram index)."""
    with CaptureQueriesContext(connection) as queries:
        pks = {m.pk for m in found(client, q=q)}
    page = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith(
            'SELECT "messaging_inboundmessage"."id", "messaging_inboundmessage"."account_id"'
        )
    ][-1]
    probes = [query["sql"] for query in queries.captured_queries if "@>" in query["sql"]]
    return pks, page, probes


@postgres_only
@pytest.mark.django_db
def test_the_page_of_several_rare_terms_is_the_probes_rows_by_primary_key(admin_client, monkeypatch):
    """Issue 30 at 20,000,000 rows: "hello 777" read the GIN index twice (the bounded
    probe, then the page: 41 → 200 ms). The probe now returns the keys of what it found
    (fewer than COMMON_MATCHES) and the page is those rows by primary key: one query reads
    the index, the page filters by the probe's ids, the same rows are found, and the
    request makes as many queries whether the probe finds rows or none."""
    import messaging.search

    account = OfficialAccountFactory()
    for n in range(6):
        log(account, n, content=f"hello there {n}")
    wanted = log(account, 6, content="hello 777 ok")
    near = log(account, 7, content="hello 7 77")  # holds every bigram, not the words: a candidate only
    log(account, 8, content="order 777")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_inboundmessage")
    monkeypatch.setattr(messaging.search, "COMMON_MATCHES", 6)
    with CaptureQueriesContext(connection) as counted:
        pks, page, probes = searched(admin_client, "hello 777")
    assert pks == {wanted.pk}
    assert len(probes) == 1 and "messaging_search_bigrams('hello 777', '')" in probes[0], probes
    assert "messaging_search_bigrams" not in page, page  # the index is not read again
    ids = re.search(r'"messaging_inboundmessage"\."id" = ANY\(\'\{([0-9,]*)\}\'', page)
    assert ids, page
    assert {int(pk) for pk in ids.group(1).split(",")} == {wanted.pk, near.pk}  # the probe's rows
    with CaptureQueriesContext(connection) as none_found:
        pks, page, _probes = searched(admin_client, "hello 778")
    assert pks == set() and "= ANY('{}'" in page  # no candidate: the page is still one query
    assert len(none_found.captured_queries) == len(counted.captured_queries)


@postgres_only
@pytest.mark.django_db
def test_terms_that_look_common_together_but_never_meet_go_through_the_index(admin_client, monkeypatch):
    """Issue 30 at 20,000,000 rows: "hello" and "777" each common enough that their product
    promises COMMON_MATCHES rows, yet no message holds both — the bounded count sees that
    and the index answers (a walk would read the whole log for a page that never fills)."""
    import messaging.search

    account = OfficialAccountFactory()
    for n in range(6):
        log(account, n, content=f"hello there {n}")
        log(account, 10 + n, content=f"order 777{n}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_inboundmessage")
    monkeypatch.setattr(messaging.search, "COMMON_MATCHES", 2)  # 12 rows × ½ × ½ = 3 ≥ 2
    pks, page, probes = searched(admin_client, "hello 777")
    assert pks == set()
    assert ["messaging_search_bigrams('hello 777', '')" in probe for probe in probes] == [True], probes
    assert "= ANY(" in page and "@>" not in page, page  # the probe's (no) rows, not a walk


@postgres_only
@pytest.mark.django_db
def test_a_partitioned_log_weighs_each_partitions_statistics():
    """Issue 30: on a log partitioned by month ANALYZE keeps the bigram frequencies under
    each partition's index only; the search weighs them by the partitions' rows (else
    every term would look statistics-less and a common word would fetch and sort every
    match). A scratch table of the log's shape stands in for the partitioned log."""
    from messaging.search import bigram_statistics

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_parted (received_at timestamptz NOT NULL, content text, "
            "reply_summary text) PARTITION BY RANGE (received_at)"
        )
        cursor.execute(
            "CREATE TABLE bench_parted_11 PARTITION OF bench_parted "
            "FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')"
        )
        cursor.execute(
            "CREATE TABLE bench_parted_12 PARTITION OF bench_parted "
            "FOR VALUES FROM ('2026-12-01') TO ('2027-01-01')"
        )
        cursor.execute(
            "CREATE INDEX bench_parted_bigrams ON bench_parted "
            "USING gin (messaging_search_bigrams(content, reply_summary))"
        )
        # November: 营业 in 1 row of 10 (300 of 3,000); December: in 7 of 10 (700 of 1,000)
        cursor.execute(
            "INSERT INTO bench_parted SELECT '2026-11-10'::timestamptz, "
            "CASE WHEN g % 10 = 0 THEN '周末营业吗' ELSE '你好' END, '' FROM generate_series(1, 3000) g"
        )
        cursor.execute(
            "INSERT INTO bench_parted SELECT '2026-12-10'::timestamptz, "
            "CASE WHEN g % 10 < 7 THEN '周末营业吗' ELSE '你好' END, '' FROM generate_series(1, 1000) g"
        )
        cursor.execute("ANALYZE bench_parted")
    share, rows = bigram_statistics(connection.alias, "营业", index="bench_parted_bigrams")
    assert rows == 4000
    assert share == pytest.approx((300 + 700) / 4000, abs=0.01)
    assert bigram_statistics(connection.alias, "退款", index="bench_parted_bigrams") == (0.0, 4000)


@pytest.mark.django_db
def test_search_is_case_insensitive_for_latin_text(admin_client):
    account = OfficialAccountFactory()
    row = log(account, 1, content="My order ABC-123 has not arrived")
    assert [m.pk for m in found(admin_client, q="abc-123")] == [row.pk]


@pytest.mark.django_db
def test_search_finds_an_exact_openid_and_msgid(admin_client):
    account = OfficialAccountFactory()
    by_user = log(account, 1, openid=OPENID, content="图片")
    by_id = log(account, 2, msg_id=7_340_042_517_563_802_112, content="好的")
    log(account, 3, openid="oSomebodyElse_0000000000000", content="其他")
    assert [m.pk for m in found(admin_client, q=OPENID)] == [by_user.pk]
    assert [m.pk for m in found(admin_client, q="7340042517563802112")] == [by_id.pk]
    assert found(admin_client, q=OPENID[:-1]) == []  # an OpenID is matched exactly


@pytest.mark.django_db
def test_openid_search_stays_within_the_visible_accounts(client, operator):
    mine = OfficialAccountFactory(assigned_staff=[operator])
    theirs = OfficialAccountFactory()
    row = log(mine, 1, openid=OPENID)
    log(theirs, 2, openid=OPENID)
    client.force_login(operator)
    assert [m.pk for m in found(client, q=OPENID)] == [row.pk]


@pytest.mark.django_db
def test_one_character_search_is_refused_with_a_message(admin_client):
    log(OfficialAccountFactory(), 1, content="营业")
    response = admin_client.get(URL, {"q": "营"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert "请至少输入两个字" in response.content.decode()  # the admin speaks zh-hans


@postgres_only
@pytest.mark.django_db
def test_search_is_answered_by_the_bigram_index():
    """The query the admin builds matches the indexed expression (else it would scan)."""
    from messaging.search import search_messages

    log(OfficialAccountFactory(), 1, content="请问营业时间")
    queryset = search_messages(InboundMessage.objects.all(), ["营业"], account_ids=[])
    with connection.cursor() as cursor:
        # on a tiny table any plan is cheap: leave the planner only the bitmap scans
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = queryset.explain()
    # the index, or on the partitioned log (migration 0011) its copy on a month's partition
    # (named `<partition>_messaging_search_bigrams_idx`)
    assert re.search(
        r"Bitmap Index Scan on \S*(messaging_inbound_search_bigrams|_messaging_search_bigrams_idx)", plan
    )
    assert [m.content for m in queryset] == ["请问营业时间"]


# --- list: scoping, filter choices, bounded queries -------------------------------------------
@pytest.mark.django_db
def test_account_filter_offers_only_the_accounts_the_user_may_see(client, operator, admin_client):
    mine = OfficialAccountFactory(assigned_staff=[operator], name="我的服务号")
    also_mine = OfficialAccountFactory(assigned_staff=[operator], name="我的第二个")
    OfficialAccountFactory(name="别人的服务号")  # no messages needed to be a choice
    client.force_login(operator)
    spec = next(
        f for f in client.get(URL).context["cl"].filter_specs if getattr(f, "field_path", "") == "account"
    )
    assert sorted(spec.lookup_choices) == sorted([(mine.pk, mine.name), (also_mine.pk, also_mine.name)])
    spec = next(
        f
        for f in admin_client.get(URL).context["cl"].filter_specs
        if getattr(f, "field_path", "") == "account"
    )
    assert len(spec.lookup_choices) == 3


@pytest.mark.django_db
def test_operator_filtering_by_someone_elses_account_sees_nothing(client, operator):
    mine = OfficialAccountFactory(assigned_staff=[operator])
    theirs = OfficialAccountFactory()
    log(mine, 1)
    log(theirs, 2)
    client.force_login(operator)
    assert found(client, account__id__exact=theirs.pk) == []
    assert len(found(client, account__id__exact=mine.pk)) == 1


@pytest.mark.django_db
def test_type_and_event_filters_need_no_query_for_their_choices(admin_client):
    account = OfficialAccountFactory()
    log(account, 1)
    event = InboundMessage.objects.create(
        account=account,
        dedupe_key="evt",
        openid="o",
        msg_type="event",
        event="subscribe",
        sent_at=timezone.now(),
    )
    assert [m.pk for m in found(admin_client, msg_type="event")] == [event.pk]
    assert [m.pk for m in found(admin_client, event="subscribe")] == [event.pk]
    response = admin_client.get(URL)
    assert response.context["cl"].date_hierarchy is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params", [{}, {"q": "消息"}, {"p": "2"}, {"q": OPENID}, {"msg_type": "text"}], ids=str
)
def test_the_list_runs_as_many_queries_with_many_rows_as_with_few(admin_client, params):
    """No query per row and no count: the same number of queries at 60 and at 400 rows."""
    account = OfficialAccountFactory()
    other = OfficialAccountFactory()
    many(account, 60)
    many(other, 10, start=60)
    with CaptureQueriesContext(connection) as small:
        small_rows = found(admin_client, **params)
    many(account, 340, start=1000)
    many(other, 40, start=2000)
    with CaptureQueriesContext(connection) as large:
        large_rows = found(admin_client, **params)
    assert len(small.captured_queries) == len(large.captured_queries)
    if params.get("q") != OPENID:
        assert small_rows and len(large_rows) == 50  # a full page at the larger size
    sqls = " ".join(q["sql"] for q in large.captured_queries).upper()
    assert "COUNT(" not in sqls


@pytest.mark.django_db
def test_next_page_is_offered_without_counting(admin_client):
    many(OfficialAccountFactory(), 120)
    first = admin_client.get(URL)
    assert len(first.context["cl"].result_list) == 50
    assert "?p=2" in first.content.decode()
    third = found(admin_client, p="3")
    assert len(third) == 20


# --- dashboard rollup ---------------------------------------------------------------------------
def at_local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SH)


@pytest.mark.django_db
def test_rollup_counts_messages_per_account_and_shanghai_day():
    first, second = OfficialAccountFactory(), OfficialAccountFactory()
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    log(first, 1, at=at_local(yesterday, 23, 59))  # 15:59 UTC: still yesterday in Shanghai
    log(first, 2, at=at_local(today, 0, 1))  # 16:01 UTC the day before: today in Shanghai
    log(first, 3, at=at_local(today, 0, 2))
    log(second, 4, at=at_local(today, 0, 3))
    now = at_local(today, 0, 5)
    assert message_counts_refresh(now=now) == 3
    counts = {(c.account_id, c.day): c.count for c in MessageDailyCount.objects.all()}
    assert counts == {(first.pk, yesterday): 1, (first.pk, today): 2, (second.pk, today): 1}
    # a second run changes nothing
    message_counts_refresh(now=now)
    assert {(c.account_id, c.day): c.count for c in MessageDailyCount.objects.all()} == counts


@pytest.mark.django_db
def test_rollup_recounts_only_from_its_last_run_and_follows_changes():
    account = OfficialAccountFactory()
    today = timezone.localdate()
    old_day = today - datetime.timedelta(days=5)
    log(account, 1, at=at_local(old_day, 12))
    log(account, 2, at=at_local(today, 1))
    message_counts_refresh(now=at_local(today, 2))
    # the old day's messages are pruned: its count stays (history), today's follows the log
    InboundMessage.objects.filter(received_at__lt=at_local(today, 0)).delete()
    log(account, 3, at=at_local(today, 3))
    refresh_daily_counts.apply().get()
    counts = {c.day: c.count for c in MessageDailyCount.objects.filter(account=account)}
    assert counts == {old_day: 1, today: 2}


@pytest.mark.django_db
def test_dashboard_counts_come_from_the_rollup_not_the_log(operator):
    mine = OfficialAccountFactory(assigned_staff=[operator])
    log(mine, 1)
    log(mine, 2)
    log(OfficialAccountFactory(), 3)
    message_counts_refresh()
    with CaptureQueriesContext(connection) as queries:
        counts = message_counts_per_day(user=operator, days=14)
    assert counts[-1] == (timezone.localdate(), 2)
    assert all("messaging_inboundmessage" not in q["sql"] for q in queries.captured_queries)
    superuser = UserFactory(is_superuser=True, is_staff=True)
    assert message_counts_per_day(user=superuser, days=14)[-1][1] == 3


@pytest.mark.django_db
def test_account_hub_reads_messages_today_from_the_rollup_like_the_dashboard(operator, rf):
    from django.utils import translation

    from messaging.dashboard import panels
    from messaging.hub import hub_sections

    mine = OfficialAccountFactory(assigned_staff=[operator])
    log(mine, 1)
    log(mine, 2)
    log(OfficialAccountFactory(), 3)
    message_counts_refresh()
    log(mine, 4)  # in the log, not yet in the rollup: the next run (within a minute) counts it
    request = rf.get("/")
    request.user = operator
    with translation.override("en"):
        hub = next(s for s in hub_sections(request, mine) if s["key"] == "messages")
        dashboard = next(p for p in panels(request) if p["title"] == "Messages")
    hub_today = next(i["value"] for i in hub["items"] if i["label"] == "Messages today")
    dashboard_today = next(i["value"] for i in dashboard["items"] if i["label"] == "Received today")
    assert hub_today == dashboard_today == 2


def test_daily_counts_are_refreshed_by_beat():
    from messaging.schedules import SCHEDULES

    spec = next(s for s in SCHEDULES if s["task"] == "messaging.refresh_daily_counts")
    assert spec["every_seconds"] <= 300


# --- retention ----------------------------------------------------------------------------------
# The batches below are those of the row-deleting path (SQLite; on PostgreSQL only the DEFAULT
# partition's rows are deleted, whole months are dropped: test_retention.py).
@pytest.fixture
def rows_deleted(monkeypatch):
    from messaging import partitions

    monkeypatch.setattr(partitions, "is_partitioned", lambda: False)


@pytest.mark.django_db
def test_prune_stops_after_max_batches_and_the_next_run_goes_on(settings, rows_deleted):
    settings.MESSAGE_RETENTION_DAYS = 30
    account = OfficialAccountFactory()
    many(account, 25, at=timezone.now() - datetime.timedelta(days=40))
    many(account, 5, start=100)
    assert messages_prune(batch_size=10, max_batches=2) == 20
    assert messages_prune(batch_size=10) == 5
    assert InboundMessage.objects.count() == 5


@pytest.mark.django_db
def test_prune_with_no_time_left_deletes_nothing(settings, rows_deleted):
    settings.MESSAGE_RETENTION_DAYS = 30
    many(OfficialAccountFactory(), 5, at=timezone.now() - datetime.timedelta(days=40))
    assert messages_prune(max_seconds=0) == 0
    assert InboundMessage.objects.count() == 5


@pytest.mark.django_db
def test_prune_batches_go_through_rows_sharing_one_timestamp(settings, rows_deleted):
    settings.MESSAGE_RETENTION_DAYS = 30
    at = timezone.now() - datetime.timedelta(days=40)
    account = OfficialAccountFactory()
    InboundMessage.objects.bulk_create(
        [
            InboundMessage(
                account=account,
                dedupe_key=f"same{i}",
                openid="o",
                msg_type="text",
                sent_at=at,
                received_at=at,
            )
            for i in range(23)
        ]
    )
    assert messages_prune(batch_size=5) == 23
    assert not InboundMessage.objects.exists()
