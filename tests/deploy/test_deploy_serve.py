"""`dutybot run --webhook` and polling with HEALTH_PORT, end to end in one process: start-up
registers the webhook with its secret, updates flow in, health is served, shutdown is clean."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from telegram.ext import Application

from bot.config import Settings
from bot.services import Services
from handlers.app import build_application
from handlers.memory_api import MemoryBotAPI
from handlers.webhook import SECRET_HEADER, ChatTurns, check_webhook_settings, serve
from helpers import TgUser, message_dict

SECRET = "serve-secret"
USER = TgUser(701, "钱七")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": "1:SERVE",
        "database_url": database_url,
        "webhook_url": "https://bot.example.org/telegram",
        "webhook_secret": SECRET,
        "webhook_listen": "127.0.0.1",
        "webhook_port": _free_port(),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def _until(predicate: Callable[[], Any]) -> None:
    for _ in range(500):  # up to 10 s
        if await predicate() if asyncio.iscoroutinefunction(predicate) else predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def _get(port: int, path: str) -> httpx.Response | None:
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            return await client.get(f"http://127.0.0.1:{port}{path}")
    except httpx.TransportError:
        return None


async def _run(app: Application, settings: Settings, *, webhook: bool, port: int, body) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, settings, webhook=webhook, stop=stop))

    async def up() -> bool:
        return await _get(port, "/healthz") is not None

    try:
        await _until(up)
        await body()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def test_webhook_mode_registers_the_webhook_and_processes_updates(database_url: str) -> None:
    settings = _settings(database_url, health_port=_free_port())
    api = MemoryBotAPI()
    app = build_application(Services(settings), request=api, rate_limiter=None)
    port = settings.webhook_port

    async def body() -> None:
        hook = api.sent("setWebhook")
        assert hook and hook[0].params["url"] == "https://bot.example.org/telegram"
        assert hook[0].params["secret_token"] == SECRET
        update = {"update_id": 1, "message": message_dict(USER, "/start")}
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            response = await client.post(
                f"http://127.0.0.1:{port}/telegram", json=update, headers={SECRET_HEADER: SECRET}
            )
        assert response.status_code == 200
        assert api.sent("sendMessage", chat_id=USER.id), "the /start reply went out before the answer"
        report = (await _get(settings.health_port, "/healthz")).json()  # type: ignore[arg-type, union-attr]
        assert report["status"] == "ok" and report["role"] == "leader" and report["updates_handled"] == 1
        for path in ("/healthz", "/metrics"):
            public = await _get(port, path)
            assert public is not None and public.status_code == 404, f"{path} is not on the public port"
            assert b"dutybot" not in public.content

    await _run(app, settings, webhook=True, port=settings.health_port, body=body)  # type: ignore[arg-type]
    assert not app.running and not app.bot_data.leadership.is_leader


async def test_polling_with_a_health_port(database_url: str) -> None:
    settings = _settings(database_url, health_port=_free_port())
    api = MemoryBotAPI()
    app = build_application(Services(settings), request=api, rate_limiter=None)

    async def body() -> None:
        assert not api.sent("setWebhook")
        api.updates.put_nowait({"update_id": 5, "message": message_dict(USER, "/start")})  # type: ignore[union-attr]
        await _until(lambda: api.sent("sendMessage", chat_id=USER.id))
        metrics = (await _get(settings.health_port, "/metrics")).text  # type: ignore[arg-type, union-attr]
        assert 'dutybot_updates_handled_total{kind="message"} 1.0' in metrics
        no_webhook = await _get(settings.health_port, "/telegram")  # type: ignore[arg-type]
        assert no_webhook is not None and no_webhook.status_code == 404, "polling serves no webhook"

    await _run(app, settings, webhook=False, port=settings.health_port, body=body)  # type: ignore[arg-type]
    assert not app.running


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"webhook_url": None}, "WEBHOOK_URL"),
        ({"webhook_secret": None}, "WEBHOOK_SECRET is required"),
        ({"webhook_secret": "has spaces in it"}, "A-Z"),
        ({"health_port": 8443, "webhook_port": 8443}, "HEALTH_PORT must differ from WEBHOOK_PORT"),
        ({"health_port": 9090, "webhook_port": 8443}, None),
        ({}, None),
    ],
)
def test_webhook_settings_are_checked_before_start(overrides: dict[str, Any], problem: str | None) -> None:
    found = check_webhook_settings(_settings("sqlite+aiosqlite:///x.sqlite3", **overrides))
    assert (found is None) if problem is None else (problem in (found or ""))


async def test_one_chat_in_order_different_chats_at_once() -> None:
    turns = ChatTurns(limit=4)
    events: list[str] = []
    release = asyncio.Event()

    async def work(chat: int, name: str) -> None:
        async with turns.turn(chat):
            events.append(f"start {name}")
            if name == "a1":
                await release.wait()
            events.append(f"end {name}")

    tasks = [
        asyncio.create_task(work(1, "a1")),
        asyncio.create_task(work(1, "a2")),
        asyncio.create_task(work(2, "b1")),
    ]
    for _ in range(5):
        await asyncio.sleep(0)
    assert events == ["start a1", "start b1", "end b1"], "a2 waits for a1; chat 2 does not"
    release.set()
    await asyncio.gather(*tasks)
    assert events[3:] == ["end a1", "start a2", "end a2"]
    assert turns._chats == {}, "no lock is kept for a chat that went quiet"


async def test_a_stop_lets_the_updates_in_flight_finish_with_their_replies(database_url: str) -> None:
    """SIGTERM (the stop event) while an update is being processed: the server stops accepting,
    the update is finished and answered 200 with its reply sent, then the bot exits."""
    from telegram import Update
    from telegram.ext import TypeHandler

    settings = _settings(database_url)
    api = MemoryBotAPI()
    app = build_application(Services(settings), request=api, rate_limiter=None)
    started = asyncio.Event()

    async def slow(update: Update, context: Any) -> None:
        started.set()
        await asyncio.sleep(1.0)  # a slow database, say

    app.add_handler(TypeHandler(Update, slow), group=-50)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, settings, webhook=True, stop=stop))
    port = settings.webhook_port
    await _until(lambda: api.sent("setWebhook"))
    update = {"update_id": 9, "message": message_dict(USER, "/help")}
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        posted = asyncio.create_task(
            client.post(f"http://127.0.0.1:{port}/telegram", json=update, headers={SECRET_HEADER: SECRET})
        )
        await asyncio.wait_for(started.wait(), timeout=10)
        stop.set()
        response = await posted
    assert response.status_code == 200
    assert api.sent("sendMessage", chat_id=USER.id), "the reply went out before the bot stopped"
    await asyncio.wait_for(task, timeout=30)
    assert not app.running


async def test_a_stop_during_a_nudge_run_stops_claiming_and_loses_no_outcome(database_url: str) -> None:
    """SIGTERM in the middle of a run: no new send is claimed, every send made has its outcome
    recorded (none left 'claimed', i.e. unknown), the rest stays pending for the next leader."""
    import datetime as dt

    from sqlalchemy import select

    from bot.outbox import Pacer
    from bot.recurrence import parse_rule
    from storage import orgs
    from storage import schedules as repo
    from storage.models import Delivery, Member, Target

    settings = _settings(database_url)
    api = MemoryBotAPI()
    services = Services(settings)
    app = build_application(services, request=api, rate_limiter=None)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, settings, webhook=False, stop=stop))
    await _until(lambda: services.scheduler is not None and services.leadership.is_leader)
    assert services.scheduler is not None
    async with services.session() as session:
        branch = await orgs.create_org(session=session, name="第一支部")
        session.add_all(Member(telegram_id=50_000 + i, name=f"党员{i}", org_id=branch.id) for i in range(300))  # type: ignore[arg-type]
        session.add(
            Target(name="理论学习", category="study", count=1, period="week", role="cadre", scope="member")
        )
        rule = parse_rule("每周五10:00")
        schedule = await repo.add_schedule(
            session=session,
            rule_text=rule.label,
            cron=rule.cron,
            special=rule.special,
            timezone="Asia/Shanghai",
            kind="nudge",
            holiday_policy="previous",
            created_at=services.clock.now().astimezone(dt.UTC) - dt.timedelta(days=30),
        )
    box = services.scheduler.outbox
    box.pacer = Pacer(200, per_chat=0)  # about 200 sends a second: the run takes ~1.5 s
    sent: list[int] = []

    def count(call: Any) -> None:
        if call.method == "sendMessage" and call.chat_id >= 50_000:
            sent.append(call.chat_id)
            if len(sent) == 50:
                stop.set()  # SIGTERM

    api.listeners.append(count)
    fire = services.clock.now().replace(second=0, microsecond=0)
    report = await box.run(schedule.id, fire)  # type: ignore[arg-type]
    await asyncio.wait_for(task, timeout=30)
    # "running": the leader's sweep of unfinished runs found the run first and delivered it (the
    # stop waited for that delivery to stop too); either way it stopped mid-way.
    assert report is not None and report.status in ("stopped", "running")
    try:
        async with services.session() as session:
            rows = list((await session.execute(select(Delivery))).scalars())
    finally:
        await services.engine.dispose()  # the bot closed its engine on stop; this read opened it again
    statuses = [d.status for d in rows]
    assert "claimed" not in statuses, "every send made has its outcome"
    assert statuses.count("sent") == len(sent) == len(set(sent)) < 300
    assert statuses.count("pending") == 300 - len(sent), "the rest waits for the next leader"


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes `sock` within `seconds` (reading whatever it sends first)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


def _trickle(sock: socket.socket, data: bytes, seconds: float) -> bool:
    """Send `data` a byte every 0.1 s for up to `seconds`: whether the server hung up meanwhile."""
    started = time.monotonic()
    sock.settimeout(0.1)
    for byte in itertools.cycle(data):
        if time.monotonic() - started > seconds:
            return False
        try:
            sock.sendall(bytes([byte]))
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionError):
            return True
    return False


def _slow_clients(ports: list[int]) -> None:
    """A client that sends nothing, one that sends its headers a byte at a time (slowloris), one
    that leaves a keep-alive connection idle and one that never finishes its body: all closed."""
    for port in ports:
        with socket.create_connection(("127.0.0.1", port)) as silent:
            assert _closed_within(silent, 5), f"port {port}: a client that sends nothing is closed"
        with socket.create_connection(("127.0.0.1", port)) as loris:
            header = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: "
            assert _trickle(loris, header + b"b" * 400, 6), f"port {port}: a slowloris is closed"
        with socket.create_connection(("127.0.0.1", port)) as idle:
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            idle.settimeout(5)
            assert idle.recv(65536).startswith(b"HTTP/1.1 "), "a whole request is answered"
            assert _closed_within(idle, 5), f"port {port}: an idle keep-alive connection is closed"
        with socket.create_connection(("127.0.0.1", port)) as body:
            body.sendall(
                b"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n"
                b"Content-Type: application/json\r\n\r\n{"
            )
            assert _closed_within(body, 5), f"port {port}: a body that never ends is closed"


async def test_slow_and_idle_clients_are_disconnected(database_url: str) -> None:
    settings = _settings(database_url, health_port=_free_port(), http_timeout_seconds=1.0)
    api = MemoryBotAPI()
    app = build_application(Services(settings), request=api, rate_limiter=None)

    async def body() -> None:
        await asyncio.to_thread(_slow_clients, [settings.webhook_port, settings.health_port])  # type: ignore[list-item]
        report = await _get(settings.health_port, "/healthz")  # type: ignore[arg-type]
        assert report is not None and report.status_code == 200, "ordinary clients are still served"

    await _run(app, settings, webhook=True, port=settings.health_port, body=body)  # type: ignore[arg-type]
