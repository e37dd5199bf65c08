"""What the server does on its own: reconcile with the runtime at start-up, auto-stop, -archive and -delete."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from ..db.models import Sandbox, utcnow
from ..errors import ApiError
from ..runner.base import RuntimeFailure
from .service import SandboxService
from .states import State

log = logging.getLogger("daytona.lifecycle")

# Asks a sandbox's agent whether it is working (running session commands, LSP requests).
BusyProbe = Callable[[str], bool]


def reconcile(service: SandboxService) -> None:
    """Make every sandbox's state match the runtime after a restart (or a crash, kill -9 included)."""
    runtime = service.runtime
    with service.db.session() as session:
        sandboxes = list(session.scalars(select(Sandbox)))
    known = {s.id for s in sandboxes}
    for sandbox in sandboxes:
        status = runtime.status(sandbox.id)
        state = State(sandbox.state)
        new: State | None = None
        reason: str | None = None
        try:
            if state == State.DESTROYING:
                runtime.remove(sandbox.id)
                with service.db.session() as session:
                    row = session.get(Sandbox, sandbox.id)
                    if row is not None:
                        session.delete(row)
                        session.commit()
                continue
            if state in (State.PENDING_BUILD, State.BUILDING_SNAPSHOT):
                if status.exists:
                    runtime.remove(sandbox.id)
                new, reason = State.BUILD_FAILED, "the server restarted during the build: delete it and create it again"
            elif state in (State.ARCHIVED, State.RESTORING):
                # The archive is the truth; a container left by an interrupted archive/restore goes.
                if status.exists:
                    runtime.remove(sandbox.id)
                new = State.ARCHIVED
            elif not status.exists:
                if state in (State.ERROR, State.BUILD_FAILED):
                    continue
                new, reason = State.ERROR, "its container disappeared while the server was down"
            elif status.running:
                if state == State.CREATING:  # the claim of a pool member may not have finished
                    with service.db.session() as session:
                        runtime.claim(service.spec(sandbox, session))
                new = State.STARTED
            elif state != State.ERROR:
                new = State.STOPPED
        except RuntimeFailure as exc:
            new, reason = State.ERROR, f"reconcile failed: {exc}"
        if status.exists:
            try:  # a policy change the server could not finish before it went down
                service.networks.place(sandbox)
            except RuntimeFailure as exc:
                log.error("reconcile: sandbox %s: network: %s", sandbox.id, exc)
        if new is not None and (new != state or sandbox.progress):
            log.info("reconcile: sandbox %s %s -> %s", sandbox.id, state.value, new.value)
            fields: dict[str, object] = {"state": new, "progress": None}
            if reason:
                fields["error_reason"] = reason
            service.update(sandbox.id, **fields)
    for orphan in set(runtime.list_sandbox_ids()) - known:
        log.warning("reconcile: removing container of sandbox %s, unknown to the database", orphan)
        try:
            runtime.remove(orphan)
        except RuntimeFailure as exc:
            log.error("reconcile: cannot remove orphan %s: %s", orphan, exc)


class LifecycleLoop:
    """A thread that stops idle sandboxes and archives long-stopped ones."""

    def __init__(
        self, service: SandboxService, interval_s: float, busy: BusyProbe, leading: Callable[[], bool] = lambda: True
    ) -> None:
        """`leading`: whether this replica runs the background work now (daytona_server.cluster)."""
        self.service = service
        self.interval_s = interval_s
        self.busy = busy
        self.leading = leading
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lifecycle-loop", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if not self.leading():
                continue
            try:
                self.tick()
            except Exception:
                log.exception("lifecycle loop")

    def tick(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        try:
            self.service.networks.fold()
        except Exception:
            log.exception("network audit")
        with self.service.db.session() as session:
            sandboxes = list(session.scalars(select(Sandbox).where(Sandbox.state.in_([State.STARTED, State.STOPPED]))))
        for sandbox in sandboxes:
            idle = now - sandbox.last_activity_at
            if sandbox.state == State.STARTED and sandbox.auto_stop_interval > 0:
                if idle >= timedelta(minutes=sandbox.auto_stop_interval):
                    self._maybe_stop(sandbox.id)
            elif (
                sandbox.state == State.STOPPED
                and sandbox.auto_delete_interval >= 0
                and idle >= timedelta(minutes=sandbox.auto_delete_interval)
            ):
                self._act(sandbox.id, "auto-delete", self.service.delete)
            elif (
                sandbox.state == State.STOPPED
                and sandbox.auto_archive_interval > 0
                and idle >= timedelta(minutes=sandbox.auto_archive_interval)
            ):
                self._act(sandbox.id, "auto-archive", self.service.archive)

    def _maybe_stop(self, sandbox_id: str) -> None:
        # Idle means no API activity, no toolbox request in flight and nothing running inside.
        if self.service.activity.busy(sandbox_id) or self.busy(sandbox_id):
            self.service.update(sandbox_id, last_activity_at=utcnow())
            return
        self._act(sandbox_id, "auto-stop", self.service.stop)

    def _act(self, sandbox_id: str, what: str, action: Callable[[None, str], object]) -> None:
        log.info("%s: sandbox %s", what, sandbox_id)
        try:
            action(None, sandbox_id)
        except ApiError as exc:  # e.g. a user changed its state meanwhile
            log.info("%s of %s skipped: %s", what, sandbox_id, exc.message)
