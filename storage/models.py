"""Tables. Every change here needs an alembic migration in storage/migrations/versions/.

Times are timezone-aware UTC datetimes; dates (activity dates, periods) are local calendar dates.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import cast

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlmodel import Field, SQLModel, col


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def id_col(column: int | None) -> Mapped[int]:
    """`col()` for a primary key selected as a value: the attribute is typed `int | None` (a row
    not yet flushed has no id), but a row read back always has one."""
    return cast("Mapped[int]", col(column))


class Role(StrEnum):
    cadre = "cadre"
    secretary = "secretary"
    admin = "admin"


ROLE_NAMES: dict[str, str] = {"cadre": "党员", "secretary": "书记", "admin": "管理员"}


class OrgKind(StrEnum):
    committee = "committee"  # 党委
    general_branch = "general_branch"  # 党总支
    branch = "branch"  # 党支部


ORG_KIND_NAMES: dict[str, str] = {"committee": "党委", "general_branch": "党总支", "branch": "党支部"}


class Org(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Unique among the live children of one parent (checked in code: an archived org keeps its name).
    name: str = Field(max_length=100, index=True)
    parent_id: int | None = Field(default=None, foreign_key="org.id", index=True)
    kind: str = Field(default=OrgKind.branch, max_length=20)
    # 起算日期: the first local day the org's figures count (its creation, changeable by an admin);
    # None counts every period.
    counting_start: dt.date | None = None
    # Backfilled leave (补登) of its members needs a secretary's approval before it counts.
    leave_approval: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    created_at: dt.datetime = Field(default_factory=utcnow)
    # Archived: kept for the history of the periods it existed in, gone from everything current.
    archived_at: dt.datetime | None = None


class GroupChat(SQLModel, table=True):
    """A Telegram group bound to an org (check-ins there are recorded for bound members). An org
    may have several groups; a group belongs to one org until that org's secretary or an admin
    moves it."""

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    org_id: int = Field(foreign_key="org.id", index=True)
    bound_by: int | None = Field(default=None, foreign_key="member.id")
    bound_at: dt.datetime = Field(default_factory=utcnow)


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    name: str = Field(max_length=200)
    username: str | None = Field(default=None, max_length=100)
    org_id: int = Field(foreign_key="org.id", index=True)
    role: str = Field(default=Role.cadre, max_length=20)
    active: bool = True
    # Set when Telegram answers Forbidden (the user blocked the bot); cleared when they write again.
    unreachable: bool = False
    # Admin only because ADMIN_TELEGRAM_IDS names them (and the role they had before): taken off
    # that list, they are demoted at the next start.
    admin_by_setting: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    role_before_admin: str | None = Field(default=None, max_length=20)
    # The local day the member joined: periods ended before it are neither missed nor gaps (None:
    # every period counts, as for members from before joining days were kept).
    joined_on: dt.date | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    # Deactivated (离职, 转出): the local day they left and why; their records stay.
    left_on: dt.date | None = None
    left_reason: str | None = Field(default=None, max_length=50)
    # The roster's key for this person (工号, else 手机号), when they were bound by a roster invite.
    person_key: str | None = Field(default=None, max_length=50, unique=True)
    party_joined_on: dt.date | None = None  # 入党日期, from the roster


class InviteCode(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    org_id: int = Field(foreign_key="org.id")
    role: str = Field(default=Role.cadre, max_length=20)
    uses_left: int = 1
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    # A personal invite of a roster person (imported): who may bind with it.
    person_key: str | None = Field(default=None, max_length=50, index=True)
    person_name: str | None = Field(default=None, max_length=200)
    party_joined_on: dt.date | None = None


class DutyRecord(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("chat_id", "message_id", "activity_index", name="uq_record_source"),
        Index("ix_record_org_date", "org_id", "date"),
        Index("ix_record_member_date", "member_id", "date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    org_id: int = Field(foreign_key="org.id")
    category: str = Field(max_length=20)
    # The rule keyword that decided the category (e.g. 党课, 支委会), so targets can name a form.
    keyword: str | None = Field(default=None, max_length=50)
    date: dt.date
    participants: int | None = None
    duration_min: int | None = None
    issues_found: int | None = None
    issues_fixed: int | None = None
    source_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    activity_index: int = 0
    # The bot's confirmation card, so edits and button presses can update it in place.
    card_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    card_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # The secretary's review: None (not reviewed), returned (退回: not counted until fixed or
    # accepted), revised (fixed by its author after a return), accepted (通过).
    review_status: str | None = Field(default=None, max_length=10)
    review_opinion: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_by: int | None = Field(default=None, foreign_key="member.id")
    # The formal ledger (台账) of a meeting: read from the text when stated, or added with 补全台账;
    # never required. 实到 is `participants`.
    topic: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    host: str | None = Field(default=None, max_length=40)
    recorder: str | None = Field(default=None, max_length=40)
    expected_count: int | None = None
    absent_count: int | None = None
    absent_reasons: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    place: str | None = Field(default=None, max_length=60)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    deleted_at: dt.datetime | None = None


class Evidence(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="dutyrecord.id", index=True)
    file_id: str = Field(max_length=300)
    file_unique_id: str | None = Field(default=None, max_length=100)
    kind: str = Field(default="photo", max_length=20)
    created_at: dt.datetime = Field(default_factory=utcnow)


class SeenUpdate(SQLModel, table=True):
    """A command update already processed (Telegram's update id): a redelivery, also after a
    restart, is not run twice. Kept for a week, far beyond Telegram's 24 hours of redelivery."""

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    seen_at: dt.datetime = Field(default_factory=utcnow, index=True)


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    action: str = Field(max_length=50, index=True)
    object_type: str = Field(default="", max_length=50)
    object_id: int | None = None
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)


class Target(SQLModel, table=True):
    """A quantified indicator: at least `count` records of a category or form per period."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    category: str | None = Field(default=None, max_length=20)
    # A form is the rule keyword of a record (支委会, 党课 …); when set it narrows the category.
    form: str | None = Field(default=None, max_length=50)
    count: int = 1
    period: str = Field(default="month", max_length=10)  # week, month, quarter, year
    # Whom it binds: an org kind and/or a role; None means any. Branch-level targets count org records.
    org_kind: str | None = Field(default=None, max_length=20)
    role: str | None = Field(default=None, max_length=20)
    # "org": satisfied by any record of the org; "member": each bound member must reach the count.
    scope: str = Field(default="org", max_length=10)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)


class Leave(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    start: dt.date
    end: dt.date
    reason: str = Field(default="", max_length=200)
    cancelled: bool = False
    # approved | pending | refused. Days before `entered_on` (the local day it was registered:
    # backfilled, 补登) count only once approved; an org that asks for approval starts it pending.
    status: str = Field(default="approved", max_length=10, sa_column_kwargs={"server_default": "approved"})
    entered_on: dt.date | None = None
    decided_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: dt.datetime = Field(default_factory=utcnow)


class Exemption(SQLModel, table=True):
    """本期不涉及: a member's explained gap for one target and period; secretaries see it."""

    __table_args__ = (UniqueConstraint("member_id", "target_id", "period_start", name="uq_exemption"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    target_id: int = Field(foreign_key="target.id")
    period_start: dt.date
    reason: str = Field(default="", max_length=200)
    # The bot's question asking for the reason: the member answers by replying to it.
    prompt_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # A secretary who does not accept it: a rejected exemption no longer counts.
    rejected_at: dt.datetime | None = None
    rejected_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: dt.datetime = Field(default_factory=utcnow)


class Schedule(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # The admin's phrase as written (每周五16:00) and the cron it became.
    rule_text: str = Field(max_length=100)
    cron: str = Field(max_length=100)
    # Rules cron cannot express (每月最后一个工作日) are marked here and computed in code.
    special: str | None = Field(default=None, max_length=50)
    timezone: str = Field(default="Asia/Shanghai", max_length=50)
    org_id: int | None = Field(default=None, foreign_key="org.id")
    kind: str = Field(default="nudge", max_length=20)  # nudge, digest, escalation
    holiday_policy: str = Field(default="skip", max_length=10)  # skip, previous, next, ignore
    paused: bool = False
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    # Set by /schedule remove: the schedule stops, its runs and deliveries stay (the weekly cap
    # and the history still count them).
    removed_at: dt.datetime | None = None


class ScheduleRun(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("schedule_id", "fire_time", name="uq_run_fire"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(foreign_key="schedule.id")
    fire_time: dt.datetime  # the nominal fire time
    status: str = Field(default="pending", max_length=20)  # pending, running, done, skipped
    started_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None


class Delivery(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("run_id", "member_id", name="uq_delivery"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="schedulerun.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    # pending -> claimed -> sent | failed | unknown | forbidden; pending -> expired (a later day)
    status: str = Field(default="pending", max_length=20)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    attempts: int = 0
    snooze_count: int = 0
    snooze_until: dt.datetime | None = None
    claimed_at: dt.datetime | None = None
    sent_at: dt.datetime | None = Field(default=None, index=True)
    error: str | None = Field(default=None, max_length=300)
    # The leadership term (LeaderTerm.generation) the delivery was claimed under: its outcome is
    # written only while that claim stands.
    generation: int | None = None


class LeaderTerm(SQLModel, table=True):
    """Leadership terms, for fencing: `generation` goes up each time a process becomes the leader
    (`name`: what it leads, "scheduler"). Sends are claimed under the claimant's generation, and a
    claim by an older generation is refused, so a former leader that still believes it leads (for
    up to LEADER_CHECK_SECONDS after losing its lock) sends nothing new."""

    name: str = Field(primary_key=True, max_length=50)
    generation: int = 0
    holder: str = Field(default="", max_length=200)
    started_at: dt.datetime = Field(default_factory=utcnow)


class RosterUpload(SQLModel, table=True):
    """A roster file an admin sent, kept between its dry run and the tap that applies it."""

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    filename: str = Field(max_length=200)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)


class HolidayOverride(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    day: dt.date = Field(unique=True)
    is_holiday: bool  # True: a day off; False: a working day (调休)
    note: str = Field(default="", max_length=100)
    created_at: dt.datetime = Field(default_factory=utcnow)
    # Set by /holiday remove (the statutory calendar applies again); a later /holiday add of the
    # same day takes the row back.
    removed_at: dt.datetime | None = None


class UnreadMessage(SQLModel, table=True):
    """A private check-in no rule read, as sent: kept so that new rules can read it again
    (/rules reread). Never more than the text the member sent."""

    __table_args__ = (
        UniqueConstraint("chat_id", "message_id", name="uq_unread_source"),
        Index("ix_unread_org_sent", "org_id", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    member_id: int = Field(foreign_key="member.id")
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    sent_at: dt.datetime
    created_at: dt.datetime = Field(default_factory=utcnow)


class LabelledExample(SQLModel, table=True):
    """A manual categorisation: an unread message filed under a category, or 改类别 on a record.
    The text as sent, its send time, the category chosen (and the one the rules gave), who chose
    it and when. One per activity of a message: a later choice replaces an earlier one."""

    __table_args__ = (UniqueConstraint("chat_id", "message_id", "activity_index", name="uq_example_source"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    chosen_by: int = Field(foreign_key="member.id")
    record_id: int | None = Field(default=None, foreign_key="dutyrecord.id")
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    activity_index: int = 0
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    sent_at: dt.datetime
    category: str = Field(max_length=20)
    parsed_as: str | None = Field(default=None, max_length=20)  # None: no rule read the message
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)


class RuleSuggestion(SQLModel, table=True):
    """A learned phrase proposed to admins (/rules): open, accepted or ignored; its evidence (the
    example ids it fixes, the records it would change) as JSON."""

    __table_args__ = (UniqueConstraint("word", "category", name="uq_suggestion_word"),)

    id: int | None = Field(default=None, primary_key=True)
    word: str = Field(max_length=50)
    category: str = Field(max_length=20)
    weight: int
    status: str = Field(default="open", max_length=10)  # open, accepted, ignored
    fixes: int = 0
    changes: int = 0
    reads: int = 0
    evidence: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: dt.datetime = Field(default_factory=utcnow)
    decided_by: int | None = Field(default=None, foreign_key="member.id")
    decided_at: dt.datetime | None = None


class RuleChange(SQLModel, table=True):
    """The overlay on the rule file, append-only: "add" a learned phrase, or "undo" an earlier add.
    Every replica reads the highest id as the overlay's version and reloads when it moves."""

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=10)  # add, undo
    word: str = Field(max_length=50)
    category: str = Field(max_length=20)
    weight: int = 0
    suggestion_id: int | None = Field(default=None, foreign_key="rulesuggestion.id")
    undoes: int | None = Field(default=None, foreign_key="rulechange.id")
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
