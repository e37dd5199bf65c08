"""Snapshots (templates for sandboxes) and volumes (persistent storage mounted into them), today's names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass
class Snapshot:
    """A named template for sandboxes: an image you may use, a declarative build, or a sandbox's files."""

    id: str
    name: str
    state: str  # building, active, inactive, build_failed, ...
    size: float | None  # GB
    general: bool
    error_reason: str | None
    source_sandbox_id: str | None
    created_at: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Snapshot:
        return cls(
            id=data["id"],
            name=data["name"],
            state=data.get("state", ""),
            size=data.get("size"),
            general=bool(data.get("general")),
            error_reason=data.get("errorReason"),
            source_sandbox_id=data.get("sourceSandboxId"),
            created_at=data.get("createdAt", ""),
        )


@dataclass
class Volume:
    """Named storage that outlives sandboxes; several sandboxes may mount it at once."""

    id: str
    name: str
    state: str
    created_at: str
    last_used_at: str | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Volume:
        return cls(
            id=data["id"],
            name=data["name"],
            state=data.get("state", ""),
            created_at=data.get("createdAt", ""),
            last_used_at=data.get("lastUsedAt"),
        )


class VolumeMount(BaseModel):
    """Mount `volume_id` (an id or one of your volumes' names) at `mount_path`, optionally only its `subpath`."""

    volume_id: str
    mount_path: str
    subpath: str | None = None

    def to_api(self) -> dict[str, str]:
        body = {"volumeId": self.volume_id, "mountPath": self.mount_path, "subpath": self.subpath}
        return {k: v for k, v in body.items() if v is not None}
