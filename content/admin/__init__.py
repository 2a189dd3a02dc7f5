"""The content app's admin pages, one module per sub-domain (Django imports this package)."""

from . import drafts, library, mass, publishing

__all__ = ["drafts", "library", "mass", "publishing"]
