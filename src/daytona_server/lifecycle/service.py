"""Sandbox operations: validate, move through the state machine, drive the runtime, persist.

Methods are blocking (Docker and the database are), so the API calls them from a thread pool.
Operations on one sandbox are serialised by a per-sandbox lock.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..api.schemas import CLASS_PRESETS, CreateWorkspace
from ..config import Settings
from ..db.models import Sandbox, User, utcnow
from ..db.session import Database
from ..errors import ApiError, BadRequest, Conflict, NotFound
from ..runner.base import ImageNotFound, Runtime, RuntimeFailure, SandboxSpec
from .states import IllegalTransition, State, accepts_toolbox, transition

log = logging.getLogger("daytona.lifecycle")

ACTIVITY_RESOLUTION = timedelta(seconds=5)


class SandboxService:
    def __init__(self, settings: Settings, db: Database, runtime: Runtime) -> None:
        self.settings = settings
        self.db = db
        self.runtime = runtime
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    # -- lookups ---------------------------------------------------------------------------------

    @staticmethod
    def _find(session: Session, user: User, sandbox_id: str) -> Sandbox:
        sandbox = session.get(Sandbox, sandbox_id)
        # Another user's sandbox is indistinguishable from a missing one.
        if sandbox is None or (sandbox.owner_id != user.id and user.role != "admin"):
            raise NotFound(f"sandbox {sandbox_id} not found")
        return sandbox

    def get(self, user: User, sandbox_id: str) -> Sandbox:
        with self.db.session() as session:
            return self._find(session, user, sandbox_id)

    def list(self, user: User, labels: dict[str, str] | None = None) -> list[Sandbox]:
        with self.db.session() as session:
            query = select(Sandbox).order_by(Sandbox.created_at)
            if user.role != "admin":
                query = query.where(Sandbox.owner_id == user.id)
            found = list(session.scalars(query))
        if labels:
            found = [s for s in found if all(s.labels.get(k) == v for k, v in labels.items())]
        return found

    def for_toolbox(self, user: User, sandbox_id: str) -> Sandbox:
        """The sandbox, if its toolbox can be used now; records the activity (for auto-stop)."""
        with self.db.session() as session:
            sandbox = self._find(session, user, sandbox_id)
            if not accepts_toolbox(sandbox.state):
                raise Conflict(
                    f"sandbox {sandbox_id} is {sandbox.state}: start it first (daytona sandbox start {sandbox_id})"
                )
            now = utcnow()
            last = sandbox.last_activity_at.replace(tzinfo=now.tzinfo)
            if now - last > ACTIVITY_RESOLUTION:
                sandbox.last_activity_at = now
                session.commit()
            return sandbox

    # -- lifecycle -------------------------------------------------------------------------------

    def create(self, user: User, request: CreateWorkspace) -> Sandbox:
        settings = self.settings
        sandbox_id = request.id or f"sandbox-{secrets.token_hex(4)}"
        image = request.image or settings.default_image
        cpu, memory, disk = CLASS_PRESETS[request.var_class or "small"]
        if request.var_class is None:
            cpu, memory, disk = settings.default_cpu, settings.default_memory_gb, settings.default_disk_gb
        gpu = request.gpu or 0
        if gpu and not getattr(self.runtime, "supports_gpu", lambda: False)():
            raise BadRequest(f"gpu={gpu} requested, but this runner has no GPU runtime (nvidia) configured")
        if not self.runtime.image_exists(image):
            raise BadRequest(
                f"image {image!r} not found: push it first (daytona image push {image}) or omit image"
                " to use the default"
            )
        sandbox = Sandbox(
            id=sandbox_id,
            owner_id=user.id,
            name=request.name or sandbox_id,
            image=image,
            os_user=request.user or "daytona",
            env=request.env or {},
            labels=request.labels or {},
            public=bool(request.public),
            target=request.target or "us",
            sandbox_class=request.var_class or "small",
            cpu=request.cpu or cpu,
            gpu=gpu,
            memory=request.memory or memory,
            disk=request.disk or disk,
            auto_stop_interval=(
                request.auto_stop_interval
                if request.auto_stop_interval is not None
                else settings.default_auto_stop_minutes
            ),
            state=State.CREATING,
        )
        with self._locks[sandbox_id], self.db.session() as session:
            if session.get(Sandbox, sandbox_id) is not None:
                raise Conflict(f"sandbox {sandbox_id} already exists: choose another id or delete it first")
            session.add(sandbox)
            session.commit()
            spec = SandboxSpec(
                sandbox_id=sandbox_id,
                image=image,
                os_user=sandbox.os_user,
                env=dict(sandbox.env),
                cpu=sandbox.cpu,
                memory_gb=sandbox.memory,
                disk_gb=sandbox.disk,
                gpu=gpu,
            )
            try:
                sandbox.container_id = self.runtime.create(spec)
                self.runtime.start(sandbox_id)
            except (RuntimeFailure, ImageNotFound) as exc:
                self._fail(session, sandbox, f"create failed: {exc}")
                raise ApiError(500, f"sandbox {sandbox_id} failed to start: {exc}") from None
            sandbox.state = State.STARTED
            sandbox.last_activity_at = utcnow()
            session.commit()
            return sandbox

    def _fail(self, session: Session, sandbox: Sandbox, reason: str) -> None:
        log.warning("sandbox %s: %s", sandbox.id, reason)
        sandbox.state = State.ERROR
        sandbox.error_reason = reason
        session.commit()

    def _run_transition(self, user: User, sandbox_id: str, action: str) -> Sandbox:
        with self._locks[sandbox_id], self.db.session() as session:
            sandbox = self._find(session, user, sandbox_id)
            try:
                during, after = transition(sandbox_id, sandbox.state, action)
            except IllegalTransition as exc:
                raise Conflict(str(exc)) from None
            sandbox.state = during
            session.commit()
            try:
                if action == "start":
                    self.runtime.start(sandbox_id)
                elif action == "stop":
                    self.runtime.stop(sandbox_id)
            except RuntimeFailure as exc:
                self._fail(session, sandbox, f"{action} failed: {exc}")
                raise ApiError(500, f"sandbox {sandbox_id} failed to {action}: {exc}") from None
            sandbox.state = after
            sandbox.error_reason = None
            sandbox.last_activity_at = utcnow()
            session.commit()
            return sandbox

    def start(self, user: User, sandbox_id: str) -> Sandbox:
        return self._run_transition(user, sandbox_id, "start")

    def stop(self, user: User, sandbox_id: str) -> Sandbox:
        return self._run_transition(user, sandbox_id, "stop")

    def delete(self, user: User, sandbox_id: str) -> None:
        with self._locks[sandbox_id], self.db.session() as session:
            sandbox = self._find(session, user, sandbox_id)
            transition(sandbox_id, sandbox.state, "destroy")
            sandbox.state = State.DESTROYING
            session.commit()
            try:
                self.runtime.remove(sandbox_id)
            except RuntimeFailure as exc:
                self._fail(session, sandbox, f"delete failed: {exc}")
                raise ApiError(500, f"sandbox {sandbox_id} could not be deleted: {exc}") from None
            session.delete(sandbox)
            session.commit()
        self._locks.pop(sandbox_id, None)

    def set_labels(self, user: User, sandbox_id: str, labels: dict[str, str]) -> Sandbox:
        with self.db.session() as session:
            sandbox = self._find(session, user, sandbox_id)
            sandbox.labels = dict(labels)
            session.commit()
            return sandbox

    def set_autostop(self, user: User, sandbox_id: str, minutes: int) -> Sandbox:
        if minutes < 0:
            raise BadRequest("auto-stop interval must be 0 (never) or a positive number of minutes")
        with self.db.session() as session:
            sandbox = self._find(session, user, sandbox_id)
            sandbox.auto_stop_interval = minutes
            session.commit()
            return sandbox
