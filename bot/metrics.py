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
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

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

    def update_handled(self, kind: str, when: dt.datetime) -> None:
        self.updates_handled.labels(kind).inc()
        self.last_update_at = when
        self.last_update.set(when.timestamp())

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
