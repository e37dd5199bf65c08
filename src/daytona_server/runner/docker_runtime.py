"""Docker backend: one hardened container per sandbox, its agent reached through a unix socket."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any, BinaryIO

import docker
import docker.errors
from docker.models.containers import Container
from docker.types import DeviceRequest

import daytona_agent

from . import changes
from .base import ContainerStatus, ImageNotFound, RuntimeFailure, SandboxSpec

LABEL_MANAGED = "io.daytona.managed"
LABEL_SERVER = "io.daytona.server"
LABEL_SANDBOX = "io.daytona.sandbox"

AGENT_MOUNT = "/opt/daytona"
SOCKET_MOUNT = "/run/daytona"
SOCKET_NAME = "agent.sock"
# Start-up of the agent as PID 1: put its package on sys.path without touching PYTHONPATH, which
# would leak into every process the user runs.
AGENT_BOOT = f"import sys; sys.path.insert(0, {AGENT_MOUNT!r}); from daytona_agent.__main__ import main; main()"

# What an ordinary Debian userland needs (package installs, su to the sandbox user, binding low
# ports inside the sandbox); everything else Docker grants by default is dropped.
CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE"]

AGENT_READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10


def _agent_health(path: Path, timeout: float = 1.0) -> bool:
    """One GET /health over the socket, without an HTTP library (cheap enough to poll)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class DockerRuntime:
    def __init__(
        self,
        server_id: str,
        run_dir: Path,
        network: str = "auto",
        pids_limit: int = 4096,
        client: docker.DockerClient | None = None,
    ) -> None:
        self.server_id = server_id
        self.run_dir = run_dir
        self.pids_limit = pids_limit
        try:
            self.client = client or docker.from_env(timeout=120)
            self.client.ping()
        except docker.errors.DockerException as exc:
            raise RuntimeFailure(
                f"cannot reach the Docker engine ({exc}); start it (e.g. `make docker`) or set DOCKER_HOST"
            ) from None
        self.network = self._pick_network(network)
        self.agent_source = Path(daytona_agent.__file__).resolve().parent
        # Disk quotas need overlay2 on xfs with pquota; learnt on the first create.
        self.disk_quota_supported: bool | None = None

    def _pick_network(self, network: str) -> str:
        if network != "auto":
            return network
        try:
            self.client.networks.get("bridge")
            return "bridge"
        except docker.errors.NotFound:
            return "none"

    # -- naming ---------------------------------------------------------------------------------

    def container_name(self, sandbox_id: str) -> str:
        return f"daytona-{self.server_id}-{sandbox_id}"

    def _socket_dir(self, sandbox_id: str) -> Path:
        return self.run_dir / hashlib.sha256(sandbox_id.encode()).hexdigest()[:16]

    def agent_socket(self, sandbox_id: str) -> Path:
        return self._socket_dir(sandbox_id) / SOCKET_NAME

    def _container(self, sandbox_id: str) -> Container | None:
        try:
            return self.client.containers.get(self.container_name(sandbox_id))
        except docker.errors.NotFound:
            pass
        # Not under its usual name (made by hand, or by an older version): find it by its labels.
        found = self.client.containers.list(
            all=True, filters={"label": [f"{LABEL_SERVER}={self.server_id}", f"{LABEL_SANDBOX}={sandbox_id}"]}
        )
        return found[0] if found else None

    # -- images ---------------------------------------------------------------------------------

    def image_exists(self, image: str) -> bool:
        try:
            self.client.images.get(image)
            return True
        except docker.errors.ImageNotFound:
            return False

    def supports_gpu(self) -> bool:
        return "nvidia" in (self.client.info().get("Runtimes") or {})

    # -- lifecycle ------------------------------------------------------------------------------

    def create(self, spec: SandboxSpec) -> str:
        if not self.image_exists(spec.image):
            raise ImageNotFound(f"image {spec.image!r} not found on this runner")
        socket_dir = self._socket_dir(spec.sandbox_id)
        socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        kwargs: dict[str, Any] = {}
        if spec.gpu:
            kwargs["device_requests"] = [DeviceRequest(count=spec.gpu, capabilities=[["gpu"]])]
        if self.disk_quota_supported is not False:
            kwargs["storage_opt"] = {"size": f"{spec.disk_gb}G"}
        try:
            return self._create(spec, socket_dir, kwargs)
        except docker.errors.APIError as exc:
            if "storage_opt" in kwargs and "storage-opt" in str(exc.explanation or exc).lower():
                self.disk_quota_supported = False
                kwargs.pop("storage_opt")
                return self._create(spec, socket_dir, kwargs)
            raise RuntimeFailure(f"cannot create the container: {exc.explanation or exc}") from None

    def _create(self, spec: SandboxSpec, socket_dir: Path, kwargs: dict[str, Any]) -> str:
        container = self.client.containers.create(
            image=spec.image,
            name=self.container_name(spec.sandbox_id),
            hostname=spec.sandbox_id[:63],
            entrypoint=["python3", "-I", "-B", "-c", AGENT_BOOT],
            command=[
                "--socket",
                f"{SOCKET_MOUNT}/{SOCKET_NAME}",
                "--user",
                spec.os_user,
                *(["--entrypoint", spec.entrypoint] if spec.entrypoint else []),
            ],
            user="0",
            environment={**spec.env, "DAYTONA_SANDBOX_ID": spec.sandbox_id},
            labels={
                LABEL_MANAGED: "true",
                LABEL_SERVER: self.server_id,
                LABEL_SANDBOX: spec.sandbox_id,
            },
            volumes={
                str(self.agent_source): {"bind": f"{AGENT_MOUNT}/daytona_agent", "mode": "ro"},
                str(socket_dir): {"bind": SOCKET_MOUNT, "mode": "rw"},
            },
            cap_drop=["ALL"],
            cap_add=CAPABILITIES,
            security_opt=["no-new-privileges:true"],
            pids_limit=self.pids_limit,
            nano_cpus=int(spec.cpu * 1e9),
            mem_limit=f"{spec.memory_gb}g",
            memswap_limit=f"{spec.memory_gb}g",
            network_mode=self.network,
            init=False,
            detach=True,
            **kwargs,
        )
        if "storage_opt" in kwargs:
            self.disk_quota_supported = True
        return str(container.id)

    def start(self, sandbox_id: str) -> None:
        container = self._container(sandbox_id)
        if container is None:
            raise RuntimeFailure(f"the container of sandbox {sandbox_id} is gone")
        # The socket directory lives in a temp dir that a reboot may have cleared.
        self._socket_dir(sandbox_id).mkdir(parents=True, exist_ok=True, mode=0o700)
        socket_path = self.agent_socket(sandbox_id)
        socket_path.unlink(missing_ok=True)
        try:
            container.start()
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot start the container: {exc.explanation or exc}") from None
        self._wait_for_agent(container, socket_path)

    def _wait_for_agent(self, container: Container, socket_path: Path) -> None:
        deadline = time.monotonic() + AGENT_READY_TIMEOUT_S
        delay = 0.002
        next_status_check = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            if socket_path.exists() and _agent_health(socket_path):
                return
            if time.monotonic() >= next_status_check:
                container.reload()
                if container.status not in ("created", "running"):
                    logs = container.logs(tail=20).decode(errors="replace").strip()
                    raise RuntimeFailure(
                        f"the sandbox agent exited during start-up (status {container.status}): {logs}"
                        " - does the image have python3 (3.9 or newer)?"
                    )
                next_status_check = time.monotonic() + 0.5
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        raise RuntimeFailure(f"the sandbox agent did not answer within {AGENT_READY_TIMEOUT_S:.0f}s")

    def stop(self, sandbox_id: str) -> None:
        container = self._container(sandbox_id)
        if container is None:
            raise RuntimeFailure(f"the container of sandbox {sandbox_id} is gone")
        try:
            container.stop(timeout=STOP_TIMEOUT_S)
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot stop the container: {exc.explanation or exc}") from None

    def remove(self, sandbox_id: str) -> None:
        container = self._container(sandbox_id)
        if container is not None:
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                raise RuntimeFailure(f"cannot remove the container: {exc.explanation or exc}") from None
        shutil.rmtree(self._socket_dir(sandbox_id), ignore_errors=True)

    def status(self, sandbox_id: str) -> ContainerStatus:
        container = self._container(sandbox_id)
        if container is None:
            return ContainerStatus(exists=False, running=False)
        state = container.attrs.get("State", {})
        return ContainerStatus(
            exists=True,
            running=bool(state.get("Running")),
            exit_code=state.get("ExitCode"),
            error=state.get("Error") or None,
        )

    # -- changes (archive / restore) and resources ---------------------------------------------

    def upper_dir(self, sandbox_id: str) -> Path:
        """The container's own layer on the host: exactly its changes against the image."""
        container = self._container(sandbox_id)
        if container is None:
            raise RuntimeFailure(f"the container of sandbox {sandbox_id} is gone")
        driver = container.attrs.get("GraphDriver", {})
        upper = Path(driver.get("Data", {}).get("UpperDir") or "")
        if driver.get("Name") != "overlay2" or not str(upper) or not os.access(upper, os.R_OK | os.W_OK):
            raise RuntimeFailure(
                "archives need Docker's overlay2 storage driver and a server that can read /var/lib/docker"
                f" (driver {driver.get('Name')!r}); run the server as root on the Docker host"
            )
        return upper

    def export_changes(
        self, sandbox_id: str, out: BinaryIO, progress: changes.Progress | None = None
    ) -> tuple[str, int]:
        """Write the stopped sandbox's changes (zstd tarball) to `out`; return (sha256, size)."""
        if self.status(sandbox_id).running:
            raise RuntimeFailure("the sandbox must be stopped before its changes are exported")
        return changes.export_changes(self.upper_dir(sandbox_id), out, progress)

    def import_changes(self, sandbox_id: str, archive: Path, progress: changes.Progress | None = None) -> None:
        """Unpack changes into the freshly created (not started) container of `sandbox_id`."""
        changes.import_changes(archive, self.upper_dir(sandbox_id), progress)

    def update_resources(self, sandbox_id: str, cpu: int, memory_gb: int) -> None:
        container = self._container(sandbox_id)
        if container is None:
            raise RuntimeFailure(f"the container of sandbox {sandbox_id} is gone")
        try:
            # docker-py's update() cannot set NanoCpus, which the container was created with.
            api: Any = self.client.api
            memory = memory_gb * 1024**3
            body = {"NanoCpus": int(cpu * 1e9), "Memory": memory, "MemorySwap": memory}
            api._result(api._post_json(api._url("/containers/{0}/update", container.id), data=body), True)
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot resize the container: {exc.explanation or exc}") from None

    def list_sandbox_ids(self) -> list[str]:
        containers = self.client.containers.list(
            all=True, filters={"label": [f"{LABEL_MANAGED}=true", f"{LABEL_SERVER}={self.server_id}"]}
        )
        return [c.labels[LABEL_SANDBOX] for c in containers if LABEL_SANDBOX in c.labels]
