"""Show-notes HTML sanitising: ``sanitize_html('<p onclick="x">Hi<script>…')`` → ``'<p>Hi</p>'``."""

from __future__ import annotations

import re
from html import unescape

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "dd", "dl", "dt", "em", "h2", "h3", "h4",
    "hr", "i", "li", "ol", "p", "pre", "s", "small", "strong", "sub", "sup", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str) -> str:
    """Return ``html`` with only harmless tags, attributes and link schemes left."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def html_to_text(html: str) -> str:
    """Plain text of ``html`` (for summaries and ID3 comments)."""
    spaced = re.sub(r"<\s*(br|/p|/li|/h\d|/div|/blockquote|/dd|/dt)\b[^>]*>", " ", html or "", flags=re.I)
    text = nh3.clean(spaced, tags=set(), attributes={})
    return re.sub(r"\s+", " ", unescape(text)).strip()
