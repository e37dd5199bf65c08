"""Toolbox requests in flight, per sandbox: a sandbox serving one is not idle, however long it takes."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Activity:
    """Counts requests being served per sandbox; the lifecycle loop spares a sandbox while any runs."""

    def __init__(self) -> None:
        self._counts: defaultdict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def begin(self, sandbox_id: str) -> Callable[[], None]:
        """Count one request; the returned function ends it (calling it again does nothing)."""
        with self._lock:
            self._counts[sandbox_id] += 1
        ended = False

        def end() -> None:
            nonlocal ended
            with self._lock:
                if ended:
                    return
                ended = True
                self._counts[sandbox_id] -= 1
                if self._counts[sandbox_id] <= 0:
                    del self._counts[sandbox_id]

        return end

    @contextmanager
    def serving(self, sandbox_id: str) -> Iterator[None]:
        end = self.begin(sandbox_id)
        try:
            yield
        finally:
            end()

    def busy(self, sandbox_id: str) -> bool:
        with self._lock:
            return self._counts.get(sandbox_id, 0) > 0
