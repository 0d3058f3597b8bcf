"""Per-user flood control over the injected clock (the chat adapter decides what to do over the limit)."""

from __future__ import annotations

import collections
from dataclasses import dataclass


@dataclass
class _Window:
    hits: collections.deque[float]
    notified_at: float | None = None


class FloodLimiter:
    """Per-user sliding window over the injected clock."""

    def __init__(self, max_messages: int, window_seconds: float) -> None:
        self.max_messages = max_messages
        self.window = window_seconds
        self._users: dict[int, _Window] = {}

    def hit(self, user_id: int, now: float) -> bool:
        """Count one message; True when the user is over the limit."""
        state = self._users.setdefault(user_id, _Window(collections.deque()))
        while state.hits and state.hits[0] <= now - self.window:
            state.hits.popleft()
        state.hits.append(now)
        if len(self._users) > 10_000:  # forget idle users now and then
            self._users = {u: s for u, s in self._users.items() if s.hits and s.hits[-1] > now - self.window}
        return len(state.hits) > self.max_messages

    def over(self, user_id: int) -> bool:
        state = self._users.get(user_id)
        return state is not None and len(state.hits) > self.max_messages

    def should_notify(self, user_id: int, now: float) -> bool:
        """True once per window while the user is over the limit."""
        state = self._users[user_id]
        if state.notified_at is not None and state.notified_at > now - self.window:
            return False
        state.notified_at = now
        return True
