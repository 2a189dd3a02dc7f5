"""An article as a reader sees it on a phone: the title, author, account, cover line and the
body (already reduced by `sanitise` when saved). The body is trusted only because it was
sanitised: `render_article(..., sanitised=False)` sanitises again (the preview of text that
did not go through the editor, and the bench)."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from .sanitise import sanitise


def render_article(article: dict[str, Any], *, account_name: str = "", sanitised: bool = True) -> SafeString:
    body = str(article.get("content") or "")
    if not sanitised:
        body = sanitise(body).html
    context = {
        "title": article.get("title") or "",
        "author": article.get("author") or "",
        "digest": article.get("digest") or "",
        "account_name": account_name,
        "source_url": article.get("content_source_url") or "",
        "comments": bool(article.get("need_open_comment")),
        # the body went through sanitise() (R-CONTENT-02) before it was stored
        "body": mark_safe(body),  # noqa: S308
    }
    return mark_safe(render_to_string("content/article.html", context))  # noqa: S308
