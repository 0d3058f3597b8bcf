"""`python -m bot parse`: the parser's command-line face (contract in ../shared/parsing/SPEC.md)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.parsing.parser import Parser
from bot.parsing.rules import RulesError, load_rules


def _parse_ref(value: Any, tz: ZoneInfo) -> dt.datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("missing 'ref' (expected 'YYYY-MM-DD HH:MM')")
    try:
        ref = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"impossible 'ref' {value!r} (expected 'YYYY-MM-DD HH:MM')") from None
    return ref.replace(tzinfo=tz) if ref.tzinfo is None else ref.astimezone(tz)


def _answer(parser: Parser, line: str, tz: ZoneInfo) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except ValueError as e:
        return {"id": None, "records": [], "error": f"not JSON: {e}"}
    if not isinstance(item, dict):
        return {"id": None, "records": [], "error": 'expected a JSON object {"id", "text", "ref"}'}
    ident = item.get("id")
    if not isinstance(ident, str | int | float) or isinstance(ident, bool):
        ident = None
    text = item.get("text")
    if not isinstance(text, str):
        return {"id": ident, "records": [], "error": "missing 'text' (expected a string)"}
    try:
        ref = _parse_ref(item.get("ref"), tz)
    except ValueError as e:
        return {"id": ident, "records": [], "error": str(e)}
    result = parser.parse(text, ref)
    return {"id": ident, "records": [r.to_json() for r in result.records]}


def run_cli(args: Any, settings: Any, *, stdin: TextIO, stdout: TextIO) -> int:
    """Parse JSON lines from stdin (--jsonl) or one message from the arguments."""
    try:
        rules = load_rules(settings.rules_path)
    except RulesError as e:
        print(f"dutybot: cannot load the parsing rules: {e}", file=sys.stderr)
        return 2
    parser = Parser(rules)
    tz = settings.tz
    if args.jsonl:
        for line in stdin:
            stripped = line.strip()
            if not stripped:
                answer: dict[str, Any] = {"id": None, "records": [], "error": "empty line"}
            else:
                answer = _answer(parser, stripped, tz)
            stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
            stdout.flush()
        return 0
    if args.ref:
        try:
            ref = _parse_ref(args.ref, tz)
        except ValueError as e:
            print(f"dutybot: {e}", file=sys.stderr)
            return 2
    else:
        ref = dt.datetime.now(tz)
    result = parser.parse(" ".join(args.text or []), ref)
    out = {
        "ref": ref.strftime("%Y-%m-%d %H:%M"),
        "records": [{**r.to_json(), "keyword": r.keyword, "span": list(r.span)} for r in result.records],
        "plans": list(result.plans),
        "cancelled": list(result.cancelled),
        "intent": result.intent,
    }
    stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    stdout.flush()
    return 0
