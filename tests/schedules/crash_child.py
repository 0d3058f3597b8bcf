"""Run one fire time of a schedule through the outbox, as its own process (the crash test's child).

Every sendMessage that reaches the in-memory Bot API appends the chat id to OUT_FILE at once, so
what "Telegram" received survives a SIGKILL. With KILL_AFTER > 0 the process SIGKILLs itself right
after that many messages arrived (between the send and the recording of its outcome).

usage: crash_child.py DATABASE_URL SCHEDULE_ID FIRE_ISO OUT_FILE KILL_AFTER RATE
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


async def main(argv: list[str], out: TextIO) -> int:
    from telegram import Bot

    from bot.clock import FakeClock
    from bot.config import Settings
    from bot.outbox import Outbox, Pacer
    from bot.services import Services
    from handlers.memory_api import ApiCall, MemoryBotAPI
    from handlers.notifier import TelegramNotifier

    url, schedule_id, fire_iso, _out_path, kill_after, rate = argv
    fire = dt.datetime.fromisoformat(fire_iso)
    settings = Settings(_env_file=None, database_url=url, timezone="Asia/Shanghai")
    services = Services(settings, FakeClock(fire + dt.timedelta(minutes=5)))
    await services.open(migrate=False)

    received = 0

    def on_call(call: ApiCall) -> None:
        nonlocal received
        if call.method != "sendMessage":
            return
        out.write(f"{call.chat_id}\n")
        out.flush()
        received += 1
        if int(kill_after) and received >= int(kill_after):
            os.kill(os.getpid(), signal.SIGKILL)

    api = MemoryBotAPI()
    api.listeners.append(on_call)
    bot = Bot("123:TEST", request=api, get_updates_request=MemoryBotAPI())
    await bot.initialize()
    box = Outbox(services, TelegramNotifier(bot), pacer=Pacer(float(rate), per_chat=0))
    report = await box.run(int(schedule_id), fire)
    print(report.counts if report else None, flush=True)
    await bot.shutdown()
    await services.close()
    return 0


if __name__ == "__main__":
    with open(sys.argv[4], "a", encoding="utf-8") as out_file:
        sys.exit(asyncio.run(main(sys.argv[1:], out_file)))
