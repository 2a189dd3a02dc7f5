"""A superuser walks every admin page in Chromium, in Chinese, at 1440 px.

Pages are discovered, not listed: every model registered on the admin site (its list,
add page, a real row's change and history pages) and every other named admin URL
(custom pages such as the account hub, the menu editor, a conversation), with path
parameters filled from real rows. A page fails the walk on visible English outside a
short allowlist (words stored as data — names, AppIDs, WeChat's own error messages —
are not UI and are allowed), on horizontal overflow, on a console error or an
uncaught script error, or on an HTTP error. Screenshots land in test-artifacts/walk/.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.urls import URLPattern, URLResolver, reverse

from wxadmin.tests import test_admin_smoke as smoke

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "walk"
WIDTH = 1440

#: English that may stand in the Chinese UI: names of formats, protocols and WeChat's own
#: identifiers, which staff see in WeChat's documentation exactly so.
ALLOWED = {
    "JS",  # WeChat's own name for the JS-SDK domains: JS接口安全域名 (issue 27)
    "https",  # "不带 https://": the scheme a domain is typed without
    # the CSV's column and the codes it also accepts beside 明文/兼容/安全 (issue 29)
    "message_mode",
    "plaintext",
    "compatible",
    "safe",
    "AppID",
    "AppSecret",
    "EncodingAESKey",
    "OpenID",
    "openid",
    "JSON",
    "CSV",
    "XLSX",
    "URL",
    "ID",
    "API",
    "HTTP",
    "HTTPS",
    "PDF",
    "JPG",
    "PNG",
    "MP4",
    "MOV",
    "MB",
    # file formats and sizes of WeChat's material limits (issue 25), like JPG, PNG and MB above
    "KB",
    "BMP",
    "JPEG",
    "GIF",
    "MP",  # of MP3
    "WMA",
    "WAV",
    "AMR",
    "UTC",
    "wxadmin",
    "English",
    "MsgId",
    "Token",
    "token",
    "kf",
    "KF",
    "AES",
    "VAT",
    "IP",
    "XML",
    "Celery",
    "cron",
    "crontab",
    "media_id",
    "article_id",
    "pagepath",
    "miniprogram",
    "Fernet",
    "Redis",
    "WeChat",
    "Pay",
    "access_token",
    "stable_token",
    "cgi-bin",
    "LDAP",
    "content_encoding",
    "content_type",
    "UTF",
    # keys named in Django's own Chinese help text ("按住 Control 键或 Mac 上的 Command 键")
    "Control",
    "Command",
    "Mac",
    # crontab field notation and IANA time-zone names, as django-celery-beat prints them
    "dM",
    "MY",
    "Asia",
    "Shanghai",
    # Celery's task states, stored and shown as Celery names them
    "SUCCESS",
    "PENDING",
    "FAILURE",
    "STARTED",
    "RETRY",
    "REVOKED",
}
#: the standard admin views every ModelAdmin has; other named admin URLs are custom pages
STANDARD_VIEWS = ("_changelist", "_add", "_change", "_delete", "_history", "_autocomplete")
#: fields whose stored codes the UI must translate: their values are not "data" words
CODED_FIELDS = {"msg_type", "event", "route", "reply_type", "action", "status", "source"}
WORD = re.compile(r"[A-Za-z][A-Za-z_'’-]*[A-Za-z]")

VISIBLE_TEXT_JS = """
() => {
  const skip = "script,style,code,pre,kbd,samp,textarea,.material-symbols-outlined,[hidden]";
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !el || el.closest(skip)) continue;
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    out.push(text);
  }
  for (const el of document.querySelectorAll("input[placeholder],textarea[placeholder]")) {
    if (el.checkVisibility()) out.push(el.placeholder);
  }
  return out;
}
"""
OVERFLOW_JS = "() => document.scrollingElement.scrollWidth - window.innerWidth"
#: the tallest bar of each dashboard chart, in pixels, as Chart.js drew it (-1: not drawn)
CHART_BARS_JS = """
() => [...document.querySelectorAll("canvas.chart")].map((canvas) => {
  const chart = window.Chart && Chart.getChart(canvas);
  if (!chart) return -1;
  return Math.max(0, ...chart.getDatasetMeta(0).data.map((bar) => Math.abs(bar.base - bar.y)));
})
"""


#: rows whose names are labels of the UI, not data staff typed (issue 29 §6): a role's or a
#: permission's name must read in Chinese like any other label
UI_LABEL_MODELS = {"auth.Group", "auth.Permission"}


def data_words() -> set[str]:
    """Words stored in the database as data (names, AppIDs, errmsg …): not UI text."""
    words: set[str] = set()
    for model in apps.get_models():
        if model._meta.label in UI_LABEL_MODELS:
            continue
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.EmailField)
            and not f.choices
            and f.name not in CODED_FIELDS
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields)[:200]:
            for value in row:
                words.update(word.lower() for word in WORD.findall(str(value or "")))
    return words


MASKED = re.compile(r"\S*[•*]{3,}\S*")  # masked credentials (••••abcd)


def english_in(texts: list[str], allowed: set[str], data: set[str]) -> list[str]:
    """Words outside the allowlist and not stored as data (compared without case: titles
    capitalise a stored "oDemoUser" as "ODemoUser")."""
    found = []
    for text in texts:
        for word in WORD.findall(MASKED.sub(" ", text)):
            if word in allowed or word.lower() in data or word.startswith(("wx", "gh_")):
                continue
            found.append(f"{word!r} in {text[:80]!r}")
    return found


def _first_pk(model) -> object | None:
    return model._default_manager.order_by("pk").values_list("pk", flat=True).first()


def _argument(model, name: str):
    """A real value for a URL parameter of a page of `model`'s admin, or None."""
    if name in ("pk", "object_id", "id"):
        return _first_pk(model)
    base = re.sub(r"_(pk|id)$", "", name)
    try:
        field = model._meta.get_field(base)
    except Exception:  # not a field of this model
        return None
    if field.is_relation and field.related_model is not None:
        return _first_pk(field.related_model)
    textual = isinstance(field, models.CharField | models.TextField)
    empty = {base: ""} if textual else {f"{base}__isnull": True}
    value = model._default_manager.exclude(**empty).values_list(base, flat=True).first()
    return value.isoformat() if isinstance(value, datetime.date) else value


def _named_patterns(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _named_patterns(pattern.url_patterns, prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern


#: The walk in items the xdist workers share (issue 21): admin pages by their model's app;
#: the site's own pages (index, password) with the staff's. Any other app's pages (a new
#: app's too) are walked by the last item, so no page is left out.
SECTIONS: dict[str, set[str] | None] = {
    "staff-accounts-jobs": {"", "auth", "axes", "accounts", "django_celery_beat", "django_celery_results"},
    "menus-messages": {"menus", "messaging"},
    "content-audience": {"content", "audience"},
    "other": None,
}


def section_of(app_label: str) -> str:
    return next((name for name, labels in SECTIONS.items() if labels and app_label in labels), "other")


def pages() -> list[tuple[str, str, str]]:
    """(name, path, app label) of every admin page a superuser can open, with real rows."""
    site = admin.site
    found = [("index", reverse("admin:index"), ""), ("password_change", reverse("admin:password_change"), "")]
    for model, model_admin in sorted(site._registry.items(), key=lambda i: i[0]._meta.label):
        label = model._meta.app_label
        info = f"{label}_{model._meta.model_name}"
        found.append((f"{info}_changelist", reverse(f"admin:{info}_changelist"), label))
        if model_admin.has_add_permission(_request()):
            found.append((f"{info}_add", reverse(f"admin:{info}_add"), label))
        pk = _first_pk(model)
        if pk is not None:
            found.append((f"{info}_change", reverse(f"admin:{info}_change", args=[pk]), label))
            found.append((f"{info}_history", reverse(f"admin:{info}_history", args=[pk]), label))
        for pattern in _named_patterns(model_admin.get_urls()):
            if pattern.name.startswith(info) and pattern.name.endswith(STANDARD_VIEWS):
                continue
            names = list(pattern.pattern.regex.groupindex)
            values = {name: _argument(model, name) for name in names}
            if any(value is None for value in values.values()):
                # a parameter no row provides (a transition's name …): an action endpoint
                # reached from a page's buttons, not a page of its own
                continue
            found.append((pattern.name, reverse(f"admin:{pattern.name}", kwargs=values), label))
    return found


def _request():
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = get_user_model().objects.filter(is_superuser=True).first()
    return request


@pytest.fixture
def walk_data(transactional_db, admin_user, client, redis_client):
    """The smoke test's rows (demo data and a row of every model of ours), committed so
    that the live server's thread sees them. Made in Chinese, as staff make them: texts the
    services store (document labels, check results) are in the language of the moment."""
    from django.core.management import call_command
    from django.utils import translation

    with translation.override("zh-hans"):
        call_command("load_demo", verbosity=0)
        call_command("install_schedules", verbosity=0)
        smoke._token_status_rows()
        smoke._menus_rows(admin_user)
        smoke._certification_rows(admin_user)
        smoke._messaging_rows(admin_user, client)
        smoke._notifications_rows(admin_user)
        smoke._content_rows(admin_user)
        smoke._insights_rows(admin_user)
        _third_party_rows()
    return admin_user


def _third_party_rows():
    """A task result and a group result, as a worker and a chord would leave them."""
    from django_celery_results.models import GroupResult, TaskResult

    TaskResult.objects.create(
        task_id="walk-task-1", task_name="wxadmin.health", status="SUCCESS", result='"ok"'
    )
    GroupResult.objects.create(group_id="walk-group-1", result="[]")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("section", SECTIONS)
def test_every_admin_page_reads_in_chinese_fits_and_has_no_errors(
    section, page, live_server, admin_login, walk_data
):
    page.set_viewport_size({"width": WIDTH, "height": 900})
    problems: dict[str, list[str]] = {}
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console.append(str(exc)))
    admin_login(walk_data.username, "password")
    page.wait_for_url("**/admin/")
    data = data_words()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    everything = pages()
    assert len(everything) > 60, everything  # the discovery itself works
    walked = [(name, path) for name, path, label in everything if section_of(label) == section]
    assert walked, f"no admin page in {section}"
    for name, path in walked:
        console.clear()
        probe = page.request.get(f"{live_server.url}{path}")
        if probe.status == 405:
            continue  # a POST-only endpoint (Chromium refuses to show an empty 405 page)
        if "attachment" in probe.headers.get("content-disposition", "") or not probe.headers.get(
            "content-type", ""
        ).startswith("text/html"):
            continue  # a download (a CSV template, a QR code's PNG), not a page to read
        response = page.goto(f"{live_server.url}{path}", wait_until="load")
        issues = []
        if response is None or response.status >= 400:
            issues.append(f"HTTP {response.status if response else '—'}")
        overflow = page.evaluate(OVERFLOW_JS)
        if overflow > 1:
            issues.append(f"{overflow}px wider than the {WIDTH}px window")
        issues += english_in(page.evaluate(VISIBLE_TEXT_JS), ALLOWED, data)
        title = page.title().strip()
        if not title or title.split("|")[0].strip() in ("", "Django site admin", "Django 站点管理员"):
            issues.append(f"no page title of its own: {title!r}")
        issues += [f"console: {text}" for text in console]
        if name == "index":  # the charts draw: every chart has a bar taller than 0 px
            bars = page.evaluate(CHART_BARS_JS)
            if not bars or min(bars) <= 0:
                issues.append(f"charts not drawn: tallest bars {bars}")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        if issues:
            problems[f"{name} {path}"] = issues
    assert not problems, "\n".join(f"{page_}: {issues}" for page_, issues in problems.items())
