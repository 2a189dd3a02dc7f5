"""The insights pages (issue 28): figures per account, per entity and for the whole agency,
their exports, and the monthly client report's printable page and download.

Mounted under the admin site by ``insights.admin.ReportAdmin.get_urls`` (staff login). Thin:
permission, scope, period; then ``figures.figures_for`` (a fixed number of queries whatever the
period) and a template. Scope: an account the user may see (``require_account_access``); an
entity the user may see, with only its accounts the user may see; the agency (every account)
for superusers only (staff who see everything).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Entity, OfficialAccount
from accounts.scoping import require_account_access
from accounts.selectors import accounts_visible_to, entities_visible_to, user_can_access_entity
from core.permissions import requires_permission

from . import exports, reports
from .figures import Figures, Period, PeriodError, figures_for
from .models import Report
from .page import page_context

VIEW_PERMISSION = "insights.view_dailyfigure"
REPORT_PERMISSION = "insights.view_report"
SEARCH_MAX = 60


def _period(request: HttpRequest) -> tuple[Period, str]:
    try:
        return Period.parse(request.GET.get("start"), request.GET.get("end")), ""
    except PeriodError as exc:
        return Period.last_days(30), str(exc.user_message)


def _render(
    request: HttpRequest,
    admin_context: dict[str, Any],
    *,
    title: str,
    scope: str,
    names: dict[int, str],
    export: tuple[str, list[int]],
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    period, error = _period(request)
    figures = figures_for(names.keys(), period, names=names)
    context = {
        **admin_context,
        **page_context(figures, names=names),
        "title": title,
        "scope": scope,
        "period_error": error,
        "export_xlsx": reverse(export[0], args=[*export[1], "xlsx"]),
        "export_csv": reverse(export[0], args=[*export[1], "csv"]),
        "query": request.GET.urlencode(),
        **(extra or {}),
    }
    return TemplateResponse(request, "insights/figures.html", context)


def _export(request: HttpRequest, names: dict[int, str], stem: str, fmt: str) -> HttpResponse:
    period, error = _period(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    figures: Figures = figures_for(names.keys(), period, names=names)
    filename = f"{stem}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(
            "\ufeff" + exports.dataset_csv(figures), content_type="text/csv; charset=utf-8"
        )
    elif fmt == "xlsx":
        response = HttpResponse(
            exports.databook_xlsx(figures, names=names),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _account(request: HttpRequest, pk: int) -> OfficialAccount:
    account = get_object_or_404(OfficialAccount, pk=pk)
    require_account_access(request.user, account)
    return account


def _entity(request: HttpRequest, pk: int) -> tuple[Entity, dict[int, str]]:
    entity = get_object_or_404(Entity, pk=pk)
    if not user_can_access_entity(request.user, entity):
        raise PermissionDenied
    names = dict(
        accounts_visible_to(request.user).filter(entity=entity).order_by("name").values_list("pk", "name")
    )
    return entity, names


def _agency(request: HttpRequest) -> dict[int, str]:
    if not request.user.is_superuser:  # the whole agency: staff who see everything
        raise PermissionDenied
    return dict(OfficialAccount.objects.order_by("name").values_list("pk", "name"))


@requires_permission(VIEW_PERMISSION)
def overview(request: HttpRequest, admin_context: dict[str, Any]) -> HttpResponse:
    """Where to look: the entities and accounts the user sees, searchable; the agency link."""
    search = request.GET.get("q", "").strip()[:SEARCH_MAX]
    entities = entities_visible_to(request.user).order_by("short_name", "full_name")
    accounts = accounts_visible_to(request.user).select_related("entity").order_by("name")
    if search:
        entities = entities.filter(Q(full_name__icontains=search) | Q(short_name__icontains=search))
        accounts = accounts.filter(
            Q(name__icontains=search)
            | Q(wechat_id__icontains=search)
            | Q(entity__full_name__icontains=search)
        )
    context = {
        **admin_context,
        "title": _("Insights"),
        "entities": entities[:200],
        "accounts": accounts[:500],
        "search": search,
        "agency": request.user.is_superuser,
    }
    return TemplateResponse(request, "insights/overview.html", context)


@requires_permission(VIEW_PERMISSION)
def account_figures(request: HttpRequest, admin_context: dict[str, Any], account_pk: int) -> HttpResponse:
    account = _account(request, account_pk)
    return _render(
        request,
        admin_context,
        title=_("Insights: %(name)s") % {"name": account.name},
        scope="account",
        names={account.pk: account.name},
        export=("admin:insights_account_export", [account.pk]),
        extra={"account": account},
    )


@requires_permission(VIEW_PERMISSION)
def account_export(request: HttpRequest, account_pk: int, fmt: str) -> HttpResponse:
    account = _account(request, account_pk)
    return _export(request, {account.pk: account.name}, f"insights-account-{account.pk}", fmt)


@requires_permission(VIEW_PERMISSION)
def entity_figures(request: HttpRequest, admin_context: dict[str, Any], entity_pk: int) -> HttpResponse:
    entity, names = _entity(request, entity_pk)
    return _render(
        request,
        admin_context,
        title=_("Insights: %(name)s") % {"name": entity.short_name or entity.full_name},
        scope="entity",
        names=names,
        export=("admin:insights_entity_export", [entity.pk]),
        extra={"entity": entity},
    )


@requires_permission(VIEW_PERMISSION)
def entity_export(request: HttpRequest, entity_pk: int, fmt: str) -> HttpResponse:
    entity, names = _entity(request, entity_pk)
    return _export(request, names, f"insights-entity-{entity.pk}", fmt)


@requires_permission(VIEW_PERMISSION)
def agency_figures(request: HttpRequest, admin_context: dict[str, Any]) -> HttpResponse:
    names = _agency(request)
    return _render(
        request,
        admin_context,
        title=_("Insights: the whole agency"),
        scope="agency",
        names=names,
        export=("admin:insights_agency_export", []),
    )


@requires_permission(VIEW_PERMISSION)
def agency_export(request: HttpRequest, fmt: str) -> HttpResponse:
    return _export(request, _agency(request), "insights-agency", fmt)


def _month(year: int, month: int) -> datetime.date:
    if not 2000 <= year <= 9000 or not 1 <= month <= 12:
        raise Http404
    return datetime.date(year, month, 1)


@requires_permission(REPORT_PERMISSION)
def report_page(request: HttpRequest, entity_pk: int, year: int, month: int) -> HttpResponse:
    """The monthly client report of an entity as a printable page (what the PDF is made of)."""
    entity, names = _entity(request, entity_pk)
    html = reports.render_html(entity, _month(year, month), names=names)
    return HttpResponse(html)


@requires_permission(REPORT_PERMISSION)
def report_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A kept report's PDF, for staff who see its entity — every account of it, since the
    file shows them all (a member who sees one of five accounts sees the entity, not the
    other four's figures)."""
    report = get_object_or_404(Report.objects.select_related("entity"), pk=pk)
    if not reports.sees_whole_entity(request.user, report.entity):
        raise PermissionDenied
    if report.status != Report.Status.DONE or not report.file:
        raise Http404
    try:
        handle = report.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=report.filename, content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
