"""A bot replica for the hand-over test: `python handover_proc.py URL NAME OUT_FILE`.

The real Application and services (scheduler, outbox, elected leadership with
LEADER_CHECK_SECONDS=0.5) over an in-memory Bot API, on a PostgreSQL database. Every sendMessage
appends the chat id to OUT_FILE at once. Leadership changes are flushed stdout lines:
`leader NAME GENERATION` (after the scheduler began its term) and `follower NAME`. Stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(url: str, name: str, out: TextIO) -> None:
    from bot.config import Settings
    from bot.services import Services
    from handlers.app import build_application, start_services, stop_services
    from handlers.memory_api import ApiCall, MemoryBotAPI

    settings = Settings(
        _env_file=None,
        database_url=url,
        timezone="Asia/Shanghai",
        leader_check_seconds=0.5,
        send_rate_per_second=300,
        nudge_weekly_cap=1000,
        backup_keep=0,
    )
    services = Services(settings)
    api = MemoryBotAPI()

    def on_call(call: ApiCall) -> None:
        if call.method == "sendMessage":
            out.write(f"{call.chat_id}\n")
            out.flush()

    api.listeners.append(on_call)
    app = build_application(services, request=api, rate_limiter=None)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def gained() -> None:
        assert services.scheduler is not None
        say(f"leader {name} {services.scheduler.outbox.generation}")

    async def lost() -> None:
        say(f"follower {name}")

    async with app:
        await services.open(migrate=False)
        # Subscribed after the scheduler (start_services), so `gained` runs once its term began.
        original_start = services.leadership.start

        async def start_and_report() -> None:
            services.leadership.on_change(gained, lost)
            await original_start()

        services.leadership.start = start_and_report  # type: ignore[method-assign]
        await start_services(app, migrate=False)
        await app.start()
        await stop.wait()
        assert services.scheduler is not None
        services.scheduler.stop_sending()
        await app.stop()
        await stop_services(app)


if __name__ == "__main__":
    with open(sys.argv[3], "a", encoding="utf-8") as out_file:
        asyncio.run(main(sys.argv[1], sys.argv[2], out_file))
