"""Run the server: prepare Docker, the default image and the admin key, then serve HTTP."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

from . import auth
from .api.app import create_app
from .config import Settings
from .db.session import Database, migrate
from .runner.base import RuntimeFailure
from .runner.default_image import ImageBuildError, ensure_default_image
from .runner.docker_runtime import DockerRuntime

log = logging.getLogger("daytona.server")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bootstrap(settings: Settings) -> tuple[str | None, str | None]:
    """Create the schema and the admin; return the admin key and password generated here, if any."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    try:
        migrate(db.engine)
        with db.session() as session:
            key = auth.bootstrap_admin(session, settings.api_key_file, settings.bootstrap_api_key)
            password = auth.bootstrap_admin_password(
                session, settings.admin_password_file, settings.bootstrap_admin_password
            )
            return key, password
    finally:
        db.engine.dispose()


def _io_uring_open() -> bool:
    try:
        return Path("/proc/sys/kernel/io_uring_disabled").read_text().strip() == "0"
    except OSError:
        return False  # an older kernel without the switch, or no procfs to tell


class _DenialNoise(logging.Filter):
    """uvicorn's websockets-sansio logs a refused upgrade (an HTTP answer instead of 101) as an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing handshake."


def run_server(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.error").addFilter(_DenialNoise())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        runtime = DockerRuntime(
            settings.server_id,
            settings.run_dir,
            pids_limit=settings.sandbox_pids_limit,
            volume_mounts_dir=settings.data_dir / "volume-mounts",
            names_dir=settings.data_dir / "member-names",
        )
        if settings.build_default_image:
            ensure_default_image(runtime.client, settings.default_image, log=_say)
        enforced, reason = runtime.disk_quota()
    except (RuntimeFailure, ImageBuildError) as exc:
        raise SystemExit(f"error: {exc}") from None
    new_key, new_password = bootstrap(settings)
    app = create_app(settings, runtime)
    url = f"http://{settings.host}:{settings.port}"
    _say(f"Daytona server: {url}/api   (OpenAPI: {url}/api/openapi.json, docs: {url}/api/docs)")
    _say(f"Dashboard: {url}/")
    _say(f"Data directory: {settings.data_dir}")
    if enforced:
        _say(f"Disk sizes: enforced ({reason})")
    else:
        log.warning("sandbox disk sizes are NOT enforced: %s", reason)
    if _io_uring_open():
        log.warning(
            "io_uring is open to unprivileged processes, sandboxes included: a large kernel attack surface;"
            " set kernel.io_uring_disabled=1 (make docker does)"
        )
    if new_key:
        _say(f"Admin API key (shown once, also saved 0600 in {settings.api_key_file}):\n\n    {new_key}\n")
    elif settings.bootstrap_api_key:
        _say("Admin API key: the value of DAYTONA_BOOTSTRAP_API_KEY")
    else:
        _say(f"Admin API key: see {settings.api_key_file}")
    if new_password:
        _say(f"Dashboard: sign in as admin with password {new_password} (saved 0600 in {settings.admin_password_file})")
    # Open log streams (follow mode) must not hold a restart: give them a few seconds, then close.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        ws="websockets-sansio",
        ws_max_size=4 * 1024 * 1024,  # as the agent takes (daytona_agent.websocket)
    )
