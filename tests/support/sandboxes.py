"""Sandboxes made lazily and shared by the tests of a module (the security probes'), removed at its end."""

from __future__ import annotations

from collections.abc import Callable

from daytona_sdk import Workspace


class SandboxCache:
    """One sandbox per user, made on first use and removed at the end of the module."""

    def __init__(self, make: Callable[[str], Workspace]) -> None:
        self._make = make
        self._made: dict[str, Workspace] = {}

    def __call__(self, user: str) -> Workspace:
        if user not in self._made:
            self._made[user] = self._make(user)
        return self._made[user]

    def all(self) -> list[Workspace]:
        return list(self._made.values())
