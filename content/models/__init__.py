"""The content app's models, one module per sub-domain (library, drafts, publishing, mass sends)."""

from .drafts import Draft, DraftStatus, DraftVersion
from .library import Material, MaterialKind, MaterialStatus
from .mass import MassKind, MassSend, MassSendLog, MassStatus
from .publishing import Publication, PublicationStatus

__all__ = [
    "Draft",
    "DraftStatus",
    "DraftVersion",
    "MassKind",
    "MassSend",
    "MassSendLog",
    "MassStatus",
    "Material",
    "MaterialKind",
    "MaterialStatus",
    "Publication",
    "PublicationStatus",
]
