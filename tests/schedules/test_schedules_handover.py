"""A leader hand-over in the middle of a run: the former leader, which still believes it leads,
and the new one deliver the same run at once. Fencing: once the new leader's term began the former
one claims nothing more (only its sends already in flight go out, and it leaves the run to the new
one); the run completes with nothing pending and nobody nudged twice. Repeated, the two outboxes
taking turns; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sched_support import add_schedule, no_sleep, tree
from sqlalchemy import func, select
from telegram import Bot

from bot.clock import FakeClock
from bot.config import Settings
from bot.outbox import FENCED, UNKNOWN_RECHECK, Outbox, Pacer
from bot.services import Services
from handlers.memory_api import ApiCall, MemoryBotAPI
from handlers.notifier import TelegramNotifier
from storage import orgs
from storage import schedules as repo
from storage.models import Delivery, Member, Target

TZ = ZoneInfo("Asia/Shanghai")
FIRE = dt.datetime(2026, 11, 27, 10, 0, tzinfo=TZ)
MEMBERS = 300
FIRST_CHAT = 400_000
TRIALS = 4
HAND_OVER_AFTER = 60


class Replica:
    """A second process's outbox on the same database: its own engine, Bot API and sends."""

    def __init__(self, services: Services, api: MemoryBotAPI, box: Outbox) -> None:
        self.services, self.api, self.box = services, api, box


@pytest.fixture
async def other(harness) -> AsyncIterator[Replica]:  # type: ignore[no-untyped-def]
    settings = Settings(
        _env_file=None, database_url=harness.services.settings.database_url, timezone="Asia/Shanghai"
    )
    services = Services(settings, FakeClock(harness.clock.now(), TZ))
    await services.open(migrate=False)
    api = MemoryBotAPI()
    bot = Bot("123:TEST", request=api, get_updates_request=MemoryBotAPI())
    await bot.initialize()
    box = Outbox(services, TelegramNotifier(bot), pacer=Pacer(1_000_000, per_chat=0, sleep=no_sleep))
    try:
        yield Replica(services, api, box)
    finally:
        await bot.shutdown()
        await services.close()


async def test_a_hand_over_mid_run_fences_the_former_leader_and_completes_the_run(harness, other) -> None:  # type: ignore[no-untyped-def]
    async with harness.session() as session:
        branch = await orgs.create_org(session=session, name="第一支部")
        session.add_all(
            Member(telegram_id=FIRST_CHAT + i, name=f"党员{i}", org_id=branch.id)  # type: ignore[arg-type]
            for i in range(MEMBERS)
        )
        session.add(
            Target(name="理论学习", category="study", count=1, period="week", role="cadre", scope="member")
        )
    schedule = await add_schedule(harness, "每周五10:00")
    harness.services.settings.nudge_weekly_cap = other.services.settings.nudge_weekly_cap = TRIALS
    assert harness.services.scheduler is not None
    mine = harness.services.scheduler.outbox
    mine.pacer = Pacer(1_000_000, per_chat=0, sleep=no_sleep)
    replicas = [(mine, harness.api), (other.box, other.api)]

    received: collections.Counter[int] = collections.Counter()
    for trial in range(TRIALS):
        (old, old_api), (new, new_api) = replicas[trial % 2], replicas[1 - trial % 2]
        await old.take_over()
        report, new_report, old_sent, new_sent, after_hand_over = await _hand_over_mid_run(
            old, old_api, new, new_api, schedule.id, FIRE + dt.timedelta(minutes=trial)
        )

        assert report is not None and report.status == FENCED, "the former leader stopped: its term is over"
        assert new_report.status == "done"
        assert len(after_hand_over) <= old.max_in_flight, "only sends already in flight went out"
        received.update(old_sent + new_sent)
        assert set(received.values()) == {trial + 1}, "everybody nudged once per run: none twice, none lost"
        async with harness.session() as session:
            counts = await repo.delivery_counts(session=session, run_id=report.run_id)
            by_old = (
                await session.execute(
                    select(func.count()).where(
                        Delivery.run_id == report.run_id, Delivery.generation == old.generation
                    )
                )
            ).scalar_one()
            assert await repo.unfinished_runs(session=session) == []
        # the former leader's sends in flight at the hand-over were marked unknown by the new one,
        # then got their real outcome: none is left to be rechecked (and sent again)
        assert counts == {"sent": MEMBERS}, counts
        assert by_old == len(old_sent), "the former leader claimed nothing it did not send"
    # the rechecks of interrupted sends, two hours on: nothing comes back, nobody is nudged twice
    harness.clock.advance(seconds=(UNKNOWN_RECHECK + dt.timedelta(minutes=TRIALS)).total_seconds())
    async with harness.session() as session:
        due = await repo.due_snoozes(session=session, now=harness.clock.now())
    sends = [c for c in harness.api.calls if c.method == "sendMessage"]
    for delivery_id in due:
        await mine.resend_snoozed(delivery_id)
    repeated = [c.chat_id for c in harness.api.calls if c.method == "sendMessage"][len(sends) :]
    assert due == [] and repeated == [], f"{len(repeated)} members nudged again by a recheck"
    harness.errors.clear()


async def _hand_over_mid_run(  # type: ignore[no-untyped-def]
    old: Outbox, old_api: MemoryBotAPI, new: Outbox, new_api: MemoryBotAPI, schedule_id, fire: dt.datetime
):
    """`old` runs `fire`; after HAND_OVER_AFTER of its sends `new` takes over (its term begins while
    `old` still believes it leads) and resumes the run. The two reports and who sent what."""
    old_sent: list[int] = []
    new_sent: list[int] = []
    after_hand_over: list[int] = []
    taken: dict[str, Any] = {}

    async def hand_over() -> None:
        await new.take_over()
        taken["at"] = len(old_sent)
        taken["report"] = await new.resume_unfinished()

    def on_old(call: ApiCall) -> None:
        if call.method != "sendMessage":
            return
        old_sent.append(call.chat_id)
        if "at" in taken:
            after_hand_over.append(call.chat_id)
        if len(old_sent) == HAND_OVER_AFTER:
            taken["task"] = asyncio.get_running_loop().create_task(hand_over())

    def on_new(call: ApiCall) -> None:
        if call.method == "sendMessage":
            new_sent.append(call.chat_id)

    real_send = old.notifier.send

    async def slow_send(*args: Any, **kwargs: Any) -> Any:
        """The former leader's sends in flight at the hand-over reach Telegram, but their answer
        comes only after the new leader took the run over and finished it (a slow network)."""
        outcome = await real_send(*args, **kwargs)
        if "task" in taken:
            await asyncio.wait({taken["task"]})
        return outcome

    old_api.listeners[:] = [on_old]
    new_api.listeners[:] = [on_new]
    old.notifier.send = slow_send  # type: ignore[method-assign]
    try:
        report = await old.run(schedule_id, fire)
    finally:
        old.notifier.send = real_send  # type: ignore[method-assign]
    await taken["task"]
    (new_report,) = taken["report"]
    return report, new_report, old_sent, new_sent, after_hand_over


async def test_a_claim_lost_to_another_outbox_is_not_the_end_of_the_run(harness, database_url: str) -> None:  # type: ignore[no-untyped-def]
    """The delivery a claim picked is taken by another outbox's transaction first: the claim goes
    on to the next one instead of answering "nothing pending" (which ended the run, stranding it)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time: a claim cannot lose such a race")
    people = await tree(harness)
    schedule = await add_schedule(harness, "每周五10:00")
    async with harness.session() as session:
        run = await repo.create_run(
            session=session, schedule_id=schedule.id, fire_time=FIRE, status="running"
        )
        assert run is not None and run.id is not None
        run_id = run.id
        await repo.add_deliveries(
            session=session, run_id=run_id, items=[(m.id, "📌") for m in people.values() if m.id is not None]
        )
    now = harness.clock.now()
    engine = harness.services.engine
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        taken = await repo.claim_next(session=first, run_id=run_id, now=now)  # not committed yet
        await second.begin()
        racing = asyncio.create_task(repo.claim_next(session=second, run_id=run_id, now=now))
        await asyncio.sleep(0.3)
        assert not racing.done(), "the second claim waits on the row the first one holds"
        await first.commit()
        claimed = await asyncio.wait_for(racing, timeout=10)
        await second.commit()
    assert taken is not None and claimed is not None, "the lost race goes on to the next delivery"
    assert claimed.id != taken.id
