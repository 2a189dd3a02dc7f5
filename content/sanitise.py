"""Article bodies reduced to the HTML WeChat renders (R-CONTENT-02), with nh3 (the Rust
``ammonia`` sanitiser), not regexes.

WeChat's editor keeps text formatting, sections, lists, tables, block quotes, images from
its own image host (``mmbiz.qpic.cn``: ``media/uploadimg``) and links; it removes scripts
and everything active (iframes, forms, objects, embeds, event handlers, ``javascript:``
URLs) and filters images from other hosts (docs/wechat-protocol.md §h; WeChat's page
"Adding permanent assets": "The Weixin backend will filter out any external image links").
The same reduction happens here, before the body is saved, so the preview shows what a
reader will see and staff are told what was removed.

Pure functions, no Django models: the bench and the editor call them directly.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import nh3

#: The tags WeChat's article renderer keeps.
TAGS = frozenset(
    {
        "a", "b", "blockquote", "div", "br", "caption", "code", "col", "colgroup", "em", "figcaption",
        "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre",
        "s", "section", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "u", "ul", "strike", "del", "ins", "mark", "small", "big", "font",
    }
)  # fmt: skip
#: Removed with their content (a script's text must not become visible text).
DROP_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}
)
ATTRIBUTES = {
    "*": {"style", "align", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "data-src", "data-ratio", "data-w"},
    "td": {"colspan", "rowspan", "width", "valign"},
    "th": {"colspan", "rowspan", "width", "valign"},
    "col": {"span", "width"},
    "ol": {"start", "type"},
    "font": {"color", "size", "face"},
}
STYLE_PROPERTIES = frozenset(
    {
        "color", "background-color", "background", "font-size", "font-weight", "font-style",
        "font-family", "text-align", "text-decoration", "text-indent", "line-height",
        "letter-spacing", "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
        "padding", "padding-top", "padding-bottom", "padding-left", "padding-right", "border",
        "border-radius", "border-color", "border-style", "border-width", "width", "max-width",
        "height", "display", "vertical-align", "box-sizing", "white-space", "word-break",
    }
)  # fmt: skip
#: Where WeChat serves body images from (media/uploadimg answers these hosts).
IMAGE_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn")
_TAG_NAME = re.compile(r"<\s*([a-zA-Z][a-zA-Z0-9-]*)")
_EVENT_ATTR = re.compile(r"\son[a-z]{2,}\s*=\s*[\"']")  # searched in the lower-cased body
_IMG = re.compile(r"<img\b[^>]*>")
_SRC = re.compile(r'\ssrc="([^"]*)"')
_DATA_IMAGE = re.compile(
    r"""src\s*=\s*(["'])(data:image/(png|jpeg|jpg);base64,([A-Za-z0-9+/=\s]+))\1""", re.IGNORECASE
)

_cleaner = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags=set(DROP_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
    url_schemes={"http", "https"},
    strip_comments=True,
    link_rel=None,
    filter_style_properties=set(STYLE_PROPERTIES),
)


@dataclass
class Sanitised:
    """The body as WeChat renders it, and what was taken out (tag name -> how many)."""

    html: str
    removed: Counter[str] = field(default_factory=Counter)
    external_images: int = 0
    handlers: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.external_images or self.handlers)


def _wechat_image(src: str) -> bool:
    host = src.split("://", 1)[-1].split("/", 1)[0].lower()
    return src.startswith(("http://", "https://")) and any(
        host == h or host.endswith("." + h) for h in IMAGE_HOSTS
    )


def sanitise(body: str) -> Sanitised:
    """The body reduced to WeChat's HTML: unknown tags unwrapped (their text kept), scripts,
    styles and iframes removed with their content, event handlers and ``javascript:`` URLs
    dropped, images not on WeChat's image host removed."""
    lowered = body.lower()
    removed = Counter(name for name in (m.lower() for m in _TAG_NAME.findall(body)) if name not in TAGS)
    handlers = "javascript:" in lowered or bool(_EVENT_ATTR.search(lowered))
    html = _cleaner.clean(body)
    external = 0

    def keep_image(match: re.Match[str]) -> str:
        nonlocal external
        src = _SRC.search(match.group(0))
        if src and _wechat_image(src.group(1)):
            return match.group(0)
        external += 1
        return ""

    html = _IMG.sub(keep_image, html)
    return Sanitised(html=html, removed=removed, external_images=external, handlers=handlers)


def data_images(body: str) -> list[tuple[str, str, bytes]]:
    """Pasted images inside the body (``src="data:image/png;base64,…"``): (the whole data URL,
    the extension, the bytes), each once, to upload with media/uploadimg before sanitising."""
    import base64
    import binascii

    found: dict[str, tuple[str, str, bytes]] = {}
    for match in _DATA_IMAGE.finditer(body):
        url = match.group(2)
        if url in found:
            continue
        try:
            data = base64.b64decode(re.sub(r"\s+", "", match.group(4)), validate=True)
        except (binascii.Error, ValueError):
            continue
        extension = "png" if match.group(3).lower() == "png" else "jpg"
        found[url] = (url, extension, data)
    return list(found.values())
