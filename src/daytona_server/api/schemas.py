"""Wire building blocks shared by the routers (validated field types, camelCase models) and shared bodies."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..errors import BadRequest

SANDBOX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
OS_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
ENV_NAME = re.compile(r"^[^=\0]+$")

Target = Literal["eu", "us", "asia"]
SandboxClass = Literal["small", "medium", "large"]


def _check_id(value: str | None) -> str | None:
    if value is not None and not SANDBOX_ID.match(value):
        raise ValueError("must be 1-63 characters: letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


def _check_user(value: str | None) -> str | None:
    if value is not None and not OS_USER.match(value):
        raise ValueError("must be a valid Linux user name (lowercase letters, digits, '_' or '-')")
    return value


def _check_env(value: dict[str, str] | None) -> dict[str, str] | None:
    for key, text in (value or {}).items():
        if not ENV_NAME.match(key):
            raise ValueError(f"invalid environment variable name {key!r}")
        _no_nul(text)
    return value


def _no_nul(value: str | None) -> str | None:
    """Text is stored as is, but PostgreSQL (and environment variables) cannot hold a NUL character."""
    if value is not None and "\0" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _no_nul_labels(value: dict[str, str] | None) -> dict[str, str] | None:
    for key, text in (value or {}).items():
        _no_nul(key)
        _no_nul(text)
    return value


# Free text without NUL characters; labels likewise.
Text = Annotated[str, AfterValidator(_no_nul)]
Labels = Annotated[dict[str, str], AfterValidator(_no_nul_labels)]
# A sandbox id, a Linux user name, environment variables: checked as the runtime needs them.
SandboxId = Annotated[str, AfterValidator(_check_id)]
OsUser = Annotated[str, AfterValidator(_check_user)]
EnvVars = Annotated[dict[str, str], AfterValidator(_check_env)]
# Minutes, stored in 32-bit integer columns.
MAX_MINUTES = 2**31 - 1


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class SandboxVolume(CamelModel):
    """A volume to mount into a sandbox (both wire formats; the volume service checks it)."""

    volume_id: str = Field(min_length=1, max_length=64)
    mount_path: Text = Field(min_length=1, max_length=4096)
    subpath: Text | None = Field(default=None, max_length=4096)


class ProjectDirResponse(CamelModel):
    dir: str | None = None


class ExecuteRequest(CamelModel):
    command: str
    cwd: str | None = None
    timeout: float | None = Field(default=None, ge=0, description="Seconds; 0 or absent = no timeout")
    env: dict[str, str] | None = None


class ExecuteResponse(CamelModel):
    exit_code: int
    result: str = Field(description="stdout and stderr, interleaved as produced")
    stdout: str | None = None
    stderr: str | None = None
    timed_out: bool | None = None


class CodeRunRequest(CamelModel):
    code: str
    language: Literal["python", "javascript", "typescript"] = "python"
    argv: list[str] | None = None
    env: dict[str, str] | None = None
    input: str | None = Field(default=None, description="Text fed to the program's stdin")
    cwd: str | None = None
    timeout: float | None = Field(default=None, ge=0)


class ErrorResponse(BaseModel):
    statusCode: int
    message: str
    error: str


class DiskQuota(BaseModel):
    """Whether each sandbox's disk size is a hard limit on this server's engine, and why (or why not)."""

    enforced: bool
    reason: str


class NetworkHealth(BaseModel):
    """Whether sandboxes get a network (with enforced egress policies) on this server, and why (or why not)."""

    enabled: bool
    reason: str
    subnet: str | None = None


class PoolHealth(BaseModel):
    """The warm pool (DAYTONA_POOL_SIZE): started sandboxes that creates take at once."""

    size: int  # members kept for the default image; 0: no pool
    ready: int
    starting: int
    hits: int  # creates a member served, since the server started
    misses: int  # creates a member could have served, had one been ready


class Health(BaseModel):
    status: str
    version: str
    diskQuota: DiskQuota
    network: NetworkHealth
    pool: PoolHealth
    leader: bool = Field(description="whether this replica runs the background work (daytona_server.cluster)")


def parse_labels(raw: str | None) -> dict[str, str] | None:
    """The `labels` query parameter (a JSON object of strings), as both wire formats take it."""
    if not raw:
        return None
    try:
        labels = json.loads(raw)
    except ValueError:
        raise BadRequest('labels must be a JSON object, e.g. {"project":"demo"}') from None
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise BadRequest("labels must be a JSON object of string values")
    return labels


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(by_alias=True, mode="json")
