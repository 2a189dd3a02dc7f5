"""The audience pages (issue 24): followers with bulk tag/untag/blacklist, tags with drift,
channel QR codes with their PNG, and the sync runs' progress. Scoped to assigned accounts;
every write goes through ``services`` and a refusal is shown in words."""

from __future__ import annotations

import functools

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from accounts.admin_extensions import follower_links_for
from accounts.models import OfficialAccount
from accounts.scoping import AccountScopedAdminMixin, require_account_access
from accounts.selectors import accounts_visible_to
from core.admin_mixins import ReadOnlyAdminMixin

from . import services
from .models import Follower, QrCode, SyncRun, Tag


class VisibleAccountFilter(admin.RelatedFieldListFilter):
    """Choices: only the accounts the user may see."""

    def field_choices(self, field, request, model_admin):
        return [(a.pk, str(a)) for a in accounts_visible_to(request.user)]


class VisibleQrCodeFilter(admin.RelatedFieldListFilter):
    """Choices: only the codes of the accounts the user may see."""

    def field_choices(self, field, request, model_admin):
        return [(c.pk, str(c)) for c in QrCode.objects.filter(account__in=accounts_visible_to(request.user))]


class TagActionForm(ActionForm):
    tag = forms.ModelChoiceField(Tag.objects.none(), required=False, label=_("Tag"))


class RemarkForm(forms.Form):
    remark = forms.CharField(
        label=_("Remark"),
        required=False,
        max_length=30,
        help_text=_("At most 30 bytes (a Chinese character is 3); empty clears it."),
    )


class TagFilter(admin.SimpleListFilter):
    title = _("tag")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        tags = Tag.objects.filter(account__in=accounts_visible_to(request.user)).select_related("account")
        return [(str(t.pk), f"{t.name} · {t.account}") for t in tags]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            tag = Tag.objects.filter(pk=int(value), account__in=accounts_visible_to(request.user)).first()
            if tag is not None:
                return queryset.filter(account_id=tag.account_id, tag_links__tag_id=tag.wechat_id)
        return queryset


@admin.register(Follower)
class FollowerAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    list_display = (
        "openid",
        "remark",
        "account",
        "subscribed",
        "subscribe_time",
        "subscribe_scene",
        "qr_code",
        "blacklisted",
        "remark_link",
    )
    list_filter = (
        ("account", VisibleAccountFilter),
        "subscribed",
        "blacklisted",
        "subscribe_scene",
        TagFilter,
        ("qr_code", VisibleQrCodeFilter),
        "subscribe_time",
    )
    search_fields = ("=openid", "remark")
    ordering = ("-subscribe_time", "-id")
    list_select_related = ("account", "qr_code")
    show_full_result_count = False
    action_form = TagActionForm
    actions = ("tag_selected", "untag_selected", "blacklist_selected", "unblacklist_selected")

    def changelist_view(self, request, extra_context=None):
        """The action form's tag choices: only the tags of the user's accounts."""
        response = super().changelist_view(request, extra_context)
        form = getattr(response, "context_data", {}).get("action_form")
        if form is not None:
            form.fields["tag"].queryset = Tag.objects.filter(account__in=accounts_visible_to(request.user))
        return response

    def _bulk(self, request, queryset, run) -> None:
        if not request.user.has_perm("audience.change_follower"):
            raise PermissionDenied
        by_account: dict[int, list[str]] = {}
        for account_id, openid in queryset.values_list("account_id", "openid"):
            by_account.setdefault(account_id, []).append(openid)
        for account_id, openids in by_account.items():
            try:
                done = run(account_id, openids)
            except services.AudienceError as error:
                self.message_user(request, error.user_message, messages.ERROR)
            else:
                self.message_user(request, _("%(n)d followers done.") % {"n": done}, messages.SUCCESS)

    def _tag(self, request, queryset, *, untag: bool) -> None:
        tag = Tag.objects.filter(
            pk=request.POST.get("tag") or 0, account__in=accounts_visible_to(request.user)
        ).first()
        if tag is None:
            self.message_user(request, _("Choose a tag first."), messages.ERROR)
            return

        def run(account_id, openids):
            if account_id != tag.account_id:
                raise services.AudienceError(_("The tag belongs to another account."))
            return services.tag_followers(tag=tag, openids=openids, by=request.user, untag=untag)

        self._bulk(request, queryset, run)

    @admin.action(description=_("Tag the selected followers"), permissions=["view"])
    def tag_selected(self, request, queryset):
        self._tag(request, queryset, untag=False)

    @admin.action(description=_("Untag the selected followers"), permissions=["view"])
    def untag_selected(self, request, queryset):
        self._tag(request, queryset, untag=True)

    @admin.display(description=_("set remark"))
    def remark_link(self, obj):
        return format_html('<a href="{}/remark/">{}</a>', obj.pk, _("Set remark"))

    def get_list_display(self, request):
        """The links other apps offer on a follower (accounts.admin_extensions), e.g. "send a
        template message", for this user: a column only when there is one to show."""

        links = follower_links_for(request)
        base = super().get_list_display(request)
        if not links:
            return base

        @admin.display(description=_("more"))
        def follower_actions(obj):
            return format_html_join(
                " · ",
                '<a href="{}">{}</a>',
                ((link.url(obj.account_id, obj.openid), str(link.label)) for link in links),
            )

        return (*base, follower_actions)

    def get_urls(self):
        return [
            path(
                "<int:pk>/remark/",
                self.admin_site.admin_view(self.remark_view),
                name="audience_follower_remark",
            ),
            *super().get_urls(),
        ]

    def remark_view(self, request, pk: int):
        """user/info/updateremark through ``services.set_remark``; a refusal is shown on the form."""
        follower = get_object_or_404(Follower.objects.select_related("account"), pk=pk)
        require_account_access(request.user, follower.account)
        if not request.user.has_perm("audience.change_follower"):
            raise PermissionDenied
        form = RemarkForm(request.POST or None, initial={"remark": follower.remark})
        error = None
        if request.method == "POST" and form.is_valid():
            try:
                services.set_remark(follower=follower, remark=form.cleaned_data["remark"], by=request.user)
            except services.AudienceError as refusal:
                error = refusal.user_message
            else:
                self.message_user(request, _("Remark saved."), messages.SUCCESS)
                return redirect("admin:audience_follower_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Set remark"),
            "follower": follower,
            "form": form,
            "error": error,
            "back_url": reverse("admin:audience_follower_changelist"),
        }
        return TemplateResponse(request, "admin/audience/follower/remark.html", context)

    @admin.action(description=_("Blacklist the selected followers"), permissions=["view"])
    def blacklist_selected(self, request, queryset):
        """Asks first (a page listing who); the second POST, with ``confirm=yes``, blacklists."""
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Blacklist the selected followers"),
                "followers": list(queryset.select_related("account")),
            }
            return TemplateResponse(request, "admin/audience/follower/confirm_blacklist.html", context)
        self._bulk(
            request,
            queryset,
            lambda a, o: services.blacklist_followers(
                account=OfficialAccount.objects.get(pk=a),
                openids=o,
                by=request.user,
            ),
        )
        return None

    @admin.action(description=_("Remove the selected followers from the blacklist"), permissions=["view"])
    def unblacklist_selected(self, request, queryset):
        self._bulk(
            request,
            queryset,
            lambda a, o: services.blacklist_followers(
                account=OfficialAccount.objects.get(pk=a),
                openids=o,
                by=request.user,
                remove=True,
            ),
        )


@admin.register(Tag)
class TagAdmin(AccountScopedAdminMixin, ModelAdmin):
    list_display = ("name", "account", "wechat_id", "wechat_count", "local_count", "drift")
    list_filter = (("account", VisibleAccountFilter),)
    search_fields = ("name",)
    fields = ("account", "name")

    @admin.display(description=_("drift"))
    def drift(self, obj):
        return format_html('<span title="{}">⚠</span>', _("WeChat and here disagree")) if obj.drifted else "—"

    def get_readonly_fields(self, request, obj=None):
        return ("account",) if obj else ()

    def save_model(self, request, obj, form, change):
        try:
            if change:
                services.rename_tag(tag=Tag.objects.get(pk=obj.pk), name=obj.name, by=request.user)
            else:
                saved = services.create_tag(account=obj.account, name=obj.name, by=request.user)
                obj.pk, obj.wechat_id = saved.pk, saved.wechat_id
        except services.AudienceError as error:
            transaction.set_rollback(True)
            self.message_user(request, error.user_message, messages.ERROR)

    def delete_model(self, request, obj):
        try:
            services.delete_tag(tag=obj, by=request.user)
        except services.AudienceError as error:
            self.message_user(request, error.user_message, messages.ERROR)

    def delete_queryset(self, request, queryset):
        for tag in queryset:
            self.delete_model(request, tag)


class QrCodeForm(forms.ModelForm):
    expire_days = forms.IntegerField(
        label=_("days (temporary codes, 1–30)"), required=False, min_value=1, max_value=30
    )

    class Meta:
        model = QrCode
        fields = ("account", "kind", "scene", "name", "tag")


@admin.register(QrCode)
class QrCodeAdmin(AccountScopedAdminMixin, ModelAdmin):
    form = QrCodeForm
    list_display = ("name", "account", "kind", "scene", "expires_at", "tag", "follower_count", "image")
    list_filter = (("account", VisibleAccountFilter), "kind")
    search_fields = ("name", "scene")

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(brought=Count("followers"))

    @admin.display(description=_("followers brought"))
    def follower_count(self, obj):
        return format_html('<a href="../follower/?qr_code__id__exact={}">{}</a>', obj.pk, obj.brought)

    @admin.display(description=_("image"))
    def image(self, obj):
        return format_html('<a href="{}/png/">{}</a>', obj.pk, _("Download PNG"))

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            saved = services.create_qr_code(
                account=obj.account,
                kind=obj.kind,
                scene=obj.scene,
                name=obj.name,
                tag=obj.tag,
                expire_days=form.cleaned_data.get("expire_days"),
                by=request.user,
            )
            obj.pk = saved.pk
        except services.AudienceError as error:
            self.message_user(request, error.user_message, messages.ERROR)

    def get_urls(self):
        return [
            path("<int:pk>/png/", self.admin_site.admin_view(self.png_view), name="audience_qrcode_png"),
            *super().get_urls(),
        ]

    def png_view(self, request, pk: int):
        code = get_object_or_404(QrCode, pk=pk)
        require_account_access(request.user, code.account)
        try:
            data = services.qr_png(code)
        except services.AudienceError as error:
            return HttpResponse(error.user_message, status=410, content_type="text/plain; charset=utf-8")
        response = HttpResponse(data, content_type="image/png")
        response["Content-Disposition"] = f'attachment; filename="qrcode-{code.pk}.png"'
        return response


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    list_display = (
        "account",
        "status",
        "progress_bar",
        "seen",
        "total",
        "added",
        "updated",
        "unsubscribed",
        "errors",
        "started_at",
        "finished_at",
    )
    list_filter = (("account", VisibleAccountFilter), "status")

    @admin.display(description=_("progress"))
    def progress_bar(self, obj):
        return format_html("<progress max=100 value={}></progress> {}%", obj.progress, obj.progress)


@admin.action(description=_("Sync the followers of the selected accounts"), permissions=["view"])
def sync_followers_of_accounts(modeladmin, request, queryset):
    """Queue a full sync (or resume the open one) per account, after the commit."""
    from .tasks import sync_followers

    accounts = list(accounts_visible_to(request.user).filter(pk__in=queryset.values("pk")))
    for account in accounts:
        services.start_sync(account=account)
        transaction.on_commit(functools.partial(sync_followers.delay, account.pk))
    modeladmin.message_user(
        request, _("%(n)d follower syncs queued; progress under Follower syncs.") % {"n": len(accounts)}
    )
