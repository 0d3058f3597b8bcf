"""Check-in ingestion: a message becomes duty records; photos become evidence; cards change them.

`CheckIns` (one per process, `services.checkins`) takes plain values — who wrote (an `Author`),
the chat and message ids, the text, when it was sent, whether the chat is private — and returns
frozen values the adapter renders. It knows no messenger: card texts, buttons and callback data
belong to the adapter.

Decisions:
- A forwarded message is the forwarder's own report; the adapter passes the original send time.
- In a group bound to an organisation (/bindgroup), check-ins of bound members are recorded;
  anything else there is ignored (a refusal the adapter does not answer in a group).
- Idempotency: a record is keyed by its source (chat, message, activity index). A redelivered
  update violates that key; the records stored before are read instead (`redelivered`), and the
  card is asked for only if the first delivery could not send it. A second tap on a category
  button finds the message filed already.
- Card ids are not written in a transaction of their own: they are remembered (`card_sent`) and
  written in one UPDATE by a later unit of work — by any unit that reads card ids (edits, buttons,
  photos, /undo), by a check-in once CARD_BATCH are waiting, by the adapter's periodic job
  (`flush_cards` every CARD_FLUSH_SECONDS) and at shutdown. So a check-in costs one write
  transaction. A crash can lose the last few: an edit then sends a new card.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import records as service
from bot.errors import NOT_BOUND, Refused
from bot.members import resolve
from bot.parsing import INTENT_NOTICE, INTENT_QUESTION, ParseResult
from bot.ports import Jobs
from bot.records import Source, Totals
from bot.storable import storable
from storage import learning as learning_repo
from storage import orgs
from storage import records as repo
from storage.models import DutyRecord, Member

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

NOT_YOURS = "只有记录本人或管理员可以修改这条记录。"
STALE = "这张卡片已失效。"
NOTHING_TO_UNDO = "没有可以撤销的记录。"
BAD_DATE = "日期不对，请重新选择。"
PHOTO_ALONE = "收到图片。要作为佐证，请回复对应的记录卡片发送图片；或者在图片说明里写上开展的工作。"

CARD_BATCH = 64
CARD_FLUSH_SECONDS = 5.0
ALBUM_MEMORY = 200
UNREAD_MEMORY = 1000

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# (record ids, card chat id, card message id): a card whose id is still to be written.
PendingCard = tuple[list[int], int, int]


@dataclass(frozen=True)
class Author:
    """Who wrote, as any messenger names them (satisfies bot.members.Sender)."""

    id: int
    full_name: str
    username: str | None = None


@dataclass(frozen=True)
class Incoming:
    """A message as written: who, where (a private chat, or the group chat `chat_id`), its text
    (or caption) and when it was sent (the original's time for a forwarded message)."""

    author: Author
    chat_id: int
    message_id: int
    text: str
    sent: dt.datetime | None
    private: bool

    def __post_init__(self) -> None:
        # Whatever arrives, the text is stored: cleaned only where a database could not hold it.
        object.__setattr__(self, "text", storable(self.text))


@dataclass(frozen=True)
class Photo:
    """A photo as the messenger stores it: the id to fetch it, and the id that is the same file."""

    file_id: str
    unique_id: str


@dataclass(frozen=True)
class Card:
    """What one confirmation card shows: every record of one message and its photo counts."""

    records: tuple[DutyRecord, ...]
    photos: Mapping[int, int] = field(default_factory=dict)

    @property
    def alive(self) -> list[DutyRecord]:
        return service.live(self.records)


class Nothing(enum.Enum):
    """Why a message in a private chat made no records."""

    PLAN = "plan"  # it names only plans
    CANCELLED = "cancelled"  # it names only cancelled activities
    NO_TEXT = "no_text"  # no words at all
    QUESTION = "question"  # a question (with or without a question mark): say how to report
    NOTICE = "notice"  # a notice, directive or heading addressed to others
    UNREADABLE = "unreadable"  # words the parser could not read: offer the categories


@dataclass(frozen=True)
class CheckinOutcome:
    """What a new message made. `card` is None when nothing was stored (then `nothing` says why,
    in a private chat); `reply_needed` is False for a redelivery whose card was sent before."""

    card: Card | None
    plans: int
    cancelled: int
    day: dt.date
    reply_needed: bool = True
    redelivered: bool = False
    nothing: Nothing | None = None


@dataclass(frozen=True)
class Attached:
    """A photo attached to the live records of a card or check-in."""

    card: Card
    alive: tuple[DutyRecord, ...]
    by_card: bool  # it replied to the card (not to the check-in or within its album)


class Change(enum.Enum):
    """What a card button changed."""

    DELETED = "deleted"
    RESTORED = "restored"
    CATEGORY = "category"
    DATE = "date"


@dataclass(frozen=True)
class Acted:
    """A card button's (or /undo's) result: the record it names, its card afterwards and what
    changed."""

    record: DutyRecord
    card: Card
    change: Change | None
    # The Telegram id of the secretary who returned the record, when this change revised it.
    revised_for: int | None = None


@dataclass(frozen=True)
class Summary:
    """/my: the member's name and their totals."""

    name: str
    totals: Totals


def _remember(memory: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    """Put into a small LRU memory."""
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > limit:
        memory.popitem(last=False)


def _id(member: Member) -> int:
    assert member.id is not None  # members reach services only once stored
    return member.id


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def parse_day(text: str) -> dt.date | None:
    """YYYYMMDD, as buttons carry dates."""
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


# How far back a button can date a record: the date picker reaches 483 days (60 pages of 8 after
# 前天); a category prompt carries its message's day. A forged date outside is refused.
BUTTON_DAYS_BACK = 500


def button_day_ok(day: dt.date, today: dt.date) -> bool:
    return today - dt.timedelta(days=BUTTON_DAYS_BACK) <= day <= today


class CheckIns:
    """The check-in service, with its small memories: the card ids waiting to be written, the
    albums whose caption made records, and the text of messages answered with category buttons."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.pending_cards: list[PendingCard] = []
        # media_group_id -> the (chat, message) whose caption made records: later photos join them.
        self.albums: OrderedDict[str, tuple[int, int]] = OrderedDict()
        # (chat, message) -> text of messages answered with category buttons, kept as source text.
        self.unread: OrderedDict[tuple[int, int], str] = OrderedDict()

    @property
    def categories(self) -> dict[str, str]:
        return self.services.rules.categories

    # --- units of work and card ids --------------------------------------------------------
    @asynccontextmanager
    async def _unit(self, *, cards: bool = True) -> AsyncIterator[AsyncSession]:
        """One unit of work that starts by writing the pending card ids (with cards=False: only
        when CARD_BATCH are waiting)."""
        pending = self.pending_cards
        taken = pending[:] if cards or len(pending) >= CARD_BATCH else []
        del pending[: len(taken)]
        try:
            async with self.services.session() as session:
                await repo.set_cards(session=session, cards=taken)
                yield session
        except BaseException:
            pending[:0] = taken
            raise

    def card_sent(self, records: Sequence[DutyRecord], chat_id: int, message_id: int) -> None:
        """The adapter sent the card of `records` as (chat_id, message_id): write it later."""
        self.pending_cards.append(([r.id for r in records if r.id], chat_id, message_id))

    def start(self, jobs: Jobs) -> None:
        """Write waiting card ids every CARD_FLUSH_SECONDS."""
        jobs.add("checkin:cards", self.flush_cards, IntervalTrigger(seconds=CARD_FLUSH_SECONDS))

    async def flush_cards(self) -> None:
        """Write the card ids waiting (the periodic job, and at shutdown)."""
        if self.pending_cards:
            async with self._unit():
                pass

    async def _card(self, session: AsyncSession, records: Sequence[DutyRecord]) -> Card:
        photos = await repo.evidence_counts(session=session, record_ids=[r.id for r in records if r.id])
        return Card(tuple(records), photos)

    async def _sender(
        self, session: AsyncSession, author: Author, chat_id: int, private: bool
    ) -> Member | None:
        """The sender's Member when this chat records check-ins for them: private, or a bound group."""
        if not private and await orgs.get_org_by_group_chat(session=session, chat_id=chat_id) is None:
            return None
        return await resolve(session=session, services=self.services, user=author)

    async def _member(self, session: AsyncSession, author: Author, *, alert: bool = False) -> Member:
        member = await resolve(session=session, services=self.services, user=author)
        if member is None:
            raise Refused(NOT_BOUND, alert=alert)
        return member

    def local(self, sent: dt.datetime | None) -> dt.datetime:
        """The local time a check-in was written (now, when the messenger did not say)."""
        clock = self.services.clock
        return (sent or clock.now()).astimezone(clock.tz)

    def parse(self, text: str, when: dt.datetime) -> ParseResult:
        """Parse; a parser failure must not lose the message, so it reads as 'nothing recognised'."""
        try:
            return self.services.parser.parse(text, when)
        except Exception:
            log.exception("parser failed", extra={"length": len(text)})
            return ParseResult(records=(), plans=(), cancelled=())

    # --- new messages ----------------------------------------------------------------------
    async def check_in(
        self, message: Incoming, *, photo: Photo | None = None, album: str | None = None
    ) -> CheckinOutcome:
        """Store the records of a new message (text, or a photo's caption; the photo becomes their
        evidence; `album` is its media group). Raises Refused(NOT_BOUND) when this chat records
        nothing for the sender."""
        when = self.local(message.sent)
        source = Source(message.chat_id, message.message_id, message.text)
        result = self.parse(message.text, when)
        plans, cancelled, day = len(result.plans), len(result.cancelled), when.date()
        try:
            records: list[DutyRecord] = []
            if message.private and result.records and not photo:
                # Hot path: the insert finds the member itself (no read first), in a transaction of
                # its own (on SQLite one trip to the driver). A batch of waiting card ids goes first.
                if len(self.pending_cards) >= CARD_BATCH:
                    await self.flush_cards()
                records = await service.store_for_sender(
                    engine=self.services.engine,
                    telegram_id=message.author.id,
                    source=source,
                    parsed=result.records,
                )
            if not records:
                # Slow path: groups, photos, nothing parsed, and senders who are unbound, bootstrap
                # admins or flagged unreachable (resolve clears the flag).
                unread = not result.records and self._nothing(message, result) is Nothing.UNREADABLE
                records = await self._store_slowly(message, source, result, photo, when if unread else None)
            card = Card(tuple(records), dict.fromkeys((r.id for r in records if r.id), 1) if photo else {})
            self.services.metrics.check_in(records, result)
            redelivered = False
        except IntegrityError:
            # Stored before: a redelivered update. The card only if the first delivery could not.
            async with self._unit() as session:
                records = await service.stored_before(session=session, source=source)
                if not records or records[0].card_message_id is not None:
                    return CheckinOutcome(None, plans, cancelled, day, reply_needed=False, redelivered=True)
                card = await self._card(session, records)
            redelivered = True

        if photo and album and records:
            _remember(self.albums, album, (source.chat_id, source.message_id), ALBUM_MEMORY)
        if records:
            return CheckinOutcome(card, plans, cancelled, day, redelivered=redelivered)
        return CheckinOutcome(None, plans, cancelled, day, nothing=self._why_nothing(message, result))

    async def _store_slowly(
        self,
        message: Incoming,
        source: Source,
        result: ParseResult,
        photo: Photo | None,
        unread_sent: dt.datetime | None = None,
    ) -> list[DutyRecord]:
        """Store after resolving the sender (the chat must record their check-ins), with the photo
        as evidence of every record; an unread message (`unread_sent`: its send time) is kept so
        that new rules can read it again."""
        async with self._unit(cards=False) as session:
            member = await self._sender(session, message.author, message.chat_id, message.private)
            if member is None:
                raise Refused(NOT_BOUND)
            if unread_sent is not None:
                await learning_repo.add_unread(
                    session=session,
                    org_id=member.org_id,
                    member_id=_id(member),
                    chat_id=source.chat_id,
                    message_id=source.message_id,
                    text=source.text,
                    sent_at=unread_sent,
                )
            records = await service.store(
                session=session, member=member, source=source, parsed=result.records
            )
            for record in records if photo else ():
                assert photo is not None and record.id is not None
                await repo.add_evidence(
                    session=session,
                    record_id=record.id,
                    file_id=photo.file_id,
                    file_unique_id=photo.unique_id,
                )
        return records

    def _why_nothing(self, message: Incoming, result: ParseResult) -> Nothing | None:
        """Why a message made no records (only private chats are answered); an unreadable one's
        text is remembered for the category buttons."""
        nothing = self._nothing(message, result)
        if nothing is Nothing.UNREADABLE:
            _remember(self.unread, (message.chat_id, message.message_id), message.text, UNREAD_MEMORY)
        return nothing

    @staticmethod
    def _nothing(message: Incoming, result: ParseResult) -> Nothing | None:
        if not message.private:
            return None  # in a group only check-ins are answered: a pasted notice gets no answer
        if result.intent == INTENT_QUESTION:
            return Nothing.QUESTION
        if result.intent == INTENT_NOTICE:
            return Nothing.NOTICE
        if result.plans:
            return Nothing.PLAN
        if result.cancelled:
            return Nothing.CANCELLED
        if not _has_words(message.text):
            return Nothing.NO_TEXT
        return Nothing.UNREADABLE

    async def apply_edit(self, message: Incoming) -> Card | None:
        """An edited check-in updates its records: their card, or None when nothing changed (or the
        message is not the sender's, or was not and is not a check-in)."""
        source = Source(message.chat_id, message.message_id, message.text)
        async with self._unit() as session:
            member = await self._sender(session, message.author, message.chat_id, message.private)
            if member is None:
                return None
            existing = await repo.records_of_message(
                session=session, chat_id=source.chat_id, message_id=source.message_id
            )
            if existing and not service.may_change(member, existing[0]):
                return None
            result = self.parse(source.text, self.local(message.sent))
            if not existing and not result.records:
                return None  # was not a check-in and still is not
            records, changed = await service.apply_edit(
                session=session, member=member, source=source, parsed=result.records
            )
            if not changed:
                return None
            return await self._card(session, records)

    # --- photos ------------------------------------------------------------------------------
    async def attach_photo(
        self,
        *,
        author: Author,
        chat_id: int,
        private: bool,
        photo: Photo,
        reply_to: int | None = None,
        reply_to_card: bool = False,
        album: str | None = None,
    ) -> Attached:
        """Attach a caption-less photo to the live records it belongs to: those of the card (or the
        check-in) it replies to, or of its album's caption. Raises Refused(PHOTO_ALONE) when it
        belongs to none the sender may change, Refused(NOT_BOUND) for a stranger."""
        if reply_to is not None:
            target = (chat_id, reply_to, reply_to_card)
        elif album and album in self.albums:
            target = (*self.albums[album], False)
        else:
            raise Refused(PHOTO_ALONE)
        async with self._unit() as session:
            member = await self._sender(session, author, chat_id, private)
            if member is None:
                raise Refused(NOT_BOUND)
            target_chat, ref_id, by_card = target
            if by_card:
                records = await repo.records_of_card(
                    session=session, chat_id=target_chat, card_message_id=ref_id
                )
            else:
                records = await repo.records_of_message(
                    session=session, chat_id=target_chat, message_id=ref_id
                )
            alive = service.live(records)
            if not alive or not service.may_change(member, alive[0]):
                raise Refused(PHOTO_ALONE)
            for record in alive:
                assert record.id is not None
                await repo.add_evidence(
                    session=session,
                    record_id=record.id,
                    file_id=photo.file_id,
                    file_unique_id=photo.unique_id,
                )
            card = await self._card(session, records)
        return Attached(card, tuple(alive), by_card)

    # --- card buttons, unreadable messages, /undo, /my --------------------------------------------
    async def act(self, *, author: Author, action: str, record_id: int, arg: str = "") -> Acted:
        """Apply a card button's change in one unit of work: undo (every live record of the card),
        del (one), rst (restore its batch), setc <code>, setd <YYYYMMDD>; any other action only
        reads. Refused when the record is gone, not the sender's, or the date is wrong."""
        categories = self.categories
        today = self.services.clock.now().date()
        change = None
        async with self._unit() as session:
            member = await self._member(session, author, alert=True)
            record = await repo.get_record(session=session, record_id=record_id)
            if record is None:
                raise Refused(STALE)
            if not service.may_change(member, record):
                raise Refused(NOT_YOURS, alert=True)
            records = await service.siblings(session=session, record=record)
            was_returned = record.review_status == "returned"
            if action == "undo":
                await service.delete(session=session, actor=member, records=records)
                change = Change.DELETED
            elif action == "del":
                await service.delete(session=session, actor=member, records=[record])
                change = Change.DELETED
            elif action == "rst":
                await service.restore(session=session, actor=member, record=record)
                change = Change.RESTORED
            elif action == "setc" and arg in categories:
                parsed_as = record.category if record.keyword is not None else None
                if arg != record.category:
                    await self._keep_example(session, member, record, arg, parsed_as, record.created_at)
                await service.set_category(session=session, actor=member, record=record, category=arg)
                change = Change.CATEGORY
            elif action == "setd":
                date = parse_day(arg)
                if date is None or not button_day_ok(date, today):
                    raise Refused(BAD_DATE)
                await service.set_date(session=session, actor=member, record=record, date=date)
                change = Change.DATE
            card = await self._card(session, records)
            reviewer = None
            if was_returned and record.review_status == "revised" and record.reviewed_by:
                reviewer = await session.get(Member, record.reviewed_by)
        return Acted(record, card, change, reviewer.telegram_id if reviewer else None)

    def unread_text(self, chat_id: int, message_id: int, quoted: str | None) -> str:
        """The text of the message a category prompt asked about: remembered, or else the quoted
        original the prompt carries (memory does not survive a restart; the quote does)."""
        remembered = self.unread.pop((chat_id, message_id), None)
        if remembered is not None:
            return remembered
        return quoted or ""

    async def file_as(
        self,
        *,
        author: Author,
        chat_id: int,
        message_id: int,
        quoted: str | None,
        category: str,
        date: dt.date,
        card_message_id: int,
    ) -> Card:
        """File a message the parser could not read under the category picked on its prompt (the
        prompt, `card_message_id`, becomes its card). A second tap finds it filed already."""
        if not button_day_ok(date, self.local(None).date()):
            raise Refused(BAD_DATE, alert=True)
        source = Source(chat_id, message_id, self.unread_text(chat_id, message_id, quoted))
        try:
            async with self._unit() as session:
                member = await self._member(session, author, alert=True)
                records = await service.file_as(
                    session=session, member=member, source=source, category=category, date=date
                )
                kept = await learning_repo.get_unread(session=session, chat_id=chat_id, message_id=message_id)
                sent = kept.sent_at if kept is not None else self.services.clock.now()
                await self._keep_example(session, member, records[0], category, None, sent)
                await repo.set_cards(
                    session=session, cards=[([r.id for r in records if r.id], chat_id, card_message_id)]
                )
            self.services.metrics.records_stored.inc(len(records))
            return Card(tuple(records))
        except IntegrityError:  # a second tap: it is filed already
            async with self._unit() as session:
                return await self._card(session, await service.stored_before(session=session, source=source))

    @staticmethod
    async def _keep_example(
        session: AsyncSession,
        chooser: Member,
        record: DutyRecord,
        category: str,
        parsed_as: str | None,
        sent: dt.datetime,
    ) -> None:
        """A manual categorisation becomes a labelled example (bot.rulebook learns from them)."""
        await learning_repo.keep_example(
            session=session,
            org_id=record.org_id,
            chosen_by=_id(chooser),
            record_id=record.id,
            chat_id=record.chat_id,
            message_id=record.message_id,
            activity_index=record.activity_index,
            text=record.source_text,
            sent_at=sent,
            category=category,
            parsed_as=parsed_as,
        )

    async def undo(self, *, author: Author) -> Acted:
        """Undo the sender's most recently stored record; its card afterwards."""
        async with self._unit() as session:
            member = await self._member(session, author)
            record = await service.undo_last(session=session, member=member)
            if record is None:
                raise Refused(NOTHING_TO_UNDO)
            records = await service.siblings(session=session, record=record)
            card = await self._card(session, records)
        return Acted(record, card, Change.DELETED)

    async def totals(self, *, author: Author) -> Summary:
        """This week's and this month's records by category (/my)."""
        async with self._unit() as session:
            member = await resolve(session=session, services=self.services, user=author)
            if member is not None:
                today = self.services.clock.now().date()
                totals = await service.totals(session=session, member=member, today=today)
        if member is None:
            raise Refused(NOT_BOUND)
        return Summary(member.name, totals)

    async def is_member(self, *, author: Author) -> bool:
        """Whether the sender is bound (other kinds of input: the answer depends on it)."""
        async with self._unit() as session:
            return await resolve(session=session, services=self.services, user=author) is not None
