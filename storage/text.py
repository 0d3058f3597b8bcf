"""Text as every database can hold it: PostgreSQL refuses NUL, and no driver encodes a lone
surrogate (which a forged or broken update can carry). Both carry nothing a reader could see, so
NUL is dropped and a lone surrogate becomes U+FFFD; every other character is kept."""

from __future__ import annotations

import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, tuple):
        return tuple(_clean(v) for v in value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _needs_cleaning(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value or (not value.isascii() and _LONE_SURROGATE.search(value) is not None)
    if isinstance(value, (tuple, list)):
        return any(_needs_cleaning(v) for v in value)
    if isinstance(value, dict):
        return any(_needs_cleaning(v) for v in value.values())
    return False


def clean_parameters(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _executemany: bool
) -> tuple[str, Any]:
    """A `before_cursor_execute` hook: whatever path a value takes to the database (a command's
    argument, a name, a note), it is stored rather than refused."""
    if parameters is not None and _needs_cleaning(parameters):
        parameters = _clean(parameters)
    return statement, parameters
