"""The rule set: categories, keywords with weights, vetoes and cues, loaded from a data file."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_RULES_NAME = "rules.json"
USER_DICT_NAME = "userdict.txt"

# The default set's categories, in order (kept in step with data/rules.json by a test).
CATEGORIES: dict[str, str] = {
    "deploy": "部署推进",
    "oversee": "督办过问",
    "study": "学习教育",
    "org_life": "组织生活",
    "talk": "谈心谈话",
    "criticize": "批评教育",
    "interview": "约谈诫勉",
    "inspect": "监督检查",
    "research": "调查研究",
    "service": "志愿服务",
}


class RulesError(Exception):
    """A rule file is missing, unreadable or inconsistent; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Keyword:
    word: str
    category: str
    weight: int


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    priority: int
    keywords: dict[str, int]
    veto: tuple[str, ...]
    examples: tuple[str, ...]
    counter_examples: tuple[str, ...]
    named_as_object: bool = False
    phrases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """A loaded, validated rule set. Build it with `load_rules`."""

    source: str
    category_list: tuple[Category, ...]
    keywords: dict[str, Keyword]
    neutral: frozenset[str]
    object_after: tuple[re.Pattern[str], ...]
    object_before: tuple[re.Pattern[str], ...]
    document_after: tuple[re.Pattern[str], ...]
    plan_cues: tuple[re.Pattern[str], ...]
    cancel_cues: tuple[re.Pattern[str], ...]
    question_cues: tuple[re.Pattern[str], ...]
    user_dict: tuple[str, ...] = ()
    weak_weight: int = 0
    figure_weight: int = 0
    notice_cues: tuple[re.Pattern[str], ...] = ()
    heading_cues: tuple[re.Pattern[str], ...] = ()
    form_weight: int = 1001  # keywords this heavy are named forms: listed under one act, one record each
    promote: tuple[tuple[frozenset[str], re.Pattern[str], str], ...] = ()
    # Learned phrases (a category's "phrases"): found anywhere in a clause, without tokenizing.
    phrases: dict[str, Keyword] = field(default_factory=dict)
    _by_code: dict[str, Category] = field(default_factory=dict, repr=False)

    @property
    def categories(self) -> dict[str, str]:
        return {c.code: c.name for c in self.category_list}

    def category(self, code: str) -> Category:
        return self._by_code[code]

    @property
    def terms(self) -> tuple[str, ...]:
        """Every word the tokenizer must keep whole: keywords, neutral words, user dictionary."""
        return tuple(sorted({*self.keywords, *self.neutral, *self.user_dict}))


def _fail(where: str, problem: str) -> RulesError:
    return RulesError(f"{where}: {problem}")


def _compile(where: str, patterns: Any) -> tuple[re.Pattern[str], ...]:
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise _fail(where, "expected a list of regular expressions (strings)")
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error as e:
            raise _fail(where, f"bad regular expression {p!r}: {e}") from None
    return tuple(out)


def _strings(where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(where, "expected a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _weight(source: str, name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(source, f"'{name}' must be a non-negative integer, got {value!r}")
    return value


def _flag(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"expected true or false, got {value!r}")
    return value


def parse_rules(data: Any, source: str, user_dict: tuple[str, ...] = ()) -> RuleSet:
    """Validate the decoded rule file `data`; `source` names it in error messages."""
    if not isinstance(data, dict):
        raise _fail(source, "the rule file must hold a JSON object")
    raw_categories = data.get("categories")
    if not isinstance(raw_categories, list) or not raw_categories:
        raise _fail(source, "'categories' must be a non-empty list")
    categories: list[Category] = []
    keywords: dict[str, Keyword] = {}
    seen_codes: set[str] = set()
    for i, raw in enumerate(raw_categories):
        where = f"{source}: categories[{i}]"
        if not isinstance(raw, dict):
            raise _fail(where, "each category must be an object")
        code, name = raw.get("code"), raw.get("name")
        if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", code):
            raise _fail(where, f"'code' must be a lower-case identifier, got {code!r}")
        where = f"{source}: category {code!r}"
        if code in seen_codes:
            raise _fail(where, "category code appears twice")
        seen_codes.add(code)
        if not isinstance(name, str) or not name.strip():
            raise _fail(where, "'name' must be a non-empty string")
        priority = raw.get("priority", len(categories) + 1)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise _fail(where, f"'priority' must be an integer, got {priority!r}")
        raw_kw = raw.get("keywords")
        if not isinstance(raw_kw, dict) or not raw_kw:
            raise _fail(where, "'keywords' must be a non-empty object of keyword -> weight")
        kw_weights = _words(source, where, code, raw_kw, keywords, "keyword")
        raw_phrases = raw.get("phrases", {})
        if not isinstance(raw_phrases, dict):
            raise _fail(where, "'phrases' must be an object of phrase -> weight")
        phrase_weights = _words(source, where, code, raw_phrases, keywords, "phrase")
        categories.append(
            Category(
                code=code,
                name=name.strip(),
                priority=priority,
                keywords=kw_weights,
                veto=_strings(f"{where}: veto", raw.get("veto")),
                examples=_strings(f"{where}: examples", raw.get("examples")),
                counter_examples=_strings(f"{where}: counter_examples", raw.get("counter_examples")),
                named_as_object=_flag(f"{where}: named_as_object", raw.get("named_as_object", False)),
                phrases=phrase_weights,
            )
        )
    neutral = _strings(f"{source}: neutral", data.get("neutral"))
    for word in neutral:
        if word in keywords:
            raise _fail(
                source,
                f"neutral word {word!r} is also a keyword of category {keywords[word].category!r}",
            )
    phrases = {w: keywords.pop(w) for c in categories for w in c.phrases}
    weak_weight = _weight(source, "weak_weight", data.get("weak_weight", 0))
    figure_weight = _weight(source, "figure_weight", data.get("figure_weight", 0))
    form_weight = _weight(source, "form_weight", data.get("form_weight", 1001))
    promote = _promotions(source, data.get("promote", []), keywords, {c.code for c in categories})
    return RuleSet(
        source=source,
        weak_weight=weak_weight,
        figure_weight=figure_weight,
        form_weight=form_weight,
        promote=promote,
        notice_cues=_compile(f"{source}: notice_cues", data.get("notice_cues", [])),
        heading_cues=_compile(f"{source}: heading_cues", data.get("heading_cues", [])),
        category_list=tuple(categories),
        keywords=keywords,
        neutral=frozenset(neutral),
        object_after=_compile(f"{source}: object_after", data.get("object_after", [])),
        object_before=_compile(f"{source}: object_before", data.get("object_before", [])),
        document_after=_compile(f"{source}: document_after", data.get("document_after", [])),
        plan_cues=_compile(f"{source}: plan_cues", data.get("plan_cues", [])),
        cancel_cues=_compile(f"{source}: cancel_cues", data.get("cancel_cues", [])),
        question_cues=_compile(f"{source}: question_cues", data.get("question_cues", [])),
        user_dict=user_dict,
        phrases=phrases,
        _by_code={c.code: c for c in categories},
    )


def _words(
    source: str, where: str, code: str, raw: dict[Any, Any], seen: dict[str, Keyword], kind: str
) -> dict[str, int]:
    """Validate a category's keywords (or phrases) {word: weight}; `seen` holds every word of the
    categories before, keywords and phrases alike (a word may decide one category only)."""
    weights: dict[str, int] = {}
    for word, weight in raw.items():
        clean = word.strip() if isinstance(word, str) else ""
        if not clean or re.search(r"[\s、()（）]", clean):
            raise _fail(
                where,
                f"{kind} {word!r} is empty or holds a space, 、 or brackets (jieba cannot match it)",
            )
        if not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= 1000:
            raise _fail(where, f"{kind} {word!r}: weight must be an integer 1..1000, got {weight!r}")
        other = seen.get(clean)
        if other is not None:
            raise _fail(
                source,
                f"keyword {clean!r} appears in category {other.category!r} and in category {code!r}; "
                "a keyword may decide one category only",
            )
        if clean in weights:
            raise _fail(where, f"{kind} {clean!r} appears twice")
        weights[clean] = weight
        seen[clean] = Keyword(clean, code, weight)
    return weights


def _promotions(
    source: str, raw: Any, keywords: dict[str, Keyword], codes: set[str]
) -> tuple[tuple[frozenset[str], re.Pattern[str], str], ...]:
    """promote: [{"keywords": [...], "when": regex, "to": code}] — a clause decided by one of these
    keywords is of category `to` when `when` matches it (a 座谈会 that 部署 work is deploy)."""
    if not isinstance(raw, list):
        raise _fail(source, "'promote' must be a list of objects")
    out = []
    for i, item in enumerate(raw):
        where = f"{source}: promote[{i}]"
        if not isinstance(item, dict):
            raise _fail(where, "expected an object with keywords, when, to")
        words = _strings(f"{where}: keywords", item.get("keywords"))
        for word in words:
            if word not in keywords:
                raise _fail(where, f"{word!r} is not a keyword of any category")
        to = item.get("to")
        if to not in codes:
            raise _fail(where, f"'to' must name a category, got {to!r}")
        (when,) = _compile(
            f"{where}: when", [item.get("when")] if isinstance(item.get("when"), str) else None
        )
        out.append((frozenset(words), when, to))
    return tuple(out)


def _read_user_dict(text: str) -> tuple[str, ...]:
    words = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.append(line.split()[0])
    return tuple(words)


@dataclass(frozen=True)
class RuleFile:
    """A rule file as read, before validation: its decoded JSON, its name and its user dictionary."""

    data: Any
    source: str
    user_dict: tuple[str, ...]

    def parse(self) -> RuleSet:
        return parse_rules(self.data, self.source, self.user_dict)

    def with_phrases(self, phrases: list[tuple[str, str, int]], source: str | None = None) -> RuleFile:
        """This file with learned phrases (word, category code, weight) added to their categories'
        "phrases" (a copy; validate it with `parse`). A phrase of an unknown category is refused."""
        data = copy.deepcopy(self.data)
        by_code = (
            {c.get("code"): c for c in (data.get("categories") or []) if isinstance(c, dict)}
            if isinstance(data, dict)
            else {}
        )
        for word, code, weight in phrases:
            category = by_code.get(code)
            if category is None:
                raise _fail(source or self.source, f"phrase {word!r}: no category {code!r}")
            own = category.setdefault("phrases", {})
            if not isinstance(own, dict):
                raise _fail(source or self.source, f"category {code!r}: 'phrases' must be an object")
            if word in own:
                raise _fail(source or self.source, f"phrase {word!r} appears twice in category {code!r}")
            own[word] = weight
        return RuleFile(data, source or self.source, self.user_dict)


def read_rules(path: Path | None = None) -> RuleFile:
    """Read a rule file (None: the packaged default) and its user dictionary; raises RulesError
    when it cannot be read or is not JSON (validate it with `RuleFile.parse`)."""
    if path is None:
        data_dir = resources.files("bot.parsing") / "data"
        source = f"packaged {DEFAULT_RULES_NAME}"
        try:
            text = (data_dir / DEFAULT_RULES_NAME).read_text(encoding="utf-8")
            dict_text = (data_dir / USER_DICT_NAME).read_text(encoding="utf-8")
        except OSError as e:
            raise RulesError(f"{source}: cannot read the packaged rules: {e}") from None
    else:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise RulesError(f"{source}: rule file not found (RULES_PATH)")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RulesError(f"{source}: cannot read the rule file: {e}") from None
        dict_path = path.with_name(USER_DICT_NAME)
        dict_text = ""
        if dict_path.is_file():
            try:
                dict_text = dict_path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise RulesError(f"{dict_path}: cannot read the user dictionary: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise RulesError(f"{source}: not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    return RuleFile(data, source, _read_user_dict(dict_text))


def load_rules(path: Path | None = None) -> RuleSet:
    """Load and validate a rule file; None loads the packaged default. Raises RulesError."""
    return read_rules(path).parse()
