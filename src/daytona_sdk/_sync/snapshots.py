# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
"""`daytona.snapshot`: named templates for sandboxes (the server's images under today's name)."""

from __future__ import annotations

import time
from collections.abc import Callable

from .._base import timeout_seconds
from .._errors import DaytonaError, DaytonaTimeoutError
from .._template_models import Snapshot
from ._http import SyncHttp

POLL_INTERVAL_S = 0.5
DONE = {"active", "inactive"}
FAILED = {"error", "build_failed"}


class Snapshots:
    def __init__(self, http: SyncHttp) -> None:
        self._http = http

    def list(self) -> list[Snapshot]:
        items: list[Snapshot] = []
        page = 1
        while True:
            data = self._http.request("GET", "/snapshots", params={"page": page, "limit": 200})
            items += [Snapshot.from_api(item) for item in data["items"]]
            if page >= int(data["totalPages"]):
                return items
            page += 1

    def get(self, id_or_name: str) -> Snapshot:
        return Snapshot.from_api(self._http.request("GET", f"/snapshots/{id_or_name}"))

    def create(
        self,
        name: str,
        image: str | None = None,
        dockerfile: str | None = None,
        on_logs: Callable[[str], None] | None = None,
        timeout: float | None = 600,
    ) -> Snapshot:
        """Make snapshot `name` of `image` (one you may use), or build it on the server from `dockerfile`.

        A build runs in the background: this waits until it is active (DaytonaError when it failed),
        passing each line of its log to `on_logs`.
        """
        if (image is None) == (dockerfile is None):
            raise DaytonaError("give image (an image to snapshot) or dockerfile (to build), not both")
        body: dict[str, object] = {"name": name}
        if image is not None:
            body["imageName"] = image
        else:
            body["buildInfo"] = {"dockerfileContent": dockerfile}
        snapshot = Snapshot.from_api(self._http.request("POST", "/snapshots", json=body))
        seconds = timeout_seconds(timeout)
        deadline = time.monotonic() + seconds if seconds else None
        while snapshot.state not in DONE:
            if snapshot.state in FAILED:
                raise DaytonaError(f"snapshot {name} failed: {snapshot.error_reason}")
            if deadline is not None and time.monotonic() >= deadline:
                raise DaytonaTimeoutError(f"snapshot {name} was not built within {seconds:g}s (it is {snapshot.state})")
            time.sleep(POLL_INTERVAL_S)
            snapshot = self.get(snapshot.id)
        if on_logs is not None and dockerfile is not None:
            with self._http.stream("GET", f"/snapshots/{snapshot.id}/build-logs") as response:
                for line in response.iter_lines():
                    on_logs(line)
        return snapshot

    def delete(self, snapshot: Snapshot | str) -> None:
        """Delete a snapshot (by object, id or name); DaytonaConflictError while sandboxes use it."""
        target = snapshot.id if isinstance(snapshot, Snapshot) else (self.get(snapshot)).id
        self._http.request("DELETE", f"/snapshots/{target}")
