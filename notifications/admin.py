"""Admin pages of template messages: templates (sync, add from the library, delete with
WeChat), sends (progress, pause, resume, cancel) and the delivery log (searchable, filtered,
read-only). Every page is scoped to the staff member's accounts."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.paginator import InfinitePaginator

from accounts.scoping import AccountScopedAdminMixin
from accounts.selectors import accounts_visible_to
from core.admin_mixins import ReadOnlyAdminMixin
from core.domain_errors import DomainError

from . import services
from .forms import SendForm
from .models import Delivery, Industry, Send, SendStatus, TargetKind, Template


class TemplateAddForm(forms.ModelForm):
    template_id_short = forms.CharField(label=_("library number"), max_length=64)
    keyword_names = forms.CharField(
        label=_("keyword names"),
        required=False,
        help_text=_("For a category template: the keywords to use, one a line."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = Template
        fields = ("account",)


class VisibleAccountFilter(admin.RelatedFieldListFilter):
    """Choices: the accounts the user may see — never another tenant's name, and no DISTINCT
    over a large table (the delivery log)."""

    def field_choices(self, field, request, model_admin):
        return [(a.pk, str(a)) for a in accounts_visible_to(request.user).order_by("name")]

    def has_output(self):
        return bool(self.lookup_choices)


@admin.register(Template)
class TemplateAdmin(AccountScopedAdminMixin, ModelAdmin):
    list_display = ("title", "account", "template_id", "keyword_list", "primary_industry", "synced_at")
    list_filter = (("account", VisibleAccountFilter),)
    search_fields = ("title", "template_id", "content")
    readonly_fields = (
        "account",
        "template_id",
        "title",
        "content",
        "example",
        "primary_industry",
        "deputy_industry",
        "keyword_list",
        "synced_at",
    )
    actions = ("sync_selected",)

    @admin.display(description=_("keywords"))
    def keyword_list(self, obj: Template) -> str:
        return ", ".join(name for name, _kind in obj.keywords)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TemplateAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("account", "template_id_short", "keyword_names")
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            added = services.template_add(
                account=form.cleaned_data["account"],
                template_id_short=form.cleaned_data["template_id_short"],
                keyword_names=form.cleaned_data["keyword_names"].splitlines(),
                by=request.user,
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.user_message) from exc
        obj.pk = added.pk

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except forms.ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return redirect(request.get_full_path())

    def delete_model(self, request, obj):
        services.template_delete(template=obj, by=request.user)

    def delete_view(self, request, object_id, extra_context=None):
        """After the confirmation page: WeChat deletes first; if it refuses, nothing is deleted
        here and staff read why on the template's page."""
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.user_message, messages.ERROR)
            return redirect(reverse("admin:notifications_template_change", args=[object_id]))

    def delete_queryset(self, request, queryset):
        for template in queryset:
            try:
                services.template_delete(template=template, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{template}: {exc.user_message}", messages.ERROR)

    @admin.action(description=_("Sync the templates of the selected templates' accounts"))
    def sync_selected(self, request, queryset):
        for account in {t.account for t in queryset.select_related("account")}:
            try:
                count = services.templates_sync(account=account, by=request.user)
                self.message_user(
                    request, _("%(account)s: %(n)s templates.") % {"account": account, "n": count}
                )
            except DomainError as exc:
                self.message_user(request, exc.user_message, messages.ERROR)


@admin.register(Industry)
class IndustryAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    list_display = ("account", "primary", "secondary", "synced_at")
    search_fields = ("account__name",)
    readonly_fields = ("account", "primary", "secondary", "synced_at")


@admin.register(Send)
class SendAdmin(AccountScopedAdminMixin, ModelAdmin):
    list_display = ("__str__", "account", "target_kind", "status", "progress", "status_note", "created_at")
    list_filter = ("status", "target_kind", ("account", VisibleAccountFilter))
    search_fields = ("template_title", "wechat_template_id")
    readonly_fields = [f.name for f in Send._meta.fields if f.name != "bad_rows"] + ["rows_left_out"]
    actions = ("pause", "resume", "cancel", "confirm")

    @admin.display(description=_("rows left out"))
    def rows_left_out(self, obj: Send) -> str:
        if not obj.bad_rows:
            return "—"
        return format_html_join(mark_safe("<br>"), "{}", ((reason,) for _number, reason in obj.bad_rows))

    @admin.display(description=_("progress"))
    def progress(self, obj: Send) -> str:
        done = obj.sent + obj.failed
        percent = round(100 * done / obj.total) if obj.total else 0
        return _("%(done)s of %(total)s (%(percent)s%%), %(failed)s failed") % {
            "done": done,
            "total": obj.total,
            "percent": percent,
            "failed": obj.failed,
        }

    def has_add_permission(self, request):
        """The add page is the send page: staff with the send permission (their accounts)."""
        user = request.user
        return user.is_active and user.is_staff and user.has_perm(services.SEND_PERMISSION)

    def add_view(self, request, form_url="", extra_context=None):
        """Create a send: one follower, a tag or a CSV (issue 26). A CSV's bad rows are kept
        on the send, which then waits for staff to confirm the good rows."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {key: request.GET[key] for key in ("template", "openid", "tag_id") if key in request.GET}
        if "tag_id" in initial:
            initial["target_kind"] = TargetKind.TAG
        account = request.GET.get("account", "")
        form = SendForm(
            request.POST or None,
            request.FILES or None,
            user=request.user,
            initial=initial,
            account_id=int(account) if account.isdigit() else None,
        )
        if request.method == "POST" and form.is_valid():
            send = self._create_send(request, form)
            if send is not None:
                return redirect(reverse("admin:notifications_send_change", args=[send.pk]))
        templates = form.fields["template"].queryset  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Send a template message"),
            "form": form,
            "quota": services.daily_quota(),
            "templates": [(t, ", ".join(name for name, _kind in t.keywords)) for t in templates[:50]],
            "used": {
                account: services.quota_used_today(account) for account in {t.account for t in templates[:50]}
            },
        }
        return TemplateResponse(request, "admin/notifications/send/new.html", context)

    def _create_send(self, request, form: SendForm) -> Send | None:
        data = form.cleaned_data
        template: Template = data["template"]
        kind = data["target_kind"]
        miniprogram = (
            {"appid": data["miniprogram_appid"], "pagepath": data["miniprogram_pagepath"]}
            if data["miniprogram_appid"]
            else None
        )
        common = {
            "account": template.account,
            "template": template,
            "by": request.user,
            "url": data["url"],
            "miniprogram": miniprogram,
        }
        try:
            if kind == TargetKind.CSV:
                checked = services.check_csv(template, data["csv_file"].read())
                if not checked.good:
                    raise services.NotificationError(
                        _("No row of the CSV can be sent: %(rows)s")
                        % {"rows": " ".join(reason for _n, reason in checked.bad[:20])}
                    )
                send = services.template_send(**common, rows=checked.good, bad_rows=checked.bad)
            elif kind == TargetKind.TAG:
                send = services.template_send(**common, tag_id=data["tag_id"], data=data["values"])
            else:
                send = services.template_send(**common, openid=data["openid"], data=data["values"])
        except DomainError as exc:
            form.add_error(None, exc.user_message)
            return None
        self.log_addition(request, send, str(_("Send created")))
        if send.status == SendStatus.AWAITING_CONFIRMATION:
            self.message_user(
                request,
                _(
                    "%(bad)s rows were left out (listed below); %(good)s are ready. Use the list's "
                    "“Send the good rows” action to send them, or cancel."
                )
                % {"bad": len(send.bad_rows), "good": send.total},
                messages.WARNING,
            )
        else:
            self.message_user(request, _("Send #%(id)s queued.") % {"id": send.pk}, messages.SUCCESS)
        return send

    def _apply(self, request, queryset, name):
        done = 0
        for send in queryset:
            try:
                services.send_transition(send=send, name=name, by=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{send}: {exc.user_message}", messages.WARNING)
        self.message_user(request, _("%(n)s sends changed.") % {"n": done})

    @admin.action(description=_("Pause the selected sends"))
    def pause(self, request, queryset):
        self._apply(request, queryset, "pause")

    @admin.action(description=_("Resume the selected sends"))
    def resume(self, request, queryset):
        self._apply(request, queryset, "resume")

    @admin.action(description=_("Cancel the selected sends (messages not yet sent are dropped)"))
    def cancel(self, request, queryset):
        self._apply(request, queryset, "cancel")

    @admin.action(description=_("Send the good rows of the selected sends"))
    def confirm(self, request, queryset):
        self._apply(request, queryset, "confirm")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    list_display = ("openid", "send", "template_id", "status", "msgid", "error", "created_at")
    list_filter = ("status", ("account", VisibleAccountFilter), ("created_at", admin.DateFieldListFilter))
    search_fields = ("=openid", "=msgid", "=template_id")
    search_help_text = _("An OpenID, a msgid or a template ID, exactly.")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    list_select_related = ("send",)
    show_full_result_count = False
    paginator = InfinitePaginator  # no COUNT(*) over the whole log
    # Newest first only: sorting millions of rows by another column has no index, and Unfold
    # builds every sortable header's three sort links again for each row (100 rows × 7 columns
    # of query strings: half the page's time, bench/delivery_log_scale.py).
    sortable_by = ()

    def get_search_results(self, request, queryset, search_term):
        """Exact, index-backed matches (the log grows to millions of rows): the admin's
        "=field" is a case-insensitive UPPER(…) = UPPER(…) that no index serves — 9.7 s for an
        OpenID at 5,000,000 rows (bench/delivery_log_scale.py) — and OpenIDs are
        case-sensitive anyway. Digits are a msgid ((account, msgid) index); a template ID that
        names sends gives those sends' deliveries; anything else is an OpenID ((openid, id)
        index). One kind at a time: an OR of them makes PostgreSQL walk the whole log."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit() and len(term) <= 18:
            return queryset.filter(msgid=int(term)), False
        sends = list(Send.objects.filter(wechat_template_id=term).values_list("pk", flat=True)[:1000])
        if sends:
            return queryset.filter(send_id__in=sends), False
        return queryset.filter(openid=term), False
