"""The content app's models, one module per sub-domain (library, drafts, publishing, mass sends)."""

from .drafts import Draft

__all__ = ["Draft"]
