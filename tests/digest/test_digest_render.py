"""The Telegram side of reports: the digest buttons' codec and a digest sent through the Notifier."""

from __future__ import annotations

import datetime as dt

import pytest
from digest_world import seed_world

from bot.digest import weekly_digest
from bot.periods_parse import period_from_bounds
from handlers.notifier import TelegramNotifier
from handlers.render_digest import digest_buttons, digest_message, parse_digest_button
from storage import orgs


def test_the_buttons_read_back_what_they_wrote() -> None:
    scope = type("S", (), {"root_id": 7})()
    period = period_from_bounds(dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    export, previous, readiness, review = (
        parse_digest_button(data) for _, data in digest_buttons(scope, period)
    )
    assert (export.action, export.org_id, export.period) == ("x", 7, period)
    assert (previous.action, previous.period) == ("p", period)
    assert (readiness.action, readiness.year, readiness.period) == ("r", 2026, None)
    assert (review.action, review.org_id, review.period) == ("v", 7, period)


@pytest.mark.parametrize(
    "data",
    ["digest:r:7:1999", "digest:z:7:2026-11-16:2026-11-22", "digest:x:7:2026-11-22:2026-11-16", "digest:x"],
)
def test_a_button_it_did_not_write_is_refused(data: str) -> None:
    with pytest.raises((ValueError, IndexError)):
        parse_digest_button(data)


async def test_the_notifier_sends_the_rendered_parts_paced_then_the_chart(harness) -> None:
    await seed_world(harness)
    async with harness.session() as session:
        root = await orgs.get_org_by_name(session=session, name="第一党委")
        report = await weekly_digest(session=session, org_id=root.id, now=harness.clock.now())
    paced: list[int] = []

    async def pace() -> None:
        paced.append(len(harness.api.sent("sendMessage", chat_id=42)))

    png = b"\x89PNG fake"
    outcome = await TelegramNotifier(harness.app.bot).send_digest(42, report.digest, png, pace=pace)
    assert outcome.kind == "sent"
    sent = harness.api.sent("sendMessage", chat_id=42)
    message = digest_message(report)
    assert [m.text for m in sent] == message.parts
    assert [b["text"] for b in sent[-1].buttons[0]] == [label for label, _ in message.buttons]
    assert paced == list(range(1, len(message.parts) + 1))  # before each later part, and the chart
    assert len(harness.api.sent("sendPhoto", chat_id=42)) == 1
