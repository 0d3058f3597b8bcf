"""The check-in service without any messenger: plain values in, frozen values out."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.checkins import NOT_YOURS, Author, Change, Incoming, Nothing, Photo
from bot.clock import FakeClock
from bot.config import Settings
from bot.errors import NOT_BOUND, Refused
from bot.services import Services
from storage import orgs

CADRE = Author(101, "张三")
OTHER = Author(102, "李四")
STRANGER = Author(999, "路人")
GROUP = -100123


@pytest.fixture
async def services(settings: Settings, clock: FakeClock) -> AsyncIterator[Services]:
    services = Services(settings, clock)
    await services.open(migrate=False)
    async with services.session() as session:
        org = await orgs.create_org(session=session, name="第一支部")
        for author in (CADRE, OTHER):
            await orgs.create_member(session=session, telegram_id=author.id, name=author.full_name, org=org)
    try:
        yield services
    finally:
        await services.close()


def _written(
    author: Author, message_id: int, text: str, *, chat_id: int | None = None, sent: dt.datetime | None = None
) -> Incoming:
    if chat_id is None:
        return Incoming(author, author.id, message_id, text, sent, private=True)
    return Incoming(author, chat_id, message_id, text, sent, private=False)


async def test_a_check_in_is_stored_once_and_its_card_asked_for_until_it_is_sent(services: Services) -> None:
    checkins = services.checkins
    written = _written(CADRE, 1, "今天组织主题党日，参加18人；明天召开支委会")
    outcome = await checkins.check_in(written)
    assert outcome.card is not None and not outcome.redelivered
    assert [r.participants for r in outcome.card.records] == [18]
    assert (outcome.plans, outcome.day) == (1, dt.date(2026, 11, 27))

    again = await checkins.check_in(written)  # redelivered before its card was sent
    assert again.redelivered and again.reply_needed and again.card is not None
    assert [r.id for r in again.card.records] == [r.id for r in outcome.card.records]

    checkins.card_sent(outcome.card.records, CADRE.id, 500)
    await checkins.flush_cards()
    assert checkins.pending_cards == []
    late = await checkins.check_in(written)
    assert late.redelivered and not late.reply_needed and late.card is None


async def test_strangers_and_unbound_groups_are_refused(services: Services) -> None:
    with pytest.raises(Refused) as refused:
        await services.checkins.check_in(_written(STRANGER, 2, "今天组织主题党日"))
    assert refused.value.text == NOT_BOUND
    with pytest.raises(Refused):
        await services.checkins.check_in(_written(CADRE, 3, "今天组织主题党日", chat_id=GROUP))


async def test_an_unreadable_message_is_remembered_and_filed_once(services: Services) -> None:
    checkins = services.checkins
    outcome = await checkins.check_in(_written(CADRE, 4, "今天忙了一整天"))
    assert (outcome.card, outcome.nothing) == (None, Nothing.UNREADABLE)
    assert (await checkins.check_in(_written(CADRE, 5, "🙂"))).nothing is Nothing.NO_TEXT

    async def file() -> list[int | None]:
        card = await checkins.file_as(
            author=CADRE,
            chat_id=CADRE.id,
            message_id=4,
            quoted=None,
            category="research",
            date=outcome.day,
            card_message_id=40,
        )
        assert [(r.category, r.source_text) for r in card.records] == [("research", "今天忙了一整天")]
        return [r.id for r in card.records]

    assert await file() == await file(), "a second tap files nothing twice"


async def test_buttons_change_only_ones_own_records(services: Services) -> None:
    checkins = services.checkins
    outcome = await checkins.check_in(_written(CADRE, 6, "今天组织主题党日，参加18人"))
    assert outcome.card is not None
    [record] = outcome.card.records
    assert record.id is not None
    with pytest.raises(Refused) as refused:
        await checkins.act(author=OTHER, action="undo", record_id=record.id)
    assert (refused.value.text, refused.value.alert) == (NOT_YOURS, True)

    undone = await checkins.act(author=CADRE, action="undo", record_id=record.id)
    assert undone.change is Change.DELETED and undone.card.alive == []
    restored = await checkins.act(author=CADRE, action="rst", record_id=record.id)
    assert restored.change is Change.RESTORED and len(restored.card.alive) == 1
    moved = await checkins.act(author=CADRE, action="setd", record_id=record.id, arg="20261125")
    assert moved.change is Change.DATE and moved.record.date == dt.date(2026, 11, 25)
    with pytest.raises(Refused):
        await checkins.act(author=CADRE, action="setd", record_id=record.id, arg="20261231")


async def test_a_photo_in_the_album_of_a_check_in_becomes_its_evidence(services: Services) -> None:
    checkins = services.checkins
    first = Photo("F1", "U1")
    outcome = await checkins.check_in(
        _written(CADRE, 7, "今天组织主题党日，参加18人"), photo=first, album="A"
    )
    assert outcome.card is not None and list(outcome.card.photos.values()) == [1]
    attached = await checkins.attach_photo(
        author=CADRE, chat_id=CADRE.id, private=True, photo=Photo("F2", "U2"), album="A"
    )
    assert list(attached.card.photos.values()) == [2] and not attached.by_card
    with pytest.raises(Refused):  # a photo that belongs to nothing
        await checkins.attach_photo(author=CADRE, chat_id=CADRE.id, private=True, photo=Photo("F3", "U3"))
