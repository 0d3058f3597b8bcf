"""The one callback-data codec for every button the adapter draws.

Data is `<prefix>:<code>:<field>[:<field>…]`, at most 64 bytes (Telegram's limit). Prefixes:

  rec:<action>:<record id>[:<arg>]      a record card's buttons (see handlers.cards)
  cat:<category>:<message id>:<YYYYMMDD>  file an unreadable message under a category
  digest:<x|p|r>:<org id>:<span>        the digest's buttons (export, previous period, readiness)
  nudge:<r|x|s>:<delivery id>[:<target>]  a nudge's buttons; built from the domain's Actions
  rules:<a|i|c>:<suggestion id>          a rule suggestion's 采纳 / 忽略 / 改类别 (Actions)
  rules:s:<suggestion id>:<category no>  改类别: the category picked (its place in the rule set)
  rules:r:<weeks>:<rules version>        re-read unread messages of the last weeks (after a preview)
  pick:<command>:<arguments>            an org chosen among namesakes (see handlers.org_pick)
  audit:p:<page>                        a page of the audit log
  imp:<a|x>:<upload id>                 apply or cancel a previewed roster import
  exm:r:<exemption id>                  a secretary rejects a 本期不涉及 (handlers.exemptions)
  lv:<a|r>:<leave id>                   a secretary approves / refuses backfilled leave (handlers.leave)
  rv:<ask|ans|ok|fill>:<record id>      the review of a record (handlers.review)

`pack` builds data, `unpack` reads it back (None for data of another prefix or a malformed one);
domain `Action`s are encoded with `encode` and decoded with `decode`.
"""

from __future__ import annotations

from bot.ports import Action

LIMIT = 64
PREFIXES = ("rec", "cat", "digest", "nudge", "rules", "pick", "audit", "imp", "exm", "lv", "rv")

_ACTION_CODES: dict[str, tuple[str, str]] = {
    "nudge.report": ("nudge", "r"),
    "nudge.exempt": ("nudge", "x"),
    "nudge.snooze": ("nudge", "s"),
    "rules.accept": ("rules", "a"),
    "rules.ignore": ("rules", "i"),
    "rules.recat": ("rules", "c"),
    "rules.set": ("rules", "s"),
    "rules.reread": ("rules", "r"),
}
_ACTION_VERBS = {pair: verb for verb, pair in _ACTION_CODES.items()}


def pack(prefix: str, code: str, *fields: object) -> str:
    """Callback data for one button."""
    assert prefix in PREFIXES, prefix
    parts = [prefix, code, *(str(f) for f in fields)]
    assert all(":" not in p for p in parts), parts
    data = ":".join(parts)
    assert len(data.encode()) <= LIMIT, data
    return data


def unpack(
    data: str | None, prefix: str, *, fields: tuple[int, int] = (1, 2)
) -> tuple[str, list[str]] | None:
    """(code, fields) of data with this prefix and between fields[0] and fields[1] fields, else None."""
    parts = (data or "").split(":")
    if len(parts) < 2 or parts[0] != prefix or not fields[0] <= len(parts) - 2 <= fields[1]:
        return None
    return parts[1], parts[2:]


# Row ids and Telegram message ids fit a 32-bit integer; a bigger "id" is forged or mistyped and
# would overflow the database's integer column (OverflowError on SQLite, DataError on PostgreSQL).
MAX_ID = 2**31 - 1


def number(text: str) -> int | None:
    """A field that must be a non-negative whole number that fits an id, else None (forged data)."""
    return (
        int(text) if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID else None
    )


def encode(action: Action) -> str:
    prefix, code = _ACTION_CODES[action.verb]
    tail = () if action.arg is None else (action.arg,)
    return pack(prefix, code, action.ref, *tail)


def decode(data: str | None) -> Action | None:
    """The Action a button's data stands for, or None for data this codec never made (forged, old)."""
    parts = (data or "").split(":")
    if len(parts) not in (3, 4):
        return None
    numbers = [number(p) for p in parts[2:]]
    verb = _ACTION_VERBS.get((parts[0], parts[1]))
    if verb is None or None in numbers:
        return None
    ref, *rest = numbers
    assert ref is not None
    return Action("", verb, ref, rest[0] if rest else None)
