"""Property test (Hypothesis) over EVERY admin form and changelist, and the JSON endpoints
(issue 22 §7): garbage never gets a 5xx, and a refused request writes no row.

Generated from `admin.site._registry` and the URL resolver, so a new admin or JSON endpoint
is covered without editing this file. For each admin and each of two roles of one company —
an Operator and the company's Administrator — Hypothesis draws requests from:

- the changelist: GET with query parameters named after the admin's filters, search,
  ordering and paging, plus `<date field>__year/__month/__day` drill-downs for each date
  field of the model; POST of each of the admin's actions with made-up row ids;
- the add form: POST with every form field filled with a drawn value;
- the change form: POST to the role's own row, the other company's row, or a garbage id;
- JSON endpoints taking an account (`/menus/<account>/…`, `/wechat/simulate/<account>/`):
  POST of a JSON object with drawn keys and values.

Values: NUL, lone surrogates, 10,000-character strings, non-numeric and out-of-range ids,
out-of-range dates, and arbitrary text. The assertion for each request: status < 500, and if
the request was refused (a 4xx, or a POST answered 200 by re-rendering its form) no table it
touched (PostgreSQL's pg_stat_xact_user_tables) holds more or fewer rows than before (each
request runs in a rolled-back savepoint; an update of an existing row by a refused request is
not detected here — the permission matrix compares the tenants' rows). Figures: printed at
the end of the module (`pytest -s`), quoted in docs/security.md.
"""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.db import connection, models, transaction
from django.test import RequestFactory
from django.urls import URLPattern, get_resolver, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from messaging.tests.factories import KeywordRuleFactory, KfAccountFactory, WelcomeReplyFactory

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db]

PROPERTY = settings(
    max_examples=6,  # × (31 admins × 2 roles + 17 JSON endpoints × 2 roles): bounded runtime
    deadline=None,
    derandomize=True,  # CI meets the examples a developer met
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BOOKKEEPING_TABLES = {
    "django_session",
    "auth_user",
    "axes_accessattempt",
    "axes_accesslog",
    "axes_accessfailurelog",
    "axes_accessattemptexpiration",
}
NASTY = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "长" * 10_000,
    "a" * 10_000,
    "abc",
    "-1",
    "0",
    "1.5",
    "99999999999999999999",
    "1e309",
    "99999-12-31",
    "0000-00-00",
    "2026-02-30",
    "9999-12-31 23:59:59",
    "2026-13-01T25:61",
    "",
    " ",
    "null",
    "[]",
    '{"a": 1}',
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "\u202egnp.exe",
]
VALUE = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers(-(2**70), 2**70).map(str),
)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), VALUE),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(VALUE, children, max_size=3),
    max_leaves=8,
)
JSON_KEYS = [
    "json",
    "user_id",
    "menuid",
    "button",
    "accounts",
    "type",
    "content",
    "confirm",
    "menu",
    "openid",
]
ROLES = {"operator": "Operators", "administrator": "Administrators"}
FIGURES: Counter = Counter()


def admin_labels() -> list[str]:
    return sorted(model._meta.label for model in admin.site._registry)


def model_admin_of(label: str):
    return next(a for m, a in admin.site._registry.items() if m._meta.label == label)


def json_endpoints() -> list[str]:
    """Route names of the non-admin views that take an account and a JSON body."""
    found = []

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                if "account_pk" in pattern.pattern.converters and namespace in ("menus", "messaging"):
                    found.append(f"{namespace}:{pattern.name}")
            else:
                walk(pattern.url_patterns, pattern.namespace or namespace)

    walk(get_resolver().url_patterns)
    return sorted(set(found))


def writes() -> Counter:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables")
        return Counter({n: c for n, c in cursor.fetchall() if n not in BOOKKEEPING_TABLES and c})


@pytest.fixture(scope="module", autouse=True)
def _figures():
    FIGURES.clear()
    yield
    print(  # noqa: T201 (the figures docs/security.md quotes)
        "\nadmin fuzz: " + ", ".join(f"{key}: {value}" for key, value in sorted(FIGURES.items()))
    )


@pytest.fixture
def world(client):
    users = {role: UserFactory(groups=[group]) for role, group in ROLES.items()}
    own = OfficialAccountFactory(assigned_staff=list(users.values()))
    other = OfficialAccountFactory()
    for account in (own, other):
        KeywordRuleFactory(account=account)
        WelcomeReplyFactory(account=account)
        KfAccountFactory(account=account)
    client.raise_request_exception = False
    return {"users": users, "own": own, "other": other}


def form_field_names(model_admin) -> list[str]:
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_superuser=True)
    try:
        return list(model_admin.get_form(request)().fields)
    except Exception:
        return []


def query_names(model_admin) -> list[str]:
    model = model_admin.model
    names = ["q", "p", "o", "e", "_popup", "_to_field", "all", "page"]
    for entry in model_admin.list_filter:
        field = entry[0] if isinstance(entry, tuple) else entry
        if isinstance(field, str):
            names += [field, f"{field}__exact", f"{field}__id__exact", f"{field}__isnull"]
    for field in model._meta.get_fields():
        if isinstance(field, models.DateField):  # DateTimeField too
            names += [f"{field.name}__{part}" for part in ("year", "month", "day", "gte", "lt")]
    return names


def row_ids(model_admin, world, role) -> list[str]:
    request = RequestFactory().get("/admin/")
    request.user = world["users"][role]
    visible = model_admin.get_queryset(request)
    own = visible.values_list("pk", flat=True).first()
    other = model_admin.model._default_manager.exclude(pk__in=visible.values("pk")).values_list(
        "pk", flat=True
    )
    return [str(pk) for pk in (own, other.first()) if pk is not None]


def wire(value):
    """What a hostile client puts on the wire: a lone surrogate cannot be UTF-8, so it goes
    as the bytes a careless encoder writes for it (ED A0 80), which the server must take."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, list):
        return [wire(item) for item in value]
    return value


def send(client, method, url, **kwargs):
    """One request in a rolled-back savepoint: (response, rows it wrote)."""
    if isinstance(kwargs.get("data"), dict):
        kwargs["data"] = {key: wire(value) for key, value in kwargs["data"].items()}
    before = writes()
    with transaction.atomic():
        response = getattr(client, method)(url, **kwargs)
        touched = writes() - before  # counts work rolled back inside the request too
        after = row_counts(touched)
        transaction.set_rollback(True)
    # the savepoint is gone, so the database is as before the request: rows that stayed
    # written are the tables whose counts differ (a service that rolled its own work back,
    # e.g. a refused publish inside transaction.atomic, wrote nothing)
    written = Counter({table: 1 for table, count in row_counts(touched).items() if after[table] != count})
    return response, written


def row_counts(tables) -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # table names from pg_stat
            counts[table] = cursor.fetchone()[0]
        return counts


def check(response, written, method, label):
    status = response.status_code
    FIGURES["requests"] += 1
    FIGURES["5xx"] += status >= 500
    assert status < 500, f"{label}: {status}"
    refused = status >= 400 or (method == "post" and status == 200)
    if refused:
        FIGURES["refused"] += 1
        assert not written, f"{label}: refused with {status} yet wrote {dict(written)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", admin_labels())
@PROPERTY
@given(data=st.data())
def test_every_admin_form_and_changelist_answers_garbage_without_5xx(client, world, role, label, data):
    client.force_login(world["users"][role])
    model_admin = model_admin_of(label)
    opts = model_admin.model._meta
    base = f"admin:{opts.app_label}_{opts.model_name}"
    kind = data.draw(st.sampled_from(["changelist", "action", "add", "change"]))
    FIGURES[f"{kind} examples"] += 1
    if kind == "changelist":
        params = data.draw(st.dictionaries(st.sampled_from(query_names(model_admin)), VALUE, max_size=4))
        method, url, kwargs = "get", reverse(f"{base}_changelist"), {"data": params}
    elif kind == "action":
        actions = list(model_admin.get_actions(_request(world, role))) or ["delete_selected"]
        ids = data.draw(
            st.lists(st.one_of(VALUE, st.sampled_from(row_ids(model_admin, world, role) or ["1"])))
        )
        post = {"action": data.draw(st.sampled_from(actions)), "_selected_action": ids, "index": "0"}
        method, url, kwargs = "post", reverse(f"{base}_changelist"), {"data": post}
    else:
        fields = form_field_names(model_admin) or ["name"]
        post = data.draw(st.fixed_dictionaries({}, optional=dict.fromkeys(fields, VALUE)))
        if kind == "add":
            url = reverse(f"{base}_add")
        else:
            object_id = data.draw(
                st.one_of(st.sampled_from(row_ids(model_admin, world, role) or ["1"]), VALUE)
            )
            url = reverse(f"{base}_changelist") + quote(wire(object_id), safe="") + "/change/"
        method, kwargs = "post", {"data": post}
    response, written = send(client, method, url, **kwargs)
    check(response, written, method, f"{role} {method.upper()} {url} {kwargs}"[:600])


def _request(world, role):
    request = RequestFactory().get("/admin/")
    request.user = world["users"][role]
    return request


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", json_endpoints())
@PROPERTY
@given(body=st.dictionaries(st.one_of(st.sampled_from(JSON_KEYS), VALUE), JSON_VALUE, max_size=4))
def test_json_endpoints_answer_garbage_without_5xx(client, world, role, name, body, settings):
    settings.WECHAT_API_BASE = "http://127.0.0.1:1"  # no WeChat: a call that gets there is a 502
    client.force_login(world["users"][role])
    url = reverse(name, args=[world["own"].pk])
    FIGURES["json examples"] += 1
    raw = json.dumps(body)
    response, written = send(client, "post", url, data=raw, content_type="application/json")
    if response.status_code == 502:  # the WeChat call failed: ours to report, not the input's
        FIGURES["json 502 (no WeChat)"] += 1
        return
    check(response, written, "json", f"{role} POST {url} {raw[:300]}")
