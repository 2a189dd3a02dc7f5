"""Admin pages of the WeChat-statistics sync (issue 28): backfills (start one for an account,
its progress, cancel) and the sync state of every day (what is missing and why, retry), plus
"backfill WeChat statistics" on the account list. Scoped to the staff member's accounts;
every write goes through ``sync_services`` and a refusal is shown in words."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin

from accounts.models import OfficialAccount
from accounts.scoping import AccountScopedAdminMixin
from accounts.selectors import accounts_visible_to
from core.admin_mixins import ReadOnlyAdminMixin
from wechat.api import datacube

from . import selectors, sync_services, wechat_sync
from .models import Backfill, SyncDay


class VisibleAccountFilter(admin.RelatedFieldListFilter):
    """Choices: only the accounts the user may see."""

    def field_choices(self, field, request, model_admin):
        return [(a.pk, str(a)) for a in accounts_visible_to(request.user).order_by("name")]

    def has_output(self):
        return bool(self.lookup_choices)


def _default_range(now: datetime.datetime | None = None) -> tuple[datetime.date, datetime.date]:
    """The last year WeChat has finished."""
    end = datacube.available_until(now or timezone.now())
    return end - datetime.timedelta(days=364), end


class RangeForm(forms.Form):
    start = forms.DateField(label=_("first day"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("last day"), widget=forms.DateInput(attrs={"type": "date"}))


class BackfillForm(forms.ModelForm):
    class Meta:
        model = Backfill
        fields = ("account", "start", "end")
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
        }
        help_texts = {
            "end": _(
                "At most a year; WeChat gives a day's statistics after 08:00 (Beijing time) the next day."
            )
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        account, start, end = data.get("account"), data.get("start"), data.get("end")
        if account and start and end:
            try:
                wechat_sync.check_range(account=account, start=start, end=end)
            except wechat_sync.InsightsSyncError as error:
                raise forms.ValidationError(error.user_message) from error
        return data


@admin.register(Backfill)
class BackfillAdmin(AccountScopedAdminMixin, ModelAdmin):
    form = BackfillForm
    list_display = (
        "account",
        "start",
        "end",
        "status",
        "progress_bar",
        "days_done",
        "days_missing",
        "days_total",
        "missing_link",
        "note",
        "requested_by",
        "created_at",
    )
    list_filter = (("account", VisibleAccountFilter), "status", "created_at")
    search_fields = ("account__name", "note")
    list_select_related = ("account", "requested_by")
    readonly_fields = (
        "account",
        "start",
        "end",
        "status",
        "progress_bar",
        "days_done",
        "days_missing",
        "days_total",
        "note",
        "requested_by",
        "created_at",
        "finished_at",
        "missing_list",
    )
    actions = ("cancel_selected",)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        start, end = _default_range()
        return {"start": start, "end": end, **super().get_changeform_initial_data(request)}

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ("account", "start", "end")

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was asked for stays

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            saved = sync_services.start_backfill(
                account=obj.account, start=obj.start, end=obj.end, by=request.user
            )
        except wechat_sync.InsightsSyncError as error:
            self.message_user(request, error.user_message, messages.ERROR)
            return
        obj.pk = saved.pk

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            return self.response_post_save_add(request, obj)
        self.message_user(
            request,
            _("Backfill started: its progress is on this page (reload to follow it)."),
            messages.SUCCESS,
        )
        from django.shortcuts import redirect

        return redirect(reverse("admin:insights_backfill_change", args=[obj.pk]))

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: Backfill) -> str:
        return format_html("<progress max=100 value={}></progress> {}%", obj.progress, obj.progress)

    @admin.display(description=_("missing days"))
    def missing_link(self, obj: Backfill) -> str:
        if not obj.days_missing:
            return "—"
        url = reverse("admin:insights_syncday_changelist")
        return format_html(
            '<a href="{}?account__id__exact={}&status__exact=missing&day__gte={}&day__lte={}">{}</a>',
            url,
            obj.account_id,
            obj.start.isoformat(),
            obj.end.isoformat(),
            _("%(n)d missing") % {"n": obj.days_missing},
        )

    @admin.display(description=_("what is missing and why"))
    def missing_list(self, obj: Backfill) -> str:
        rows = [
            m
            for m in selectors.missing_days(
                obj.account, obj.start, min(obj.end, obj.start + datetime.timedelta(days=400))
            )
            if m.status == "missing"
        ][:50]
        if not rows:
            return str(_("Nothing is missing."))
        items = format_html_join(
            "", "<li>{} · {} · {}</li>", ((m.day.isoformat(), m.area_label, m.why) for m in rows)
        )
        return format_html("<ul>{}</ul>", items)

    @admin.action(description=_("Cancel the selected backfills"), permissions=["add"])
    def cancel_selected(self, request, queryset):
        done = 0
        for backfill in queryset:
            try:
                sync_services.cancel_backfill(backfill=backfill, by=request.user)
            except wechat_sync.InsightsSyncError as error:
                self.message_user(request, f"{backfill}: {error.user_message}", messages.WARNING)
            else:
                done += 1
        self.message_user(
            request,
            ngettext("%(n)d backfill cancelled.", "%(n)d backfills cancelled.", done) % {"n": done},
            messages.SUCCESS,
        )


@admin.register(SyncDay)
class SyncDayAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    list_display = (
        "day",
        "area",
        "account",
        "status",
        "attempts",
        "errcode",
        "reason",
        "last_tried_at",
        "synced_at",
    )
    list_filter = (("account", VisibleAccountFilter), "status", "area", "day")
    search_fields = ("reason", "account__name", "=errcode")
    list_select_related = ("account",)
    date_hierarchy = "day"
    show_full_result_count = False
    actions = ("retry_selected",)

    def get_search_results(self, request, queryset, search_term):
        # "=errcode" with words would compare a number column with text: search the words only
        if search_term and not search_term.lstrip("-").isdigit():
            words = Q(reason__icontains=search_term) | Q(account__name__icontains=search_term)
            return queryset.filter(words), False
        return super().get_search_results(request, queryset, search_term)

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in ("day__gte", "day__lte") or super().lookup_allowed(lookup, value, request)

    @admin.action(description=_("Fetch the selected missing days again"), permissions=["view"])
    def retry_selected(self, request, queryset):
        if not request.user.has_perm("insights.add_backfill"):
            raise PermissionDenied
        count = sync_services.retry_days(days=queryset.filter(status=SyncDay.Status.MISSING), by=request.user)
        self.message_user(
            request,
            ngettext(
                "%(n)d missing day will be fetched again.", "%(n)d missing days will be fetched again.", count
            )
            % {"n": count},
            messages.SUCCESS if count else messages.WARNING,
        )


@admin.action(description=_("Backfill WeChat statistics of the selected accounts"), permissions=["view"])
def backfill_accounts(modeladmin, request, queryset) -> HttpResponse | None:
    """Asks for the range first (a page listing the accounts); the second POST, with
    ``confirm=yes``, starts one backfill per account and says which were refused and why."""
    if not request.user.has_perm("insights.add_backfill"):
        raise PermissionDenied
    accounts: list[OfficialAccount] = list(
        accounts_visible_to(request.user).filter(pk__in=queryset.values("pk"))
    )
    start, end = _default_range()
    form = RangeForm(
        request.POST if request.POST.get("confirm") == "yes" else None, initial={"start": start, "end": end}
    )
    if request.POST.get("confirm") == "yes" and form.is_valid():
        started = 0
        for account in accounts:
            try:
                sync_services.start_backfill(
                    account=account,
                    start=form.cleaned_data["start"],
                    end=form.cleaned_data["end"],
                    by=request.user,
                )
            except wechat_sync.InsightsSyncError as error:
                modeladmin.message_user(request, f"{account}: {error.user_message}", messages.WARNING)
            else:
                started += 1
        modeladmin.message_user(
            request,
            ngettext(
                "%(n)d backfill started; progress under Statistics backfills.",
                "%(n)d backfills started; progress under Statistics backfills.",
                started,
            )
            % {"n": started},
            messages.SUCCESS if started else messages.WARNING,
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Backfill WeChat statistics"),
        "accounts": accounts,
        "form": form,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/insights/backfill/confirm_accounts.html", context)
