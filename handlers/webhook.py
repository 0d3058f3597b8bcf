"""The HTTP face of the bot: the Telegram webhook, `/healthz` and `/metrics` on tornado.

PTB's own webhook server answers Telegram before the update is processed. Here an update is
processed fully (handlers ran, records stored) before the answer: 200 when done, 503 when a
transient failure (the database unreachable) means Telegram should deliver it again. Delivery is
thus at least once; the record's uniqueness on (chat, message) makes a redelivery harmless.

Tornado is what PTB's `webhooks` extra brings; this module only adds the request handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
import json
import logging
import re
import signal
import socket
import time
import weakref
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram import Update
from telegram.ext import Application, TypeHandler
from telegram.request import BaseRequest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.config import Settings
from bot.health import health_report, is_transient
from bot.services import Services
from bot.startup import EX_CONFIG, EX_UNAVAILABLE, StartupError
from bot.version import version
from handlers.polling import Poller

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

_failures: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar(
    "dutybot_update_failures", default=None
)


# --- instrumentation (every mode) -------------------------------------------------------------


def update_kind(update: Update) -> str:
    for kind in ("message", "edited_message", "callback_query", "my_chat_member", "chat_member"):
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


async def _count_update(update: Update, context: Any) -> None:
    services = context.bot_data
    services.metrics.update_handled(update_kind(update), services.clock.now())


def redelivered_on_outage() -> bool:
    """Whether the update being processed came through the webhook, which answers a passing
    outage with 503 so that Telegram delivers it again (the user need not resend it)."""
    return _failures.get() is not None


async def _note_failure(update: object, context: Any) -> None:
    """Error handler: remember the failure for the webhook request processing this update."""
    failures = _failures.get()
    if failures is not None and context.error is not None:
        failures.append(context.error)


_TIMED: weakref.WeakSet[BaseRequest] = weakref.WeakSet()  # transports wrapped already


def _time_requests(request: BaseRequest, services: Services) -> None:
    """Observe every Bot API call's latency and outcome (the transport is PTB's HTTPXRequest or a
    test double): the figures behind /metrics and the Bot API part of /healthz."""
    if request in _TIMED:
        return
    _TIMED.add(request)
    inner = request.do_request
    metrics = services.metrics

    async def do_request(url: str, method: str, request_data: Any = None, **kwargs: Any) -> Any:
        api_method = url.rsplit("/", 1)[-1] or "unknown"
        started = time.perf_counter()
        reason: str | None = "error"
        try:
            status, body = await inner(url, method, request_data, **kwargs)
            reason = None if status < 400 else str(status)
            return status, body
        except Exception as error:
            reason = "timeout" if "Timeout" in type(error).__name__ else "network"
            raise
        finally:
            metrics.bot_api_call(api_method, reason, services.clock.now())
            if api_method != "getUpdates":
                metrics.send_latency.labels(api_method).observe(time.perf_counter() - started)

    request.do_request = do_request  # type: ignore[method-assign,assignment]  # wrapping the transport in place, its keyword defaults kept


def instrument(app: Application) -> None:
    """Count updates (first handler group, so guards cannot hide them) and time Bot API calls."""
    app.add_handler(TypeHandler(Update, _count_update), group=-100)
    app.add_error_handler(_note_failure)
    _time_requests(app.bot.request, app.bot_data)


# --- HTTP handlers ---------------------------------------------------------------------------


class ChatTurns:
    """Updates of one chat are processed one after another, in arrival order; different chats
    concurrently, at most `limit` at once (so a card's button never races its own check-in)."""

    def __init__(self, limit: int) -> None:
        self.in_flight = 0  # updates being processed now (a graceful stop waits for them)
        self.idle = asyncio.Event()
        self.idle.set()
        self._slots = asyncio.Semaphore(max(1, limit))
        self._chats: dict[int | None, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int | None) -> AsyncIterator[None]:
        lock, waiting = self._chats.get(chat_id, (asyncio.Lock(), 0))
        self._chats[chat_id] = (lock, waiting + 1)
        try:
            async with lock, self._slots:
                yield
        finally:
            lock, waiting = self._chats[chat_id]
            if waiting == 1:
                del self._chats[chat_id]
            else:
                self._chats[chat_id] = (lock, waiting - 1)


def _chat_key(update: Update) -> int | None:
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


class _Base(tornado.web.RequestHandler):
    def initialize(self, app: Application, secret: str | None = None, turns: ChatTurns | None = None) -> None:
        self.app = app
        self.secret = secret
        self.turns = turns or ChatTurns(1)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


class TelegramWebhook(_Base):
    SUPPORTED_METHODS = ("POST",)

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if self.secret is not None and not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning(
                "webhook request refused: wrong secret token", extra={"remote": self.request.remote_ip}
            )
            self._json(HTTPStatus.FORBIDDEN, {"ok": False})
            return
        try:
            update = Update.de_json(json.loads(self.request.body), self.app.bot)
        except Exception as error:
            log.warning("webhook request refused: not an update", extra={"error": type(error).__name__})
            self._json(HTTPStatus.BAD_REQUEST, {"ok": False})
            return
        started = time.perf_counter()
        failures: list[BaseException] = []
        token = _failures.set(failures)
        self.turns.in_flight += 1
        self.turns.idle.clear()
        try:
            async with self.turns.turn(_chat_key(update)):
                await self.app.process_update(update)
        finally:
            self.turns.in_flight -= 1
            if not self.turns.in_flight:
                self.turns.idle.set()
            _failures.reset(token)
        # After a transient failure (answered 503) Telegram delivers the update again.
        transient = [e for e in failures if is_transient(e)]
        status = HTTPStatus.SERVICE_UNAVAILABLE if transient else HTTPStatus.OK
        log.info(
            "update handled",
            extra={
                "update_id": update.update_id,
                "kind": update_kind(update),
                "status": int(status),
                "errors": len(failures),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        if transient:
            self.set_header("Retry-After", "5")
        self._json(status, {"ok": not transient})


class Healthz(_Base):
    SUPPORTED_METHODS = ("GET",)

    async def get(self) -> None:
        healthy, report = await health_report(self.app.bot_data)
        self._json(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE, report)


class MetricsPage(_Base):
    SUPPORTED_METHODS = ("GET",)

    async def get(self) -> None:
        metrics = self.app.bot_data.metrics
        metrics.is_leader.set(1 if self.app.bot_data.leadership.is_leader else 0)
        body, content_type = metrics.exposition()
        self.set_header("Content-Type", content_type)
        self.finish(body)


class _Quiet(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """Requests are logged by the handlers, without bodies."""


class HttpServer:
    """Serves either the webhook (when `webhook_path` is given) or `/healthz` and `/metrics`.

    The webhook port is public; the figures and the health report go only to HEALTH_PORT. A client
    must send a request's headers within `timeout` seconds of connecting or of the previous answer
    (so an idle keep-alive connection, one that sends nothing, or one that sends its headers a
    byte at a time is closed) and its body within `timeout` too.

    `await start(listen, port)` binds (port 0: an ephemeral port, for tests) and returns the port.
    """

    def __init__(
        self,
        app: Application,
        *,
        webhook_path: str | None = None,
        secret: str | None = None,
        max_concurrent: int = 16,
        timeout: float = 15.0,
    ) -> None:
        self.turns = ChatTurns(max_concurrent)
        routes: list[Any]
        if webhook_path is None:
            routes = [(r"/healthz", Healthz, {"app": app}), (r"/metrics", MetricsPage, {"app": app})]
        else:
            path = "/" + webhook_path.strip("/")
            turns = self.turns
            routes = [
                (rf"{re.escape(path)}/?", TelegramWebhook, {"app": app, "secret": secret, "turns": turns})
            ]
        self._server = HTTPServer(
            _Quiet(routes),
            max_body_size=2 * 1024 * 1024,
            idle_connection_timeout=timeout,  # tornado's header timeout: idle time + reading headers
            body_timeout=timeout,
        )
        self.port: int | None = None

    async def start(self, listen: str, port: int, *, setting: str = "WEBHOOK_PORT") -> int:
        try:
            sockets = bind_sockets(
                port, address=listen, family=socket.AF_INET if "." in listen else socket.AF_UNSPEC
            )
        except OSError as error:
            raise StartupError(
                EX_UNAVAILABLE,
                f"cannot listen on {listen}:{port} ({error.strerror or type(error).__name__})",
                setting=setting,
                fix="choose a free port or stop what is listening there",
            ) from None
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        return self.port

    async def stop(self, *, grace: float = 25.0) -> None:
        """Stop accepting, let the updates in flight finish (their replies sent), then close."""
        self._server.stop()
        try:
            await asyncio.wait_for(self.turns.idle.wait(), timeout=grace)
        except TimeoutError:
            log.warning("stopping with updates still in flight", extra={"in_flight": self.turns.in_flight})
        await self._server.close_all_connections()


# --- running -----------------------------------------------------------------------------------


def check_webhook_settings(settings: Settings) -> str | None:
    """What is missing or wrong for webhook mode, or None."""
    if not settings.webhook_url:
        return "WEBHOOK_URL is required in webhook mode"
    if settings.webhook_secret is None:
        return "WEBHOOK_SECRET is required in webhook mode"
    if not SECRET_PATTERN.match(settings.webhook_secret.get_secret_value()):
        return "WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
    if settings.health_port is not None and settings.health_port == settings.webhook_port:
        # The webhook port is public: /healthz and /metrics are never served there.
        return "HEALTH_PORT must differ from WEBHOOK_PORT (the public webhook port serves no /metrics)"
    return None


async def serve(
    app: Application, settings: Settings, *, webhook: bool, stop: asyncio.Event | None = None
) -> None:
    """Run the application until `stop` is set (or SIGINT/SIGTERM): webhook or long polling,
    with `/healthz` and `/metrics` served on HEALTH_PORT (never on the public webhook port)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            signals.append(sig)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    servers: list[HttpServer] = []
    try:
        async with app:
            if app.post_init:
                await app.post_init(app)
            if webhook:
                server = HttpServer(
                    app,
                    webhook_path=settings.webhook_path,
                    secret=secret,
                    max_concurrent=settings.webhook_max_concurrent,
                    timeout=settings.http_timeout_seconds,
                )
                await server.start(settings.webhook_listen, settings.webhook_port)
                servers.append(server)
            if settings.health_port is not None:
                health = HttpServer(app, timeout=settings.http_timeout_seconds)
                await health.start(settings.webhook_listen, settings.health_port, setting="HEALTH_PORT")
                servers.append(health)
            if webhook:
                await app.bot.set_webhook(
                    url=str(settings.webhook_url), secret_token=secret, allowed_updates=Update.ALL_TYPES
                )
            await app.start()
            poller = None if webhook else Poller(app)
            if poller is not None:
                await poller.start()
            log.info(
                "bot running",
                extra={
                    "version": version(),
                    "mode": "webhook" if webhook else "polling",
                    "ports": [s.port for s in servers],
                },
            )
            await stop.wait()
            log.info("stopping")
            if app.bot_data.scheduler is not None:
                app.bot_data.scheduler.stop_sending()  # before anything else: no new claims
            if poller is not None:
                await poller.stop()  # the update in hand is finished; only processed ones confirmed
            for server in servers:
                await server.stop()
            await app.stop()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if app.post_shutdown:
            await app.post_shutdown(app)


def run_webhook(app: Application, settings: Settings) -> int:
    """`dutybot run --webhook`: receive updates through Telegram's webhook until stopped."""
    problem = check_webhook_settings(settings)
    if problem:
        setting = problem.split()[0]
        raise StartupError(EX_CONFIG, f"webhook mode: {problem}", setting=setting)
    asyncio.run(serve(app, settings, webhook=True))
    return 0


def run_polling(app: Application, settings: Settings) -> int:
    """Long polling (with `/healthz` and `/metrics` on HEALTH_PORT when it is set)."""
    asyncio.run(serve(app, settings, webhook=False))
    return 0
