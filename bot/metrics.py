"""Prometheus metrics, on a registry of their own per application (so tests never share counters).

Other code counts with one line, e.g. `services.metrics.records_stored.inc()`; `/metrics`
serves `services.metrics.exposition()`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from bot.version import version

# Bot API round trips: a few ms on loopback, up to seconds over a slow network.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates_handled = Counter(
            "dutybot_updates_handled", "Telegram updates handled, by kind", ["kind"], registry=r
        )
        self.records_stored = Counter("dutybot_records_stored", "Duty records stored", registry=r)
        self.parse_failures = Counter(
            "dutybot_parse_failures", "Messages in which no duty activity was recognised", registry=r
        )
        self.nudges_sent = Counter("dutybot_nudges_sent", "Nudges and digests delivered", registry=r)
        self.nudges_failed = Counter(
            "dutybot_nudges_failed", "Nudges and digests that could not be delivered", ["reason"], registry=r
        )
        self.send_latency = Histogram(
            "dutybot_send_latency_seconds",
            "Latency of Bot API calls, by method",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.is_leader = Gauge("dutybot_leader", "1 when this process runs the scheduler", registry=r)
        self.last_update = Gauge(
            "dutybot_last_update_timestamp_seconds", "Unix time of the last update handled", registry=r
        )
        self.last_update_at: dt.datetime | None = None
        self.build_info = Gauge(
            "dutybot_build_info", "The running version (always 1)", ["version"], registry=r
        )
        self.build_info.labels(version()).set(1)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        if GC_COLLECTOR is not None:
            GCCollector(registry=r)
        self.bot_api_errors = Counter(
            "dutybot_bot_api_errors",
            "Bot API calls that failed, by method and reason",
            ["method", "reason"],
            registry=r,
        )
        # The Bot API's health: when a call last succeeded, and how many failed in a row since.
        self.bot_api_last_ok_at: dt.datetime | None = None
        self.bot_api_failures = 0

    def update_handled(self, kind: str, when: dt.datetime) -> None:
        self.updates_handled.labels(kind).inc()
        self.last_update_at = when
        self.last_update.set(when.timestamp())

    def bot_api_call(self, method: str, reason: str | None, when: dt.datetime) -> None:
        """One Bot API call: `reason` None when it succeeded, else why not (an HTTP status, timeout…).
        Refusals of one message (400, 403) say nothing about the API being down."""
        if reason is None or reason in {"400", "403"}:
            self.bot_api_last_ok_at = when
            self.bot_api_failures = 0
        else:
            self.bot_api_failures += 1
        if reason is not None:
            self.bot_api_errors.labels(method, reason).inc()

    def check_in(self, records: Sequence[object], result: Any) -> None:
        """A new message went through the parser: count its records, or a failure to read it."""
        self.records_stored.inc(len(records))
        if not records and not (result is not None and (result.plans or result.cancelled)):
            self.parse_failures.inc()

    def deliveries(self, statuses: Iterable[str]) -> None:
        """Outcomes of nudges and digests: `sent`, or the reason they were not (forbidden, …)."""
        for status in statuses:
            if status == "sent":
                self.nudges_sent.inc()
            else:
                self.nudges_failed.labels(status).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The text format Prometheus scrapes, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when never counted): for health output and tests."""
        return self.registry.get_sample_value(name, labels) or 0.0
