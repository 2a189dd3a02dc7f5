"""The messages and customer-service sections of the account hub (accounts/hub.py)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from accounts.hub import changelist_for, local

from .models import (
    InboundMessage,
    KeywordRule,
    KfAccount,
    KfAccountStatus,
    KfOperation,
    KfOperationStatus,
    KfWaitCase,
    TransferRule,
    WelcomeReply,
)
from .routing import kf_transfer_allowed
from .selectors import message_counts_per_day, open_kf_sessions


def _messages_section(request, account) -> dict:
    # Today's figure as the dashboard reads it: from the daily rollup (refreshed every
    # minute), never by counting the log, which reaches millions of rows.
    today = message_counts_per_day(user=request.user, days=1, account=account)[-1][1]
    last = (
        InboundMessage.objects.filter(account=account)
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    rules = {
        "keyword": KeywordRule.objects.filter(account=account, is_active=True).count(),
        "transfer": TransferRule.objects.filter(account=account, is_active=True).count(),
    }
    welcome = WelcomeReply.objects.filter(account=account, is_active=True).exists()
    items = [
        {"label": _("Messages today"), "value": today},
        {"label": _("Last message"), "value": local(last)},
        *_waiting(request, account),
        {"label": _("Active keyword rules"), "value": rules["keyword"]},
        {"label": _("Active transfer rules"), "value": rules["transfer"]},
        {
            "label": _("Welcome reply"),
            "value": _("set") if welcome else _("none"),
            "tone": "" if welcome else "warning",
        },
    ]
    by_account = {"account__id__exact": account.pk}
    links = [
        {"label": _("Message log"), "url": changelist_for("messaging.inboundmessage", **by_account)},
        {"label": _("Keyword rules"), "url": changelist_for("messaging.keywordrule", **by_account)},
        {"label": _("Transfer rules"), "url": changelist_for("messaging.transferrule", **by_account)},
        {"label": _("Welcome reply"), "url": changelist_for("messaging.welcomereply", **by_account)},
    ]
    return {"key": "messages", "title": _("Messages"), "order": 40, "items": items, "links": links}


def _waiting(request, account) -> list[dict]:
    """Users waiting for an answer with the window open: the dashboard's figure for this
    account, from the conversation table (issue 30)."""
    if not request.user.has_perm("messaging.view_outboundmessage"):
        return []
    from django.urls import reverse

    from .conversations.selectors import unanswered_count

    waiting = unanswered_count(user=request.user, account_id=account.pk)
    url = reverse("admin:messaging_workspace")
    return [
        {
            "label": _("Waiting for an answer (window open)"),
            "value": waiting,
            "tone": "warning" if waiting else "",
            "url": f"{url}?state=waiting&account={account.pk}",
        }
    ]


def _kf_section(request, account) -> dict:
    """R-KF-01/R-KF-02: the team by status, who is online, the queue, whether transfer works."""
    team = KfAccount.objects.filter(account=account).aggregate(
        active=Count("pk", filter=Q(status=KfAccountStatus.ACTIVE)),
        online=Count("pk", filter=Q(status=KfAccountStatus.ACTIVE, online=True)),
        pending=Count("pk", filter=Q(status__in=[KfAccountStatus.PENDING, KfAccountStatus.DELETING])),
        failed=Count("pk", filter=Q(status=KfAccountStatus.FAILED)),
    )
    failed_operations = KfOperation.objects.filter(account=account, status=KfOperationStatus.FAILED).count()
    transfer = kf_transfer_allowed(account)
    items = [
        {"label": _("Customer-service plug-in"), "value": _("on") if account.kf_enabled else _("off")},
        {
            "label": _("Transfer to customer service"),
            "tone": "success" if transfer else "",
            "value": _("works")
            if transfer
            else _("not in effect (needs a certified service account, the plug-in and developer mode)"),
        },
        {
            "label": _("Agents"),
            "value": _("%(active)d active, %(online)d online")
            % {"active": team["active"], "online": team["online"]},
        },
        {"label": _("Open sessions"), "value": open_kf_sessions(account=account).count()},
        {"label": _("Waiting users"), "value": KfWaitCase.objects.filter(account=account).count()},
    ]
    if team["pending"]:
        items.append({"label": _("Being added or deleted"), "value": team["pending"], "tone": "warning"})
    if team["failed"] or failed_operations:
        items.append(
            {
                "label": _("Failed"),
                "tone": "danger",
                "value": _("%(agents)d agent(s), %(ops)d operation(s)")
                % {"agents": team["failed"], "ops": failed_operations},
            }
        )
    by_account = {"account__id__exact": account.pk}
    links = [
        {"label": _("Customer-service team"), "url": changelist_for("messaging.kfaccount", **by_account)},
        {
            "label": _("Customer-service operations"),
            "url": changelist_for("messaging.kfoperation", **by_account),
        },
        {"label": _("Sessions"), "url": changelist_for("messaging.kfsession", **by_account)},
    ]
    return {"key": "kf", "title": _("Customer service"), "order": 50, "items": items, "links": links}


def hub_sections(request, account) -> list[dict]:
    user = request.user
    sections = []
    if user.has_perm("messaging.view_inboundmessage"):
        sections.append(_messages_section(request, account))
    if user.has_perm("messaging.view_kfaccount"):
        sections.append(_kf_section(request, account))
    return sections
