"""Sandbox bodies of `/api/workspace...`, wire-compatible with `daytona_api_client` 0.14.0 (camelCase JSON)."""

from __future__ import annotations

from pydantic import Field

from ..schemas import (
    MAX_MINUTES,
    CamelModel,
    EnvVars,
    Labels,
    OsUser,
    SandboxClass,
    SandboxId,
    SandboxVolume,
    Target,
    Text,
)


class CreateWorkspace(CamelModel):
    id: SandboxId | None = None
    name: Text | None = Field(default=None, max_length=255)
    image: Text | None = Field(default=None, min_length=1, max_length=512)
    user: OsUser | None = None
    env: EnvVars | None = None
    labels: Labels | None = None
    public: bool | None = None
    var_class: SandboxClass | None = Field(default=None, alias="class")
    target: Target | None = None
    cpu: int | None = Field(default=None, ge=1, le=64, description="CPU cores")
    gpu: int | None = Field(default=None, ge=0, le=8, description="GPUs")
    memory: int | None = Field(default=None, ge=1, le=256, description="Memory in GiB")
    disk: int | None = Field(default=None, ge=1, le=2048, description="Disk in GiB")
    auto_stop_interval: int | None = Field(
        default=None, ge=0, le=MAX_MINUTES, description="Minutes idle before auto-stop; 0 = never"
    )
    volumes: list[SandboxVolume] | None = Field(
        default=None, max_length=10, description="Our extension: volumes to mount (see /api/volumes)"
    )
    # Our extension: the egress policy, as today's API names it (see daytona_server.network.policy).
    network_block_all: bool | None = Field(default=None, description="Our extension: no network at all")
    network_allow_list: str | None = Field(
        default=None, max_length=1000, description="Our extension: comma-separated IPv4 CIDRs, the only ones reachable"
    )
    domain_allow_list: str | None = Field(
        default=None, max_length=5000, description="Our extension: comma-separated domains (*.example.com for all)"
    )


class NetworkSettings(CamelModel):
    """A new egress policy: fields left out keep their value; `networkBlockAll: false` alone restores access."""

    network_block_all: bool | None = None
    network_allow_list: str | None = Field(default=None, max_length=1000)
    domain_allow_list: str | None = Field(default=None, max_length=5000)


class ResizeWorkspace(CamelModel):
    cpu: int | None = Field(default=None, ge=1, le=64)
    memory: int | None = Field(default=None, ge=1, le=256, description="GiB")
    disk: int | None = Field(default=None, ge=1, le=2048, description="GiB; cannot change after creation")


class PreviewUrl(CamelModel):
    url: str
    token: str = Field(description="Send as X-Daytona-Preview-Token (not needed for public sandboxes)")


class WorkspaceInfo(CamelModel):
    created: str
    name: str
    provider_metadata: str | None = None


class Workspace(CamelModel):
    id: str
    name: str
    image: str
    user: str
    env: dict[str, str]
    labels: dict[str, str]
    public: bool
    target: str
    info: WorkspaceInfo | None = None
    cpu: int | None = None
    gpu: int | None = None
    memory: int | None = None
    disk: int | None = None
    state: str | None = None
    error_reason: str | None = None
    snapshot_state: str | None = None
    snapshot_created_at: str | None = None
    auto_stop_interval: int | None = None


class WorkspaceLabels(CamelModel):
    labels: Labels
