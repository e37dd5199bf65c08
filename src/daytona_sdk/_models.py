"""Parameters and results of the SDK, with the names the Daytona documentation uses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._template_models import VolumeMount


class CodeLanguage(StrEnum):
    PYTHON = "python"
    TYPESCRIPT = "typescript"
    JAVASCRIPT = "javascript"


class WorkspaceTargetRegion(StrEnum):
    EU = "eu"
    US = "us"
    ASIA = "asia"


class WorkspaceState(StrEnum):
    CREATING = "creating"
    STARTING = "starting"
    STARTED = "started"
    STOPPING = "stopping"
    STOPPED = "stopped"
    ARCHIVING = "archiving"
    ARCHIVED = "archived"
    RESTORING = "restoring"
    RESIZING = "resizing"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"
    ERROR = "error"
    UNKNOWN = "unknown"
    PULLING_IMAGE = "pulling_image"


@dataclass
class WorkspaceResources:
    """Resources asked for at creation: CPU cores, memory in GB, disk in GB, GPUs."""

    cpu: int | None = None
    memory: int | None = None
    disk: int | None = None
    gpu: int | None = None


@dataclass
class CodeRunParams:
    """Extra parameters of `code_run`: command-line arguments and environment variables."""

    argv: list[str] | None = None
    env: dict[str, str] | None = None


class CreateWorkspaceParams(BaseModel):
    """Parameters for `Daytona.create`. Every field is optional; `language` defaults to python."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    language: CodeLanguage = CodeLanguage.PYTHON
    id: str | None = None
    name: str | None = None
    image: str | None = None
    snapshot: str | None = Field(default=None, description="Today's name for image: a snapshot to start from")
    os_user: str | None = None
    env_vars: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    public: bool | None = None
    target: WorkspaceTargetRegion | None = None
    resources: WorkspaceResources | None = None
    timeout: float | None = Field(default=None, description="Deprecated: pass timeout to create() instead")
    auto_stop_interval: int | None = None
    class_name: Literal["small", "medium", "large"] | None = Field(
        default=None, description="Resource preset; explicit resources win over it"
    )
    volumes: list[VolumeMount] | None = None
    network_block_all: bool | None = Field(default=None, description="No network at all (only loopback)")
    network_allow_list: str | list[str] | None = Field(
        default=None, description="IPv4 CIDRs, the only addresses the sandbox may reach (at most 10)"
    )
    domain_allow_list: str | list[str] | None = Field(
        default=None, description="Domains (*.example.com for all subdomains), the only ones reachable (HTTP/TLS)"
    )


@dataclass
class NetworkInfo:
    """A sandbox's egress policy, and (on `info()`) how many connections it was refused."""

    block_all: bool
    allow_list: str | None = None
    domain_allow_list: str | None = None
    refused: int | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> NetworkInfo:
        return cls(
            block_all=bool(data.get("blockAll", True)),
            allow_list=data.get("allowList"),
            domain_allow_list=data.get("domainAllowList"),
            refused=data.get("refused"),
        )


@dataclass
class InfoResources:
    """Resources of a sandbox as reported by the server ("2" CPUs, "4Gi" memory, "10Gi" disk)."""

    cpu: str
    gpu: str | None
    memory: str
    disk: str


@dataclass
class WorkspaceInfo:
    """What the server knows about a sandbox."""

    id: str
    name: str
    image: str
    user: str
    env: dict[str, str]
    labels: dict[str, str]
    public: bool
    target: str
    resources: InfoResources
    state: WorkspaceState | str
    error_reason: str | None
    auto_stop_interval: int
    created: str
    updated_at: str
    node_domain: str
    region: str
    class_name: str
    provider_metadata: str | None
    auto_archive_interval: int = 0
    progress: str | None = None
    network: NetworkInfo | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> WorkspaceInfo:
        info = data.get("info") or {}
        metadata = json.loads(info.get("providerMetadata") or "{}")
        resources = metadata.get("resources", {})
        state = metadata.get("state") or data.get("state") or "unknown"
        try:
            state = WorkspaceState(state)
        except ValueError:
            pass
        gpu = resources.get("gpu") or data.get("gpu")
        return cls(
            id=data["id"],
            name=data.get("name", data["id"]),
            image=data.get("image", ""),
            user=data.get("user", ""),
            env=data.get("env") or {},
            labels=data.get("labels") or {},
            public=bool(data.get("public")),
            target=data.get("target", ""),
            resources=InfoResources(
                cpu=str(resources.get("cpu", data.get("cpu", 1))),
                gpu=str(gpu) if gpu else None,
                memory=f"{resources.get('memory', data.get('memory', 2))}Gi",
                disk=f"{resources.get('disk', data.get('disk', 10))}Gi",
            ),
            state=state,
            error_reason=data.get("errorReason"),
            auto_stop_interval=int(metadata.get("autoStopInterval", data.get("autoStopInterval") or 0)),
            created=info.get("created", ""),
            updated_at=metadata.get("updatedAt", ""),
            node_domain=metadata.get("nodeDomain", ""),
            region=metadata.get("region", ""),
            class_name=metadata.get("class", ""),
            provider_metadata=info.get("providerMetadata"),
            auto_archive_interval=int(metadata.get("autoArchiveInterval") or 0),
            progress=metadata.get("progress"),
            network=NetworkInfo.from_api(metadata["network"]) if "network" in metadata else None,
        )

    @property
    def created_at(self) -> datetime | None:
        return datetime.fromisoformat(self.created) if self.created else None


@dataclass
class PreviewLink:
    """Where a port of a sandbox is reachable; private sandboxes want `token` in X-Daytona-Preview-Token."""

    url: str
    token: str


@dataclass
class ExecuteResponse:
    """Result of `exec` / `code_run`: exit code, combined output, and stdout and stderr apart."""

    exit_code: int
    result: str
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False

    @property
    def output(self) -> str:
        """The combined output (the same as `result`)."""
        return self.result

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ExecuteResponse:
        return cls(
            exit_code=int(data.get("exitCode", -1)),
            result=data.get("result", ""),
            stdout=data.get("stdout") or "",
            stderr=data.get("stderr") or "",
            timed_out=bool(data.get("timedOut")),
        )
