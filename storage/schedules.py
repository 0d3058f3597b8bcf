"""Repositories for schedules, their runs and deliveries (the outbox), and holiday overrides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict, Unpack, cast

from sqlalchemy import Table, bindparam, case, func, insert, inspect, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import AuditLog, Delivery, HolidayOverride, LeaderTerm, Schedule, ScheduleRun, id_col

UTC = dt.UTC


# --- schedules ---------------------------------------------------------------------------------
async def list_schedules(*, session: AsyncSession) -> list[Schedule]:
    """The schedules in force (removed ones are kept for their history, not listed)."""
    query = select(Schedule).where(col(Schedule.removed_at).is_(None)).order_by(col(Schedule.id))
    return list((await session.execute(query)).scalars())


async def get_schedule(*, session: AsyncSession, schedule_id: int) -> Schedule | None:
    """A schedule in force (None when there is none with this id, or it was removed)."""
    schedule = await session.get(Schedule, schedule_id)
    return schedule if schedule is not None and schedule.removed_at is None else None


class ScheduleFields(TypedDict):
    """The columns add_schedule sets (the others take their defaults)."""

    rule_text: str
    cron: str
    special: NotRequired[str | None]
    timezone: NotRequired[str]
    org_id: NotRequired[int | None]
    kind: NotRequired[str]
    holiday_policy: NotRequired[str]
    paused: NotRequired[bool]
    created_by: NotRequired[int | None]
    created_at: NotRequired[dt.datetime]


async def add_schedule(*, session: AsyncSession, **fields: Unpack[ScheduleFields]) -> Schedule:
    schedule = Schedule(**fields)
    session.add(schedule)
    await session.flush()
    return schedule


async def remove_schedule(*, session: AsyncSession, schedule_id: int, now: dt.datetime) -> bool:
    """Mark a schedule removed: it no longer fires or lists; its runs and deliveries stay. What it
    had not sent yet is dropped (recorded as expired), and its unfinished runs end as skipped."""
    result = await session.execute(
        update(Schedule)
        .where(col(Schedule.id) == schedule_id, col(Schedule.removed_at).is_(None))
        .values(removed_at=now.astimezone(UTC))
    )
    if not cast("CursorResult[Any]", result).rowcount:
        return False
    runs = select(col(ScheduleRun.id)).where(col(ScheduleRun.schedule_id) == schedule_id)
    await session.execute(
        update(Delivery)
        .where(col(Delivery.run_id).in_(runs), col(Delivery.status) == "pending")
        .values(status="expired", error="the schedule was removed")
    )
    await session.execute(
        update(Delivery)
        .where(col(Delivery.run_id).in_(runs), col(Delivery.snooze_until).is_not(None))
        .values(snooze_until=None)
    )
    await session.execute(
        update(ScheduleRun)
        .where(
            col(ScheduleRun.schedule_id) == schedule_id,
            col(ScheduleRun.status).in_(("pending", "running")),
        )
        .values(status="skipped", finished_at=now.astimezone(UTC))
    )
    return True


async def has_marker(
    *, session: AsyncSession, action: str, object_id: int | None = None, prefix: bool = False
) -> bool:
    """Whether an event (an admin's edit, a one-time warning) is in the audit log."""
    match = col(AuditLog.action).startswith(action) if prefix else col(AuditLog.action) == action
    query = select(func.count()).select_from(AuditLog).where(match)
    if object_id is not None:
        query = query.where(col(AuditLog.object_id) == object_id)
    return bool((await session.execute(query)).scalar_one())


# --- holiday overrides -------------------------------------------------------------------------
async def list_overrides(*, session: AsyncSession, year: int | None = None) -> list[HolidayOverride]:
    """The overrides in force (removed ones are kept, not listed)."""
    query = (
        select(HolidayOverride)
        .where(col(HolidayOverride.removed_at).is_(None))
        .order_by(col(HolidayOverride.day))
    )
    if year is not None:
        query = query.where(col(HolidayOverride.day).between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    return list((await session.execute(query)).scalars())


async def overrides_map(*, session: AsyncSession) -> dict[dt.date, bool]:
    rows = await session.execute(
        select(col(HolidayOverride.day), col(HolidayOverride.is_holiday)).where(
            col(HolidayOverride.removed_at).is_(None)
        )
    )
    return {day: is_holiday for day, is_holiday in rows}


async def set_override(
    *, session: AsyncSession, day: dt.date, is_holiday: bool, note: str = ""
) -> HolidayOverride:
    row = (
        await session.execute(select(HolidayOverride).where(col(HolidayOverride.day) == day))
    ).scalar_one_or_none()
    if row is None:
        row = HolidayOverride(day=day, is_holiday=is_holiday, note=note)
        session.add(row)
    else:  # a change, or a removed day set again
        row.is_holiday, row.note, row.removed_at = is_holiday, note, None
    await session.flush()
    return row


async def remove_override(*, session: AsyncSession, day: dt.date, now: dt.datetime) -> HolidayOverride | None:
    """Mark the day's override removed and return it (the row stays, with what it said); None
    when the day has no override in force."""
    row = (
        await session.execute(
            select(HolidayOverride).where(
                col(HolidayOverride.day) == day, col(HolidayOverride.removed_at).is_(None)
            )
        )
    ).scalar_one_or_none()
    if row is not None:
        row.removed_at = now.astimezone(UTC)
        await session.flush()
    return row


# --- runs --------------------------------------------------------------------------------------
async def find_run(*, session: AsyncSession, schedule_id: int, fire_time: dt.datetime) -> ScheduleRun | None:
    query = select(ScheduleRun).where(
        col(ScheduleRun.schedule_id) == schedule_id, col(ScheduleRun.fire_time) == fire_time.astimezone(UTC)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def create_run(
    *, session: AsyncSession, schedule_id: int, fire_time: dt.datetime, status: str = "pending"
) -> ScheduleRun | None:
    """Insert the run of one fire time; None when it already exists (unique per schedule and time)."""
    run = ScheduleRun(schedule_id=schedule_id, fire_time=fire_time.astimezone(UTC), status=status)
    try:
        async with session.begin_nested():
            session.add(run)
            await session.flush()
    except IntegrityError:
        return None
    return run


async def latest_run_time(*, session: AsyncSession, schedule_id: int) -> dt.datetime | None:
    query = select(func.max(ScheduleRun.fire_time)).where(col(ScheduleRun.schedule_id) == schedule_id)
    return (await session.execute(query)).scalar_one_or_none()


async def unfinished_runs(*, session: AsyncSession) -> list[ScheduleRun]:
    query = (
        select(ScheduleRun)
        .where(col(ScheduleRun.status).in_(("pending", "running")))
        .order_by(col(ScheduleRun.id))
    )
    return list((await session.execute(query)).scalars())


async def set_run_status(*, session: AsyncSession, run_id: int, status: str, finished: bool = False) -> None:
    values: dict[str, object] = {"status": status}
    if finished:
        values["finished_at"] = dt.datetime.now(UTC)
    await session.execute(update(ScheduleRun).where(col(ScheduleRun.id) == run_id).values(**values))


# --- leadership terms (fencing) ----------------------------------------------------------------
async def begin_term(*, session: AsyncSession, name: str, holder: str, now: dt.datetime) -> int:
    """Start a leadership term: `name`'s generation goes up by one (the first is 1). Every claim
    made under an older generation is refused from now on."""
    bump = (
        update(LeaderTerm)
        .where(col(LeaderTerm.name) == name)
        .values(
            generation=col(LeaderTerm.generation) + 1, holder=holder[:200], started_at=now.astimezone(UTC)
        )
        .returning(col(LeaderTerm.generation))
    )
    for _ in range(2):
        generation = (await session.execute(bump)).scalar_one_or_none()
        if generation is not None:
            return int(generation)
        try:
            async with session.begin_nested():
                session.add(LeaderTerm(name=name, generation=1, holder=holder[:200], started_at=now))
                await session.flush()
            return 1
        except IntegrityError:  # another process created it first: bump that
            continue
    raise RuntimeError(f"cannot start a leadership term for {name}")


async def term_is_current(*, session: AsyncSession, name: str, generation: int) -> bool:
    """Whether `generation` is still `name`'s current term. On PostgreSQL the term row is share-
    locked until the caller's transaction ends, so a new term cannot begin while a claim made
    under this one is being written (it waits, and sees that claim when it expires stale ones);
    SQLite writes one transaction at a time anyway."""
    current = (
        await session.execute(
            select(col(LeaderTerm.generation)).where(col(LeaderTerm.name) == name).with_for_update(read=True)
        )
    ).scalar_one_or_none()
    return current == generation


# --- deliveries (the outbox) -------------------------------------------------------------------
async def add_deliveries(*, session: AsyncSession, run_id: int, items: Iterable[tuple[int, str]]) -> int:
    rows = [{"run_id": run_id, "member_id": member_id, "text": text} for member_id, text in items]
    for start in range(0, len(rows), 500):
        await session.execute(insert(Delivery), rows[start : start + 500])
    return len(rows)


@dataclass(frozen=True)
class Claimed:
    id: int
    member_id: int
    text: str


async def claim_next(
    *, session: AsyncSession, run_id: int, now: dt.datetime, after_id: int = 0, generation: int | None = None
) -> Claimed | None:
    """Claim the next pending delivery of a run (pending → claimed, under `generation`).

    `after_id` is the last id this caller claimed: deliveries are claimed in id order, so the
    search starts there instead of rescanning the run. None only when nothing is pending: a
    delivery taken by another outbox between the search and the claim is a lost race, not the end
    of the run, so the search goes on (from the start, should ids below `after_id` be pending).
    """
    while True:
        next_id = (
            select(col(Delivery.id))
            .where(
                col(Delivery.run_id) == run_id, col(Delivery.status) == "pending", col(Delivery.id) > after_id
            )
            .order_by(col(Delivery.id))
            .limit(1)
            .scalar_subquery()
        )
        row = (
            await session.execute(
                update(Delivery)
                .where(col(Delivery.id) == next_id, col(Delivery.status) == "pending")
                .values(
                    status="claimed",
                    claimed_at=now.astimezone(UTC),
                    attempts=col(Delivery.attempts) + 1,
                    generation=generation,
                )
                .returning(id_col(Delivery.id), col(Delivery.member_id), col(Delivery.text))
                .execution_options(synchronize_session=False)
            )
        ).first()
        if row:
            return Claimed(*row)
        if not await count_pending(session=session, run_id=run_id):
            return None
        after_id = 0


async def mark_deliveries(
    *,
    session: AsyncSession,
    outcomes: list[tuple[int, str, dt.datetime | None, str | None]],
    claimed_under: int | None = None,
) -> None:
    """Record many outcomes at once: (delivery id, status, sent_at, error).

    With `claimed_under` (a run's sends) only deliveries claimed under that generation are written
    (fencing): a send in flight when a newer leader took over, which that leader marked unknown
    (to be rechecked), gets its real outcome, and its recheck is called off, so it is not sent
    again; a delivery since claimed under another term is left alone."""
    if not outcomes:
        return
    # The Core table, not the entity: an executemany UPDATE of the entity is an ORM bulk update.
    table = cast(Table, inspect(Delivery).local_table)
    values: dict[str, Any] = {
        "status": bindparam("new_status"),
        "sent_at": bindparam("new_sent_at"),
        "error": bindparam("new_error"),
    }
    fenced = []
    if claimed_under is not None:
        fenced = [
            or_(table.c.status == "claimed", table.c.status == "unknown"),
            table.c.generation == claimed_under,
        ]
        values["snooze_until"] = case((table.c.status == "unknown", None), else_=table.c.snooze_until)
    await session.execute(
        update(table).where(table.c.id == bindparam("delivery_id"), *fenced).values(**values),
        [
            {
                "delivery_id": delivery_id,
                "new_status": status,
                "new_sent_at": sent_at.astimezone(UTC) if sent_at else None,
                "new_error": error,
            }
            for delivery_id, status, sent_at, error in outcomes
        ],
    )


async def mark_delivery(
    *,
    session: AsyncSession,
    delivery_id: int,
    status: str,
    sent_at: dt.datetime | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, object] = {"status": status, "error": error}
    if sent_at is not None:
        values["sent_at"] = sent_at.astimezone(UTC)
    await session.execute(update(Delivery).where(col(Delivery.id) == delivery_id).values(**values))


async def expire_claims(*, session: AsyncSession, run_id: int, recheck_at: dt.datetime | None = None) -> int:
    """Claimed but never confirmed (the process died mid-send): the outcome is unknown, and it is not
    resent with the run. With `recheck_at` it comes back then, through the snooze path, to be sent
    (marked as a possible repeat) only if the member's duty is still open."""
    values: dict[str, Any] = {"status": "unknown", "error": "interrupted before the outcome was known"}
    if recheck_at is not None:
        values["snooze_until"] = recheck_at.astimezone(UTC)
    result = await session.execute(
        update(Delivery)
        .where(col(Delivery.run_id) == run_id, col(Delivery.status) == "claimed")
        .values(**values)
    )
    return int(cast("CursorResult[Any]", result).rowcount or 0)


async def expire_pending(*, session: AsyncSession, run_id: int) -> int:
    """Pending deliveries that are no longer worth sending (their day has passed)."""
    result = await session.execute(
        update(Delivery)
        .where(col(Delivery.run_id) == run_id, col(Delivery.status) == "pending")
        .values(status="expired", error="the run was resumed on a later day")
    )
    return int(cast("CursorResult[Any]", result).rowcount or 0)


async def recheck_later(*, session: AsyncSession, delivery_ids: list[int], at: dt.datetime) -> None:
    """Bring deliveries whose outcome is unknown back at `at`, through the snooze path."""
    await session.execute(
        update(Delivery).where(col(Delivery.id).in_(delivery_ids)).values(snooze_until=at.astimezone(UTC))
    )


async def count_pending(*, session: AsyncSession, run_id: int) -> int:
    query = select(func.count()).where(col(Delivery.run_id) == run_id, col(Delivery.status) == "pending")
    return int((await session.execute(query)).scalar_one())


async def delivery_counts(*, session: AsyncSession, run_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(col(Delivery.status), func.count())
        .where(col(Delivery.run_id) == run_id)
        .group_by(col(Delivery.status))
    )
    return {status: int(n) for status, n in rows}


async def nudges_sent_since(
    *, session: AsyncSession, member_ids: list[int], since: dt.datetime
) -> dict[int, int]:
    """Nudges actually sent to each member since `since` (for the weekly cap)."""
    counts: dict[int, int] = {}
    for start in range(0, len(member_ids), 500):
        chunk = member_ids[start : start + 500]
        rows = await session.execute(
            select(col(Delivery.member_id), func.count())
            .join(ScheduleRun, col(ScheduleRun.id) == col(Delivery.run_id))
            .join(Schedule, col(Schedule.id) == col(ScheduleRun.schedule_id))
            .where(
                col(Schedule.kind) == "nudge",
                col(Delivery.member_id).in_(chunk),
                col(Delivery.sent_at) >= since.astimezone(UTC),
            )
            .group_by(col(Delivery.member_id))
        )
        counts.update({member_id: int(n) for member_id, n in rows})
    return counts


async def snoozed_deliveries(*, session: AsyncSession) -> list[Delivery]:
    query = (
        select(Delivery).where(col(Delivery.snooze_until).is_not(None)).order_by(col(Delivery.snooze_until))
    )
    return list((await session.execute(query)).scalars())


async def due_snoozes(*, session: AsyncSession, now: dt.datetime) -> list[int]:
    query = (
        select(id_col(Delivery.id))
        .where(col(Delivery.snooze_until) <= now.astimezone(UTC))
        .order_by(col(Delivery.id))
    )
    return list((await session.execute(query)).scalars())


async def take_snooze(*, session: AsyncSession, delivery_id: int) -> bool:
    """Clear a due snooze before re-sending it, so a crash never sends it twice."""
    result = await session.execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.snooze_until).is_not(None))
        .values(snooze_until=None)
    )
    return bool(cast("CursorResult[Any]", result).rowcount)
