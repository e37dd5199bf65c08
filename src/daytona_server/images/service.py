"""Image operations under one set of rules, whatever the wire format (`/images` and `/snapshots`).

Rules: every image belongs to a user, or is a system image (`general`: the default image and any an
admin marks so) that everyone may use and only admins may change. A user's images are tagged in
the user's namespace on the engine. Ownership, names and quota are checked before the engine is
touched; builds and uploads go to a staging tag, which becomes the image's tag only when everything
passed, so a refused or failed build leaves nothing behind and changes nothing that exists.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import quotas
from ..db.models import Image, Sandbox, User, utcnow
from ..db.session import Database
from ..errors import ApiError, BadRequest, Conflict, Forbidden, Internal, NotFound
from ..runner.base import ImageEngine, RuntimeFailure
from . import dockerfile, naming, tarballs

log = logging.getLogger("daytona.images")


@dataclass
class Resolved:
    """The image a sandbox or a build uses: its record (None for an admin's unregistered engine image) and tag."""

    image: Image | None
    ref: str


@dataclass
class Target:
    """Where a build or upload by `user` of `name` lands, checked before anything touches the engine."""

    name: str
    ref: str
    existing: Image | None


def is_admin(user: User) -> bool:
    return user.role == "admin"


class ImageService:
    def __init__(self, db: Database, engine: ImageEngine, default_image: str) -> None:
        self.db = db
        self.engine = engine
        self.default_image = default_image
        # Called with an engine ref before its image is removed and after its tag moved (the warm pool
        # drops its members of the old image).
        self.listeners: list[Callable[[str], None]] = []

    # -- lookups ---------------------------------------------------------------------------------

    @staticmethod
    def _visible(user: User) -> Any:
        return None if is_admin(user) else or_(Image.owner_id == user.id, Image.general.is_(True))

    def list(self, user: User, page: int, limit: int) -> tuple[list[Image], int, int]:
        """One page of the images `user` may use (admins: all); (items, total, pages)."""
        with self.db.session() as session:
            scope = select(Image)
            visible = self._visible(user)
            if visible is not None:
                scope = scope.where(visible)
            total = session.scalar(select(func.count()).select_from(scope.subquery())) or 0
            items = list(session.scalars(scope.order_by(Image.created_at).offset((page - 1) * limit).limit(limit)))
        return items, total, max(1, math.ceil(total / limit))

    def get(self, user: User, image_id: str) -> Image:
        with self.db.session() as session:
            image = session.get(Image, image_id)
            if image is None or not (is_admin(user) or image.general or image.owner_id == user.id):
                raise NotFound(f"image {image_id} not found")
            return image

    def _editable(self, user: User, image_id: str) -> Image:
        image = self.get(user, image_id)
        if image.general and not is_admin(user):
            raise Forbidden(f"image {image.name} is a system image: only admins may change it")
        return image

    @staticmethod
    def own(session: Session, user: User, name: str) -> Image | None:
        query = select(Image).where(Image.owner_id == user.id, Image.name == name, Image.general.is_(False))
        return session.scalars(query).first()

    @staticmethod
    def system(session: Session, name: str) -> Image | None:
        return session.scalars(select(Image).where(Image.general.is_(True), Image.name == name)).first()

    def resolve(self, session: Session, user: User, name: str) -> Resolved:
        """The image `user` means by `name`: their own, else a system one, else (admins) any on the engine."""
        image = self.own(session, user, name) or self.system(session, name)
        if image is not None:
            if image.state != "active":
                raise BadRequest(f"image {name} is {image.state}, not active")
            if not image.enabled:
                raise BadRequest(f"image {name} is disabled: enable it (PATCH /api/images/{image.id}/toggle)")
            return Resolved(image, image.engine_ref)
        if is_admin(user) and self.engine.exists(name):
            return Resolved(None, name)
        raise BadRequest(
            f"image {name!r} not found: push it first (daytona image push {name}) or omit image to use the default"
        )

    # -- the system image --------------------------------------------------------------------------

    def ensure_default(self, admin_id: str) -> None:
        """Record the default image as a system image; undo any claim on its name or tag by a user."""
        name = self.default_image
        with self.db.session() as session:
            if session.get(User, admin_id) is None:
                return  # a database without its first admin yet (bootstrap makes it)
            rows = list(session.scalars(select(Image).where(or_(Image.engine_ref == name, Image.name == name))))
            system = next((r for r in rows if r.engine_ref == name), None)
            for row in rows:
                if row is not system and row.general:
                    row.general = False  # one system image per name
            if system is None:
                system = Image(id=str(uuid.uuid4()), owner_id=admin_id, name=name, engine_ref=name, enabled=True)
                session.add(system)
            elif not system.general or system.owner_id != admin_id:
                log.warning("image %s was registered by %s: it is the system's again", name, system.owner_id)
                system.owner_id, system.entrypoint, system.enabled = admin_id, None, True
            system.name, system.general, system.state = name, True, "active"
            system.size = self.engine.size_gb(name)
            session.commit()

    # -- register, build, push ---------------------------------------------------------------------

    def _target(self, session: Session, user: User, name: str) -> Target:
        """Where `user`'s image `name` lives or will live; refuses names of system images to users."""
        system = self.system(session, name)
        if system is not None:
            if not is_admin(user):
                raise Conflict(f"{name} is the name of a system image, which everyone can use as it is: pick another")
            return Target(name, system.engine_ref, system)
        return Target(name, naming.user_ref(user.id, name), self.own(session, user, name))

    def _replaceable(self, session: Session, target: Target) -> None:
        """Refuse to put new content under a tag that sandboxes were made from (their archives build on it)."""
        if target.existing is None:
            return
        users = list(session.scalars(select(Sandbox.id).where(Sandbox.image_ref == target.ref).limit(5)))
        if users:
            raise Conflict(
                f"image {target.name} is used by sandbox(es) {', '.join(users)}: push under a new tag, or delete them"
            )

    def _record(self, user: User, target: Target, entrypoint: str | None, size: float) -> Image:
        with self.db.session() as session:
            image = session.get(Image, target.existing.id) if target.existing else None
            if image is None:
                image = Image(id=str(uuid.uuid4()), owner_id=user.id, name=target.name, enabled=True)
                session.add(image)
            image.engine_ref, image.state, image.size, image.error_reason = target.ref, "active", size, None
            if entrypoint is not None or not image.general:
                image.entrypoint = entrypoint
            session.commit()
            return image

    def _admit(self, user: User, target: Target, ref: str) -> float:
        """Size, quota and the agent's needs of the image at `ref`; raise when it may not be used."""
        size = self.engine.size_gb(ref)
        if size is None:
            raise BadRequest(f"image {target.name} is not on the runner: build or push it")
        with self.db.session() as session:
            quotas.check_image(session, user, size, replacing=target.existing)
        problem = self.engine.validate(ref)
        if problem:
            raise BadRequest(problem.replace(ref, target.name))
        return size

    def register(self, user: User, name: str, entrypoint: str | None) -> Image:
        """Record an image that is already on the engine in `user`'s namespace (admins: any engine image)."""
        with self.db.session() as session:
            target = self._target(session, user, name)
        if not self.engine.exists(target.ref):
            if not (is_admin(user) and target.existing is None and self.engine.exists(name)):
                raise BadRequest(
                    f"image {name} is not on the runner: build or push it (daytona image push {name} -f Dockerfile)"
                )
            target.ref = name  # an admin registers an image the operator put on the engine
        size = self._admit(user, target, target.ref)
        return self._record(user, target, entrypoint, size)

    def _prepare(self, user: User, name: str) -> Target:
        with self.db.session() as session:
            target = self._target(session, user, name)
            self._replaceable(session, target)
            quotas.check_image_count(session, user, replacing=target.existing)
        return target

    def _promote(self, user: User, target: Target, staging: str, entrypoint: str | None) -> Image:
        """Admit the image at `staging` and give it its real tag; the staging tag is removed either way."""
        try:
            size = self._admit(user, target, staging)
            self.engine.tag(staging, target.ref)
        finally:
            self._drop(staging)
        self._changed(target.ref)
        return self._record(user, target, entrypoint, size)

    def _changed(self, ref: str) -> None:
        for listener in self.listeners:
            listener(ref)

    def _drop(self, ref: str) -> None:
        try:
            self.engine.remove(ref)
        except RuntimeFailure as exc:
            log.warning("could not remove %s from the engine: %s", ref, exc)

    def _base(self, user: User, reference: str) -> str:
        """Resolve a Dockerfile's FROM / COPY --from the way a sandbox's image is resolved."""
        name = naming.normalize_name(reference)
        with self.db.session() as session:
            ref = self.resolve(session, user, name).ref
        if self.engine.onbuild_copies_from(ref):
            raise BadRequest(f"base image {reference} has ONBUILD triggers with --from, which builds here refuse")
        return ref

    def build(
        self, user: User, name: str, context: BinaryIO, dockerfile_path: str, entrypoint: str | None
    ) -> Iterator[dict[str, Any]]:
        """Build `name` from a tar context; yields {"log"} lines, then {"image": Image} or {"error"}."""
        target = self._prepare(user, name)
        resolved = tarballs.rewrite_dockerfile(
            context, dockerfile_path, lambda text: dockerfile.resolve_references(text, lambda r: self._base(user, r))
        )
        return self._build(user, target, resolved, dockerfile_path, entrypoint)

    def _build(
        self, user: User, target: Target, context: BinaryIO, dockerfile_path: str, entrypoint: str | None
    ) -> Iterator[dict[str, Any]]:
        staging = naming.staging_ref(target.ref)
        error = ""
        try:
            for event in self.engine.build(staging, context, dockerfile_path):
                if "error" in event:
                    error = str(event["error"]).strip()
                text = event.get("stream") or event.get("status") or event.get("error")
                if text:
                    yield {"log": str(text)}
        finally:
            context.close()
        if error:
            self._drop(staging)
            yield {"error": f"the build failed: {error}"}
            return
        try:
            yield {"image": self._promote(user, target, staging, entrypoint)}
        except ApiError as exc:
            yield {"error": exc.message, "statusCode": exc.status}

    def alias(self, user: User, name: str, source: str, entrypoint: str | None) -> Image:
        """`user`'s image `name` with the content of `source` (an image they may use), checked like a push."""
        with self.db.session() as session:
            ref = self.resolve(session, user, source).ref
        return self.capture(user, name, lambda staging: self.engine.tag(ref, staging))

    def capture(self, user: User, name: str, make: Callable[[str], None]) -> Image:
        """`user`'s image `name` from what `make(staging tag)` puts on the engine (a tag, a commit)."""
        target = self._prepare(user, name)
        staging = naming.staging_ref(target.ref)
        try:
            make(staging)
        except RuntimeFailure as exc:
            self._drop(staging)
            raise Internal(f"cannot make image {name}: {exc}") from None
        return self._promote(user, target, staging, None)

    def placeholder(self, user: User, name: str) -> Image:
        """Record `user`'s image `name` as building, before its build has begun (clients poll it)."""
        target = self._prepare(user, name)
        with self.db.session() as session:
            image = Image(
                id=str(uuid.uuid4()), owner_id=user.id, name=name, engine_ref=target.ref, state="building", enabled=True
            )
            session.add(image)
            session.commit()
            return image

    def set_fields(self, image_id: str, **fields: Any) -> Image:
        with self.db.session() as session:
            image = session.get(Image, image_id)
            if image is None:
                raise NotFound(f"image {image_id} not found")
            for key, value in fields.items():
                setattr(image, key, value)
            session.commit()
            return image

    def push(self, user: User, name: str, tarball: BinaryIO, entrypoint: str | None) -> Image:
        """Load `name` from a `docker save` tarball, under a staging tag, then admit it."""
        target = self._prepare(user, name)
        staging = naming.staging_ref(target.ref)
        retagged = tarballs.retag_saved_image(tarball, name, staging)
        try:
            loaded = self.engine.load(retagged)
        except RuntimeFailure as exc:
            raise BadRequest(f"{exc}: send the output of `docker save {name}`") from None
        finally:
            retagged.close()
        if staging not in loaded:
            for ref in loaded:
                self._drop(ref)
            raise BadRequest(f"the tarball did not load as an image named {name}")
        return self._promote(user, target, staging, entrypoint)

    # -- changes -----------------------------------------------------------------------------------

    def toggle(self, user: User, image_id: str, enabled: bool) -> Image:
        self._editable(user, image_id)
        with self.db.session() as session:
            image = session.get(Image, image_id)
            if image is None:
                raise NotFound(f"image {image_id} not found")
            image.enabled = enabled
            session.commit()
            return image

    def set_general(self, user: User, image_id: str, general: bool) -> Image:
        """Make an image a system image that everyone may use, or take that back (admins)."""
        if not is_admin(user):
            raise Forbidden("only admins may make an image general")
        image = self.get(user, image_id)
        if image.engine_ref == self.default_image and not general:
            raise Conflict(f"{image.name} is the default image: it stays general")
        with self.db.session() as session:
            if general and (other := self.system(session, image.name)) is not None and other.id != image_id:
                raise Conflict(f"another system image is named {image.name}: rename or delete it first")
            row = session.get(Image, image_id)
            assert row is not None
            row.general = general
            session.commit()
            return row

    def remove(self, user: User, image_id: str) -> None:
        image = self._editable(user, image_id)
        if image.engine_ref == self.default_image:
            raise Conflict(f"{image.name} is the default image: it cannot be deleted (set DAYTONA_DEFAULT_IMAGE)")
        with self.db.session() as session:
            users = list(session.scalars(select(Sandbox.id).where(Sandbox.image_ref == image.engine_ref)))
        if users:
            raise Conflict(f"image {image.name} is used by sandbox(es) {', '.join(users)}: delete them first")
        self._changed(image.engine_ref)
        try:
            self.engine.remove(image.engine_ref)
        except RuntimeFailure as exc:
            raise Conflict(str(exc)) from None
        with self.db.session() as session:
            row = session.get(Image, image_id)
            if row is not None:
                session.delete(row)
                session.commit()

    def dockerfile_of(self, engine_ref: str) -> str | None:
        """The recipe a declarative image was built from, if it was."""
        with self.db.session() as session:
            return session.scalars(select(Image.dockerfile).where(Image.engine_ref == engine_ref)).first()

    def touch(self, session: Session, image: Image | None) -> None:
        if image is not None:
            row = session.get(Image, image.id)
            if row is not None:
                row.last_used_at = utcnow()
