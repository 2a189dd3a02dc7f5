"""A mass send's state machine as one table (issue 25), data only like
`notifications/transitions.py`: `services` refuses a transition whose ``sources`` do not hold
the send's status, the admin offers what `offered` says, and each applied transition is written
to `MassSendLog`.

    draft/rejected --submit--> awaiting_approval --approve--> approved --send--> sending
    awaiting_approval --reject--> rejected                   approved --schedule--> scheduled
    scheduled --unschedule--> approved                       scheduled --start (at its time)--> sending
    sending --accepted--> sent --finish--> finished | failed  sent/finished --delete--> deleted
    sending --lost--> unknown --accepted|refused--> sent | failed
    sending --refused--> failed                               not yet sending --cancel--> cancelled

``who`` says whose transition it is: "editor" (content.change_masssend on the account),
"approver" (content.approve_masssend on the account, never the preparer: R-MASS-01) or
"system" (tasks and WeChat's events).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from content.models.mass import MassStatus as S

BEFORE_SENDING = frozenset({S.DRAFT, S.AWAITING_APPROVAL, S.REJECTED, S.APPROVED, S.SCHEDULED})
EDITABLE = frozenset({S.DRAFT, S.REJECTED})
#: statuses in which a send counts against the month's limit (it was, or may have been, sent)
COUNTED = frozenset({S.SENDING, S.UNKNOWN, S.SENT, S.FINISHED, S.DELETED})


@dataclass(frozen=True)
class Transition:
    name: str
    label: Promise
    sources: frozenset[S]
    target: S
    who: str  # "editor", "approver" or "system"
    confirm: bool = False  # the admin asks for a confirmation page first
    destructive: bool = False


_TABLE = (
    Transition("submit", _("Submit for approval"), EDITABLE, S.AWAITING_APPROVAL, "editor"),
    Transition(
        "approve", _("Approve"), frozenset({S.AWAITING_APPROVAL}), S.APPROVED, "approver", confirm=True
    ),
    Transition("reject", _("Reject"), frozenset({S.AWAITING_APPROVAL}), S.REJECTED, "approver", confirm=True),
    Transition("schedule", _("Schedule"), frozenset({S.APPROVED}), S.SCHEDULED, "approver", confirm=True),
    Transition("unschedule", _("Unschedule"), frozenset({S.SCHEDULED}), S.APPROVED, "approver"),
    Transition(
        "send", _("Send now"), frozenset({S.APPROVED, S.SCHEDULED}), S.SENDING, "approver", confirm=True
    ),
    Transition("start", _("Start at the chosen time"), frozenset({S.SCHEDULED}), S.SENDING, "system"),
    Transition("accepted", _("Accepted by WeChat"), frozenset({S.SENDING, S.UNKNOWN}), S.SENT, "system"),
    Transition("refused", _("Refused by WeChat"), frozenset({S.SENDING, S.UNKNOWN}), S.FAILED, "system"),
    Transition("lost", _("No answer from WeChat"), frozenset({S.SENDING}), S.UNKNOWN, "system"),
    Transition("finish", _("Finished"), frozenset({S.SENT}), S.FINISHED, "system"),
    Transition("fail", _("Failed"), frozenset({S.SENT}), S.FAILED, "system"),
    Transition(
        "delete",
        _("Delete the sent article"),
        frozenset({S.SENT, S.FINISHED}),
        S.DELETED,
        "approver",
        confirm=True,
        destructive=True,
    ),
    Transition("cancel", _("Cancel"), BEFORE_SENDING, S.CANCELLED, "editor", confirm=True, destructive=True),
)

TRANSITIONS: dict[str, Transition] = {t.name: t for t in _TABLE}


def allowed(status: str, name: str) -> bool:
    return status in TRANSITIONS[name].sources


def offered(status: str) -> list[Transition]:
    """The staff transitions a send in ``status`` allows, in button order."""
    return [t for t in _TABLE if t.who != "system" and status in t.sources]
