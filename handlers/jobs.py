"""The Telegram adapter's implementation of bot.ports.Jobs: PTB's JobQueue (APScheduler 3)."""

from __future__ import annotations

import datetime as dt

from apscheduler.triggers.base import BaseTrigger
from telegram.ext import JobQueue

from bot.ports import Job
from handlers.context import Ctx


async def _run(context: Ctx) -> None:
    job = context.job
    assert job is not None and callable(job.data)
    await job.data()


class JobQueueJobs:
    """Jobs on PTB's JobQueue, so their errors reach the application's error handler."""

    def __init__(self, job_queue: JobQueue[Ctx]) -> None:
        self.job_queue = job_queue

    def add(self, name: str, job: Job, trigger: BaseTrigger, *, misfire_grace_seconds: int = 1) -> None:
        self.job_queue.run_custom(
            _run,
            job_kwargs={
                "trigger": trigger,
                "id": name,
                "replace_existing": True,
                "misfire_grace_time": misfire_grace_seconds,
                "coalesce": True,
            },
            data=job,
            name=name,
        )

    def once(self, name: str, job: Job, when: dt.datetime) -> None:
        self.job_queue.run_once(_run, when=when, data=job, name=name)

    def remove(self, prefix: str) -> None:
        for job in self.job_queue.jobs():
            if (job.name or "").startswith(prefix):
                job.schedule_removal()
