"""Clause splitting: sentence punctuation, list markers, and a comma before a new time or date."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.parsing.dates import DATE_RE

_SENTENCE = re.compile(r"[。；;！!？?\n\r]+")
_LIST_MARKER = re.compile(
    r"(?:^|(?<=[\s：:，,]))(?:"
    r"\d{1,2}\s*[.、．](?!\d)|\d{1,2}\s*[)）]|[①②③④⑤⑥⑦⑧⑨⑩⑪⑫]"
    r"|[（(][一二三四五六七八九十\d]{1,2}[)）]|[一二三四五六七八九十]是|[一二三四五六七八九十][、，,](?=\S)"
    r"|第[一二三四五六七八九十][，,、]"
    r")"
)
_COMMA = re.compile(r"[，,]\s*")
# A future day after a comma opens a new clause like any new date (今天开了支委会，明天…).
_FUTURE_START = re.compile(r"(?:明天|明日|明早|明晚|后天|下周|下星期|下礼拜|下个?月|明年)")
_TIME_START = re.compile(
    r"(?:上午|下午|中午|晚上|早上|早晨|傍晚|晚间|夜间|夜里|凌晨|午后|今早|今晚|昨晚|当晚"
    r"|\d{1,2}\s*[:：]\s*\d{2}|(?:\d{1,2}|[一二三四五六七八九十两]{1,3})\s*[点时](?![间候期长])"
    r")"
)


@dataclass(frozen=True, slots=True)
class Clause:
    start: int
    end: int
    text: str
    question: bool  # ended by a question mark
    sentence: int = 0  # index of the sentence (text between sentence punctuation) holding the clause
    last_in_sentence: bool = True  # nothing of the sentence follows the clause


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in "，,、：:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "，,、"):
        end -= 1
    return start, end


def split_clauses(text: str, opens: re.Pattern[str] | None = None) -> list[Clause]:
    """Split a message into clauses with their offsets in `text`. A comma followed by a match of
    `opens` (the rule set's plan cues) starts a new clause too, as a new date does."""
    pieces: list[tuple[int, int, bool]] = []
    pos = 0
    for m in _SENTENCE.finditer(text):
        pieces.append((pos, m.start(), "?" in m.group() or "？" in m.group()))
        pos = m.end()
    pieces.append((pos, len(text), False))

    clauses: list[Clause] = []
    for sentence, (start, end, question) in enumerate(pieces):
        first = len(clauses)
        segment = text[start:end]
        cuts = [0]
        for m in _LIST_MARKER.finditer(segment):
            if m.start() > cuts[-1] or m.start() == 0:
                cuts.append(m.start())
                cuts.append(-m.end())  # negative: where the clause after the marker starts
        bounds: list[tuple[int, int]] = []
        cur = 0
        i = 1
        while i < len(cuts):
            marker_start, marker_end = cuts[i], -cuts[i + 1]
            bounds.append((cur, marker_start))
            cur = marker_end
            i += 2
        bounds.append((cur, len(segment)))
        for b_start, b_end in bounds:
            sub_start = b_start
            for m in _COMMA.finditer(segment, b_start, b_end):
                after = m.end()
                if (
                    _TIME_START.match(segment, after, b_end)
                    or DATE_RE.match(segment, after, b_end)
                    or _FUTURE_START.match(segment, after, b_end)
                    or (opens is not None and opens.match(segment, after, b_end))
                ):
                    bounds_piece = (sub_start, m.start())
                    _emit(clauses, text, start + bounds_piece[0], start + bounds_piece[1], False, sentence)
                    sub_start = after
            _emit(clauses, text, start + sub_start, start + b_end, question, sentence)
        if len(clauses) > first + 1:
            for i in range(first, len(clauses) - 1):
                clauses[i] = replace(clauses[i], last_in_sentence=False)
    return clauses


def _emit(clauses: list[Clause], text: str, start: int, end: int, question: bool, sentence: int) -> None:
    start, end = _trim(text, start, end)
    if end > start:
        clauses.append(Clause(start, end, text[start:end], question, sentence))
