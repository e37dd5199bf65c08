"""Volume operations under one set of rules, whatever the wire format (`/api/volumes` today).

Rules: a volume belongs to a user, its name unique among that user's volumes; admins see and may
delete every volume, like sandboxes (another user's volume is, to anyone else, missing). A volume in
use by a sandbox (in any state but destroyed) cannot be deleted. Mount requests are checked here,
before a sandbox is stored, and kept in the sandbox's `volumes` column (see `resolve_mounts`).
"""

from __future__ import annotations

import builtins
import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db.models import Sandbox, User, Volume, utcnow
from ..db.session import Database
from ..errors import BadRequest, Conflict, Internal, NotFound
from ..lifecycle.states import State
from . import paths
from .store import VolumeStore

log = logging.getLogger("daytona.volumes")

MAX_MOUNTS = 10
READY = "ready"


def _is_admin(user: User) -> bool:
    return user.role == "admin"


class VolumeService:
    def __init__(self, db: Database, store: VolumeStore) -> None:
        self.db = db
        self.store = store

    # -- lookups ---------------------------------------------------------------------------------

    @staticmethod
    def find(session: Session, user: User, volume_id: str) -> Volume:
        """The volume, as `user` may see it: another user's is indistinguishable from a missing one."""
        volume = session.get(Volume, volume_id)
        if volume is None or (volume.owner_id != user.id and not _is_admin(user)):
            raise NotFound(f"volume {volume_id} not found")
        return volume

    @staticmethod
    def _own(session: Session, user: User, name: str) -> Volume | None:
        return session.scalars(select(Volume).where(Volume.owner_id == user.id, Volume.name == name)).first()

    def list(self, user: User) -> list[Volume]:
        with self.db.session() as session:
            query = select(Volume).order_by(Volume.created_at)
            if not _is_admin(user):
                query = query.where(Volume.owner_id == user.id)
            return list(session.scalars(query))

    def get(self, user: User, volume_id: str) -> Volume:
        with self.db.session() as session:
            return self.find(session, user, volume_id)

    def get_by_name(self, user: User, name: str) -> Volume:
        """The caller's own volume of that name (names are per owner: for admins too, so that
        `volume.get(name, create=True)` never picks up someone else's)."""
        with self.db.session() as session:
            volume = self._own(session, user, name)
            if volume is None:
                raise NotFound(f"volume {name} not found")
            return volume

    # -- changes ---------------------------------------------------------------------------------

    def create(self, user: User, name: str) -> Volume:
        name = paths.volume_name(name)
        with self.db.session() as session:
            if self._own(session, user, name) is not None:
                raise Conflict(f"volume {name} already exists: choose another name or delete it first")
            volume = Volume(id=str(uuid.uuid4()), owner_id=user.id, name=name, state=READY)
            session.add(volume)
            try:
                session.flush()
            except IntegrityError:  # created meanwhile by a parallel request
                session.rollback()
                raise Conflict(f"volume {name} already exists: choose another name or delete it first") from None
            try:
                self.store.create(volume.id)
            except OSError as exc:
                session.rollback()
                log.error("volume %s: cannot create its storage: %s", volume.id, exc)
                raise Internal(f"volume {name} could not be created: {exc.strerror or exc}") from None
            session.commit()
            return volume

    def delete(self, user: User, volume_id: str) -> None:
        """Delete a volume no sandbox uses, with its files; 409 naming the sandboxes that use it."""
        with self.db.session() as session:
            volume = self.find(session, user, volume_id)
            previous = volume.state
            volume.state = "deleting"  # from here on no new sandbox may mount it (resolve_mounts)
            session.commit()
            users = self.users_of(session, volume.id)
            if users:
                volume.state = previous
                session.commit()
                mine = sorted(sandbox_id for sandbox_id, owner in users if owner == user.id or _is_admin(user))
                others = len(users) - len(mine)
                named = [*mine, *([f"{others} of another user"] if others else [])]
                raise Conflict(
                    f"volume {volume.name} is in use by sandbox(es) {', '.join(named)}:"
                    " delete them first, then the volume"
                )
            try:
                self.store.delete(volume.id)
            except OSError as exc:
                log.error("volume %s: cannot delete its files: %s", volume.id, exc)
                volume.state, volume.error_reason = "error", f"delete failed: {exc.strerror or exc}"
                session.commit()
                raise Internal(f"volume {volume.name} could not be deleted: {exc.strerror or exc}") from None
            session.delete(volume)
            session.commit()

    @staticmethod
    def users_of(session: Session, volume_id: str) -> builtins.list[tuple[str, str]]:
        """(sandbox id, owner id) of every sandbox, in any state but destroyed, that mounts the volume."""
        rows = session.execute(
            select(Sandbox.id, Sandbox.owner_id, Sandbox.volumes).where(Sandbox.state != State.DESTROYED)
        )
        return [
            (sandbox_id, owner)
            for sandbox_id, owner, mounts in rows
            if any(isinstance(m, dict) and m.get("volumeId") == volume_id for m in mounts or [])
        ]

    # -- mounts of a new sandbox -------------------------------------------------------------------

    def _mountable(self, session: Session, user: User, ref: str) -> Volume:
        """The volume a mount request names, by id (as `find` sees it) or by the caller's own name."""
        volume = session.get(Volume, ref)
        if volume is None or (volume.owner_id != user.id and not _is_admin(user)):
            volume = self._own(session, user, ref)
        if volume is None:
            raise NotFound(f"volume {ref} not found")
        if volume.state != READY:
            raise Conflict(f"volume {volume.name} is {volume.state}, not ready")
        return volume

    def resolve_mounts(self, session: Session, user: User, requested: Any) -> builtins.list[dict[str, Any]]:
        """Check a create request's `volumes` ([{volumeId (id or name), mountPath, subpath?}]) for `user`;
        return the stored form for `Sandbox.volumes`: [{volumeId (the id), mountPath, subpath}], normalised.

        Marks the volumes used (`last_used_at`) in `session`: the caller commits, with the sandbox.
        """
        if requested is None:
            return []
        if not isinstance(requested, list):
            raise BadRequest("volumes must be a list of {volumeId, mountPath, subpath}")
        if len(requested) > MAX_MOUNTS:
            raise BadRequest(f"at most {MAX_MOUNTS} volumes per sandbox, got {len(requested)}")
        resolved: builtins.list[dict[str, Any]] = []
        for item in requested:
            if not isinstance(item, dict):
                raise BadRequest("volumes must be a list of {volumeId, mountPath, subpath}")
            ref = item.get("volumeId")
            if not isinstance(ref, str) or not ref:
                raise BadRequest("volumes[].volumeId is required: a volume's id or name")
            target = paths.mount_path(item.get("mountPath"))
            for other in resolved:
                mounted = other["mountPath"]
                if mounted == target:
                    raise BadRequest(f"two volumes are mounted at {target}")
                if target.startswith(mounted + "/") or mounted.startswith(target + "/"):
                    raise BadRequest(f"volume mounts must not nest: {mounted} and {target}")
            subpath = paths.subpath(item.get("subpath"))
            volume = self._mountable(session, user, ref)
            volume.last_used_at = utcnow()
            resolved.append({"volumeId": volume.id, "mountPath": target, "subpath": subpath})
        return resolved
