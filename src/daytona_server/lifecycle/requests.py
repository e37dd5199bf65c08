"""What a caller asks of the sandbox service, whatever the wire format it came in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

# Resources of each sandbox class: (cpu cores, memory GiB, disk GiB).
CLASS_PRESETS: dict[str, tuple[int, int, int]] = {
    "small": (1, 2, 10),
    "medium": (2, 4, 20),
    "large": (4, 8, 40),
}
DEFAULT_CLASS = "small"


def new_sandbox_id() -> str:
    """The id of a sandbox created without one (warm-pool members are made under such ids)."""
    return f"sandbox-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class SandboxRequest:
    """A new sandbox; None means "the server's default" (the wire adapters have validated the values)."""

    id: str | None = None
    name: str | None = None
    image: str | None = None
    os_user: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    public: bool = False
    sandbox_class: str | None = None
    target: str | None = None
    cpu: int | None = None
    gpu: int | None = None
    memory: int | None = None
    disk: int | None = None
    auto_stop_interval: int | None = None
    auto_archive_interval: int | None = None
    auto_delete_interval: int | None = None
    # Today's wire: a declarative image to build first, volumes to mount, names unique per owner.
    dockerfile: str | None = None
    volumes: list[dict[str, str]] = field(default_factory=list)
    unique_name: bool = False
    # Egress policy as today's wire names it (daytona_server.network.policy); all None: the server's default.
    network_block_all: bool | None = None
    network_allow_list: str | None = None
    domain_allow_list: str | None = None
