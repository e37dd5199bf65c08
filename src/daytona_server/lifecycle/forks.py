"""Fork and snapshot a running sandbox: copies of its file system, taken while it keeps running.

A fork is a new sandbox with the source's settings and a copy of its changes (frozen only while the
copy is taken, see runner.capture). A sandbox snapshot is an image of its file system, recorded as
the owner's snapshot, from which new sandboxes can be made.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from ..db.models import Image, Sandbox, User
from ..errors import Conflict, Internal
from ..images.snapshots import SnapshotService
from ..runner.base import RuntimeFailure
from .requests import SandboxRequest
from .service import SandboxService
from .states import State

log = logging.getLogger("daytona.lifecycle")


@dataclass(frozen=True)
class CopyTiming:
    """How long the source was frozen and how long the whole copy took, in seconds; bytes copied."""

    frozen_s: float
    total_s: float
    size: int


def _started(service: SandboxService, user: User, sandbox_id: str, what: str) -> Sandbox:
    source = service.get(user, sandbox_id)
    if source.state != State.STARTED:
        raise Conflict(f"cannot {what} sandbox {sandbox_id}: it is {source.state}; only a started sandbox can be")
    return source


def fork(service: SandboxService, user: User, sandbox_id: str, name: str | None) -> tuple[Sandbox, CopyTiming]:
    """A new started sandbox with `sandbox_id`'s settings and files (the source keeps running)."""
    began = time.monotonic()
    source = _started(service, user, sandbox_id, "fork")
    request = SandboxRequest(
        name=name,
        image=source.image,
        os_user=source.os_user,
        env=dict(source.env),
        labels=dict(source.labels),
        public=source.public,
        sandbox_class=source.sandbox_class,
        target=source.target,
        cpu=source.cpu,
        gpu=source.gpu,
        memory=source.memory,
        disk=source.disk,
        auto_stop_interval=source.auto_stop_interval,
        auto_archive_interval=source.auto_archive_interval,
        auto_delete_interval=source.auto_delete_interval,
        volumes=list(source.volumes or []),
        unique_name=True,
        network_block_all=source.network_blocked,
        network_allow_list=source.network_allow_list,
        domain_allow_list=source.domain_allow_list,
    )
    copy = service.admit(user, request, parent_id=source.id, image_ref=source.image_ref)
    runtime = service.runtime
    scratch = service.settings.data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with service.lock(copy.id), service.db.session() as session:
        sandbox = service.find(session, None, copy.id)
        try:
            with tempfile.NamedTemporaryFile(dir=scratch) as archive:
                with service.lock(source.id):
                    _, size, frozen = runtime.export_running_changes(source.id, cast(BinaryIO, archive))
                archive.flush()
                sandbox.container_id = runtime.create(service.spec(sandbox, session))
                runtime.import_changes(copy.id, Path(archive.name))
            runtime.start(copy.id)
        except RuntimeFailure as exc:
            service.fail(session, sandbox, f"fork failed: {exc}")
            raise Internal(f"sandbox {sandbox_id} could not be forked: {exc}") from None
        sandbox.state = State.STARTED
        session.commit()
    timing = CopyTiming(frozen, time.monotonic() - began, size)
    log.info(
        "forked %s into %s: %d bytes, frozen %.3fs, %.2fs in all", source.id, copy.id, size, frozen, timing.total_s
    )
    return sandbox, timing


def snapshot(
    service: SandboxService, snapshots: SnapshotService, user: User, sandbox_id: str, name: str
) -> tuple[Image, float]:
    """Record the running sandbox's file system as the owner's snapshot `name`; returns it and seconds frozen."""
    source = _started(service, user, sandbox_id, "snapshot")
    frozen: list[float] = []

    def commit(ref: str) -> None:
        with service.lock(source.id):
            frozen.append(service.runtime.commit(source.id, ref))

    image = snapshots.from_sandbox(user, name, source.id, commit)
    return image, frozen[0] if frozen else 0.0
