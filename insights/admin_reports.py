"""The report half's admin (issue 28): the monthly client reports (list, generate, download)
and, mounted on the same admin's URLs, the figures pages of ``insights.views``.

A report is requested on its add page (entity + month): the row is written "pending" and a
task makes the PDF. Only entities whose every account the user sees are offered (the report
shows them all). Rows are written by ``reports`` only: no change page edits them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, re_path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from accounts.models import Entity
from accounts.scoping import EntityScopedAdminMixin
from accounts.selectors import entities_visible_to
from core.permissions import required_permission

from . import reports, views
from .models import Report

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class ReportForm(forms.ModelForm):  # type: ignore[type-arg]
    month = forms.CharField(
        label=_("month"),
        max_length=7,
        help_text=_("As YYYY-MM, e.g. 2026-11. The report covers the whole month."),
        widget=forms.TextInput(attrs={"placeholder": "2026-11", "pattern": r"\d{4}-\d{2}"}),
    )

    class Meta:
        model = Report
        fields = ["entity", "month"]

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not kwargs.get("initial", {}).get("month") and not self.is_bound:
            self.initial["month"] = f"{reports.previous_month():%Y-%m}"
        entities = entities_visible_to(user).filter(accounts__isnull=False).distinct().order_by("short_name")
        self.fields["entity"].queryset = entities  # type: ignore[attr-defined]

    def clean_month(self) -> datetime.date:
        value = (self.cleaned_data.get("month") or "").strip()
        try:
            month = datetime.date.fromisoformat(f"{value}-01")
        except ValueError:
            raise forms.ValidationError(_("Give the month as YYYY-MM, e.g. 2026-11.")) from None
        if month > timezone.localdate():
            raise forms.ValidationError(_("A report is made for a month that has begun."))
        if month.year < 2000:
            raise forms.ValidationError(_("Give the month as YYYY-MM, e.g. 2026-11."))
        return month

    def clean_entity(self) -> Entity:
        entity: Entity = self.cleaned_data["entity"]
        if not reports.sees_whole_entity(self.user, entity):
            raise forms.ValidationError(
                _("The report shows every account of this entity, and some of them are not assigned to you.")
            )
        return entity

    def validate_unique(self) -> None:
        """Requesting a month again replaces its report: no "already exists" error."""


def _actor(request: HttpRequest) -> User:
    """Behind admin_view: always a staff member."""
    return cast("User", request.user)


@admin.register(Report)
class ReportAdmin(EntityScopedAdminMixin, ModelAdmin):  # type: ignore[misc]  # unfold ships no types
    form = ReportForm
    list_display = ("entity", "month_label", "status", "accounts", "missing_days", "generated_at", "download")
    list_filter = ("status", "month", ("entity", admin.RelatedOnlyFieldListFilter))
    search_fields = ("entity__full_name", "entity__short_name")
    date_hierarchy = None
    readonly_fields = (
        "entity",
        "month",
        "status",
        "accounts",
        "missing_days",
        "size",
        "error",
        "created_by",
        "requested_at",
        "generated_at",
        "cpu_seconds",
    )
    actions = ["generate_again"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return Report.objects.select_related("entity", "created_by").filter(
            entity__in=entities_visible_to(request.user).values("pk")
        )

    def may_access(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or super().may_access(request, obj.entity)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is not None:  # the view page: every field read-only, nothing to choose
            return super().get_form(request, obj, change=change, **{**kwargs, "form": forms.ModelForm})
        base = super().get_form(request, obj, change=change, **kwargs)

        class Bound(base):  # type: ignore[misc,valid-type]
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, user=request.user, **kw)

        return Bound

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj: Report) -> str:
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("PDF"))
    def download(self, obj: Report) -> str:
        page = reverse("admin:insights_report_page", args=[obj.entity_id, obj.month.year, obj.month.month])
        if obj.status == Report.Status.DONE and obj.file:
            return format_html(
                '<a href="{}">{}</a> · <a href="{}">{}</a>',
                reverse("admin:insights_report_download", args=[obj.pk]),
                _("Download PDF"),
                page,
                _("Page"),
            )
        return format_html('<a href="{}">{}</a>', page, _("Page"))

    def save_model(self, request: HttpRequest, obj: Report, form: Any, change: bool) -> None:
        report = reports.request_report(entity=obj.entity, month=obj.month, by=_actor(request))
        obj.pk = report.pk
        self.message_user(
            request,
            _("The report is being generated; this list shows it as generated in a few seconds."),
            messages.SUCCESS,
        )

    def response_add(
        self, request: HttpRequest, obj: Report, post_url_continue: str | None = None
    ) -> HttpResponse:
        from django.shortcuts import redirect

        return redirect("admin:insights_report_changelist")

    @admin.action(description=_("Generate the selected reports again"), permissions=["add"])
    def generate_again(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        done = refused = 0
        for report in queryset.select_related("entity"):
            if not reports.sees_whole_entity(request.user, report.entity):
                refused += 1
                continue
            try:
                reports.request_report(entity=report.entity, month=report.month, by=_actor(request))
            except reports.ReportError as error:
                self.message_user(request, error.user_message, messages.ERROR)
                continue
            done += 1
        self.message_user(request, _("%(n)d reports queued.") % {"n": done}, messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                _("%(n)d reports left alone: they show accounts not assigned to you.") % {"n": refused},
                messages.WARNING,
            )

    # --- the figures pages, mounted here ------------------------------------------------
    def _page(self, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return view(request, self.admin_site.each_context(request), *args, **kwargs)

        wrapped.required_permission = required_permission(view)  # type: ignore[attr-defined]
        return self.admin_site.admin_view(wrapped)

    def get_urls(self) -> list[URLPattern]:
        admin_view = self.admin_site.admin_view
        fmt = r"(?P<fmt>xlsx|csv)"
        return [
            path("overview/", self._page(views.overview), name="insights_overview"),
            path("account/<int:account_pk>/", self._page(views.account_figures), name="insights_account"),
            re_path(
                rf"^account/(?P<account_pk>\d+)/export/{fmt}/$",
                admin_view(views.account_export),
                name="insights_account_export",
            ),
            path("entity/<int:entity_pk>/", self._page(views.entity_figures), name="insights_entity"),
            re_path(
                rf"^entity/(?P<entity_pk>\d+)/export/{fmt}/$",
                admin_view(views.entity_export),
                name="insights_entity_export",
            ),
            path("agency/", self._page(views.agency_figures), name="insights_agency"),
            re_path(
                rf"^agency/export/{fmt}/$", admin_view(views.agency_export), name="insights_agency_export"
            ),
            path(
                "entity/<int:entity_pk>/<int:year>/<int:month>/",
                admin_view(views.report_page),
                name="insights_report_page",
            ),
            path("<int:pk>/pdf/", admin_view(views.report_download), name="insights_report_download"),
            *super().get_urls(),
        ]
