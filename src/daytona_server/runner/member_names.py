"""Which warm-pool member's container serves which sandbox, kept on disk by the runner.

A member is made under an id of its own (its container name, socket directory and hostname say it).
A create that names another id takes it without renaming anything in the engine: Docker runs renames
one at a time, so a burst of claims would queue on them. The runner records `sandbox id → member id`
here instead, and finds the container, its socket and its network endpoint through it. One small file
per claimed member, written whole (temporary file, fsync, rename), so that a crash leaves either the
old state or the new one, and the map outlives restarts and reboots of the host.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path


class MemberNames:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._member: dict[str, str] = {}  # sandbox id → the member id its container was made under
        self._sandbox: dict[str, str] = {}  # and back
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in directory.glob("*.name"):
            try:
                sandbox_id, member_id = path.read_text().split("\n")[:2]
            except (OSError, ValueError):
                continue  # unreadable: as if the claim had not happened (reconcile removes the member)
            self._member[sandbox_id], self._sandbox[member_id] = member_id, sandbox_id

    def member_of(self, sandbox_id: str) -> str:
        """The id the sandbox's container was made under: its own unless it took a member of another id."""
        return self._member.get(sandbox_id, sandbox_id)

    def sandbox_of(self, member_id: str) -> str:
        """The sandbox a member's container serves: its own id unless a create named another."""
        return self._sandbox.get(member_id, member_id)

    def bind(self, sandbox_id: str, member_id: str) -> None:
        """From now on the container of `member_id` is the sandbox `sandbox_id`'s (durably)."""
        path = self._path(sandbox_id)
        temporary = path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(f"{sandbox_id}\n{member_id}\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        with self._lock:
            self._member[sandbox_id], self._sandbox[member_id] = member_id, sandbox_id

    def unbind(self, sandbox_id: str) -> None:
        """The sandbox's container is gone."""
        with self._lock:
            member_id = self._member.pop(sandbox_id, None)
            if member_id is not None:
                self._sandbox.pop(member_id, None)
        self._path(sandbox_id).unlink(missing_ok=True)

    def _path(self, sandbox_id: str) -> Path:
        # Hashed: a sandbox id may hold characters a file name cannot.
        return self.directory / (hashlib.sha256(sandbox_id.encode()).hexdigest()[:32] + ".name")
