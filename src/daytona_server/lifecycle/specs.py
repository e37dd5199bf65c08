"""How a sandbox's container is made: its spec, from the database row (the image's entrypoint, its volumes' paths)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Image, Sandbox
from ..runner.base import RuntimeFailure, SandboxSpec, VolumeMount
from ..volumes.store import VolumeStore


def mounts_of(sandbox: Sandbox, volumes: VolumeStore | None) -> list[VolumeMount]:
    """The sandbox's volumes (`Sandbox.volumes`, checked by VolumeService.resolve_mounts) as this host binds them."""
    if not sandbox.volumes:
        return []
    if volumes is None:
        raise RuntimeFailure(f"sandbox {sandbox.id} mounts volumes, but no volume store was given to spec_of")
    return [
        VolumeMount(source=volumes.host_path(m["volumeId"]), target=m["mountPath"], subpath=m.get("subpath") or None)
        for m in sandbox.volumes
    ]


def spec_of(sandbox: Sandbox, session: Session | None = None, volumes: VolumeStore | None = None) -> SandboxSpec:
    """How to (re)create the container of `sandbox`; with a session, the image's entrypoint too; with
    the volume store, its volumes (needed when it has any)."""
    ref = sandbox.image_ref or sandbox.image
    image = session.scalars(select(Image).where(Image.engine_ref == ref)).first() if session else None
    return SandboxSpec(
        entrypoint=image.entrypoint if image else None,
        sandbox_id=sandbox.id,
        image=ref,
        os_user=sandbox.os_user,
        env=dict(sandbox.env),
        cpu=sandbox.cpu,
        memory_gb=sandbox.memory,
        disk_gb=sandbox.disk,
        gpu=sandbox.gpu,
        mounts=mounts_of(sandbox, volumes),
    )
