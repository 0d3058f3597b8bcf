"""Message text + send time -> duty records, as ../shared/parsing/SPEC.md defines them."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass

from bot.parsing.dates import find_date, week_of_heading
from bot.parsing.fields import find_duration, find_issues, find_participants
from bot.parsing.rules import RuleSet
from bot.parsing.splitter import split_clauses

# jieba holds one global tokenizer; every rule set's terms go into it, once per process.
_JIEBA_LOCK = threading.Lock()
_JIEBA_READY = False
_JIEBA_TERMS: set[str] = set()
_TERM_FREQ = 50000
_DEMOTED_SHARE = 10  # an object mention keeps 1/10 of its weight


def _prepare_jieba(terms: tuple[str, ...]) -> None:
    global _JIEBA_READY
    import jieba

    with _JIEBA_LOCK:
        if not _JIEBA_READY:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _JIEBA_READY = True
        for term in terms:
            if term not in _JIEBA_TERMS:
                jieba.add_word(term, freq=_TERM_FREQ)
                _JIEBA_TERMS.add(term)


@dataclass(frozen=True)
class ParsedRecord:
    category: str
    date: dt.date
    participants: int | None
    duration_min: int | None
    issues_found: int | None
    issues_fixed: int | None
    keyword: str
    span: tuple[int, int]

    def to_json(self) -> dict[str, object]:
        return {
            "category": self.category,
            "date": self.date.isoformat(),
            "participants": self.participants,
            "duration_min": self.duration_min,
            "issues_found": self.issues_found,
            "issues_fixed": self.issues_fixed,
        }


@dataclass(frozen=True)
class ParseResult:
    records: tuple[ParsedRecord, ...]
    plans: tuple[str, ...]
    cancelled: tuple[str, ...]


@dataclass(slots=True)
class _Details:
    date: dt.date | None
    participants: int | None
    duration_min: int | None
    issues_found: int | None
    issues_fixed: int | None
    all_fixed: bool
    start: int
    end: int

    def reports_anything(self) -> bool:
        return any(
            v is not None
            for v in (self.participants, self.duration_min, self.issues_found, self.issues_fixed)
        )


@dataclass(slots=True)
class _Draft:
    category: str
    keyword: str
    date: dt.date
    date_stated: bool
    details: _Details

    def absorb(self, other: _Details) -> None:
        own = self.details
        if other.date is not None and not self.date_stated:
            self.date, self.date_stated = other.date, True
        own.participants = own.participants if own.participants is not None else other.participants
        own.duration_min = own.duration_min if own.duration_min is not None else other.duration_min
        own.issues_found = own.issues_found if own.issues_found is not None else other.issues_found
        own.issues_fixed = own.issues_fixed if own.issues_fixed is not None else other.issues_fixed
        own.all_fixed = own.all_fixed or other.all_fixed
        own.start, own.end = min(own.start, other.start), max(own.end, other.end)

    def build(self) -> ParsedRecord:
        d = self.details
        fixed = d.issues_fixed
        if fixed is None and d.all_fixed:
            fixed = d.issues_found
        return ParsedRecord(
            category=self.category,
            date=self.date,
            participants=d.participants,
            duration_min=d.duration_min,
            issues_found=d.issues_found,
            issues_fixed=fixed,
            keyword=self.keyword,
            span=(d.start, d.end),
        )


def _combine(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    """One alternation of several cue patterns (one search instead of several)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns))


class Parser:
    """Parses check-in messages with one rule set. Deterministic; no I/O after construction."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        _prepare_jieba(rules.terms)
        import jieba

        self._lcut = jieba.lcut
        self._keywords = {w: (k.category, k.weight) for w, k in rules.keywords.items()}
        self._max_kw = max(len(w) for w in self._keywords)
        self._neutral = rules.neutral
        self._priority = {c.code: c.priority for c in rules.category_list}
        self._veto = {c.code: c.veto for c in rules.category_list if c.veto}
        self._objectish = frozenset(c.code for c in rules.category_list if c.named_as_object)
        # Every keyword starts with one of these character pairs: a clause without any needs no tokenizing.
        self._openers = frozenset(w[:2] for w in self._keywords)
        self._plan = _combine(rules.plan_cues)
        self._cancel = _combine(rules.cancel_cues)
        self._question = _combine(rules.question_cues)
        self._object_after = _combine(rules.object_after)
        self._object_before = _combine(rules.object_before)
        self._document_after = _combine(rules.document_after)

    # -- keyword matching -------------------------------------------------------------------------

    def _hits(self, text: str) -> list[tuple[str, str, int, int]]:
        """(category, keyword, weight, offset) for every keyword among the tokens of a clause."""
        hits: list[tuple[str, str, int, int]] = []
        openers = self._openers
        if not any(text[i : i + 2] in openers for i in range(len(text) - 1)):
            return hits
        keywords = self._keywords
        t_start = 0
        # Tokens only serve keyword matching (every keyword is in the dictionary); numbers come from
        # regular expressions over the raw text, so jieba's HMM pass for unknown words is not needed.
        for token in self._lcut(text, HMM=False):
            here, t_start = t_start, t_start + len(token)
            found = keywords.get(token)
            if found is not None:
                hits.append((found[0], token, found[1], here))
            elif len(token) >= 3 and token not in self._neutral:
                # A longer word that jieba keeps whole (慰问金) may hold a keyword.
                i, n = 0, len(token)
                while i < n - 1:
                    for length in range(min(self._max_kw, n - i), 1, -1):
                        sub = token[i : i + length]
                        found = keywords.get(sub)
                        if found is not None:
                            hits.append((found[0], sub, found[1], here + i))
                            i += length - 1
                            break
                    i += 1
        return hits

    def _decide(self, hits: list[tuple[str, str, int, int]], text: str) -> tuple[str, str, int] | None:
        """(category, keyword, effective weight) of the hit that decides the clause, if any."""
        best: tuple[int, int, int] | None = None
        chosen: tuple[str, str, int] | None = None
        for category, word, weight, pos in hits:
            veto = self._veto.get(category)
            if veto and any(v in text for v in veto):
                continue
            end = pos + len(word)
            if (self._document_after is not None and self._document_after.match(text, end)) or (
                category in self._objectish
                and (
                    (self._object_after is not None and self._object_after.match(text, end))
                    or (self._object_before is not None and self._object_before.search(text, 0, pos))
                )
            ):
                weight = weight // _DEMOTED_SHARE or 1
            key = (-weight, pos, self._priority[category])
            if best is None or key < best:
                best, chosen = key, (category, word, weight)
        return chosen

    def classify(self, text: str) -> str | None:
        """The category of a single clause, ignoring dates, plans and details (for rule examples)."""
        decided = self._decide(self._hits(text), text)
        return decided[0] if decided else None

    # -- the parse --------------------------------------------------------------------------------

    def parse(self, text: str, now: dt.datetime) -> ParseResult:
        """Records, plans and cancellations stated in `text`, sent at local time `now`."""
        ref = now.date()
        rules = self.rules
        clauses = split_clauses(text)
        in_force = ref
        drafts: list[_Draft] = []
        pending: list[_Details] = []
        plans: list[str] = []
        cancelled: list[str] = []
        target: _Draft | None = None
        weak_first: tuple[str, str, dt.date, bool, _Details] | None = None
        week = ""  # the week a heading named (上周工作小结), for weekdays without a prefix
        blocked = False
        for clause in clauses:
            ctext = clause.text
            if self._plan is not None and self._plan.search(ctext):
                plans.append(ctext)
                blocked = True
                continue
            heading_week = week_of_heading(ctext)
            if heading_week is not None:
                week = heading_week
            stated = find_date(ctext, ref, in_force, week)
            if stated is not None and stated > ref:
                plans.append(ctext)  # dated after the send day: it cannot have happened yet
                blocked = True
                continue
            if stated is not None:
                in_force = stated
            if self._cancel is not None and self._cancel.search(ctext):
                cancelled.append(ctext)
                blocked = True
                continue
            if clause.question or (self._question is not None and self._question.search(ctext)):
                continue
            participants = find_participants(ctext)
            duration = find_duration(ctext)
            found, fixed, all_fixed = find_issues(ctext)
            details = _Details(
                stated, participants, duration, found, fixed, all_fixed, clause.start, clause.end
            )
            decided = self._decide(self._hits(ctext), ctext)
            if decided is not None and decided[2] < rules.weak_weight:
                if target is not None:
                    decided = None  # a weak cue after an activity (已整改完毕…) is a detail of it
                elif decided[2] < rules.figure_weight:
                    # Only a form named as object (a heading such as 主题党日开展情况) or a faint cue:
                    # a record only when the message holds no other activity and reports a figure.
                    if weak_first is None:
                        weak_first = (decided[0], decided[1], in_force, stated is not None, details)
                    decided = None
            if decided is not None:
                draft = _Draft(decided[0], decided[1], in_force, stated is not None, details)
                if not drafts:
                    for early in pending:
                        draft.absorb(early)
                drafts.append(draft)
                target, blocked = draft, False
            elif blocked:
                continue
            elif target is not None:
                target.absorb(details)
            else:
                pending.append(details)
        if not drafts and weak_first is not None:
            category, keyword, day, day_stated, first = weak_first
            draft = _Draft(category, keyword, day, day_stated, first)
            for early in pending:
                if early is not first:
                    draft.absorb(early)
            # A form named only as object is an activity when the message reports something about it.
            if draft.details.reports_anything():
                drafts.append(draft)
        return ParseResult(
            records=tuple(d.build() for d in drafts),
            plans=tuple(plans),
            cancelled=tuple(cancelled),
        )
