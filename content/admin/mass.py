"""Admin pages of mass sends (群发, issue 25): the list (search, filters), the send form (a tag
picker scoped to the staff member's accounts), the send's page (status, the month's limit, the
history, the buttons the state table offers), one page per transition (approve with the
client's confirmation, reject with a reason, schedule, send, delete with a confirmation), the
preview page, and the content calendar. Every page is scoped to the staff member's accounts."""

from __future__ import annotations

import datetime
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin, TabularInline

from accounts.scoping import AccountScopedAdminMixin
from accounts.selectors import accounts_visible_to, entities_visible_to
from audience.models import Tag
from content import calendar
from content.mass import services
from content.mass.transitions import EDITABLE, TRANSITIONS, Transition, offered
from content.models import Draft, MassSend, MassSendLog, MassStatus
from core.domain_errors import DomainError
from core.permissions import requires_permission


class VisibleAccountFilter(admin.RelatedFieldListFilter):
    """Choices: the accounts the user may see — never another tenant's name."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(str(a.pk), str(a)) for a in accounts_visible_to(request.user).order_by("name")]

    def has_output(self) -> bool:
        return bool(self.lookup_choices)


class MassSendForm(forms.ModelForm):  # type: ignore[type-arg]
    target = forms.ChoiceField(
        label=gettext_lazy("send to"),
        choices=[("all", gettext_lazy("All followers")), ("tag", gettext_lazy("A tag"))],
        initial="all",
    )
    tag = forms.ModelChoiceField(
        label=gettext_lazy("tag"),
        queryset=Tag.objects.none(),
        required=False,
        help_text=gettext_lazy("One of the account's tags (sync the tags on the audience pages first)."),
    )

    class Meta:
        model = MassSend
        fields = ("account", "title", "kind", "draft", "media_id", "text", "send_ignore_reprint")
        widgets = {"text": forms.Textarea(attrs={"rows": 4})}

    user: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visible = accounts_visible_to(self.user)
        self.fields["tag"].queryset = (  # type: ignore[attr-defined]
            Tag.objects.filter(account__in=visible)
            .select_related("account")
            .order_by("account__name", "name")
        )
        self.fields["tag"].label_from_instance = lambda t: f"{t.account.name} · {t.name} ({t.wechat_id})"  # type: ignore[attr-defined]
        if "draft" in self.fields:
            self.fields["draft"].queryset = (  # type: ignore[attr-defined]
                Draft.objects.filter(account__in=visible).select_related("account").order_by("-updated_at")
            )
        if self.instance.pk:
            self.initial["target"] = "all" if self.instance.to_all else "tag"
            self.initial["tag"] = Tag.objects.filter(
                account_id=self.instance.account_id, wechat_id=self.instance.tag_id
            ).first()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        account = data.get("account") or (self.instance.account if self.instance.pk else None)
        if account is None:
            return data
        tag = data.get("tag")
        to_all = data.get("target") != "tag"
        if not to_all and tag is not None and tag.account_id != account.pk:
            raise forms.ValidationError(_("This tag belongs to another account."))
        data["to_all"] = to_all
        data["tag_id"] = None if to_all or tag is None else tag.wechat_id
        try:
            services.check_content(
                account,
                kind=data.get("kind") or "",
                draft=data.get("draft"),
                media_id=data.get("media_id") or "",
                text=data.get("text") or "",
                to_all=to_all,
                tag_id=data["tag_id"],
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.user_message) from exc
        return data


class TransitionForm(forms.Form):
    """The fields a transition asks for (none for most)."""

    def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if name == "approve":
            self.fields["client_confirmation"] = forms.CharField(
                label=_("client's confirmation"),
                max_length=300,
                help_text=_(
                    "Who at the client agreed to this send, when and how (e.g. “Ms Li, 7 Dec, by WeChat”)."
                ),
            )
        elif name == "reject":
            self.fields["reason"] = forms.CharField(label=_("reason"), max_length=300)
        elif name == "schedule":
            self.fields["at"] = forms.DateTimeField(
                label=_("send at (Beijing time)"),
                input_formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"],
                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            )
        elif name == "delete":
            self.fields["article_idx"] = forms.IntegerField(
                label=_("article"),
                min_value=0,
                max_value=8,
                initial=0,
                help_text=_("0 deletes every article of the send; 1 the first article, and so on."),
            )


class PreviewForm(forms.Form):
    towxname = forms.CharField(
        label=gettext_lazy("WeChat ID"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("The WeChat ID of the person who checks the preview on their phone."),
    )
    openid = forms.CharField(
        label=gettext_lazy("or OpenID"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("A follower's OpenID."),
    )


def _run_transition(name: str, send: MassSend, by: Any, data: dict[str, Any]) -> MassSend:
    if name == "submit":
        return services.mass_submit(send=send, by=by)
    if name == "approve":
        return services.mass_approve(send=send, by=by, client_confirmation=data["client_confirmation"])
    if name == "reject":
        return services.mass_reject(send=send, by=by, reason=data["reason"])
    if name == "schedule":
        return services.mass_schedule(send=send, by=by, at=data["at"])
    if name == "unschedule":
        return services.mass_unschedule(send=send, by=by)
    if name == "send":
        return services.mass_send_now(send=send, by=by)
    if name == "delete":
        return services.mass_delete(send=send, by=by, article_idx=data["article_idx"])
    if name == "cancel":
        return services.mass_cancel(send=send, by=by)
    raise Http404


#: the history's steps that are not transitions
STEPS = {
    "create": gettext_lazy("Created"),
    "update": gettext_lazy("Changed"),
    "preview": gettext_lazy("Previewed"),
    "call": gettext_lazy("Called WeChat"),
}


class MassSendLogInline(TabularInline):  # type: ignore[misc]
    model = MassSendLog
    extra = 0
    can_delete = False
    fields = ("at", "by", "step", "before", "after", "note")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("action"))
    def step(self, obj: MassSendLog) -> str:
        transition = TRANSITIONS.get(obj.action)
        return str(transition.label if transition else STEPS.get(obj.action, obj.action))

    @admin.display(description=gettext_lazy("from"))
    def before(self, obj: MassSendLog) -> str:
        return str(MassStatus(obj.from_status).label) if obj.from_status in MassStatus.values else ""

    @admin.display(description=gettext_lazy("to"))
    def after(self, obj: MassSendLog) -> str:
        return str(MassStatus(obj.to_status).label) if obj.to_status in MassStatus.values else ""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MassSend)
class MassSendAdmin(AccountScopedAdminMixin, ModelAdmin):  # type: ignore[misc]
    form = MassSendForm
    list_display = (
        "title",
        "account",
        "kind",
        "target_label",
        "status",
        "scheduled_at",
        "sent_at",
        "sent_count",
        "created_by",
        "approved_by",
    )
    list_filter = (
        "status",
        "kind",
        "to_all",
        ("account", VisibleAccountFilter),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("title", "text", "tag_name", "draft__title", "=msg_id", "account__name")
    list_select_related = ("account", "created_by", "approved_by")
    inlines = (MassSendLogInline,)
    change_form_template = "admin/content/masssend/change_form.html"
    readonly_status_fields = (
        "status",
        "status_note",
        "target_label",
        "created_by",
        "previewed_at",
        "previewed_to",
        "approved_by",
        "approved_at",
        "client_confirmation",
        "rejection_reason",
        "scheduled_at",
        "clientmsgid",
        "called_at",
        "attempts",
        "msg_id",
        "msg_data_id",
        "errcode",
        "sent_at",
        "wechat_status",
        "total_count",
        "filter_count",
        "sent_count",
        "error_count",
        "finished_at",
        "deleted_at",
    )

    # a send past editing shows its content, unchangeable, above its status
    locked_fields = (
        "account",
        "title",
        "kind",
        "draft",
        "media_id",
        "text",
        "send_ignore_reprint",
        *readonly_status_fields,
    )

    @admin.display(description=gettext_lazy("send to"))
    def target_label(self, obj: MassSend) -> str:
        return obj.target_label

    # --- the form ---------------------------------------------------------------------------
    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        base = super().get_form(request, obj, change=change, **kwargs)
        return type("ScopedMassSendForm", (base,), {"user": request.user})

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return (
                "account",
                "title",
                "kind",
                "draft",
                "media_id",
                "text",
                "target",
                "tag",
                "send_ignore_reprint",
            )
        if obj.status in EDITABLE and self.has_change_permission(request, obj):
            return (
                "title",
                "kind",
                "draft",
                "media_id",
                "text",
                "target",
                "tag",
                "send_ignore_reprint",
                *self.readonly_status_fields,
            )
        return self.locked_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        if obj.status in EDITABLE and self.has_change_permission(request, obj):
            return self.readonly_status_fields
        return self.locked_fields

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A send is never removed: it is cancelled, or its sent article deleted on WeChat."""
        return False

    def save_model(self, request: HttpRequest, obj: MassSend, form: Any, change: bool) -> None:
        data = form.cleaned_data
        fields = {
            "title": data["title"],
            "kind": data["kind"],
            "draft": data.get("draft"),
            "media_id": data.get("media_id") or "",
            "text": data.get("text") or "",
            "to_all": data["to_all"],
            "tag_id": data["tag_id"],
            "send_ignore_reprint": data.get("send_ignore_reprint", False),
        }
        try:
            if change:
                saved = services.mass_update(send=obj, by=_actor(request), **fields)
            else:
                saved = services.mass_create(account=data["account"], by=_actor(request), **fields)
        except DomainError as exc:
            raise forms.ValidationError(exc.user_message) from exc
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The history is written by the services only."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except forms.ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return redirect(request.get_full_path())

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        send = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if send is not None and self.has_view_permission(request, send):
            usage = services.month_usage(send.account, exclude=send.pk)
            context.update(
                mass_actions=[
                    (t, reverse("admin:content_masssend_transition", args=[send.pk, t.name]))
                    for t in offered(send.status)
                    if self._may(request, send, t)
                ],
                mass_preview_url=(
                    reverse("admin:content_masssend_preview", args=[send.pk])
                    if send.status in TRANSITIONS["cancel"].sources and self._may_edit(request, send)
                    else None
                ),
                mass_usage=usage,
                mass_warning=usage.warning(send) if send.status in TRANSITIONS["cancel"].sources else "",
            )
        return super().change_view(request, object_id, form_url, context)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        context = dict(extra_context or {})
        context["mass_usages"] = [
            (account, services.month_usage(account))
            for account in accounts_visible_to(request.user).order_by("name")[:20]
        ]
        return super().add_view(request, form_url, context)

    # --- the transitions --------------------------------------------------------------------
    def _may_edit(self, request: HttpRequest, send: MassSend) -> bool:
        return bool(request.user.has_perm(services.CHANGE_PERMISSION)) and self.may_access(request, send)

    def _may(self, request: HttpRequest, send: MassSend, transition: Transition) -> bool:
        if transition.who == "approver":
            return services.can_approve(request.user, send)  # type: ignore[arg-type]
        return self._may_edit(request, send)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/do/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="content_masssend_transition",
            ),
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="content_masssend_preview",
            ),
            path(
                "calendar/",
                self.admin_site.admin_view(requires_permission("content.view_masssend")(self.calendar_view)),
                name="content_calendar",
            ),
        ]
        return own + super().get_urls()

    def _send_or_404(self, request: HttpRequest, object_id: str) -> MassSend:
        send = self.get_object(request, object_id)
        if send is None:
            raise Http404
        if not self.has_view_permission(request, send):
            raise PermissionDenied
        return send  # type: ignore[no-any-return]

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        transition = TRANSITIONS.get(name)
        if transition is None or transition.who == "system":
            raise Http404
        send = self._send_or_404(request, object_id)
        if not self._may(request, send, transition):
            raise PermissionDenied
        back = reverse("admin:content_masssend_change", args=[send.pk])
        form = TransitionForm(name, request.POST if request.method == "POST" else None)
        error = ""
        if request.method == "POST" and form.is_valid():
            try:
                _run_transition(name, send, _actor(request), form.cleaned_data)
            except DomainError as exc:
                error = exc.user_message
            else:
                self.message_user(
                    request,
                    _("%(send)s: %(action)s done.") % {"send": send, "action": transition.label},
                    messages.SUCCESS,
                )
                return redirect(back)
        usage = services.month_usage(send.account, exclude=send.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{transition.label} · {send}",
            "send": send,
            "transition": transition,
            "form": form,
            "error": error,
            "usage": usage,
            "warning": usage.warning(send) if name in ("send", "schedule", "approve") else "",
            "back": back,
        }
        return TemplateResponse(request, "admin/content/masssend/transition.html", context)

    def preview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        send = self._send_or_404(request, object_id)
        if not self._may_edit(request, send):
            raise PermissionDenied
        back = reverse("admin:content_masssend_change", args=[send.pk])
        form = PreviewForm(
            request.POST if request.method == "POST" else None, initial={"towxname": send.previewed_to}
        )
        error = ""
        if request.method == "POST" and form.is_valid():
            try:
                services.mass_preview(
                    send=send,
                    by=_actor(request),
                    towxname=form.cleaned_data["towxname"],
                    openid=form.cleaned_data["openid"],
                )
            except DomainError as exc:
                error = exc.user_message
            else:
                self.message_user(request, _("Preview sent: check it on the phone."), messages.SUCCESS)
                return redirect(back)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Preview · %(send)s") % {"send": send},
            "send": send,
            "form": form,
            "error": error,
            "back": back,
        }
        return TemplateResponse(request, "admin/content/masssend/preview.html", context)

    # --- the calendar -----------------------------------------------------------------------
    def calendar_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        try:
            year, number = (int(part) for part in request.GET.get("month", "").split("-", 1))
            first = datetime.date(year, number, 1)
        except (TypeError, ValueError):
            first = today.replace(day=1)
        accounts = accounts_visible_to(request.user).order_by("name")
        entities = entities_visible_to(request.user).order_by("short_name")
        account = _pick(accounts, request.GET.get("account"))
        entity = _pick(entities, request.GET.get("entity"))
        scope = accounts
        if account is not None:
            scope = scope.filter(pk=account.pk)
        if entity is not None:
            scope = scope.filter(entity=entity)
        month = calendar.month_of(request.user, scope, first)
        query = {key: request.GET[key] for key in ("account", "entity") if request.GET.get(key)}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(calendar.TITLE),
            "month": month,
            "accounts": accounts,
            "entities": entities,
            "account": account,
            "entity": entity,
            "query": "&".join(f"{k}={v}" for k, v in query.items()),
            "today": today,
            "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
        }
        return TemplateResponse(request, "admin/content/calendar.html", context)


def _actor(request: HttpRequest) -> User:
    """The staff member behind an admin request (admin_view lets only them in)."""
    return cast(User, request.user)


def _pick(queryset: Any, value: str | None) -> Any:
    if not value or not value.isdigit():
        return None
    return queryset.filter(pk=int(value)).first()
