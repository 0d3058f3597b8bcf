"""Webhook mode over real HTTP on loopback: Telegram gets its answer only after the update was
processed and the record stored; a wrong secret is refused; /healthz and /metrics tell the truth."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update
from telegram.ext import TypeHandler

from bot.version import version
from handlers.webhook import SECRET_HEADER, HttpServer
from helpers import TgUser, message_dict
from storage.db import create_engine, create_sessionmaker
from storage.models import DutyRecord

SECRET = "s3cret-Token_1"
# The schedule tests' set-up (org tree, targets, a fast outbox), reused for a real nudge run.
SCHEDULE_TESTS = str(Path(__file__).resolve().parents[1] / "schedules")
CADRE = TgUser(501, "李四")
CHECK_IN = "今天组织支部党员开展主题党日活动，参加18人，时长2小时"
_update_ids = itertools.count(900_000)


@pytest.fixture
async def web(harness) -> AsyncIterator[tuple[Any, httpx.AsyncClient, httpx.AsyncClient]]:  # type: ignore[no-untyped-def]
    """The harness, a client of the webhook port and one of the health port."""
    await harness.add_org("第一支部")
    await harness.add_member(CADRE, "第一支部")
    server = HttpServer(harness.app, webhook_path="/telegram", secret=SECRET)
    health_server = HttpServer(harness.app)
    port = await server.start("127.0.0.1", 0)
    health_port = await health_server.start("127.0.0.1", 0)
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as client,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{health_port}", trust_env=False, timeout=10) as health,
    ):
        yield harness, client, health
    await server.stop()
    await health_server.stop()


def _update(text: str, when: dt.datetime, message_id: int | None = None) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "message": message_dict(CADRE, text, when=when, message_id=message_id),
    }


async def _post(client: httpx.AsyncClient, body: Any, secret: str | None = SECRET) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return await client.post("/telegram", json=body, headers=headers)


async def _records(harness) -> int:  # type: ignore[no-untyped-def]
    async with harness.session() as session:
        return (await session.execute(select(func.count()).select_from(DutyRecord))).scalar_one()


async def test_telegram_is_answered_only_after_the_record_is_stored(web) -> None:  # type: ignore[no-untyped-def]
    harness, client, _health = web
    reached, release = asyncio.Event(), asyncio.Event()

    async def gate(update: Update, context: Any) -> None:
        """Runs after every feature handler; holds the update until the test lets it go."""
        reached.set()
        await release.wait()

    harness.app.add_handler(TypeHandler(Update, gate), group=10_000)
    answer = asyncio.create_task(_post(client, _update(CHECK_IN, harness.clock.now())))
    await asyncio.wait_for(reached.wait(), timeout=10)

    assert await _records(harness) == 1, "the check-in is stored while the update is still being processed"
    await asyncio.sleep(0.05)
    assert not answer.done(), "no answer to Telegram before processing is complete"
    release.set()
    response = await asyncio.wait_for(answer, timeout=10)
    assert response.status_code == 200
    assert harness.api.sent("sendMessage", chat_id=CADRE.id), "the card was sent before the answer"


async def test_a_redelivered_update_stores_nothing_twice(web) -> None:  # type: ignore[no-untyped-def]
    harness, client, _health = web
    update = _update(CHECK_IN, harness.clock.now(), message_id=4242)
    assert (await _post(client, update)).status_code == 200
    assert (await _post(client, update)).status_code == 200
    assert await _records(harness) == 1


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_processed(web) -> None:  # type: ignore[no-untyped-def]
    harness, client, health = web
    for secret in ("wrong", None, ""):
        response = await _post(client, _update(CHECK_IN, harness.clock.now()), secret=secret)
        assert response.status_code == 403
    assert await _records(harness) == 0
    assert not harness.api.sent("sendMessage", chat_id=CADRE.id)
    metrics = (await health.get("/metrics")).text
    assert 'dutybot_updates_handled_total{kind="message"}' not in metrics


async def test_a_body_that_is_not_an_update_is_a_bad_request(web) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = web
    response = await client.post("/telegram", content=b"{not json", headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert (await client.get("/telegram")).status_code == 405


async def test_a_database_outage_asks_telegram_to_deliver_again(web) -> None:  # type: ignore[no-untyped-def]
    harness, client, _health = web
    failures: list[BaseException] = []

    async def flaky(update: Update, context: Any) -> None:
        failures.append(OperationalError("SELECT 1", {}, ConnectionRefusedError("database restarting")))
        raise failures[-1]

    harness.app.add_handler(TypeHandler(Update, flaky), group=10_001)
    response = await _post(client, _update(CHECK_IN, harness.clock.now()))
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert not [c for c in harness.api.sent("sendMessage") if "出了点问题" in c.text], "not asked to resend"

    for sqlstate in ("57P03", "53300", "57P01"):  # starting up, too many clients, shutting down
        cause = type("PostgresError", (Exception,), {"sqlstate": sqlstate})("server not ready")
        failures.clear()

        async def refusing(update: Update, context: Any, cause: Exception = cause) -> None:
            raise DBAPIError("SELECT 1", {}, cause)

        harness.app.remove_handler(harness.app.handlers[10_001][0], group=10_001)
        harness.app.add_handler(TypeHandler(Update, refusing), group=10_001)
        response = await _post(client, _update(CHECK_IN, harness.clock.now()))
        assert response.status_code == 503, sqlstate

    async def buggy(update: Update, context: Any) -> None:
        raise ValueError("a bug, not an outage: delivering again would not help")

    harness.app.remove_handler(harness.app.handlers[10_001][0], group=10_001)
    harness.app.add_handler(TypeHandler(Update, buggy), group=10_001)
    response = await _post(client, _update("今天与3名党员开展谈心谈话", harness.clock.now()))
    assert response.status_code == 200
    harness.errors.clear()  # the errors were injected on purpose


async def test_healthz_reports_database_role_and_last_update(web) -> None:  # type: ignore[no-untyped-def]
    harness, client, health = web
    report = (await health.get("/healthz")).json()
    assert report == {
        "status": "ok",
        "version": version(),
        "database": "ok",
        "bot_api": {
            "status": "ok",
            "last_ok_at": harness.clock.now().astimezone(dt.UTC).isoformat(),  # getMe at start
            "consecutive_failures": 0,
        },
        "role": "leader",
        "last_update_at": None,
        "updates_handled": 0,
    }
    await _post(client, _update(CHECK_IN, harness.clock.now()))
    report = (await health.get("/healthz")).json()
    assert report["updates_handled"] == 1
    assert dt.datetime.fromisoformat(report["last_update_at"]) == harness.clock.now()

    services = harness.services
    healthy_maker = services.sessionmaker
    dead = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    services.sessionmaker = create_sessionmaker(dead)
    try:
        response = await health.get("/healthz")
    finally:
        services.sessionmaker = healthy_maker
        await dead.dispose()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_healthz_turns_unhealthy_while_the_bot_api_keeps_failing(web) -> None:  # type: ignore[no-untyped-def]
    from bot.health import BOT_API_FAILURES_UNHEALTHY

    harness, client, health = web
    harness.api.fail_next("sendMessage", 502, "Bad Gateway", times=BOT_API_FAILURES_UNHEALTHY)
    for n in range(BOT_API_FAILURES_UNHEALTHY):
        await _post(client, _update(f"今天开展志愿服务，参加{n + 2}人", harness.clock.now()))
    response = await health.get("/healthz")
    assert response.status_code == 503
    assert response.json()["bot_api"]["status"] == "failing"
    assert response.json()["bot_api"]["consecutive_failures"] == BOT_API_FAILURES_UNHEALTHY
    metrics = (await health.get("/metrics")).text
    assert (
        f'dutybot_bot_api_errors_total{{method="sendMessage",reason="502"}} {BOT_API_FAILURES_UNHEALTHY}.0'
        in metrics
    )
    assert f'dutybot_build_info{{version="{version()}"}} 1.0' in metrics
    assert "process_resident_memory_bytes" in metrics and "python_info" in metrics

    await _post(client, _update("今天组织集中学习", harness.clock.now()))  # the API answers again
    response = await health.get("/healthz")
    assert response.status_code == 200 and response.json()["bot_api"]["consecutive_failures"] == 0
    harness.errors.clear()  # the failed replies were injected on purpose


async def test_metrics_count_updates_records_and_time_the_replies(web) -> None:  # type: ignore[no-untyped-def]
    harness, client, health = web
    await _post(client, _update(CHECK_IN, harness.clock.now()))
    response = await health.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'dutybot_updates_handled_total{kind="message"} 1.0' in text
    assert 'dutybot_send_latency_seconds_count{method="sendMessage"} 1.0' in text
    assert "dutybot_leader 1.0" in text
    assert "dutybot_records_stored_total 1.0" in text
    assert "dutybot_parse_failures_total 0.0" in text

    await _post(client, _update("今天忙了一整天", harness.clock.now()))
    await _post(client, _update("明天上午准备召开支部党员大会", harness.clock.now()))
    text = (await health.get("/metrics")).text
    assert "dutybot_parse_failures_total 1.0" in text, "a plan is understood, not a failure"
    assert "dutybot_records_stored_total 1.0" in text
    assert 'dutybot_updates_handled_total{kind="message"} 3.0' in text

    sent = harness.api.sent("sendMessage", chat_id=CADRE.id)
    unsure = next(c for c in sent if any(b["text"] == "学习教育" for row in c.buttons for b in row))
    await harness.press(CADRE, unsure, "学习教育")  # filed by hand: stored too
    text = (await health.get("/metrics")).text
    assert "dutybot_records_stored_total 2.0" in text
    assert 'dutybot_updates_handled_total{kind="callback_query"} 1.0' in text


def test_delivery_outcomes_are_counted_by_reason() -> None:
    from bot.metrics import Metrics

    metrics = Metrics()
    metrics.deliveries(["sent", "sent", "forbidden", "unknown", "failed", "sent"])
    assert metrics.value("dutybot_nudges_sent_total") == 3
    assert metrics.value("dutybot_nudges_failed_total", reason="forbidden") == 1
    assert metrics.value("dutybot_nudges_failed_total", reason="unknown") == 1
    assert metrics.value("dutybot_nudges_failed_total", reason="failed") == 1


async def test_nudge_outcomes_of_a_real_run_reach_the_metrics(harness) -> None:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    sys.path.insert(0, SCHEDULE_TESTS)
    from sched_support import CADRES, add_schedule, fast_outbox, tree

    await tree(harness)
    harness.api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=CADRES[1].id)
    schedule = await add_schedule(harness, "每周五10:00")
    fire = dt.datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    report = await fast_outbox(harness).run(schedule.id, fire)

    assert report is not None and report.counts["forbidden"] == 1
    metrics = harness.services.metrics
    assert metrics.value("dutybot_nudges_sent_total") == report.counts["sent"] > 0
    assert metrics.value("dutybot_nudges_failed_total", reason="forbidden") == 1
