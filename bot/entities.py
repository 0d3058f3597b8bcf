"""The domain's entities, as adapters see them: the stored rows, read-only outside `bot/`.

Adapters render these values (names, dates, counts); every change to them goes through a service
in `bot/`, never through a session of their own.
"""

from __future__ import annotations

from storage.models import (
    ORG_KIND_NAMES,
    AuditLog,
    Delivery,
    DutyRecord,
    Evidence,
    Exemption,
    HolidayOverride,
    InviteCode,
    Leave,
    Member,
    Org,
    OrgKind,
    Schedule,
    ScheduleRun,
    Target,
)

__all__ = [
    "ORG_KIND_NAMES",
    "AuditLog",
    "Delivery",
    "DutyRecord",
    "Evidence",
    "Exemption",
    "HolidayOverride",
    "InviteCode",
    "Leave",
    "Member",
    "Org",
    "OrgKind",
    "Schedule",
    "ScheduleRun",
    "Target",
]
