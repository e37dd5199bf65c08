"""How a sandbox's container is made: its spec, from the database row (and the image's entrypoint)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Image, Sandbox
from ..runner.base import SandboxSpec


def spec_of(sandbox: Sandbox, session: Session | None = None) -> SandboxSpec:
    """How to (re)create the container of `sandbox`; with a session, the image's entrypoint too."""
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
    )
