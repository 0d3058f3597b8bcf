"""Text as every database can hold it: PostgreSQL refuses NUL, and no driver encodes a lone
surrogate (which a forged or broken update can carry). Both carry nothing a reader could see, so
NUL is dropped and a lone surrogate becomes U+FFFD; every other character is kept."""

from __future__ import annotations

import re

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return text
