"""Messages per second of the check-in parser and of bare `jieba.lcut` over the same messages.

Run from the project root: `python bench/parse_speed.py [--rounds N]`. The last line reads
`parse: <n> msg/s, jieba.lcut: <m> msg/s, ratio <r>`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.parsing import Parser, load_rules

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "parsing"
TZ = ZoneInfo("Asia/Shanghai")

Message = tuple[str, dt.datetime]


def _messages() -> list[Message]:
    items = []
    for path in sorted(DATA.glob("checkins-dev*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                items.append((row["text"], dt.datetime.fromisoformat(row["ref"]).replace(tzinfo=TZ)))
    if not items:
        raise SystemExit(f"no messages found under {DATA}")
    return items


def _rate(fn: Callable[[str, dt.datetime], object], messages: list[Message], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for text, ref in messages:
            fn(text, ref)
        best = min(best, time.perf_counter() - t0)
    return len(messages) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=7, help="timed passes; the fastest counts")
    ap.add_argument("--repeat", type=int, default=10, help="copies of the message set in one pass")
    args = ap.parse_args()
    parser = Parser(load_rules())  # initialises jieba once, with every rule term
    import jieba

    messages = _messages() * args.repeat

    def bare(text: str, ref: dt.datetime) -> object:
        return jieba.lcut(text)

    _rate(bare, messages, 1)  # warm-up
    _rate(parser.parse, messages, 1)
    # Rounds alternate between the two, so a machine busy with something else slows both alike.
    jieba_rate = parse_rate = 0.0
    for _ in range(args.rounds):
        jieba_rate = max(jieba_rate, _rate(bare, messages, 1))
        parse_rate = max(parse_rate, _rate(parser.parse, messages, 1))
    print(f"messages per pass: {len(messages)}, rounds: {args.rounds} (fastest counts)")
    print(
        f"parse: {parse_rate:.0f} msg/s, jieba.lcut: {jieba_rate:.0f} msg/s, ratio {parse_rate / jieba_rate:.2f}"
    )


if __name__ == "__main__":
    main()
