"""Bodies of today's control plane, as `daytona_api_client` 0.226 (de)serialises them (camelCase JSON).

The client is strict: required fields must be present and resources are integers.
"""

from __future__ import annotations

from pydantic import Field

from ..schemas import MAX_MINUTES, CamelModel, EnvVars, Labels, OsUser, SandboxClass, SandboxVolume, Target, Text

Minutes = Field(default=None, ge=-1, le=MAX_MINUTES)


class BuildInfoIn(CamelModel):
    dockerfile_content: str | None = None
    context_hashes: list[str] | None = None


class CreateSandbox(CamelModel):
    name: Text | None = Field(default=None, min_length=1, max_length=255)
    snapshot: Text | None = Field(default=None, min_length=1, max_length=512)
    user: OsUser | None = None
    env: EnvVars | None = None
    labels: Labels | None = None
    public: bool | None = None
    network_block_all: bool | None = None
    network_allow_list: str | None = None
    domain_allow_list: str | None = None
    kvm: bool | None = None
    target: Target | None = None
    var_class: SandboxClass | None = Field(default=None, alias="class")
    cpu: int | None = Field(default=None, ge=1, le=64, description="CPU cores")
    gpu: int | None = Field(default=None, ge=0, le=8)
    memory: int | None = Field(default=None, ge=1, le=256, description="GiB")
    disk: int | None = Field(default=None, ge=1, le=2048, description="GiB")
    auto_stop_interval: int | None = Field(default=None, ge=0, le=MAX_MINUTES)
    auto_pause_interval: int | None = Field(default=None, ge=0, le=MAX_MINUTES)
    auto_archive_interval: int | None = Field(default=None, ge=0, le=MAX_MINUTES)
    auto_delete_interval: int | None = Minutes
    ttl_minutes: int | None = Field(default=None, ge=0, le=MAX_MINUTES)
    volumes: list[SandboxVolume] | None = Field(default=None, max_length=10)
    build_info: BuildInfoIn | None = None


class BuildInfo(CamelModel):
    dockerfile_content: str | None = None
    context_hashes: list[str] | None = None
    created_at: str
    updated_at: str
    snapshot_ref: str


class SandboxDto(CamelModel):
    id: str
    organization_id: str
    name: str
    snapshot: str | None = None
    user: str
    env: dict[str, str]
    labels: dict[str, str]
    public: bool
    network_block_all: bool
    network_allow_list: str | None = None
    domain_allow_list: str | None = None
    kvm: bool
    target: str
    cpu: int
    gpu: int
    memory: int
    disk: int
    state: str
    desired_state: str | None = None
    error_reason: str | None = None
    recoverable: bool | None = None
    backup_state: str | None = None
    auto_stop_interval: int
    auto_pause_interval: int = 0
    auto_archive_interval: int
    auto_delete_interval: int
    volumes: list[SandboxVolume] = []
    build_info: BuildInfo | None = None
    created_at: str
    updated_at: str
    last_activity_at: str | None = None
    sandbox_class: str | None = None
    daemon_version: str | None = None
    runner_id: str | None = None
    toolbox_proxy_url: str
    progress: str | None = Field(default=None, description="A long operation's progress (our extension)")
    network_refused_count: int | None = Field(
        default=None,
        description="Connections the sandbox tried and was refused by its network policy (our extension;"
        " single-sandbox reads only)",
    )


class ListSandboxesResponse(CamelModel):
    items: list[SandboxDto]
    next_cursor: str | None


class SandboxLabels(CamelModel):
    labels: Labels


class ResizeSandbox(CamelModel):
    cpu: int | None = Field(default=None, ge=1, le=64)
    memory: int | None = Field(default=None, ge=1, le=256)
    disk: int | None = Field(default=None, ge=1, le=2048)
    gpu: int | None = Field(default=None, ge=0, le=8)


class PortPreviewUrl(CamelModel):
    sandbox_id: str
    url: str
    token: str


class SignedPortPreviewUrl(CamelModel):
    sandbox_id: str
    port: int
    token: str
    url: str


class Url(CamelModel):
    url: str


class ForkSandbox(CamelModel):
    name: Text | None = Field(default=None, min_length=1, max_length=255)


class UpdateNetworkSettings(CamelModel):
    """A new egress policy: fields left out keep their value; `networkBlockAll: false` alone restores access."""

    network_block_all: bool | None = None
    network_allow_list: str | None = None
    domain_allow_list: str | None = None


class CreateSandboxSnapshot(CamelModel):
    name: Text = Field(min_length=1, max_length=255)
    include_memory: bool | None = None
