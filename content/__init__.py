"""Content (issue 25): the materials library, drafts, publishing and mass sends with approval."""
