"""Message text + send time -> duty records, as ../shared/parsing/SPEC.md defines them."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from bisect import bisect_right
from dataclasses import dataclass, replace

from bot.parsing.dates import deadline_ahead, find_date, find_dates, week_of_heading
from bot.parsing.fields import find_duration, find_issues, find_participants
from bot.parsing.numbers import NUM, to_int
from bot.parsing.rules import RuleSet
from bot.parsing.splitter import _TIME_START, Clause, split_clauses

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


# What a message is, for the chat to answer a message without records (see ParseResult.intent).
INTENT_REPORT = "report"  # holds records, or reports work in an ordinary way
INTENT_PLAN = "plan"  # only plans
INTENT_QUESTION = "question"  # a question, with or without a question mark
INTENT_NOTICE = "notice"  # a directive or notice to others, or a heading
INTENT_NONE = "none"  # noise, greetings, nothing recognised


@dataclass(frozen=True)
class ParseResult:
    records: tuple[ParsedRecord, ...]
    plans: tuple[str, ...]
    cancelled: tuple[str, ...]
    intent: str = INTENT_NONE


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
    sentence: int = -1

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


# -- clause roles (SPEC.md "One message, several records") -----------------------------------------

# Words that may open a purpose after 为 (为深入开展…, 为进一步…); 为 before a noun is "for" (为老人理发).
_PURPOSE = (
    r"(?:深入|进一步|切实|全面|扎实|认真|更好|推进|推动|加强|提高|提升|增强|强化|庆祝|纪念|迎接|喜迎|"
    r"贯彻|落实|营造|充分|做好|搞好|抓好|严肃|激励|规范|及时|掌握|了解|丰富|弘扬|传承|巩固|深化|促进|"
    r"引导|帮助|助力|确保|保障|树立|筑牢|发挥|持续|积极|大力|有效|不断|践行|响应|检验|加快|夯实|压实|"
    r"压紧|激发|凝聚|着力|努力|严格|打造|构建|创建|培养|使|让|给|营造|推进|健全|完善|提振|厚植|锤炼)"
)
_PURPOSE_TOO = r"(?:策应|督促|配合|聚焦|立足|紧扣|服务|同时|从而|以)"
# A framing phrase states a purpose, basis or occasion: 为…, 按照…, 根据…, 在…之际, 以…为契机.
_FRAME_START = re.compile(
    rf"(?:为了|为{_PURPOSE}|按照|依照|遵照|根据|依据|围绕|随着|通过|借助|结合|"
    r"以[^，,]{1,24}为(?:契机|抓手|载体|切入点|主线)|值此|正值|适逢|恰逢|欣逢|"
    r"在[^，,]{1,30}(?:之际|期间|前夕|之时|气氛下|氛围中|氛围下|背景下|号召下|指导下|推动下)$|"
    r"[^，,]{1,12}(?:将至|即将来临|即将到来|来临之际|到来之际|前夕)$)"
)
_FRAME_HINT = re.compile(
    r"为|按照|依照|遵照|根据|依据|围绕|随着|通过|借助|结合|以|值此|正值|适逢|恰逢|欣逢|在|将至|即将|前夕"
)
# Further purposes listed after a framing phrase (为A，提高B，增强C，…) are framing too.
_FRAME_GOES_ON = re.compile(rf"(?:{_PURPOSE}|{_PURPOSE_TOO})")
# A later sentence with the activity as its subject restates it (活动中…, 本次培训…, 会上…, 会议由…主持).
_RESTATE_START = re.compile(
    r"(?:本次|此次|这次|该次|当天的|其间|期间|会上|会中|会议上|会议中|"
    r"活动(?:中|上|期间|现场|当[日天]|最后|伊始|开始)|"
    r"(?:会议|活动|大会|培训|培训班|座谈会?|讲座|党课|谈话|约谈|检查|督查|调研|走访|宣讲)"
    r"(?:中|上|期间|现场|伊始|最后|首先|由|要求|强调|指出|认为|传达|审议|通过|听取|号召|明确|议程|内容|主题))"
)
# …or takes part in it (参加会议并…, 出席此次活动).
_REFERS_BACK = re.compile(r"(?:参加|出席|主持|列席|参与)了?(?:本次|此次|这次|该次)?(?:会议|活动|大会)")
# The same form marked as a new occurrence is a new record.
_NEW_OCCURRENCE = re.compile(
    r"又|再次|再度|另外?(?:召开|开展|组织|举办|进行|举行)|第[二三四五六七八九十\d]+[场次期轮]|随后|随即|紧接着|接着|此后|然后"
)
# Forms listed under one act: 支委会、党小组会和主题党日; 组织生活会和开展民主评议.
_LISTED = re.compile(
    r"[”\"」』》]?(?:活动|会议)?[”\"」』》]?\s*(?:、|和|及|与|以及|并(?=开展|召开|举行|组织|进行|举办))\s*"
    r"(?:开展|召开|举行|组织|进行|举办)?了?[^，,。；;、和及与]{0,4}?[“\"「『《]?"
)
# A stated number of events right before the form: 开展了3次谈心谈话, 召开两场座谈会 (not 第3次).
_OCCURRENCES = re.compile(
    rf"(?:开展|召开|举办|组织|进行|举行|开|搞)了?\s*(?:共|共计)?\s*(?<![第\d.])(?P<n>{NUM})\s*(?:次|场|期)\s*(?:的)?\s*$"
)
# …or right after it: 召开支委会2次, 开展谈心谈话活动3场.
_OCCURRENCES_AFTER = re.compile(
    rf"(?:活动|会议)?\s*(?:共|共计)?\s*(?P<n>{NUM})\s*(?:次|场)(?!\s*(?:人|的|会))"
)
# Dates listed with 和/、/及 and then 各/分别 before the act: one record per date.
_EACH_DAY = re.compile(
    r"(?:日|号|周[一二三四五六日天]|星期[一二三四五六日天])\s*(?:和|及|、|与)[^，,。；;]{1,12}?(?:各|分别)"
)
# A vague repetition (多次召开…) counts no occurrences and lists nothing: one record.
_VAGUE_REPEAT = re.compile(r"多次|数次|多轮|若干次|屡次|反复")
# A running tally over a period (今年以来先后召开…12次, 累计开展…) reports no separate events: one record.
_TALLY = re.compile(r"以来|累计|先后|截至|截止|至今|年度共")
_MAX_OCCURRENCES = 12  # more events or listed forms than this in one clause are no real report
_FAR = 1 << 62
# How far before a keyword the object_before cues look (their patterns reach about 30 characters).
_OBJECT_REACH = 48
_QUOTES = re.compile(r"“[^”]{0,80}”|「[^」]{0,80}」|\"[^\"]{0,80}\"|《[^》]{0,80}》")
_TITLES = re.compile(r"《[^》]{0,80}》")
_PHRASE_END = re.compile(r"[，,]")


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    """Whether `pos` lies in one of `spans` (sorted, not overlapping)."""
    if not spans:
        return False
    i = bisect_right(spans, (pos, _FAR)) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _phrases(text: str) -> list[tuple[int, int]]:
    out, a = [], 0
    for m in _PHRASE_END.finditer(text):
        out.append((a, m.start()))
        a = m.end()
    out.append((a, len(text)))
    return out


def _phrase_start(text: str, pos: int) -> int:
    cut = max(text.rfind("，", 0, pos), text.rfind(",", 0, pos))
    return cut + 1


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    if "“" not in text and "《" not in text and '"' not in text and "「" not in text:
        return []
    return [m.span() for m in _QUOTES.finditer(text)]


def _title_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start() + 1, m.end()) for m in _TITLES.finditer(text)]


_STEM_AFFIX = re.compile(r"^(?:集中|专题|集体|主题)|(?:活动|会议|大会|会|班|工作)$")


def _same_form(a: str, b: str) -> bool:
    """Two keywords naming the same form (培训班 / 集中培训, 主题党日 / 党日活动, 座谈会 / 座谈)."""
    if a == b:
        return True
    sa, sb = _STEM_AFFIX.sub("", a) or a, _STEM_AFFIX.sub("", b) or b
    return len(sa) >= 2 and len(sb) >= 2 and (sa in sb or sb in sa)


def _occurrences(text: str, pos: int, end: int) -> int:
    m = _OCCURRENCES.search(text, max(0, pos - 12), pos) or _OCCURRENCES_AFTER.match(text, end)
    if m is None:
        return 1
    n = to_int(m.group("n"))
    return n if n is not None and 1 < n <= _MAX_OCCURRENCES else 1


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
        # Learned phrases are found in the raw text, longest first; a keyword inside one is part of it.
        self._phrases = {w: (k.category, k.weight) for w, k in rules.phrases.items()}
        self._phrase_re = (
            re.compile("|".join(re.escape(w) for w in sorted(self._phrases, key=len, reverse=True)))
            if self._phrases
            else None
        )
        self._plan = _combine(rules.plan_cues)
        self._cancel = _combine(rules.cancel_cues)
        self._question = _combine(rules.question_cues)
        self._notice = _combine(rules.notice_cues)
        self._heading = _combine(rules.heading_cues)
        self._object_after = _combine(rules.object_after)
        self._object_before = _combine(rules.object_before)
        self._document_after = _combine(rules.document_after)

    # -- keyword matching -------------------------------------------------------------------------

    def _hits(self, text: str, end: int | None = None) -> list[tuple[str, str, int, int]]:
        """(category, keyword, weight, offset) for every learned phrase in a clause and every keyword
        among its tokens outside those phrases (of its first `end` characters when given)."""
        hits: list[tuple[str, str, int, int]] = []
        if end is not None:
            text = text[:end]
        phrase_spans: list[tuple[int, int]] = []
        if self._phrase_re is not None:
            for m in self._phrase_re.finditer(text):
                category, weight = self._phrases[m.group()]
                hits.append((category, m.group(), weight, m.start()))
                phrase_spans.append(m.span())
        openers = self._openers
        if not any(text[i : i + 2] in openers for i in range(len(text) - 1)):
            return hits
        if phrase_spans:
            inner = self._token_hits(text)
            return hits + [
                h for h in inner if not any(a <= h[3] and h[3] + len(h[1]) <= b for a, b in phrase_spans)
            ]
        return self._token_hits(text)

    def _token_hits(self, text: str) -> list[tuple[str, str, int, int]]:
        """Keyword hits among the tokens of `text`."""
        hits: list[tuple[str, str, int, int]] = []
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
                    or (
                        self._object_before is not None
                        and self._object_before.search(text, max(0, pos - _OBJECT_REACH), pos)
                    )
                )
            ):
                weight = weight // _DEMOTED_SHARE or 1
            key = (-weight, pos, self._priority[category])
            if best is None or key < best:
                best, chosen = key, (category, word, weight)
        if chosen is not None:
            for words, when, to in self.rules.promote:
                if chosen[1] in words and when.search(text):
                    return (to, chosen[1], chosen[2])
        return chosen

    def classify(self, text: str) -> str | None:
        """The category of a single clause, ignoring dates, plans and details (for rule examples)."""
        decided = self._decide(self._hits(text), text)
        return decided[0] if decided else None

    # -- the parse --------------------------------------------------------------------------------

    def _framing(self, ctext: str, followed: bool) -> list[tuple[int, int]]:
        """Spans of `ctext` that are framing phrases (purpose, basis, occasion): they name no activity.
        `followed`: more of the sentence follows the clause (a framing phrase never ends a sentence)."""
        if not _FRAME_HINT.search(ctext):
            return []
        spans: list[tuple[int, int]] = []
        phrases = _phrases(ctext)
        framing = False
        for i, (a, b) in enumerate(phrases):
            phrase = ctext[a:b]
            has_more = i < len(phrases) - 1 or followed
            if has_more and _FRAME_START.match(phrase):
                framing = True
            elif not (framing and has_more and _FRAME_GOES_ON.match(phrase)):
                framing = False
            if framing:
                spans.append((a, b))
        return spans

    def _first_cue(
        self, pattern: re.Pattern[str] | None, text: str, skip: list[tuple[int, int]]
    ) -> int | None:
        """Offset of the first match of `pattern` outside the `skip` spans, or None."""
        if pattern is None:
            return None
        for m in pattern.finditer(text):
            if not _inside(m.start(), skip):
                return m.start()
        return None

    def _same_activity(
        self, clause: Clause, ctext: str, decided: tuple[str, str, int] | None, target: _Draft
    ) -> bool:
        """A later sentence that restates the record before it (党课…党课由书记主持, 活动中…, 会上…)."""
        if clause.sentence == target.sentence or _NEW_OCCURRENCE.search(ctext):
            return False
        if _RESTATE_START.match(ctext) or _REFERS_BACK.search(ctext):
            return True
        return (
            decided is not None and decided[0] == target.category and _same_form(decided[1], target.keyword)
        )

    def parse(self, text: str, now: dt.datetime) -> ParseResult:
        """Records, plans and cancellations stated in `text`, sent at local time `now`."""
        ref = now.date()
        rules = self.rules
        clauses = split_clauses(text, self._plan)
        in_force = ref
        drafts: list[_Draft] = []
        pending: list[_Details] = []
        plans: list[str] = []
        cancelled: list[str] = []
        target: _Draft | None = None
        weak_first: tuple[str, str, dt.date, bool, _Details] | None = None
        week = ""  # the week a heading named (上周工作小结), for weekdays without a prefix
        blocked = False
        asked = noticed = named = False
        for clause in clauses:
            ctext = clause.text
            quoted = _quoted_spans(ctext)
            framing = self._framing(ctext, not clause.last_in_sentence)
            skip = _merge(framing + quoted) if quoted else framing
            if clause.question or self._first_cue(self._question, ctext, skip) is not None:
                asked = True
                continue
            if self._first_cue(self._notice, ctext, skip) is not None or (
                self._heading is not None and self._heading.search(ctext)
            ):
                noticed = True
                continue
            plan_at = self._first_cue(self._plan, ctext, skip)
            due = deadline_ahead(ctext, ref)  # a deadline still ahead: what it asks for is not done yet
            if due is not None and (plan_at is None or due < plan_at):
                plan_at = due
            if plan_at is not None:
                # A plan cue governs the act of its own phrase and those after it, not one before it.
                cut = _phrase_start(ctext, plan_at)
                hits = [h for h in self._hits(ctext, cut) if h[3] < cut]
                before = self._decide([h for h in hits if not _inside(h[3], framing)], ctext)
                if before is None or before[2] < rules.weak_weight:
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
            prior = in_force
            if stated is not None:
                in_force = stated
            if self._cancel is not None and self._cancel.search(ctext):
                cancelled.append(ctext)
                blocked = True
                continue
            if plan_at is None:
                hits = self._hits(ctext)
            named = named or bool(hits)
            participants = find_participants(ctext)
            duration = find_duration(ctext)
            found, fixed, all_fixed = find_issues(ctext)
            details = _Details(
                stated, participants, duration, found, fixed, all_fixed, clause.start, clause.end
            )
            if framing:
                hits = [h for h in hits if not _inside(h[3], framing)]
            if hits and "《" in ctext:
                titles = _title_spans(ctext)
                hits = [
                    (c, w, (wt // _DEMOTED_SHARE or 1) if _inside(p, titles) else wt, p)
                    for c, w, wt, p in hits
                ]
            decided = self._decide(hits, ctext)
            if decided is not None and decided[2] < rules.weak_weight:
                if target is not None:
                    decided = None  # a weak cue after an activity (已整改完毕…) is a detail of it
                elif decided[2] < rules.figure_weight:
                    # Only a form named as object (a heading such as 主题党日开展情况) or a faint cue:
                    # a record only when the message holds no other activity and reports a figure.
                    if weak_first is None:
                        weak_first = (decided[0], decided[1], in_force, stated is not None, details)
                    decided = None
            if (
                decided is not None
                and target is not None
                and (stated is None or stated == prior)
                and not _TIME_START.match(ctext)
                and self._same_activity(clause, ctext, decided, target)
            ):
                target.absorb(details)
                continue
            if decided is not None:
                made = self._drafts(
                    decided, hits, ctext, clause.sentence, in_force, stated, details, ref, week
                )
                if not drafts:
                    for early in pending:
                        made[0].absorb(early)
                drafts.extend(made)
                target, blocked = made[-1], False
            elif blocked:
                continue
            elif target is not None:
                target.absorb(details)
            else:
                pending.append(details)
        if not drafts and weak_first is not None:
            category, keyword, day, day_stated, first = weak_first
            draft = _Draft(category, keyword, day, day_stated, first, -1)
            for early in pending:
                if early is not first:
                    draft.absorb(early)
            # A form named only as object is an activity when the message reports something about it.
            if draft.details.reports_anything():
                drafts.append(draft)
        if drafts:
            intent = INTENT_REPORT
        elif asked:
            intent = INTENT_QUESTION
        elif noticed:
            intent = INTENT_NOTICE
        elif plans:
            intent = INTENT_PLAN
        elif named or cancelled:
            intent = INTENT_REPORT
        else:
            intent = INTENT_NONE
        return ParseResult(
            records=tuple(d.build() for d in drafts),
            plans=tuple(plans),
            cancelled=tuple(cancelled),
            intent=intent,
        )

    def _drafts(
        self,
        decided: tuple[str, str, int],
        hits: list[tuple[str, str, int, int]],
        ctext: str,
        sentence: int,
        day: dt.date,
        stated: dt.date | None,
        details: _Details,
        ref: dt.date,
        week: str,
    ) -> list[_Draft]:
        """The records one clause makes: one, or one per listed form, or one per stated occurrence."""
        category, word = decided[0], decided[1]
        pos = next((h[3] for h in hits if h[0] == category and h[1] == word), 0)
        count = 1 if _TALLY.search(ctext) else _occurrences(ctext, pos, pos + len(word))
        if count == 1 and _EACH_DAY.search(ctext, 0, pos):
            # 周三和周五各开了一次党小组会: one record on each date listed
            days = [d for d in find_dates(ctext[:pos], ref, day, week) if d <= ref]
            if 1 < len(days) <= _MAX_OCCURRENCES:
                return [_Draft(category, word, d, True, replace(details), sentence) for d in days]
        if count > 1:
            days = [d for d in find_dates(ctext[:pos], ref, day, week) if d <= ref]
            if len(days) != count:
                days = [day] * count
            return [_Draft(category, word, d, stated is not None, replace(details), sentence) for d in days]
        out = [_Draft(category, word, day, stated is not None, details, sentence)]
        if decided[2] < self.rules.form_weight or _VAGUE_REPEAT.search(ctext):
            return out
        end = pos + len(word)
        for c, w, weight, p in sorted(hits, key=lambda h: h[3]):
            if p < end or c != category or weight < self.rules.form_weight:
                continue
            if not _LISTED.fullmatch(ctext, end, p) or len(out) >= _MAX_OCCURRENCES:
                break
            out.append(_Draft(c, w, day, stated is not None, replace(details), sentence))
            end = p + len(w)
        return out
