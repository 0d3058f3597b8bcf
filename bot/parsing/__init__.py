"""Check-in parsing: one message and its send time -> zero or more duty records.

The rules (categories, keywords, weights, cues) are data in `data/rules.json`; see ../shared/parsing/SPEC.md.
"""

from bot.parsing.parser import (
    INTENT_NONE,
    INTENT_NOTICE,
    INTENT_PLAN,
    INTENT_QUESTION,
    INTENT_REPORT,
    ParsedRecord,
    Parser,
    ParseResult,
)
from bot.parsing.rules import CATEGORIES, Category, Keyword, RulesError, RuleSet, load_rules

__all__ = [
    "CATEGORIES",
    "INTENT_NONE",
    "INTENT_NOTICE",
    "INTENT_PLAN",
    "INTENT_QUESTION",
    "INTENT_REPORT",
    "Category",
    "Keyword",
    "ParseResult",
    "ParsedRecord",
    "Parser",
    "RuleSet",
    "RulesError",
    "load_rules",
]
