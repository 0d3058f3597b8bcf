"""The running version: the installed package's, as `dutybot --version`, the logs and /healthz say."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed


@cache
def version() -> str:
    try:
        return _installed("dutybot")
    except PackageNotFoundError:
        return "0+unknown"
