"""Repositories for schedules, their runs and deliveries (the outbox), and holiday overrides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog, Delivery, HolidayOverride, Schedule, ScheduleRun

UTC = dt.UTC


# --- schedules ---------------------------------------------------------------------------------
async def list_schedules(*, session: AsyncSession) -> list[Schedule]:
    return list((await session.execute(select(Schedule).order_by(Schedule.id))).scalars())


async def get_schedule(*, session: AsyncSession, schedule_id: int) -> Schedule | None:
    return await session.get(Schedule, schedule_id)


async def add_schedule(*, session: AsyncSession, **fields: object) -> Schedule:
    schedule = Schedule(**fields)  # type: ignore[arg-type]
    session.add(schedule)
    await session.flush()
    return schedule


async def remove_schedule(*, session: AsyncSession, schedule_id: int) -> bool:
    """Delete a schedule with its runs and deliveries."""
    runs = select(ScheduleRun.id).where(ScheduleRun.schedule_id == schedule_id)
    await session.execute(delete(Delivery).where(Delivery.run_id.in_(runs)))
    await session.execute(delete(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id))
    result = await session.execute(delete(Schedule).where(Schedule.id == schedule_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def has_marker(
    *, session: AsyncSession, action: str, object_id: int | None = None, prefix: bool = False
) -> bool:
    """Whether an event (an admin's edit, a one-time warning) is in the audit log."""
    match = AuditLog.action.startswith(action) if prefix else AuditLog.action == action
    query = select(func.count()).select_from(AuditLog).where(match)
    if object_id is not None:
        query = query.where(AuditLog.object_id == object_id)
    return bool((await session.execute(query)).scalar_one())


# --- holiday overrides -------------------------------------------------------------------------
async def list_overrides(*, session: AsyncSession, year: int | None = None) -> list[HolidayOverride]:
    query = select(HolidayOverride).order_by(HolidayOverride.day)
    if year is not None:
        query = query.where(HolidayOverride.day.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    return list((await session.execute(query)).scalars())


async def overrides_map(*, session: AsyncSession) -> dict[dt.date, bool]:
    rows = await session.execute(select(HolidayOverride.day, HolidayOverride.is_holiday))
    return {day: is_holiday for day, is_holiday in rows}


async def set_override(
    *, session: AsyncSession, day: dt.date, is_holiday: bool, note: str = ""
) -> HolidayOverride:
    row = (
        await session.execute(select(HolidayOverride).where(HolidayOverride.day == day))
    ).scalar_one_or_none()
    if row is None:
        row = HolidayOverride(day=day, is_holiday=is_holiday, note=note)
        session.add(row)
    else:
        row.is_holiday, row.note = is_holiday, note
    await session.flush()
    return row


async def remove_override(*, session: AsyncSession, day: dt.date) -> bool:
    result = await session.execute(delete(HolidayOverride).where(HolidayOverride.day == day))
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- runs --------------------------------------------------------------------------------------
async def find_run(*, session: AsyncSession, schedule_id: int, fire_time: dt.datetime) -> ScheduleRun | None:
    query = select(ScheduleRun).where(
        ScheduleRun.schedule_id == schedule_id, ScheduleRun.fire_time == fire_time.astimezone(UTC)
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
    query = select(func.max(ScheduleRun.fire_time)).where(ScheduleRun.schedule_id == schedule_id)
    return (await session.execute(query)).scalar_one_or_none()


async def unfinished_runs(*, session: AsyncSession) -> list[ScheduleRun]:
    query = select(ScheduleRun).where(ScheduleRun.status.in_(("pending", "running"))).order_by(ScheduleRun.id)
    return list((await session.execute(query)).scalars())


async def set_run_status(*, session: AsyncSession, run_id: int, status: str, finished: bool = False) -> None:
    values: dict[str, object] = {"status": status}
    if finished:
        values["finished_at"] = dt.datetime.now(UTC)
    await session.execute(update(ScheduleRun).where(ScheduleRun.id == run_id).values(**values))


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
    *, session: AsyncSession, run_id: int, now: dt.datetime, after_id: int = 0
) -> Claimed | None:
    """Claim the next pending delivery of a run (pending → claimed) in one statement.

    `after_id` is the last id this caller claimed: deliveries are claimed in id order, so the
    search starts there instead of rescanning the run. None when nothing is pending.
    """
    next_id = (
        select(Delivery.id)
        .where(Delivery.run_id == run_id, Delivery.status == "pending", Delivery.id > after_id)
        .order_by(Delivery.id)
        .limit(1)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            update(Delivery)
            .where(Delivery.id == next_id, Delivery.status == "pending")
            .values(status="claimed", claimed_at=now.astimezone(UTC), attempts=Delivery.attempts + 1)
            .returning(Delivery.id, Delivery.member_id, Delivery.text)
            .execution_options(synchronize_session=False)
        )
    ).first()
    return Claimed(*row) if row else None


async def mark_deliveries(
    *, session: AsyncSession, outcomes: list[tuple[int, str, dt.datetime | None, str | None]]
) -> None:
    """Record many outcomes at once: (delivery id, status, sent_at, error)."""
    if not outcomes:
        return
    await session.execute(
        update(Delivery.__table__)  # type: ignore[attr-defined]
        .where(Delivery.__table__.c.id == bindparam("delivery_id"))  # type: ignore[attr-defined]
        .values(
            status=bindparam("new_status"), sent_at=bindparam("new_sent_at"), error=bindparam("new_error")
        ),
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
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


async def expire_claims(*, session: AsyncSession, run_id: int) -> int:
    """Claimed but never confirmed (the process died mid-send): the outcome is unknown, never resent."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.run_id == run_id, Delivery.status == "claimed")
        .values(status="unknown", error="interrupted before the outcome was known")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def count_pending(*, session: AsyncSession, run_id: int) -> int:
    query = select(func.count()).where(Delivery.run_id == run_id, Delivery.status == "pending")
    return int((await session.execute(query)).scalar_one())


async def delivery_counts(*, session: AsyncSession, run_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Delivery.status, func.count()).where(Delivery.run_id == run_id).group_by(Delivery.status)
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
            select(Delivery.member_id, func.count())
            .join(ScheduleRun, ScheduleRun.id == Delivery.run_id)
            .join(Schedule, Schedule.id == ScheduleRun.schedule_id)
            .where(
                Schedule.kind == "nudge",
                Delivery.member_id.in_(chunk),
                Delivery.sent_at >= since.astimezone(UTC),
            )
            .group_by(Delivery.member_id)
        )
        counts.update({member_id: int(n) for member_id, n in rows})
    return counts


async def snoozed_deliveries(*, session: AsyncSession) -> list[Delivery]:
    query = select(Delivery).where(Delivery.snooze_until.is_not(None)).order_by(Delivery.snooze_until)
    return list((await session.execute(query)).scalars())


async def due_snoozes(*, session: AsyncSession, now: dt.datetime) -> list[int]:
    query = select(Delivery.id).where(Delivery.snooze_until <= now.astimezone(UTC)).order_by(Delivery.id)
    return list((await session.execute(query)).scalars())


async def take_snooze(*, session: AsyncSession, delivery_id: int) -> bool:
    """Clear a due snooze before re-sending it, so a crash never sends it twice."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.snooze_until.is_not(None))
        .values(snooze_until=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
