"""Blanking markup so that extractors see prose while offsets still point into the original text.

URLs, e-mail addresses, HTML tags, Markdown link targets and backslash escapes are replaced by spaces;
an HTML entity becomes the character it stands for followed by spaces. The result has exactly the
length of the input, so every offset found in it is an offset into the original text.
"""

from __future__ import annotations

import html
import re

_BLANKED = re.compile(
    r"""
      (?:https?://|ftp://|www\.)[^\s<>"'\])]+   # URLs
    | (?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+  # e-mail addresses (from the start of a run only: linear)
    | </?[A-Za-z][^<>\n]*>                      # HTML tags
    | (?<=\])\([^()\s]*\)                       # Markdown link targets: [text](target)
    | \\(?=[^\w\s])                             # Markdown escapes: \( \*
    """,
    re.VERBOSE,
)
_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{1,6}|#x[0-9A-Fa-f]{1,6});")


def mask_markup(text: str) -> str:
    """``text`` with markup replaced by spaces, same length."""
    masked = _BLANKED.sub(lambda m: " " * len(m.group()), text)

    def entity(match: re.Match[str]) -> str:
        char = html.unescape(match.group())
        if len(char) != 1 or char == match.group():
            return match.group()
        if char == "\xa0":
            char = " "
        return char + " " * (len(match.group()) - 1)

    return _ENTITY.sub(entity, masked)
