"""Rule suggestions from corrections: which phrase, added to which category, would read the
messages cadres had to categorise by hand, and what else it would change.

Pure: a function of (rule file, labelled examples, the organisation's messages). Candidates are
the examples' keywords by jieba's own extraction (`jieba.analyse`: TF-IDF with the IDF of the
organisation's own check-ins as background, and TextRank), with the rule set's terms and user
dictionary in the tokenizer, plus runs of adjacent tokens around them (an organisation's names —
党员固定活动日, 三亮三比 — are often several tokens). Each candidate is tried as a learned phrase
of the example's category, at the lowest weight that fixes the most examples, against:

- the examples: how many it fixes (wrong or unread before, right after) and breaks;
- the organisation's other messages: stored records the current rules read as stored (already
  correct) that it would change — reported one by one, never silently — and unread messages it
  would now read.

`jieba.analyse` costs about 130 MB when imported, so the bot runs this module in a child process
(`python -m bot.parsing.learning`, JSON on stdin and stdout); the benchmark and tests call
`suggest` directly.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.parsing.parser import Parser
from bot.parsing.rules import RuleFile, RulesError, RuleSet

# Weights tried for a phrase, lowest first: the lowest that fixes the most examples is proposed.
WEIGHTS = (50, 70, 92, 120, 200, 400)
MAX_CANDIDATE_LEN = 12
TOP_TFIDF = 8
TOP_TEXTRANK = 5
MAX_POOL = 300  # candidates tried, those that could fix the most examples first
# Generic words: alone, or at the edge of a run of tokens, they name no kind of work.
EDGE = frozenset(
    "开展 组织 召开 进行 举办 举行 参加 参与 集中 组织开展 积极 认真 深入 今天 昨天 前天 上午 下午 晚上 "
    "活动 工作 会议 情况 一次 一场 全体 党员 支部 大家 效果 良好 了 的 和 与 及 在 对 并 共 等 是".split()
)
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
# A time word at the start (今天…, 上周…, 三月…) is no name of work.
_DATEISH = re.compile(
    r"^(?:[今昨前明后每][天日晚早]|[本上下这每去前][周月年午个]|[一二三四五六七八九十两]+[年月日号天周点])"
)


@dataclass(frozen=True)
class Example:
    """A message categorised by hand: its text, when it was sent, the category chosen, and which
    activity of the message was corrected (0 for an unread message filed under a category)."""

    key: int
    text: str
    sent: dt.datetime
    category: str
    index: int = 0


@dataclass(frozen=True)
class Known:
    """Another message of the organisation: its stored records' categories by activity index
    (empty: a message no rule read and nobody categorised)."""

    key: int
    text: str
    sent: dt.datetime
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Changed:
    """A stored, already-correct record a suggestion would change: before -> after ("" = none)."""

    key: int
    index: int
    before: str
    after: str


@dataclass(frozen=True)
class Suggestion:
    word: str
    category: str
    weight: int
    fixes: tuple[int, ...]  # example keys it fixes
    breaks: tuple[int, ...] = ()  # example keys right now and wrong with it
    changes: tuple[Changed, ...] = ()
    reads: tuple[int, ...] = ()  # unread messages (Known keys) it would now read
    precision: float = 0.0
    elsewhere: int = 0  # messages read as other kinds of work that hold the phrase

    @property
    def net(self) -> int:
        return len(self.fixes) - len(self.breaks) - len(self.changes) - self.elsewhere

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def categories_of(parser: Parser, text: str, sent: dt.datetime) -> tuple[str, ...]:
    return tuple(r.category for r in parser.parse(text, sent).records)


def is_right(cats: Sequence[str], example: Example) -> bool:
    """Whether a parse gives the example's activity the chosen category."""
    if example.index < len(cats):
        return cats[example.index] == example.category
    return example.category in cats


def _tokens(text: str) -> list[str]:
    import jieba

    return [t for t in jieba.lcut(text) if t.strip()]


@dataclass
class _Extractor:
    """jieba.analyse's TF-IDF over the organisation's own IDF, and its TextRank."""

    documents: Sequence[str]
    idf: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        df: Counter[str] = Counter()
        for text in self.documents:
            df.update(set(_tokens(text)))
        n = max(len(self.documents), 1)
        self.idf = {w: math.log((n + 1) / (c + 1)) + 1.0 for w, c in df.items()}

    def keywords(self, text: str) -> list[str]:
        with warnings.catch_warnings():
            # jieba.analyse reads its IDF file without closing it (a ResourceWarning at import).
            warnings.simplefilter("ignore", ResourceWarning)
            import jieba.analyse

        tfidf = jieba.analyse.default_tfidf
        values = sorted(self.idf.values())
        tfidf.idf_freq = self.idf
        tfidf.median_idf = values[len(values) // 2] if values else 1.0
        words = list(tfidf.extract_tags(text, topK=TOP_TFIDF))
        try:
            words += [w for w in jieba.analyse.textrank(text, topK=TOP_TEXTRANK) if w not in words]
        except ZeroDivisionError:  # TextRank on a text with a single word
            pass
        return words


def _usable(word: str, rules: RuleSet) -> bool:
    return (
        2 <= len(word) <= MAX_CANDIDATE_LEN
        and _CJK.match(word) is not None
        and _DATEISH.search(word) is None
        and word not in rules.keywords
        and word not in rules.phrases
        and word not in rules.neutral
    )


def candidates(text: str, extractor: _Extractor, rules: RuleSet, category: str | None = None) -> list[str]:
    """The example's keywords and the runs of up to three adjacent tokens that hold one, or that
    hold a keyword of the chosen `category` that lost to another (进行了通报批评). A run that
    starts or ends with a generic word (开展, 活动, 了) names no work of its own unless it holds such
    a keyword."""
    top = list(extractor.keywords(text))
    tokens = _tokens(text)
    out: list[str] = [w for w in top if _usable(w, rules) and w not in EDGE]
    own = rules.category(category).keywords if category in rules.categories else {}
    lost = {t for t in tokens if t in own}
    chosen = set(top) | lost
    for i in range(len(tokens)):
        for n in (2, 3):
            run = tokens[i : i + n]
            if len(run) < n or not chosen.intersection(run):
                continue
            if (run[0] in EDGE or run[-1] in EDGE) and not lost.intersection(run):
                continue
            word = "".join(run)
            if _usable(word, rules) and word not in out:
                out.append(word)
    return out


class _Trial:
    """Parses with the current rules and with one learned phrase more (cached per text)."""

    def __init__(self, base: RuleFile, rules: RuleSet) -> None:
        self.base = base
        self.parser = Parser(rules)
        self._now: dict[tuple[str, dt.datetime], tuple[str, ...]] = {}

    def now(self, text: str, sent: dt.datetime) -> tuple[str, ...]:
        key = (text, sent)
        if key not in self._now:
            self._now[key] = categories_of(self.parser, text, sent)
        return self._now[key]

    def with_phrase(self, word: str, category: str, weight: int) -> Parser | None:
        try:
            return Parser(self.base.with_phrases([(word, category, weight)]).parse())
        except RulesError:
            return None


def evaluate(
    trial: _Trial,
    word: str,
    category: str,
    weight: int,
    examples: Sequence[Example],
    known: Sequence[Known],
    background: Counter[str] | None = None,
) -> Suggestion | None:
    """What one phrase at one weight would do to the examples and the organisation's messages."""
    parser = trial.with_phrase(word, category, weight)
    if parser is None:
        return None
    fixes, breaks = [], []
    for ex in examples:
        if word not in ex.text:
            continue
        before = is_right(trial.now(ex.text, ex.sent), ex)
        after = is_right(categories_of(parser, ex.text, ex.sent), ex)
        if after and not before:
            fixes.append(ex.key)
        elif before and not after:
            breaks.append(ex.key)
    changes: list[Changed] = []
    reads: list[int] = []
    elsewhere = 0
    for msg in known:
        if word not in msg.text:
            continue
        if msg.categories and category not in msg.categories:
            elsewhere += 1
        now = trial.now(msg.text, msg.sent)
        then = categories_of(parser, msg.text, msg.sent)
        if not msg.categories:
            if then and not now:
                reads.append(msg.key)
            continue
        if now != msg.categories or then == now:
            continue  # not read as stored today (corrected or older rules), or unchanged
        for i in range(max(len(now), len(then))):
            a = now[i] if i < len(now) else ""
            b = then[i] if i < len(then) else ""
            if a != b:
                changes.append(Changed(msg.key, i, a, b))
    holding = [ex for ex in examples if word in ex.text]
    same = sum(1 for ex in holding if ex.category == category)
    precision = same / len(holding) if holding else 0.0
    return Suggestion(
        word,
        category,
        weight,
        tuple(fixes),
        tuple(breaks),
        tuple(changes),
        tuple(reads),
        precision,
        elsewhere,
    )


def _best_weight(
    trial: _Trial,
    word: str,
    category: str,
    examples: Sequence[Example],
    known: Sequence[Known],
    most: int | None = None,
) -> Suggestion | None:
    """The candidate at the weight that does most good; a heavier one is tried only while some of
    the `most` examples it could fix are still wrong."""
    best: Suggestion | None = None
    for weight in WEIGHTS:
        found = evaluate(trial, word, category, weight, examples, known)
        if found is None or not found.fixes:
            continue
        if best is None or (found.net, len(found.fixes)) > (best.net, len(best.fixes)):
            best = found
        if most is not None and len(found.fixes) >= most:
            break
    return best


def suggest(
    base: RuleFile,
    examples: Sequence[Example],
    known: Sequence[Known] = (),
    *,
    skip: Iterable[tuple[str, str]] = (),
    limit: int = 10,
    min_fixes: int = 1,
) -> list[Suggestion]:
    """Phrases to add, best first: each fixes at least `min_fixes` examples the current rules get
    wrong, breaks none, changes no more already-correct records than it fixes, and appears in no
    more messages of other kinds of work than it fixes. `skip`: (word,
    category) pairs an admin ignored. Raises RulesError when `base` itself is invalid."""
    rules = base.parse()
    trial = _Trial(base, rules)
    wrong = [ex for ex in examples if not is_right(trial.now(ex.text, ex.sent), ex)]
    if not wrong:
        return []
    skipped = set(skip)
    extractor = _Extractor([*(m.text for m in known), *(ex.text for ex in examples)])
    pool: dict[tuple[str, str], None] = {}
    for ex in wrong:
        for word in candidates(ex.text, extractor, rules, ex.category):
            if (word, ex.category) not in skipped:
                pool[(word, ex.category)] = None
    # How many wrong examples of its category hold each candidate: the most it could fix.
    support = {(w, c): sum(1 for ex in wrong if ex.category == c and w in ex.text) for w, c in pool}
    ranked = sorted((p for p in pool if support[p] >= min_fixes), key=lambda p: (-support[p], -len(p[0])))
    found: list[Suggestion] = []
    for word, category in ranked[:MAX_POOL]:
        best = _best_weight(trial, word, category, examples, known, support[(word, category)])
        if best is None or len(best.fixes) < min_fixes or best.breaks:
            continue
        if len(best.changes) > len(best.fixes) or best.elsewhere > len(best.fixes):
            continue  # it would change, or is used for, other work more than it fixes
        found.append(best)
    own = {c.code: {*c.keywords} for c in rules.category_list}

    def anchored(s: Suggestion) -> bool:
        """A phrase around a keyword of its own category (进行了通报批评) names the act itself."""
        return any(k in s.word for k in own.get(s.category, ()))

    found.sort(
        key=lambda s: (
            -s.net,
            -len(s.fixes),
            not anchored(s),
            -s.precision,
            len(s.changes),
            -len(s.word),
            s.word,
        )
    )
    # Greedy cover: a suggestion that fixes nothing the ones before it do not is left out.
    covered: set[int] = set()
    out: list[Suggestion] = []
    for s in found:
        if not set(s.fixes) - covered:
            continue
        covered.update(s.fixes)
        out.append(s)
        if len(out) >= limit:
            break
    return out


# --- the child process the bot runs ------------------------------------------------------------


def _when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def run(request: dict[str, Any]) -> dict[str, Any]:
    """One JSON request -> one JSON answer (see `main`)."""
    base = RuleFile(request["rules"], request.get("source", "rules"), tuple(request.get("user_dict", ())))
    examples = [
        Example(e["key"], e["text"], _when(e["sent"]), e["category"], e.get("index", 0))
        for e in request.get("examples", [])
    ]
    known = [
        Known(k["key"], k["text"], _when(k["sent"]), tuple(k.get("categories", ())))
        for k in request.get("known", [])
    ]
    only = request.get("only")
    if only:
        word, category = only
        rules = base.parse()
        one = _best_weight(_Trial(base, rules), word, category, examples, known)
        return {"suggestions": [one.to_json()] if one is not None else []}
    skip = [(w, c) for w, c in request.get("skip", [])]
    found = suggest(base, examples, known, skip=skip, limit=int(request.get("limit", 10)))
    return {"suggestions": [s.to_json() for s in found]}


def main() -> int:
    """Read one JSON request on stdin, write one JSON answer on stdout."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    try:
        answer = run(json.loads(sys.stdin.read()))
    except (RulesError, ValueError, KeyError, TypeError) as e:
        answer = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
