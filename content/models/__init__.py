"""The content app's models, one module per sub-domain (library, drafts, publishing, mass sends)."""

from .drafts import Draft
from .mass import MassKind, MassSend, MassSendLog, MassStatus

__all__ = ["Draft", "MassKind", "MassSend", "MassSendLog", "MassStatus"]
