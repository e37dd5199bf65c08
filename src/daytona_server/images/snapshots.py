"""Today's snapshots: named templates for sandboxes, stored as images (one concept, two wire names).

A snapshot is made from an image the user may use (`imageName`, tagged under the snapshot's name),
from a declarative recipe (`buildInfo.dockerfileContent`, built in the background: state building,
then active or build_failed, with a followable log), or from a running sandbox (sandbox snapshot).
It may carry default resources for the sandboxes made from it.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..db.models import Image, User
from ..errors import ApiError, BadRequest, Conflict, NotFound
from . import naming
from .declarative import DeclarativeBuilder
from .service import ImageService

log = logging.getLogger("daytona.images")


@dataclass(frozen=True)
class SnapshotRequest:
    name: str
    image_name: str | None = None
    dockerfile: str | None = None
    entrypoint: list[str] | None = None
    defaults: dict[str, int] | None = None


def log_key(image_id: str) -> str:
    return f"snapshot-{image_id}"


def entrypoint_list(image: Image) -> list[str] | None:
    return shlex.split(image.entrypoint) if image.entrypoint else None


class SnapshotService:
    def __init__(self, images: ImageService, builder: DeclarativeBuilder) -> None:
        self.images = images
        self.builder = builder
        self.jobs = ThreadPoolExecutor(max_workers=2, thread_name_prefix="snapshot-build")

    def get(self, user: User, id_or_name: str) -> Image:
        """A snapshot `user` may use, by id, or by name (their own first, then a system one)."""
        try:
            return self.images.get(user, id_or_name)
        except NotFound:
            pass
        try:
            name = naming.normalize_name(id_or_name)
        except ApiError:
            raise NotFound(f"snapshot {id_or_name} not found") from None
        with self.images.db.session() as session:
            image = self.images.own(session, user, name) or self.images.system(session, name)
        if image is None:
            raise NotFound(f"snapshot {id_or_name} not found")
        return image

    def _check_free(self, user: User, name: str) -> None:
        with self.images.db.session() as session:
            if self.images.own(session, user, name) is not None:
                raise Conflict(f"you already have a snapshot named {name}: delete it first or pick another name")

    def create(self, user: User, request: SnapshotRequest) -> Image:
        if bool(request.image_name) == bool(request.dockerfile):
            raise BadRequest("give imageName (an image to make the snapshot of) or buildInfo.dockerfileContent")
        name = naming.normalize_name(request.name)
        entrypoint = shlex.join(request.entrypoint) if request.entrypoint else None
        if request.image_name:
            image = self.images.alias(user, name, naming.normalize_name(request.image_name), entrypoint)
            return self._finish(image.id, request, entrypoint)
        dockerfile = self.builder.check(request.dockerfile or "")
        self._check_free(user, name)
        placeholder = self.images.placeholder(user, name)
        self.builder.logs.start(log_key(placeholder.id))
        self.jobs.submit(self._build, user, placeholder.id, name, dockerfile, request, entrypoint)
        return placeholder

    def _build(
        self, user: User, image_id: str, name: str, dockerfile: str, request: SnapshotRequest, entrypoint: str | None
    ) -> None:
        try:
            self.builder.build(user, dockerfile, log_key(image_id), name=name)
            self._finish(image_id, request, entrypoint)
        except ApiError as exc:
            self.images.set_fields(image_id, state="build_failed", error_reason=exc.message)
        except Exception as exc:  # a job has nobody to raise to
            log.exception("snapshot %s", name)
            self.images.set_fields(image_id, state="build_failed", error_reason=f"the build failed: {exc}")

    def _finish(self, image_id: str, request: SnapshotRequest, entrypoint: str | None) -> Image:
        fields: dict[str, Any] = {"defaults": dict(request.defaults or {})}
        if entrypoint is not None:
            fields["entrypoint"] = entrypoint
        return self.images.set_fields(image_id, **fields)

    def from_sandbox(self, user: User, name: str, sandbox_id: str, commit: Callable[[str], None]) -> Image:
        """Record `commit(staging_ref)`'s image (a running sandbox's file system) as the snapshot `name`."""
        name = naming.normalize_name(name)
        self._check_free(user, name)
        image = self.images.capture(user, name, commit)
        return self.images.set_fields(image.id, source_sandbox_id=sandbox_id)

    def close(self) -> None:
        self.jobs.shutdown(wait=False, cancel_futures=True)
