"""The running rule set: the rule file plus the phrases admins approved, and where they come from.

Decisions:
- The overlay lives in the database (`RuleChange`, append-only: add a phrase, undo an add) over the
  packaged or RULES_PATH file. Its version is the latest change's id; every replica checks it every
  RELOAD_SECONDS (and the replica that changed it at once) and rebuilds its parser when it moved.
- An overlay goes through the same validation as the file (`RuleFile.with_phrases(...).parse()`);
  a phrase that the file now contradicts (a new RULES_PATH) is left out with a warning, never fatal.
- Suggestions come from the labelled examples (every manual categorisation) by `bot.parsing.learning`,
  run in a child process: jieba.analyse costs about 130 MB, which the bot's process does not keep.
- Re-reading unread messages previews first; the tap applies only if the rules did not change since.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.interval import IntervalTrigger

from bot import records as record_service
from bot.errors import Refused
from bot.members import Sender
from bot.parsing import ParsedRecord, Parser, ParseResult, RulesError, RuleSet
from bot.parsing.rules import RuleFile, read_rules
from bot.ports import Action, Buttons, Jobs, Notifier
from bot.records import Source
from bot.roles import Role
from storage import learning as repo
from storage import orgs as org_repo
from storage.models import DutyRecord, Member, RuleChange, RuleSuggestion, UnreadMessage, utcnow

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

RELOAD_SECONDS = 5.0
LEARN_TIMEOUT = 300.0
SUGGESTION_LIMIT = 10
KNOWN_WEEKS = 52
KNOWN_LIMIT = 20000
REREAD_WEEKS = 4
MAX_REREAD_WEEKS = 52
SHOWN = 3  # records listed under a suggestion (examples, changes)

NO_SUGGESTIONS = "暂时没有新的规则建议。党员为未识别的消息选择类别、或在记录卡片上改类别后，这里会出现建议。"
STALE = "这条建议已失效，发送 /rules 查看最新建议。"
LEARN_FAILED = "暂时无法计算规则建议，请稍后再试。"
NOTHING_TO_UNDO = "没有可以撤销的规则。"


class LearningFailed(Exception):
    """The suggestion child process failed or timed out."""


@dataclass(frozen=True)
class Evidence:
    """What a suggestion shows: example texts it fixes, records it would change (before -> after)."""

    fixes: list[tuple[str, str | None]]  # (text, what the rules read: a category or None)
    changes: list[tuple[DutyRecord, str, str]]
    reads: int


@dataclass(frozen=True)
class Shown:
    suggestion: RuleSuggestion
    evidence: Evidence


@dataclass(frozen=True)
class Reread:
    """/rules reread: the unread messages of the last `weeks` weeks that the rules read now."""

    weeks: int
    unread: int
    readable: list[tuple[UnreadMessage, tuple[ParsedRecord, ...]]]
    version: int
    applied: int = 0  # records stored (after the tap)
    changed: bool = False  # the rules changed between preview and tap: this is a new preview


def clip(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _member_id(member: Member) -> int:
    assert member.id is not None
    return member.id


class RuleBook:
    """One per process (`services.rulebook`)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.base: RuleFile | None = None
        self.version = -1
        self.active: list[RuleChange] = []  # the phrases in force, oldest first
        self.left_out: list[RuleChange] = []  # approved phrases the rule file now contradicts

    # --- the running rule set ------------------------------------------------------------------
    def load_base(self) -> RuleSet:
        """Read and validate the packaged or RULES_PATH file (raises RulesError)."""
        self.base = read_rules(self.services.settings.rules_path)
        return self.base.parse()

    def _file(self) -> RuleFile:
        assert self.base is not None, "load_base() runs first"
        return self.base

    def _build(self, adds: list[RuleChange]) -> tuple[RuleSet, list[RuleChange], list[RuleChange]]:
        """The rule set with every add that validates, in order; the rest left out."""
        base = self._file()
        kept: list[RuleChange] = []
        dropped: list[RuleChange] = []
        rules = base.parse()
        for change in adds:
            phrases = [(c.word, c.category, c.weight) for c in [*kept, change]]
            try:
                rules = base.with_phrases(phrases, source=f"{base.source} + 数据库规则").parse()
            except RulesError as error:
                log.warning("learned phrase %r left out: %s", change.word, error)
                dropped.append(change)
                continue
            kept.append(change)
        return rules, kept, dropped

    @staticmethod
    def _in_force(changes: list[RuleChange]) -> list[RuleChange]:
        undone = {c.undoes for c in changes if c.action == "undo"}
        return [c for c in changes if c.action == "add" and c.id not in undone]

    async def refresh(self) -> bool:
        """Rebuild the parser when the overlay's version moved (every replica, periodically)."""
        services = self.services
        async with services.session(read_only=True) as session:
            version = await repo.overlay_version(session=session)
            if version == self.version:
                return False
            changes = await repo.rule_changes(session=session)
        rules, kept, dropped = self._build(self._in_force(changes))
        services.rules, services.parser = rules, Parser(rules)
        self.version, self.active, self.left_out = version, kept, dropped
        log.info("rules reloaded", extra={"version": version, "phrases": len(kept)})
        return True

    def start(self, jobs: Jobs) -> None:
        async def reload() -> None:
            await self.refresh()

        jobs.add("rules:reload", reload, IntervalTrigger(seconds=RELOAD_SECONDS))

    # --- who may --------------------------------------------------------------------------------
    async def _admin(self, session: Any, sender: Sender) -> Member | None:
        from bot.admin import admin_actor

        return await admin_actor(session=session, services=self.services, sender=sender)

    async def authorize(self, sender: Sender) -> None:
        async with self.services.session() as session:
            await self._admin(session, sender)

    # --- /rules test, /rules export -------------------------------------------------------------
    def test(self, text: str) -> ParseResult:
        return self.services.parser.parse(text, self.services.clock.now())

    def export(self) -> bytes:
        """The rule file with the approved phrases in it: a valid RULES_PATH file of its own."""
        base = self._file()
        merged = base.with_phrases([(c.word, c.category, c.weight) for c in self.active])
        data = merged.data
        if isinstance(data, dict):
            stamp = self.services.clock.now().strftime("%Y-%m-%d %H:%M")
            data["exported"] = f"{base.source} + {len(self.active)} approved phrases, {stamp}"
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

    # --- suggestions ------------------------------------------------------------------------------
    async def _request(self) -> tuple[dict[str, Any], dict[int, list[DutyRecord]]]:
        """What the learning process needs: the rules, the examples and the organisation's messages."""
        now = self.services.clock.now()
        since = (now - dt.timedelta(weeks=KNOWN_WEEKS)).astimezone(dt.UTC)
        async with self.services.session(read_only=True) as session:
            examples = await repo.list_examples(session=session)
            records = await repo.live_records_since(session=session, since=since, limit=KNOWN_LIMIT)
            unread = await repo.unread_without_records(session=session, since=since, limit=KNOWN_LIMIT)
            taken = await repo.suggestions(session=session)
        by_message: dict[tuple[int, int], list[DutyRecord]] = {}
        for r in records:
            by_message.setdefault((r.chat_id, r.message_id), []).append(r)
        known: list[dict[str, Any]] = []
        messages: dict[int, list[DutyRecord]] = {}
        for group in by_message.values():
            group.sort(key=lambda r: r.activity_index)
            key = group[0].id or 0
            messages[key] = group
            known.append(
                {
                    "key": key,
                    "text": group[0].source_text,
                    "sent": self._local(group[0].created_at).isoformat(),
                    "categories": [r.category for r in group],
                }
            )
        for u in unread:
            known.append({"key": -(u.id or 0), "text": u.text, "sent": self._local(u.sent_at).isoformat()})
        base = self._file().with_phrases([(c.word, c.category, c.weight) for c in self.active])
        request = {
            "rules": base.data,
            "source": base.source,
            "user_dict": list(base.user_dict),
            "examples": [
                {
                    "key": e.id,
                    "text": e.text,
                    "sent": self._local(e.sent_at).isoformat(),
                    "category": e.category,
                    "index": e.activity_index,
                }
                for e in examples
            ],
            "known": known,
            "skip": [[s.word, s.category] for s in taken if s.status in ("ignored", "accepted")],
            "limit": SUGGESTION_LIMIT,
        }
        return request, messages

    def _local(self, when: dt.datetime) -> dt.datetime:
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.astimezone(self.services.clock.tz)

    @staticmethod
    async def _learn(request: dict[str, Any]) -> dict[str, Any]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.parsing.learning",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(json.dumps(request, ensure_ascii=False).encode("utf-8")), LEARN_TIMEOUT
            )
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise LearningFailed("timed out") from None
        if proc.returncode != 0:
            raise LearningFailed(err.decode("utf-8", "replace")[-2000:])
        answer = json.loads(out.decode("utf-8"))
        if "error" in answer:
            raise LearningFailed(answer["error"])
        return dict(answer)

    async def propose(self) -> list[Shown]:
        """Compute suggestions from every example; keep them (open) and return them with evidence.
        Open suggestions no longer proposed are dropped."""
        request, messages = await self._request()
        if not request["examples"]:
            found: list[dict[str, Any]] = []
        else:
            found = (await self._learn(request))["suggestions"]
        shown: list[Shown] = []
        async with self.services.session() as session:
            wanted = set()
            for s in found:
                changes = [
                    [messages[c["key"]][c["index"]].id, c["before"], c["after"]]
                    for c in s["changes"]
                    if c["key"] in messages and c["index"] < len(messages[c["key"]])
                ]
                evidence = {"fixes": s["fixes"], "changes": changes, "reads": s["reads"]}
                row = await repo.find_suggestion(session=session, word=s["word"], category=s["category"])
                if row is None:
                    row = RuleSuggestion(word=s["word"], category=s["category"], weight=s["weight"])
                    session.add(row)
                elif row.status != "open" and row.status != "undone":
                    continue
                row.status, row.weight = "open", s["weight"]
                row.fixes, row.changes, row.reads = len(s["fixes"]), len(s["changes"]), len(s["reads"])
                row.evidence = json.dumps(evidence)
                await session.flush()
                wanted.add(row.id)
            for row in await repo.suggestions(session=session, status="open"):
                if row.id not in wanted:
                    await repo.delete_suggestion(session=session, suggestion=row)
            for row in await repo.suggestions(session=session, status="open"):
                shown.append(Shown(row, await self._evidence(session, row)))
        return shown

    async def _evidence(self, session: Any, row: RuleSuggestion) -> Evidence:
        data = json.loads(row.evidence or "{}")
        examples = await repo.get_examples(session=session, ids=list(data.get("fixes", []))[:SHOWN])
        changes = data.get("changes", [])
        records = await repo.get_records(session=session, ids=[c[0] for c in changes[:SHOWN]])
        return Evidence(
            fixes=[(e.text, e.parsed_as) for e in examples.values()],
            changes=[(records[c[0]], c[1], c[2]) for c in changes[:SHOWN] if c[0] in records],
            reads=len(data.get("reads", [])),
        )

    async def suggestions_for(self, sender: Sender) -> list[Shown]:
        await self.authorize(sender)
        try:
            return await self.propose()
        except LearningFailed:
            log.exception("rule suggestions failed")
            raise Refused(LEARN_FAILED) from None

    async def _open(self, session: Any, suggestion_id: int) -> RuleSuggestion:
        row = await repo.get_suggestion(session=session, suggestion_id=suggestion_id)
        if row is None or row.status != "open":
            raise Refused(STALE, alert=True)
        return row

    def conflict(self, word: str, category: str) -> str | None:
        """Why `word` cannot decide `category` in the running rules (Chinese), or None."""
        rules = self.services.rules
        names = rules.categories
        new = names.get(category, category)
        for source, table in (("关键词", rules.keywords), ("已采纳的规则", rules.phrases)):
            found = table.get(word)
            if found is None:
                continue
            if found.category == category:
                return f"「{word}」已经是「{new}」的{source}，不用再加。"
            return (
                f"「{word}」已经是「{names.get(found.category, found.category)}」的{source}："
                f"一个词只能决定一个类别，不能再归入「{new}」。"
            )
        if word in rules.neutral:
            return f"「{word}」在规则里是中性词（不决定类别），不能用来判断类别。"
        return None

    async def accept(self, sender: Sender, suggestion_id: int) -> RuleChange:
        """Add the suggestion's phrase to the running rules (all replicas), audited."""
        await self.refresh()  # another replica may have changed the overlay a moment ago
        async with self.services.session() as session:
            actor = await self._admin(session, sender)
            row = await self._open(session, suggestion_id)
            reason = self.conflict(row.word, row.category)
            if reason is None:
                phrases = [(c.word, c.category, c.weight) for c in self.active]
                try:
                    self._file().with_phrases([*phrases, (row.word, row.category, row.weight)]).parse()
                except RulesError as error:
                    reason = f"规则检查没有通过：{error}"
            if reason is not None:
                raise Refused(reason, alert=True)
            row.status, row.decided_by, row.decided_at = "accepted", actor.id if actor else None, utcnow()
            change = await repo.add_rule_change(
                session=session,
                change=RuleChange(
                    action="add",
                    word=row.word,
                    category=row.category,
                    weight=row.weight,
                    suggestion_id=row.id,
                    actor_id=actor.id if actor else None,
                ),
            )
            await org_repo.audit(
                session=session,
                actor=actor,
                action="rules.accept",
                object_type="rulechange",
                object_id=change.id,
                detail=f"{row.word} -> {row.category} weight={row.weight}",
            )
        await self.refresh()
        return change

    async def ignore(self, sender: Sender, suggestion_id: int) -> RuleSuggestion:
        async with self.services.session() as session:
            actor = await self._admin(session, sender)
            row = await self._open(session, suggestion_id)
            row.status, row.decided_by, row.decided_at = "ignored", actor.id if actor else None, utcnow()
            await org_repo.audit(
                session=session,
                actor=actor,
                action="rules.ignore",
                object_type="rulesuggestion",
                object_id=row.id,
                detail=f"{row.word} -> {row.category}",
            )
        return row

    async def recategorise(self, sender: Sender, suggestion_id: int, category: str) -> Shown:
        """改类别: the same phrase for another category; its evidence is computed again."""
        if category not in self.services.rules.categories:
            raise Refused(STALE, alert=True)
        async with self.services.session() as session:
            actor = await self._admin(session, sender)
            row = await self._open(session, suggestion_id)
            if row.category == category:
                return Shown(row, await self._evidence(session, row))
            other = await repo.find_suggestion(session=session, word=row.word, category=category)
            if other is not None:
                await repo.delete_suggestion(session=session, suggestion=other)
            before = row.category
            row.category = category
            await org_repo.audit(
                session=session,
                actor=actor,
                action="rules.recategorise",
                object_type="rulesuggestion",
                object_id=row.id,
                detail=f"{row.word}: {before} -> {category}",
            )
        request, messages = await self._request()
        request["only"] = [row.word, category]
        try:
            answer = await self._learn(request) if request["examples"] else {"suggestions": []}
        except LearningFailed:
            log.exception("re-evaluating a suggestion failed")
            raise Refused(LEARN_FAILED) from None
        async with self.services.session() as session:
            row = await self._open(session, suggestion_id)
            found = answer.get("suggestions") or []
            if found:
                s = found[0]
                changes = [
                    [messages[c["key"]][c["index"]].id, c["before"], c["after"]]
                    for c in s["changes"]
                    if c["key"] in messages and c["index"] < len(messages[c["key"]])
                ]
                row.weight = s["weight"]
                row.fixes, row.changes, row.reads = len(s["fixes"]), len(s["changes"]), len(s["reads"])
                row.evidence = json.dumps({"fixes": s["fixes"], "changes": changes, "reads": s["reads"]})
            else:
                row.fixes = row.changes = row.reads = 0
                row.evidence = "{}"
            return Shown(row, await self._evidence(session, row))

    async def undo(self, sender: Sender) -> RuleChange:
        """Take the latest approved phrase out of the running rules (audited)."""
        async with self.services.session() as session:
            actor = await self._admin(session, sender)
            in_force = self._in_force(await repo.rule_changes(session=session))
            if not in_force:
                raise Refused(NOTHING_TO_UNDO)
            last = in_force[-1]
            await repo.add_rule_change(
                session=session,
                change=RuleChange(
                    action="undo",
                    word=last.word,
                    category=last.category,
                    undoes=last.id,
                    actor_id=actor.id if actor else None,
                ),
            )
            if last.suggestion_id is not None:
                row = await repo.get_suggestion(session=session, suggestion_id=last.suggestion_id)
                if row is not None:
                    row.status = "undone"
            await org_repo.audit(
                session=session,
                actor=actor,
                action="rules.undo",
                object_type="rulechange",
                object_id=last.id,
                detail=f"{last.word} -> {last.category}",
            )
        await self.refresh()
        return last

    # --- re-reading unread messages ----------------------------------------------------------------
    async def reread(self, sender: Sender, weeks: int, *, apply_version: int | None = None) -> Reread:
        """Preview (apply_version None) or apply: the org's unread messages of the last `weeks`
        weeks that the running rules read now. Applying stores their records, once."""
        await self.refresh()
        weeks = max(1, min(weeks, MAX_REREAD_WEEKS))
        since = (self.services.clock.now() - dt.timedelta(weeks=weeks)).astimezone(dt.UTC)
        parser = self.services.parser
        async with self.services.session() as session:
            actor = await self._admin(session, sender)
            scope = (
                await org_repo.org_subtree_ids(session=session, root_id=actor.org_id)
                if actor is not None
                else None
            )
            unread = await repo.unread_without_records(session=session, since=since, org_ids=scope)
            readable = []
            for u in unread:
                records = parser.parse(u.text, self._local(u.sent_at)).records
                if records:
                    readable.append((u, records))
            preview = Reread(weeks, len(unread), readable, self.version)
            if apply_version is None:
                return preview
            if apply_version != self.version:
                return Reread(weeks, len(unread), readable, self.version, changed=True)
            stored = 0
            for u, records in readable:
                member = await session.get(Member, u.member_id)
                if member is None or not member.active:
                    continue
                made = await record_service.store(
                    session=session,
                    member=member,
                    source=Source(u.chat_id, u.message_id, u.text),
                    parsed=records,
                )
                stored += len(made)
            await org_repo.audit(
                session=session,
                actor=actor,
                action="rules.reread",
                object_type="weeks",
                object_id=weeks,
                detail=f"messages={len(readable)} records={stored} version={self.version}",
            )
        return Reread(weeks, len(unread), readable, self.version, applied=stored)

    # --- the weekly message ------------------------------------------------------------------------
    async def admin_chats(self) -> list[int]:
        async with self.services.session(read_only=True) as session:
            chats = {
                m.telegram_id
                for m in await org_repo.list_members(session=session)
                if m.role == Role.admin and not m.unreachable
            }
        return sorted(chats | set(self.services.settings.admin_telegram_ids))

    async def weekly(self, notifier: Notifier) -> int:
        """The weekly 规则建议 to every admin, once per ISO week (any replica, any restart).
        Returns the messages sent."""
        from storage.schedules import has_marker

        year, week, _ = self.services.clock.now().isocalendar()
        marker = year * 100 + week
        async with self.services.session() as session:
            if await has_marker(session=session, action="rules.weekly", object_id=marker):
                return 0
            await org_repo.audit(session=session, actor=None, action="rules.weekly", object_id=marker)
        try:
            shown = await self.propose()
        except LearningFailed:
            log.exception("weekly rule suggestions failed")
            return 0
        if not shown:
            return 0
        names = self.services.rules.categories
        sent = 0
        for chat in await self.admin_chats():
            outcome = await notifier.send(chat, header(len(shown), weekly=True))
            if outcome.kind != "sent":
                log.warning("rule suggestions not delivered: %s", outcome.kind)
                continue
            for item in shown:
                text, buttons = suggestion_message(item, names)
                await notifier.send(chat, text, buttons)
            sent += 1
        return sent


def as_records(parsed: tuple[ParsedRecord, ...]) -> list[DutyRecord]:
    """Parsed records as unsaved DutyRecords, for the adapter's record lines (/rules test)."""
    return [
        DutyRecord(member_id=0, org_id=0, chat_id=0, message_id=0, activity_index=i, **_fields(p))
        for i, p in enumerate(parsed)
    ]


def _fields(p: ParsedRecord) -> dict[str, Any]:
    names = ("category", "keyword", "date", "participants", "duration_min", "issues_found", "issues_fixed")
    return {n: getattr(p, n) for n in names}


# --- plain texts (the adapter escapes them) ---------------------------------------------------------
def header(count: int, *, weekly: bool = False) -> str:
    when = "本周" if weekly else "共"
    return f"🧩 规则建议 · {when} {count} 条（来自党员手动选择的类别）"


def _day(when: dt.date) -> str:
    return f"{when.month}月{when.day}日"


def suggestion_message(item: Shown, names: dict[str, str]) -> tuple[str, Buttons]:
    s, ev = item.suggestion, item.evidence
    assert s.id is not None
    name = names.get(s.category, s.category)
    counts = f"能纠正 {s.fixes} 条 · 会改变 {s.changes} 条已正确记录"
    if s.reads:
        counts += f" · 另能识别 {s.reads} 条未识别的消息"
    lines = [f"#{s.id}「{s.word}」→ {name}（{counts}）"]
    if ev.fixes:
        lines.append("例：")
        for text, parsed_as in ev.fixes:
            was = names.get(parsed_as, parsed_as) if parsed_as else "未识别"
            lines.append(f"· “{clip(text)}”（原为：{was}）")
    if ev.changes:
        lines.append("会改变的记录：")
        for record, before, after in ev.changes:
            lines.append(
                f"· {_day(record.date)} “{clip(record.source_text)}” "
                f"{names.get(before, before or '无')} → {names.get(after, after) if after else '不再记录'}"
            )
        if s.changes > len(ev.changes):
            lines.append(f"……另有 {s.changes - len(ev.changes)} 条")
    buttons: Buttons = [
        [
            Action("采纳", "rules.accept", s.id),
            Action("忽略", "rules.ignore", s.id),
            Action("改类别", "rules.recat", s.id),
        ]
    ]
    return "\n".join(lines), buttons


def category_buttons(suggestion_id: int, names: dict[str, str]) -> Buttons:
    actions = [Action(n, "rules.set", suggestion_id, i) for i, n in enumerate(names.values())]
    return [actions[i : i + 5] for i in range(0, len(actions), 5)]
