"""Server settings, read from the environment (`DAYTONA_*`) and overridden by `daytona server` flags."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__

DEFAULT_IMAGE = f"daytona-sandbox:{__version__}"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name) or default
    if raw not in choices:
        raise SystemExit(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "daytona"


@dataclass
class Settings:
    """Everything the server needs to know; one instance per running server."""

    data_dir: Path = field(default_factory=_default_data_dir)
    host: str = "127.0.0.1"
    port: int = 3000
    database_url: str | None = None
    bootstrap_api_key: str | None = None
    bootstrap_admin_password: str | None = None
    default_image: str = DEFAULT_IMAGE
    # Sandbox networking (daytona_server.network): "on" (a bridge of the server's own, with egress
    # policies) or "off" (only loopback, for every sandbox).
    network: str = "on"
    network_subnet: str = "auto"  # the bridge's IPv4 subnet; "auto": a free /20 of 172.29.0.0/16
    network_allow_private: bool = False  # may sandboxes reach RFC 1918, 100.64/10 and other private ranges?
    network_default: str = "open"  # a sandbox created without a policy: "open" (public internet) or "blocked"
    network_dns: str = "system"  # the sandboxes' upstream resolvers: "system", "none", or addr[:port],...
    network_hosts: str = ""  # names the sandboxes' DNS answers itself: "name=address,..."
    sandbox_pids_limit: int = 4096
    default_cpu: int = 1
    default_memory_gb: int = 2
    default_disk_gb: int = 10
    default_auto_stop_minutes: int = 15
    default_auto_archive_minutes: int = 7 * 24 * 60
    # How often the lifecycle loop looks for idle sandboxes to stop and stopped ones to archive.
    lifecycle_interval_s: int = 30
    # Where archives go: file:///path (default: <data dir>/archives) or s3://bucket/prefix?endpoint=...
    archive_url: str | None = None
    # Domain that preview links are served under: http://{port}-{id}.{preview_domain}
    preview_domain: str | None = None
    preview_scheme: str = "http"
    build_default_image: bool = True
    # The warm pool (daytona_server.lifecycle.pool): started sandboxes of the default image (and of
    # images in demand) that creates take at once. `pool_size`: members kept for the default image
    # (0: no pool at all); `pool_max`: members in all, whatever the demand; none is made while the
    # host has less than `pool_min_free_mb` of memory available.
    pool_size: int = 2
    pool_max: int = 16
    pool_min_free_mb: int = 1024

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        settings = cls()
        if env("DAYTONA_DATA_DIR"):
            settings.data_dir = Path(env("DAYTONA_DATA_DIR", ""))
        settings.host = env("DAYTONA_HOST", settings.host)
        settings.port = _env_int("DAYTONA_PORT", settings.port)
        settings.database_url = env("DAYTONA_DATABASE_URL") or None
        settings.bootstrap_api_key = env("DAYTONA_BOOTSTRAP_API_KEY") or None
        settings.bootstrap_admin_password = env("DAYTONA_BOOTSTRAP_ADMIN_PASSWORD") or None
        settings.default_image = env("DAYTONA_DEFAULT_IMAGE", settings.default_image)
        settings.network = _env_choice("DAYTONA_NETWORK", settings.network, ("on", "off"))
        settings.network_subnet = env("DAYTONA_NETWORK_SUBNET", settings.network_subnet)
        settings.network_allow_private = env("DAYTONA_NETWORK_ALLOW_PRIVATE", "0") in ("1", "true", "yes")
        settings.network_default = _env_choice("DAYTONA_NETWORK_DEFAULT", settings.network_default, ("open", "blocked"))
        settings.network_dns = env("DAYTONA_NETWORK_DNS", settings.network_dns)
        settings.network_hosts = env("DAYTONA_NETWORK_HOSTS", settings.network_hosts)
        settings.sandbox_pids_limit = _env_int("DAYTONA_SANDBOX_PIDS_LIMIT", settings.sandbox_pids_limit)
        settings.default_auto_stop_minutes = _env_int(
            "DAYTONA_DEFAULT_AUTO_STOP_INTERVAL", settings.default_auto_stop_minutes
        )
        settings.default_auto_archive_minutes = _env_int(
            "DAYTONA_DEFAULT_AUTO_ARCHIVE_INTERVAL", settings.default_auto_archive_minutes
        )
        settings.lifecycle_interval_s = _env_int("DAYTONA_LIFECYCLE_INTERVAL", settings.lifecycle_interval_s)
        settings.archive_url = env("DAYTONA_ARCHIVE_URL") or None
        settings.preview_domain = env("DAYTONA_PREVIEW_DOMAIN") or None
        settings.preview_scheme = env("DAYTONA_PREVIEW_SCHEME", settings.preview_scheme)
        settings.pool_size = max(0, _env_int("DAYTONA_POOL_SIZE", settings.pool_size))
        settings.pool_max = max(settings.pool_size, _env_int("DAYTONA_POOL_MAX", settings.pool_max))
        settings.pool_min_free_mb = _env_int("DAYTONA_POOL_MIN_FREE_MB", settings.pool_min_free_mb)
        settings.build_default_image = env("DAYTONA_BUILD_DEFAULT_IMAGE", "1") not in ("0", "false", "no")
        return settings

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'daytona.db'}"

    @property
    def server_id(self) -> str:
        """Stable id of this server's state; labels its containers so that two servers never mix."""
        return hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:12]

    @property
    def run_dir(self) -> Path:
        """Where agent sockets live. Kept short: a unix socket path must fit in 108 bytes."""
        explicit = os.environ.get("DAYTONA_RUN_DIR")
        if explicit:
            return Path(explicit)
        return Path(tempfile.gettempdir()) / f"daytona-{os.getuid()}-{self.server_id}"

    @property
    def archive_store_url(self) -> str:
        return self.archive_url or f"file://{self.data_dir / 'archives'}"

    @property
    def api_key_file(self) -> Path:
        return self.data_dir / "admin-api-key"

    @property
    def admin_password_file(self) -> Path:
        return self.data_dir / "admin-password"

    @property
    def node_domain(self) -> str:
        # *.localhost resolves to loopback in browsers and curl, so preview links work out of the box.
        return self.preview_domain or f"localhost:{self.port}"

    def preview_url(self, port: int, label: str) -> str:
        """The preview link of `port` for `label`: a sandbox id, or a signed link's token."""
        return f"{self.preview_scheme}://{port}-{label}.{self.node_domain}"
