"""Admin pages of template messages: templates (sync, add from the library, delete with
WeChat), sends (progress, pause, resume, cancel) and the delivery log (searchable, filtered,
read-only). Every page is scoped to the staff member's accounts."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.paginator import InfinitePaginator

from accounts.scoping import AccountScopedAdminMixin
from core.admin_mixins import ReadOnlyAdminMixin
from core.domain_errors import DomainError

from . import services
from .models import Delivery, Industry, Send, Template


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


@admin.register(Template)
class TemplateAdmin(AccountScopedAdminMixin, ModelAdmin):
    list_display = ("title", "account", "template_id", "keyword_list", "primary_industry", "synced_at")
    list_filter = ("account",)
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
            from django.shortcuts import redirect

            return redirect(request.get_full_path())

    def delete_model(self, request, obj):
        services.template_delete(template=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for template in queryset:
            services.template_delete(template=template, by=request.user)

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
    list_filter = ("status", "target_kind", "account")
    search_fields = ("template_title", "wechat_template_id")
    readonly_fields = [f.name for f in Send._meta.fields]
    actions = ("pause", "resume", "cancel", "confirm")

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
        return False

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
    list_filter = ("status", "account", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=openid", "=msgid", "=template_id")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    list_select_related = ("send",)
    show_full_result_count = False
    paginator = InfinitePaginator  # no COUNT(*) over the whole log
