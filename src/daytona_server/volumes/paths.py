"""What a volume's name, a mount's path in the sandbox and its subpath may be: checked before anything is stored."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from ..errors import BadRequest
from ..runner.docker_runtime import AGENT_MOUNT, SOCKET_MOUNT
from .binds import subpath_parts

NAME = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
MAX_PATH = 1024
# The kernel's and Docker's own mounts, and the agent's: a volume there would hide or break them.
SYSTEM_DIRS = ("/proc", "/sys", "/dev")
AGENT_DIRS = (AGENT_MOUNT, SOCKET_MOUNT)
DOCKER_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def volume_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise BadRequest("volume name must be 1-255 characters: letters, digits, '.', '_' or '-'")
    return name


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top + "/")


def mount_path(path: Any) -> str:
    """The normalised absolute path where a volume is mounted in the sandbox."""
    if not isinstance(path, str) or not path:
        raise BadRequest("mountPath is required: an absolute path in the sandbox, e.g. /home/daytona/data")
    shown = path[:80]
    if len(path) > MAX_PATH or _CONTROL.search(path):
        raise BadRequest(f"mountPath {shown!r} must be at most {MAX_PATH} characters, without control characters")
    if not path.startswith("/"):
        raise BadRequest(f"mountPath {shown!r} must be absolute (start with '/')")
    if ".." in path.split("/"):
        raise BadRequest(f"mountPath {shown!r} must not contain '..'")
    normal = "/" + posixpath.normpath(path).lstrip("/")
    if normal == "/":
        raise BadRequest("mountPath must not be '/': mount the volume in a directory of its own")
    for top in SYSTEM_DIRS:
        if _under(normal, top):
            raise BadRequest(f"mountPath {normal!r} is under {top}, which the kernel provides")
    for agent in AGENT_DIRS:
        if _under(normal, agent) or _under(agent, normal):
            raise BadRequest(f"mountPath {normal!r} would cover {agent}, where the sandbox's agent lives")
    if normal in DOCKER_FILES:
        raise BadRequest(f"mountPath {normal!r} is a file the runtime manages")
    return normal


def subpath(value: Any) -> str | None:
    """The normalised subpath of a volume to mount (None: all of it)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_PATH:
        raise BadRequest(f"subpath must be a relative path of at most {MAX_PATH} characters")
    try:
        parts = subpath_parts(value)
    except ValueError as exc:
        raise BadRequest(f"subpath {value[:80]!r} {exc}") from None
    return "/".join(parts) or None
