"""Placeholder: filled in by the check-in pipeline work."""

HANDLERS: list = []
COMMANDS: list[tuple[str, str, str]] = []
