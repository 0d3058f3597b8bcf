"""Registry of extra command-line subcommands.

Each entry is a function `register(subparsers)` that adds one subcommand and sets
`handler=<callable(args) -> int>` with `set_defaults`. Keep imports inside the handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REGISTRY: list[Callable[[Any], None]] = []
