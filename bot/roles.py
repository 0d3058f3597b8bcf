"""Roles and the one way to compare them: `at_least(role, needed)` (never compare role strings)."""

from __future__ import annotations

from storage.models import ROLE_NAMES, Role

__all__ = ["RANK", "ROLE_NAMES", "Role", "at_least", "has_role"]

RANK: dict[str, int] = {Role.cadre: 0, Role.secretary: 1, Role.admin: 2}


def at_least(role: str | None, needed: str) -> bool:
    """Whether `role` is `needed` or above it (cadre < secretary < admin); unknown roles rank lowest."""
    return role is not None and RANK.get(role, -1) >= RANK[needed]


def has_role(member: object | None, needed: str) -> bool:
    """Whether a member (anything with a `role`) holds `needed` or a higher role."""
    return member is not None and at_least(getattr(member, "role", None), needed)
