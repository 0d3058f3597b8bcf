"""The one callback-data codec: a button's `Action` <-> the ≤ 64-byte string Telegram carries.

Data is `<prefix>:<code>:<ref>[:<arg>]`; each verb has one (prefix, code) pair below, so a press
decodes back into the Action the domain gave.
"""

from __future__ import annotations

from bot.ports import Action

_CODES: dict[str, tuple[str, str]] = {
    "nudge.report": ("nudge", "r"),
    "nudge.exempt": ("nudge", "x"),
    "nudge.snooze": ("nudge", "s"),
}
_VERBS = {pair: verb for verb, pair in _CODES.items()}


def encode(action: Action) -> str:
    prefix, code = _CODES[action.verb]
    tail = "" if action.arg is None else f":{action.arg}"
    return f"{prefix}:{code}:{action.ref}{tail}"


def decode(data: str | None) -> Action | None:
    """The Action a button's data stands for, or None for data this codec never made (forged, old)."""
    parts = (data or "").split(":")
    if len(parts) not in (3, 4) or not all(p.isdigit() and len(p) <= 18 for p in parts[2:]):
        return None
    verb = _VERBS.get((parts[0], parts[1]))
    if verb is None:
        return None
    return Action("", verb, int(parts[2]), int(parts[3]) if len(parts) == 4 else None)
