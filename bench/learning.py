"""Learning from corrections, measured on the shared labelled sets.

Replays set A as if cadres corrected every wrong or unread record by hand (a category button on
an unread message, 改类别 on a record of the wrong category), accepts every rule suggestion made
from those corrections, then scores set A again and set B, which was not used for learning.
Prints one line:

    learning: set A exact x% -> y%, set B exact u% -> v%, suggestions N, accepted N

    python bench/learning.py [--learn FILE] [--test FILE] [--forget WORD,WORD] [--show]

--forget removes keywords from the packaged rules first (an organisation whose words the rules do
not know). The sets and their scorer are in ../shared/parsing/; without it the bench says so and
exits 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.parsing import INTENT_NOTICE, INTENT_QUESTION, Parser  # noqa: E402
from bot.parsing.learning import Example, Known, suggest  # noqa: E402
from bot.parsing.rules import RuleFile, RulesError, read_rules  # noqa: E402

SHARED = ROOT.parent / "shared" / "parsing"
TZ = ZoneInfo("Asia/Shanghai")


def _scorer() -> Any:
    """The shared scorer (its `load`, `norm` and `align`), so the figures match evaluate.py."""
    spec = importlib.util.spec_from_file_location("shared_evaluate", SHARED / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ref(item: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(item["ref"]).replace(tzinfo=TZ)


def exact(parser: Parser, items: list[dict[str, Any]], scorer: Any) -> float:
    right = 0
    for item in items:
        got = [r.to_json() for r in parser.parse(item["text"], _ref(item)).records]
        right += [scorer.norm(g) for g in item["records"]] == [scorer.norm(p) for p in got]
    return 100 * right / len(items)


def corrections(
    parser: Parser, items: list[dict[str, Any]], scorer: Any
) -> tuple[list[Example], list[Known]]:
    """What cadres would tell the bot about set A, and the messages as stored afterwards."""
    examples: list[Example] = []
    known: list[Known] = []
    for key, item in enumerate(items):
        text, ref, gold = item["text"], _ref(item), item["records"]
        result = parser.parse(text, ref)
        got = [r.to_json() for r in result.records]
        stored = [g["category"] for g in got]
        offered_buttons = not (
            got or result.plans or result.cancelled or result.intent in (INTENT_QUESTION, INTENT_NOTICE)
        )
        if not got and gold and offered_buttons:
            examples.append(Example(key, text, ref, gold[0]["category"], 0))
            stored = [gold[0]["category"]]
        elif got and gold:
            pairs = scorer.align(gold, got)
            for g, p in pairs:
                index = got.index(p)
                if p["category"] != g["category"]:
                    examples.append(Example(key, text, ref, g["category"], index))
                    stored[index] = g["category"]
        known.append(Known(key, text, ref, tuple(stored)))
    return examples, known


def forget(base: RuleFile, words: list[str]) -> RuleFile:
    data = base.data
    for category in data["categories"]:
        for word in words:
            category["keywords"].pop(word, None)
        category["examples"] = [e for e in category.get("examples", []) if not any(w in e for w in words)]
    return RuleFile(data, base.source, base.user_dict)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--learn", type=Path, default=SHARED / "checkins-dev-real.jsonl", help="set A")
    ap.add_argument("--test", type=Path, default=SHARED / "checkins-dev-c.jsonl", help="set B")
    ap.add_argument("--forget", default="", help="keywords to remove from the packaged rules first")
    ap.add_argument("--show", action="store_true", help="also list the accepted phrases")
    args = ap.parse_args()
    if not (SHARED / "evaluate.py").is_file() or not args.learn.is_file() or not args.test.is_file():
        print(f"learning: not run: the shared labelled sets are not there ({SHARED})")
        return 2
    scorer = _scorer()
    set_a, set_b = scorer.load(args.learn), scorer.load(args.test)
    base = read_rules()
    if args.forget:
        base = forget(base, [w for w in args.forget.split(",") if w])
    before = Parser(base.parse())
    a0, b0 = exact(before, set_a, scorer), exact(before, set_b, scorer)
    examples, known = corrections(before, set_a, scorer)
    found = suggest(base, examples, known, limit=100)
    accepted: list[tuple[str, str, int]] = []
    for s in found:
        try:
            (base.with_phrases([*accepted, (s.word, s.category, s.weight)])).parse()
        except RulesError:
            continue
        accepted.append((s.word, s.category, s.weight))
    after = Parser(base.with_phrases(accepted).parse())
    a1, b1 = exact(after, set_a, scorer), exact(after, set_b, scorer)
    print(
        f"learning: set A exact {a0:.1f}% -> {a1:.1f}%, set B exact {b0:.1f}% -> {b1:.1f}%, "
        f"suggestions {len(found)}, accepted {len(accepted)}"
    )
    for word, category, weight in accepted if args.show else ():
        print(f"  accepted: {word} -> {category} (weight {weight})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
