"""The permission matrix, generated from the URL resolver (issue 9).

Every URL pattern of the project — admin pages (Django's, third parties', ours) and
the apps' own views — is turned into concrete URLs with objects of two tenants, A
and B, and tried by seven roles (superuser, Operator of A, Operator of B, Finance of A,
Administrator of A (issue 22),
a logged-in non-staff user, an anonymous visitor) with GET and with POST (valid CSRF
token; admin forms are posted back with the values the superuser's page holds, so
a POST is a real change attempt; changelists also get each of their actions applied
to the tenant's rows; JSON endpoints get a JSON body). It asserts:

- no answer is a 5xx;
- no answer to a role of one tenant carries the other tenant's data, and anonymous
  and non-staff users see neither tenant's;
- nobody changes the database where they may not: anonymous and non-staff users
  never; staff never through another tenant's object, nor (admin pages) without a
  add/change/delete permission on the page's model; and no request by tenant staff
  changes any of the other tenant's rows;
- tenant staff (Operators, Finance, the company's Administrator) get 403/404 on every
  installation-wide admin page (schedules, task results, lockouts, staff: issue 22 §2).

Nothing here names a view: a new URL pattern is covered as it is added. Parameters
are filled by name (`*_pk`/`*_id`/`pk`/`object_id` → the model the admin URL or the
route's words name; `appid`, `openid`, `app_label`…); an unknown parameter gets every
tenant object's id, so a new view that takes an id is still tried with both tenants'.
Each request runs in a savepoint that is rolled back, so the next one starts from the
same data. PostgreSQL only: writes are detected with `pg_stat_xact_user_tables`.
"""

from __future__ import annotations

import datetime
import html.parser
import inspect
import json
import re
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_permission_codename, get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TENANTS = ("A", "B")
MARK = {"A": "甲租户MKA7Q", "B": "乙租户MKB3Z"}  # unique text in each tenant's rows
ROLES = ("superuser", "operator_A", "operator_B", "finance_A", "administrator_A", "nonstaff", "anonymous")
ROLE_TENANT = {"operator_A": "A", "operator_B": "B", "finance_A": "A", "administrator_A": "A"}
PASSWORD = "pw-for-tests-123"
#: tables written by logging in, sessions and login throttling: not a change of data
BOOKKEEPING_TABLES = {
    "django_session",
    "auth_user",
    "axes_accessattempt",
    "axes_accesslog",
    "axes_accessfailurelog",
    "axes_accessattemptexpiration",
    "api_apicall",  # issue 27: the API audits every call, refused ones included
}
LEGIT_4XX_3XX = {301, 302, 400, 403, 404, 405, 409, 413}
CSRF = "Zq8vTn3pLx0rWb6yKd2sHf9mJc5gQa1e"  # a 32-character secret, cookie and form alike


# --- the two tenants ---------------------------------------------------------------------
@dataclass
class World:
    users: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)  # model -> {"A": obj, "B": obj}
    openid: dict = field(default_factory=dict)

    def tenant_of(self, model, pk) -> str | None:
        for tenant, obj in self.objects.get(model, {}).items():
            if str(obj.pk) == str(pk):
                return tenant
        return None


def build_world() -> World:
    from accounts.models import AccountTokenStatus
    from accounts.tests.factories import EntityFactory, OfficialAccountFactory, UserFactory
    from api import services as api_services
    from api.models import ApiCall, JsDomain
    from certification.models import Milestone, Notification, Reminder
    from certification.tests.factories import make_order
    from menus.models import ClickReply, FanOut, Menu, MenuAuditEntry, MenuVersion
    from messaging.models import (
        InboundMessage,
        KfOperation,
        KfSession,
        KfWaitCase,
        TransferRule,
    )
    from messaging.tests.factories import (
        KeywordRuleFactory,
        KfAccountFactory,
        WelcomeReplyFactory,
    )
    from notifications.models import Delivery, Industry, Send, SendStatus, TargetKind, Template

    world = World()
    user_model = get_user_model()
    world.users["superuser"] = user_model.objects.create_superuser("matrix-root", "r@x.cn", PASSWORD)
    world.users["nonstaff"] = UserFactory(username="matrix-nonstaff", is_staff=False)
    now = timezone.now()

    def put(obj, tenant):
        world.objects.setdefault(type(obj), {})[tenant] = obj
        return obj

    for tenant in TENANTS:
        mark = MARK[tenant]
        operator = UserFactory(username=f"matrix-operator-{tenant}", groups=["Operators"])
        finance = UserFactory(username=f"matrix-finance-{tenant}", groups=["Finance"])
        world.users[f"operator_{tenant}"] = operator
        staff = [operator, finance]
        if tenant == "A":
            world.users["finance_A"] = finance
            # issue 22: a company's Administrator, who must not reach installation-wide pages
            administrator = UserFactory(username="matrix-administrator-A", groups=["Administrators"])
            world.users["administrator_A"] = administrator
            staff.append(administrator)
        entity = put(
            EntityFactory(
                full_name=f"{mark}有限公司",
                short_name=mark,
                bank_account_number=f"62220{ord(tenant)}99887766",
            ),
            tenant,
        )
        account = put(
            OfficialAccountFactory(entity=entity, name=f"{mark}服务号", assigned_staff=staff),
            tenant,
        )
        openid = world.openid[tenant] = f"o_matrix_user_{tenant.lower()}"
        put(KeywordRuleFactory(account=account, pattern=f"{mark}关键词", reply_text=f"{mark}回复"), tenant)
        put(WelcomeReplyFactory(account=account, reply_text=f"{mark}欢迎"), tenant)
        kf = put(KfAccountFactory(account=account, nickname=f"客服{tenant}"), tenant)
        put(
            TransferRule.objects.create(account=account, name=f"{mark}转接", match_type="any", kf_account=kf),
            tenant,
        )
        put(
            KfOperation.objects.create(
                account=account,
                kf=kf,
                kf_account=kf.kf_account,
                action="update",
                nickname=f"{mark}昵称",
                requested_by=operator,
            ),
            tenant,
        )
        put(
            KfSession.objects.create(account=account, openid=openid, kf_account=kf.kf_account, opened_at=now),
            tenant,
        )
        put(KfWaitCase.objects.create(account=account, openid=openid, latest_time=now), tenant)
        put(
            InboundMessage.objects.create(
                account=account,
                dedupe_key=f"matrix-{tenant}",
                openid=openid,
                msg_type="text",
                content=f"{mark}消息",
                sent_at=now,
            ),
            tenant,
        )
        menu = put(Menu.objects.create(account=account), tenant)
        version = put(
            MenuVersion.objects.create(
                menu=menu,
                number=1,
                status="published",
                data={"button": [{"type": "click", "name": "菜单", "key": "K", "reply": f"{mark}菜单回复"}]},
            ),
            tenant,
        )
        ClickReply.objects.create(account=account, key="K", reply=f"{mark}菜单回复", version=version)
        put(
            MenuAuditEntry.objects.create(
                account=account, action="publish", by=operator, version=version, detail=f"{mark}审计"
            ),
            tenant,
        )
        put(FanOut.objects.create(data={"button": []}, source_account=account, created_by=operator), tenant)
        put(AccountTokenStatus.objects.create(account=account, last_errmsg=f"{mark}错误"), tenant)
        # issue 24: the audience's rows
        from audience.models import Follower, QrCode, QrScanDay, SyncRun, Tag

        tag = put(Tag.objects.create(account=account, wechat_id=100, name=f"{mark}标签"), tenant)
        code = put(
            QrCode.objects.create(
                account=account,
                scene=f"scene-{tenant}",
                name=f"{mark}码",
                url="http://weixin.qq.com/q/x",
                tag=tag,
            ),
            tenant,
        )
        put(QrScanDay.objects.create(code=code, day=now.date()), tenant)
        put(
            Follower.objects.create(account=account, openid=openid, remark=f"{mark}备注", qr_code=code),
            tenant,
        )
        put(SyncRun.objects.create(account=account), tenant)
        from audience.models import BulkTagJob

        put(BulkTagJob.objects.create(account=account, tag=tag, filter_text=f"{mark}筛选", total=1), tenant)
        order = put(make_order(account=account, by=finance, until="in_review"), tenant)
        account.certified_until = now.date() + datetime.timedelta(days=200)
        account.save()
        put(order.documents.first(), tenant)
        put(Reminder.objects.create(order=order, milestone=Milestone.RESUBMISSION, due_on=now.date()), tenant)
        put(
            Notification.objects.create(
                user=finance, order=order, milestone="resubmission", title=f"{mark}提醒", body=f"{mark}正文"
            ),
            tenant,
        )
        put(Industry.objects.create(account=account, primary=f"{mark}行业"), tenant)
        template = put(
            Template.objects.create(
                account=account,
                template_id=f"matrix-template-{tenant}",
                title=f"{mark}模板",
                content="{{thing1.DATA}}",
                keywords=[["thing1", "thing"]],
            ),
            tenant,
        )
        send = put(
            Send.objects.create(
                account=account,
                template=template,
                wechat_template_id=template.template_id,
                template_title=f"{mark}模板",
                target_kind=TargetKind.ONE,
                status=SendStatus.PAUSED,
                status_note=f"{mark}备注",
                total=1,
                created_by=operator,
            ),
            tenant,
        )
        put(
            Delivery.objects.create(
                send=send,
                account=account,
                template_id=template.template_id,
                openid=openid,
                data={"thing1": f"{mark}值"},
            ),
            tenant,
        )
        # issue 28: a month of figures (WeChat's and ours) and the entity's monthly report
        from insights.models import DailyFigure, Report, RollupDay

        for metric, source in (("user.new", "wechat"), ("menu.click", "own")):
            put(
                DailyFigure.objects.create(
                    account=account, day=now.date(), metric=metric, value=7, source=source
                ),
                tenant,
            )
        RollupDay.objects.get_or_create(day=now.date(), defaults={"rolled_at": now})
        put(
            Report.objects.create(entity=entity, month=now.date().replace(day=1), error=f"{mark}错误"), tenant
        )
        # issue 25: a mass send awaiting approval (prepared by the Operator) and its history
        from content.models import MassKind, MassSend, MassSendLog, MassStatus

        mass = put(
            MassSend.objects.create(
                account=account,
                title=f"{mark}群发",
                kind=MassKind.TEXT,
                text=f"{mark}正文",
                status=MassStatus.AWAITING_APPROVAL,
                created_by=operator,
                previewed_at=now,
            ),
            tenant,
        )
        put(MassSendLog.objects.create(send=mass, by=operator, action="create", note=f"{mark}记录"), tenant)
        # issue 27: a client system of the account, its JS-SDK domain and a call in its log
        client, _key = api_services.register_client(name=f"{mark}对接系统", accounts=[account], by=None)
        put(client, tenant)
        put(client.keys.get(), tenant)
        put(JsDomain.objects.create(account=account, domain=f"m{tenant.lower()}.example.com"), tenant)
        put(
            ApiCall.objects.create(
                client=client,
                account=account,
                appid=account.appid,
                endpoint="access-token",
                outcome="ok",
                status=200,
            ),
            tenant,
        )
        # issue 25: the content library, a draft with a version, a publication
        from content.models import Draft, DraftVersion, Material, Publication

        cover = put(
            Material.objects.create(
                account=account, kind="thumb", media_id=f"matrix-cover-{tenant}", name=f"{mark}封面.jpg"
            ),
            tenant,
        )
        articles = [{"title": f"{mark}文章", "content": "<p>正文</p>", "thumb_media_id": cover.media_id}]
        draft = put(
            Draft.objects.create(
                account=account, title=f"{mark}草稿", articles=articles, created_by=operator
            ),
            tenant,
        )
        put(
            DraftVersion.objects.create(draft=draft, number=1, articles=articles, created_by=operator), tenant
        )
        put(
            Publication.objects.create(
                account=account,
                draft=draft,
                title=f"{mark}草稿",
                media_id=f"matrix-draft-{tenant}",
                status="failed",
            ),
            tenant,
        )
        # issue 28: the WeChat-statistics sync's state of a day and a backfill
        from insights.models import Backfill, SyncDay

        put(
            SyncDay.objects.create(
                account=account, area="user_summary", day=now.date(), status="missing", reason=f"{mark}原因"
            ),
            tenant,
        )
        put(
            Backfill.objects.create(account=account, start=now.date(), end=now.date(), note=f"{mark}备注"),
            tenant,
        )
    return world


# --- URLs from the resolver ----------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    url: str
    name: str
    tenant: str | None  # whose objects the URL names (None: no tenant's)
    model: type | None  # the admin page's model, when it is one
    is_admin: bool
    action: str | None = None  # a changelist action to apply to the tenant's rows


TENANT_PARAMS = {"account_pk", "account_id", "appid", "openid", "object_id", "pk", "id"}
GROUP = re.compile(r"\((?:\?P<(\w+)>)?[^()]*\)")
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def walk(patterns, parts=(), names=()):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(
                entry.url_patterns,
                parts + (entry.pattern,),
                names + ((entry.namespace,) if entry.namespace else ()),
            )
        elif isinstance(entry, URLPattern):
            yield parts + (entry.pattern,), ":".join(names + (entry.name or "",)), entry


def template_of(pattern_parts, callback) -> tuple[str, list[str]]:
    """The URL with `{name}` holes, and the parameter names in order."""
    positional = [
        p
        for p in inspect.signature(inspect.unwrap(callback)).parameters
        if p not in ("self", "request", "extra_context", "form_url")
    ]
    text, params = "", []
    for pattern in pattern_parts:
        raw = str(pattern)
        if raw.startswith("^") or raw.endswith("$") or "(" in raw:
            raw = raw.lstrip("^").rstrip("$")

            def hole(found):
                name = found.group(1) or (positional[len(params)] if len(params) < len(positional) else "arg")
                params.append(name)
                return "{" + name + "}"

            raw = GROUP.sub(hole, raw)
        else:

            def hole(found):
                params.append(found.group(2))
                return "{" + found.group(2) + "}"

            raw = CONVERTER.sub(hole, raw)
        text += raw
    return "/" + text, params


def model_named_by(url_template: str) -> list[type]:
    """Models a non-admin route's literal words name ("documents" → OrderDocument)."""
    words = [w.rstrip("s").replace("-", "") for w in re.split(r"[/{}]", url_template) if w]
    ours = [
        m
        for m in apps.get_models()
        if m._meta.app_label in ("accounts", "menus", "certification", "messaging")
    ]
    return [m for m in ours for w in words if len(w) > 3 and m._meta.model_name.endswith(w)]


def values_for(param: str, tenant: str, world: World, model, chosen: dict) -> list[str]:
    """Candidate values of one URL parameter for one tenant."""
    from accounts.models import OfficialAccount

    def pks(of):
        objs = world.objects.get(of)
        if objs:
            return [str(objs[tenant].pk)]
        first = of._default_manager.order_by("pk").first()
        return [str(first.pk)] if first is not None else ["1"]

    if param in ("account_pk", "account_id"):
        return pks(OfficialAccount)
    if param == "entity_pk":  # issue 28: an entity's insights and its monthly report page
        from accounts.models import Entity

        return pks(Entity)
    if param == "appid":
        return [world.objects[OfficialAccount][tenant].appid]
    if param == "openid":
        return [world.openid[tenant]]
    if param == "app_label":
        return sorted({m._meta.app_label for m in admin.site._registry})[:1] + ["accounts"]
    if param == "content_type_id":
        return [str(ContentType.objects.get_for_model(OfficialAccount).pk)]
    if param == "url":
        return ["no-such-page/"]
    if param == "version_id" and model is not None and hasattr(model, "history"):
        owner = model._default_manager.filter(pk=chosen.get("object_id")).first()
        record = owner.history.order_by("-history_id").first() if owner else None
        return [str(record.history_id)] if record else ["1"]
    if param == "field":  # the hub's credential reveal: one it shows, one it never does
        return ["server_token", "appsecret"]
    if param == "name":  # e.g. a transition: one that exists, one that does not
        return ["cancel", "no_such_name"]
    if param in ("pk", "object_id", "id") or param.endswith(("_pk", "_id")):
        if model is not None:
            return pks(model)
        return sorted({v for m in world.objects for v in pks(m)}, key=int)
    return ["1"]


def expand(world: World) -> list[Target]:
    targets: list[Target] = []
    for parts, name, entry in walk(get_resolver().url_patterns):
        template, params = template_of(parts, entry.callback)
        admin_page = re.match(r"/admin/(\w+)/(\w+)/", template)
        model = None
        if admin_page:
            try:
                model = apps.get_model(admin_page.group(1), admin_page.group(2))
            except LookupError:
                model = None
        if model is None and not template.startswith("/admin/") and params:
            named = model_named_by(template)
            model = named[0] if len(named) == 1 else None
        per_tenant = [] if params else [(None, {})]
        for tenant in TENANTS:
            combos = [{}]
            for param in params:
                combos = [{**c, param: v} for c in combos for v in values_for(param, tenant, world, model, c)]
            per_tenant += [(tenant, combo) for combo in combos]
        seen = set()
        for tenant, combo in per_tenant:
            url = template.format(**combo)
            if url in seen:
                continue
            seen.add(url)
            # Whose data the URL names: a tenant object's id, account, AppID or OpenID.
            owner = (
                tenant
                if any(
                    p in TENANT_PARAMS or (p.endswith(("_pk", "_id")) and p != "content_type_id")
                    for p in combo
                )
                else None
            )
            key = next((combo[p] for p in ("object_id", "pk", "id") if p in combo), None)
            if key is not None and model is not None:
                owner = world.tenant_of(model, key)
            targets.append(Target(url, name, owner, model, template.startswith("/admin/")))
        if name.endswith("_changelist") and model in admin.site._registry:
            targets += action_targets(world, name, template, model)
        if name == "admin:autocomplete":
            targets += autocomplete_targets(template)
    return targets


def autocomplete_targets(url: str) -> list[Target]:
    """The autocomplete endpoint once per autocomplete field any registered admin declares."""
    found = []
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            opts = model._meta
            found.append(
                Target(
                    f"{url}?app_label={opts.app_label}&model_name={opts.model_name}"
                    f"&field_name={field_name}&term=",
                    "admin:autocomplete",
                    None,
                    None,
                    True,
                )
            )
    return found


def action_targets(world, name, url, model) -> list[Target]:
    model_admin = admin.site._registry[model]
    rf_request = type("R", (), {"user": world.users["superuser"], "GET": {}, "POST": {}})()
    try:
        actions = list(model_admin.get_actions(rf_request))
    except Exception:  # an admin whose actions need a real request: skip its actions
        return []
    objects = world.objects.get(model, {})
    return [Target(url, name, tenant, model, True, action=action) for action in actions for tenant in objects]


# --- forms, requests, checks --------------------------------------------------------------
class FormHarvester(html.parser.HTMLParser):
    """The name → values of the page's main POST form, as a browser would submit it."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {
                "method": (a.get("method") or "get").lower(),
                "id": a.get("id", ""),
                "data": {},
                "first_option": {},
            }
            self.forms.append(self._form)
        if self._form is None:
            return
        data = self._form["data"]
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "image", "file", "password"):
                return
            data.setdefault(a["name"], []).append(
                a.get("value") or ("on" if kind in ("checkbox", "radio") else "")
            )
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select:
            self._form["first_option"].setdefault(self._select, a.get("value", ""))
            if "selected" in a:
                data.setdefault(self._select, []).append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            data[self._textarea] = [""]

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, text):
        if self._textarea and self._form is not None:
            self._form["data"][self._textarea][0] += text

    def main_form(self) -> dict:
        posts = [
            f
            for f in self.forms
            if f["method"] == "post" and "language" not in f["id"] and "logout" not in f["id"]
        ]
        if not posts:
            return {}
        chosen = max(posts, key=lambda f: len(f["data"]))
        data = dict(chosen["data"])
        for name, value in chosen["first_option"].items():
            data.setdefault(name, [value])
        data.pop("csrfmiddlewaretoken", None)
        return data


def writes() -> Counter:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables")
        return Counter(
            {name: count for name, count in cursor.fetchall() if name not in BOOKKEEPING_TABLES and count}
        )


def snapshot(world: World, tenant: str) -> dict:
    return {
        (model, obj.pk): model._default_manager.filter(pk=obj.pk).values().first()
        for model, objs in world.objects.items()
        for t, obj in objs.items()
        if t == tenant
    }


def offered_actions(world: World, role: str) -> set[tuple[type, str]]:
    """(model, action) pairs each admin offers this role: the admin decides who may act."""
    from django.test import RequestFactory

    found = set()
    if role == "anonymous":
        return found
    fake = RequestFactory().get("/admin/")
    fake.user = world.users[role]
    for model, model_admin in admin.site._registry.items():
        try:
            found |= {(model, name) for name in model_admin.get_actions(fake)}
        except Exception:  # an admin needing more of the request offers none here
            continue
    return found


def may_write(role: str, target: Target, world: World, offered: set) -> bool:
    if role == "superuser":
        return True
    if role in ("anonymous", "nonstaff"):
        return False
    own = ROLE_TENANT[role]
    if target.tenant is not None and target.tenant != own:
        return False
    if target.action:
        return (target.model, target.action) in offered
    if target.is_admin and target.model is not None:
        user = world.users[role]
        opts = target.model._meta
        return any(
            user.has_perm(f"{opts.app_label}.{get_permission_codename(verb, opts)}")
            for verb in ("add", "change", "delete")
        )
    return True


def installation_wide(target: Target) -> bool:
    """An admin page of an installation-wide admin (accounts/installation.py)."""
    from accounts.installation import InstallationAdminMixin

    model_admin = admin.site._registry.get(target.model) if target.is_admin else None
    return isinstance(model_admin, InstallationAdminMixin)


def upstream_answer(response, text: str) -> bool:
    """A designed 502: a JSON answer saying WeChat (here the sandbox) refused or failed."""
    if response.status_code != 502 or "json" not in response.get("Content-Type", ""):
        return False
    try:
        return "error" in json.loads(text)
    except ValueError:
        return False


def request(client: Client, method: str, target: Target, form: dict):
    if method == "GET":
        return client.get(target.url)
    if target.action:
        selected = MATRIX_WORLD.objects.get(target.model, {}).get(target.tenant)
        data = {
            "action": target.action,
            "index": "0",
            "post": "yes",
            "apply": "1",
            "_selected_action": [str(selected.pk)] if selected else [],
            "csrfmiddlewaretoken": CSRF,
        }
        return client.post(target.url, data)
    if target.is_admin:
        return client.post(target.url, {**form, "csrfmiddlewaretoken": CSRF})
    return client.post(
        target.url,
        json.dumps({"confirm": True, "menu": {"button": []}, "type": "text", "content": "hi"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=CSRF,
    )


MATRIX_WORLD: World  # set by the `matrix` fixture (used by request() for action selections)


# --- the matrix, one test item per group of URL patterns (issue 21) -----------------------
def group_of_pattern(template: str, name: str) -> str:
    """An admin model's pages (with their actions) form one group; any other pattern is one."""
    admin_page = re.match(r"/admin/(\w+)/(\w+)/", template)
    if admin_page:
        try:
            apps.get_model(admin_page.group(1), admin_page.group(2))
        except LookupError:
            pass
        else:
            return f"admin/{admin_page.group(1)}/{admin_page.group(2)}"
    return name or template


def pattern_groups() -> dict[str, str]:
    """URL pattern name → its group, from the resolver (read at collection: the items)."""
    groups: dict[str, str] = {}
    for parts, name, entry in walk(get_resolver().url_patterns):
        groups.setdefault(name, group_of_pattern(template_of(parts, entry.callback)[0], name))
    return groups


GROUP_OF_NAME = pattern_groups()
GROUPS = sorted(set(GROUP_OF_NAME.values()))


def requests_of(targets: list[Target]):
    """(target, method, role) in the order they are tried: a superuser's GET of a page comes
    before the POSTs, which send back the form it showed."""
    for target in targets:
        for method in ("GET", "POST"):
            if method == "GET" and target.action:
                continue
            for role in ROLES:
                yield target, method, role


def foreign_target(role: str, target: Target) -> bool:
    tenant = ROLE_TENANT.get(role)
    return tenant is not None and target.tenant not in (None, tenant)


@dataclass
class Matrix:
    world: World
    targets: list[Target]
    baseline: dict
    offered: dict


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker):
    """The two tenants' rows, the URLs to try and what each role is offered, built once per
    module (per xdist worker) in a transaction rolled back after the module's last test; each
    test runs in a savepoint of it (pytest-django's `django_db`), as each request runs in one
    of its own."""
    global MATRIX_WORLD
    with django_db_blocker.unblock(), transaction.atomic():
        world = MATRIX_WORLD = build_world()
        yield Matrix(
            world=world,
            targets=expand(world),
            baseline={tenant: snapshot(world, tenant) for tenant in TENANTS},
            offered={role: offered_actions(world, role) for role in ROLES},
        )
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_permission_matrix_covers_the_resolver(matrix, record_property):
    """The whole matrix's figures; the requests themselves are the items below, per group."""
    names = {t.name for t in matrix.targets}
    assert names <= GROUP_OF_NAME.keys(), f"URL patterns in no test item: {names - GROUP_OF_NAME.keys()}"
    figures = Counter(
        {
            "url patterns": len(names),
            "foreign-tenant requests": sum(
                foreign_target(role, target) for target, _method, role in requests_of(matrix.targets)
            ),
        }
    )
    record_property("matrix", ", ".join(f"{k}: {v}" for k, v in sorted(figures.items())))
    assert figures["url patterns"] > 100, "the resolver walk found too few URLs"
    assert figures["foreign-tenant requests"] > 500


@pytest.mark.django_db
@pytest.mark.parametrize("group", GROUPS)
def test_permission_matrix_from_the_url_resolver(group, matrix, settings, sandbox, record_property):
    """Generated from the resolver: new URLs are covered without editing this test."""
    from accounts.models import OfficialAccount

    # The WeChat API is the loopback sandbox only; no request may leave the machine.
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.WECHAT_HTTP_MAX_ATTEMPTS = 1
    settings.WECHAT_SIMULATE_CALLBACK_BASE = ""
    world, baseline, offered = matrix.world, matrix.baseline, matrix.offered
    for tenant in TENANTS:
        account = world.objects[OfficialAccount][tenant]
        app = sandbox.register_app(
            account.appid,
            str(account.appsecret),
            token=str(account.server_token),
            wechat_id=account.wechat_id,
        )
        app.menu = [{"type": "click", "name": "菜单", "key": "K"}]  # so "pull" has one
    targets = [t for t in matrix.targets if GROUP_OF_NAME.get(t.name) == group]

    clients = {}
    for role in ROLES:
        client = clients[role] = Client(enforce_csrf_checks=True)
        client.cookies[settings.CSRF_COOKIE_NAME] = CSRF
        if role != "anonymous":
            client.force_login(world.users[role])

    forms: dict[str, dict] = {}
    figures = Counter()
    problems: list[str] = []
    answered_foreign: list[str] = []
    last = writes()
    for target, method, role in requests_of(targets):
        client = clients[role]
        if role != "anonymous" and "_auth_user_id" not in client.session:
            client.force_login(world.users[role])  # a POST to logout logged it out
        with transaction.atomic():
            response = request(client, method, target, forms.get(target.url, {}))
            current = writes()
            changed, last = current - last, current
            tenant = ROLE_TENANT.get(role)
            other = {"A": "B", "B": "A"}.get(tenant)
            touched_other = bool(changed and other and snapshot(world, other) != baseline[other])
            transaction.set_rollback(True)
        body = b"".join(response) if response.streaming else response.content
        text = body.decode("utf-8", "replace")
        if (
            role == "superuser"
            and method == "GET"
            and target.is_admin
            and response.status_code == 200
            and "html" in response.get("Content-Type", "")
        ):
            harvester = FormHarvester()  # what the POST will send back, for all roles
            harvester.feed(text)
            forms[target.url] = harvester.main_form()
        label = f"{method} {target.url}"
        if target.action:
            label += f" action={target.action}"
        figures["requests"] += 1
        status = response.status_code
        if status >= 500 and not upstream_answer(response, text):
            problems.append(f"{label} as {role}: {status}")
        figures["upstream (WeChat/sandbox) answers 502"] += status == 502
        foreign = [
            MARK[t]
            for t in TENANTS
            if MARK[t] in text and (role in ("anonymous", "nonstaff") or (tenant and t != tenant))
        ]
        if foreign:
            problems.append(f"{label} as {role}: shows {foreign}")
        if changed and not may_write(role, target, world, offered[role]):
            problems.append(f"{label} as {role}: wrote {dict(changed)}")
        if touched_other:
            problems.append(f"{label} as {role}: changed the other tenant's rows")
        refused = status in LEGIT_4XX_3XX
        if installation_wide(target) and role in ROLE_TENANT:  # issue 22 §2: tenant staff never
            figures["installation-page requests by tenant staff"] += 1
            if status not in (302, 403, 404, 405):  # 302: "no such row", to the index
                problems.append(f"{label} as {role}: {status} on an installation-wide page")
        if role in ("anonymous", "nonstaff"):
            figures["outsider requests"] += 1
            figures["outsider refused"] += refused
        if foreign_target(role, target):
            figures["foreign-tenant requests"] += 1
            figures["foreign-tenant refused"] += refused
            if not refused:  # answered, yet showed and changed nothing (checked above)
                answered_foreign.append(f"{label} as {role}: {status}")
        if changed:
            figures["requests that wrote (allowed)"] += 1

    patterns = {t.name + "|" + re.sub(r"\d+", "N", t.url) for t in targets}
    figures["url patterns"] = len({t.name for t in targets})
    figures["concrete urls"] = len({(t.url, t.action) for t in targets})
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(figures.items()))
    record_property("matrix", summary)
    print(f"\npermission matrix, {group}: {summary} ({len(patterns)} url shapes)")  # noqa: T201 (figures)
    print(  # noqa: T201
        "foreign-tenant requests answered without refusal (no data, no change):",
        *answered_foreign,
        sep="\n  ",
    )
    assert targets, f"no URL of {group} to try"
    assert not problems, "\n".join(problems[:60]) + f"\n… {len(problems)} problem(s)"
