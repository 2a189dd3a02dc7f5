"""A template send's state machine as one table (issue 26: progress, pause and cancel).

Data only, like `certification/transitions.py`: `services._transition` refuses a transition
whose `sources` do not hold the send's status, and the admin offers what `offered` says.

    awaiting_confirmation --confirm--> queued --start--> sending --complete--> completed
    queued/sending/waiting_quota --pause--> paused --resume--> queued
    sending --wait_for_quota--> waiting_quota --resume--> queued
    any unfinished --cancel--> cancelled
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import SendStatus

UNFINISHED = frozenset(
    {
        SendStatus.AWAITING_CONFIRMATION,
        SendStatus.QUEUED,
        SendStatus.SENDING,
        SendStatus.PAUSED,
        SendStatus.WAITING_QUOTA,
    }
)
FINISHED = frozenset({SendStatus.COMPLETED, SendStatus.CANCELLED})


@dataclass(frozen=True)
class Transition:
    name: str
    label: Promise
    sources: frozenset[SendStatus]
    target: SendStatus
    by_staff: bool  # offered as an admin action (the others are the system's)


_TABLE = (
    Transition(
        "confirm",
        _("Send the good rows"),
        frozenset({SendStatus.AWAITING_CONFIRMATION}),
        SendStatus.QUEUED,
        by_staff=True,
    ),
    Transition("start", _("Start"), frozenset({SendStatus.QUEUED}), SendStatus.SENDING, by_staff=False),
    Transition(
        "pause",
        _("Pause"),
        frozenset({SendStatus.QUEUED, SendStatus.SENDING, SendStatus.WAITING_QUOTA}),
        SendStatus.PAUSED,
        by_staff=True,
    ),
    Transition(
        "resume",
        _("Resume"),
        frozenset({SendStatus.PAUSED, SendStatus.WAITING_QUOTA}),
        SendStatus.QUEUED,
        by_staff=True,
    ),
    Transition(
        "wait_for_quota",
        _("Wait for tomorrow's quota"),
        frozenset({SendStatus.SENDING}),
        SendStatus.WAITING_QUOTA,
        by_staff=False,
    ),
    Transition(
        "complete", _("Complete"), frozenset({SendStatus.SENDING}), SendStatus.COMPLETED, by_staff=False
    ),
    Transition("cancel", _("Cancel"), UNFINISHED, SendStatus.CANCELLED, by_staff=True),
)

TRANSITIONS: dict[str, Transition] = {t.name: t for t in _TABLE}


def allowed(status: str, name: str) -> bool:
    return status in TRANSITIONS[name].sources


def offered(status: str) -> list[Transition]:
    """The staff transitions a send in ``status`` allows, in button order."""
    return [t for t in _TABLE if t.by_staff and status in t.sources]
