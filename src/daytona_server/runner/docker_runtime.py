"""Docker backend: one hardened container per sandbox, its agent reached through a unix socket."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, BinaryIO

import docker
import docker.errors
import httpx
from docker.models.containers import Container
from docker.models.images import Image
from docker.types import DeviceRequest, Mount

import daytona_agent

from ..volumes import binds
from . import agent_socket, btrfs, capture, changes, hostnames, treediff
from .agent_bytecode import compile_agent
from .base import ContainerStatus, ImageNotFound, RuntimeFailure, SandboxSpec
from .images import ImageTools
from .member_names import MemberNames
from .networks import BridgeNetworks

LABEL_MANAGED = "io.daytona.managed"
LABEL_SERVER = "io.daytona.server"
LABEL_SANDBOX = "io.daytona.sandbox"
LABEL_VOLUMES = "io.daytona.volumes"  # the container's volume mounts, to stage them again after a reboot
# Made as a warm-pool member (its agent started with --await-identity). A member has no LABEL_SANDBOX:
# a create may claim it for another id, which MemberNames maps to the member's.
LABEL_POOL = "io.daytona.pool"

AGENT_MOUNT = "/opt/daytona"
# Processes per GiB of memory, up to the server's pids limit: a fork bomb of small shells (150-250
# KiB each) then fills a quarter of the sandbox's memory, not all of it, so the agent that ends the
# bomb does not first wait on the kernel reclaiming memory for it.
PIDS_PER_GIB = 1024
SOCKET_MOUNT = "/run/daytona"
SOCKET_NAME = "agent.sock"
# Start-up of the agent as PID 1: put its package on sys.path without touching PYTHONPATH, which
# would leak into every process the user runs.
AGENT_BOOT = f"import sys; sys.path.insert(0, {AGENT_MOUNT!r}); from daytona_agent.__main__ import main; main()"
# The interpreter the agent runs on: python3 on the image's PATH, or the absolute path this label of
# the image names (the default image's python3 is a virtual environment the sandbox user may change).
LABEL_AGENT_PYTHON = "io.daytona.agent-python"

# What an ordinary Debian userland needs (package installs, su to the sandbox user, binding low
# ports inside the sandbox); everything else Docker grants by default is dropped.
CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE"]

FIX = (
    "; run `make docker` to use the project's own engine, whose btrfs data root enforces disk sizes"
    " (or point DOCKER_HOST at an engine started with --storage-driver btrfs)"
)

# What sandbox root can put beside its agent's socket: 256 KB in at most 64 files.
SOCKET_DIR_TMPFS = "size=256k,nr_inodes=64,mode=0700,nosuid,nodev,noexec"
AGENT_READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10


def _agent_health(path: Path, timeout: float = 1.0) -> bool:
    """One GET /health over the socket, without an HTTP library (cheap enough to poll)."""
    try:
        return agent_socket.exchange(path, "GET", "/health", timeout=timeout)[0] == 200
    except OSError:
        return False


def agent_entrypoint(image: Image) -> list[str]:
    """The container's entrypoint: the agent, on the interpreter LABEL_AGENT_PYTHON names if any."""
    python = str(((image.attrs.get("Config") or {}).get("Labels") or {}).get(LABEL_AGENT_PYTHON, ""))
    return [python if python.startswith("/") else "python3", "-I", "-B", "-c", AGENT_BOOT]


class DockerRuntime:
    def __init__(
        self,
        server_id: str,
        run_dir: Path,
        pids_limit: int = 4096,
        client: docker.DockerClient | None = None,
        volume_mounts_dir: Path | None = None,
        names_dir: Path | None = None,
    ) -> None:
        """`names_dir`: where claimed pool members are mapped to their sandboxes; it must outlive reboots
        (the server gives one in its data directory), unlike `run_dir`, the sockets' temporary directory."""
        self.server_id = server_id
        self.run_dir = run_dir
        self.names = MemberNames(names_dir or run_dir / "member-names")
        # Started members' inspections (their PIDs and /etc files), until a create claims them.
        self._unclaimed: dict[str, dict[str, Any] | None] = {}
        # Root-only staging dirs of volume subpaths (see daytona_server.volumes.binds).
        self.volume_mounts_dir = volume_mounts_dir or run_dir / "volume-mounts"
        self.pids_limit = pids_limit
        try:
            self.client = client or docker.from_env(timeout=120)
            self.client.ping()
        except docker.errors.DockerException as exc:
            raise RuntimeFailure(
                f"cannot reach the Docker engine ({exc}); start it (e.g. `make docker`) or set DOCKER_HOST"
            ) from None
        # Image builds run offline until the server's bridge is up (SandboxNetworks sets build_network).
        self.images = ImageTools(self.client, "none")
        self.networks = BridgeNetworks(self.client, self._name)
        self.agent_source = Path(daytona_agent.__file__).resolve().parent
        compile_agent(self.agent_source)  # sandboxes load the agent's bytecode instead of compiling it at every start
        info = self.client.info()
        self.driver = str(info.get("Driver") or "")
        self.data_root = Path(info.get("DockerRootDir") or "/var/lib/docker")
        # Full qgroups charge a container for its image's shared bytes too; simple quotas do not.
        self.btrfs_quota = btrfs.quota_mode(self.data_root) if self.driver == "btrfs" else None
        self._disk_quota = self._detect_disk_quota(info)

    # -- disk sizes ----------------------------------------------------------------------------

    def disk_quota(self) -> tuple[bool, str]:
        """Whether this engine enforces each sandbox's disk size, and why (or why not)."""
        if self._disk_quota is None:  # overlay2 on xfs with no image to probe with yet
            self._disk_quota = self._detect_disk_quota(self.client.info())
        return self._disk_quota or (False, f"overlay2 on xfs: not known yet (no image to test --storage-opt with){FIX}")

    def _detect_disk_quota(self, info: dict[str, Any]) -> tuple[bool, str] | None:
        if self.driver == "btrfs":
            if self.btrfs_quota == "squota":
                return True, f"storage driver btrfs with simple quotas (data root {self.data_root})"
            if self.btrfs_quota == "disabled":
                return False, f"storage driver btrfs, but quotas are off on {self.data_root}{FIX}"
            return True, f"storage driver btrfs with qgroups (data root {self.data_root}; simple quotas are faster)"
        backing = dict(info.get("DriverStatus") or []).get("Backing Filesystem", "unknown")
        if self.driver == "overlay2" and backing == "xfs":
            return self._probe_storage_opt()
        return False, f"the engine's storage driver {self.driver} on {backing} cannot limit a container's disk{FIX}"

    def _probe_storage_opt(self) -> tuple[bool, str] | None:
        """Create (never start) a container with a size limit on any image, then remove it."""
        images = self.client.images.list()
        if not images:
            return None
        try:
            probe = self.client.containers.create(
                images[0], command=["true"], network_mode="none", storage_opt={"size": "1G"}
            )
        except docker.errors.APIError as exc:
            return False, f"overlay2 on xfs refuses --storage-opt size ({exc.explanation or exc}){FIX}"
        probe.remove(force=True)
        return True, "storage driver overlay2 on xfs with project quotas"

    def _storage_size(self, image: Image, disk_gb: int) -> str:
        """Docker's `size` storage option; a full btrfs qgroup counts the image's shared bytes too."""
        size = disk_gb * 1024**3
        if self.driver == "btrfs" and self.btrfs_quota != "squota":
            size += int(image.attrs.get("Size") or 0)
        return f"{math.ceil(size / 1024**2)}M"

    # -- naming ---------------------------------------------------------------------------------

    def container_name(self, made_as: str) -> str:
        """The name of the container made for id `made_as` (a claimed pool member keeps its own)."""
        return f"daytona-{self.server_id}-{made_as}"

    def _name(self, sandbox_id: str) -> str:
        return self.container_name(self.names.member_of(sandbox_id))

    def _socket_dir(self, sandbox_id: str) -> Path:
        made_as = self.names.member_of(sandbox_id)
        return self.run_dir / hashlib.sha256(made_as.encode()).hexdigest()[:16]

    def _prepare_socket_dir(self, sandbox_id: str) -> Path:
        """The sandbox's socket directory: mounted into it read-write, so (as root) a tiny tmpfs of its own,
        never the host's disk (sandbox root could fill it) and never shared with another sandbox."""
        socket_dir = self._socket_dir(sandbox_id)
        socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.geteuid() == 0 and not os.path.ismount(socket_dir):
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", SOCKET_DIR_TMPFS, f"daytona-{sandbox_id[:40]}", str(socket_dir)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeFailure(f"cannot mount the socket directory of {sandbox_id}: {done.stderr.strip()}")
        return socket_dir

    def agent_socket(self, sandbox_id: str) -> Path:
        """The unix socket the sandbox's agent listens on, as seen from the host."""
        return self._socket_dir(sandbox_id) / SOCKET_NAME

    def agent_transport(self, sandbox_id: str) -> httpx.AsyncBaseTransport:
        return agent_socket.AsyncAgentTransport(self.agent_socket(sandbox_id))

    def agent_blocking_transport(self, sandbox_id: str) -> httpx.BaseTransport:
        return agent_socket.AgentTransport(self.agent_socket(sandbox_id))

    def agent_connect(self, sandbox_id: str) -> socket.socket:
        return agent_socket.connect(self.agent_socket(sandbox_id), timeout=10)

    def _container(self, sandbox_id: str) -> Container | None:
        try:
            return self.client.containers.get(self._name(sandbox_id))
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
        try:
            image = self.client.images.get(spec.image)
        except docker.errors.ImageNotFound:
            raise ImageNotFound(f"image {spec.image!r} not found on this runner") from None
        socket_dir = self._prepare_socket_dir(spec.sandbox_id)
        kwargs: dict[str, Any] = {}
        if spec.gpu:
            kwargs["device_requests"] = [DeviceRequest(count=spec.gpu, capabilities=[["gpu"]])]
        if self.disk_quota()[0]:
            kwargs["storage_opt"] = {"size": self._storage_size(image, spec.disk_gb)}
        kwargs["entrypoint"] = agent_entrypoint(image)
        try:
            return self._create(spec, socket_dir, kwargs)
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot create the container: {exc.explanation or exc}") from None

    def _create(self, spec: SandboxSpec, socket_dir: Path, kwargs: dict[str, Any]) -> str:
        labels = {LABEL_MANAGED: "true", LABEL_SERVER: self.server_id}
        if spec.pool:
            labels[LABEL_POOL] = "true"
            self._unclaimed[spec.sandbox_id] = None  # its inspection once started
        else:
            labels[LABEL_SANDBOX] = spec.sandbox_id
        if spec.mounts:
            labels[LABEL_VOLUMES] = binds.to_label(spec.mounts)
        staged = binds.stage(self.volume_mounts_dir, spec.sandbox_id, spec.mounts, fresh=True)
        mounts = [Mount(m.target, str(m.source), type="bind", read_only=m.read_only) for m in staged]
        try:
            return self._create_container(spec, socket_dir, labels, {**kwargs, "mounts": mounts})
        except BaseException:
            binds.unstage(self.volume_mounts_dir, spec.sandbox_id)
            raise

    def _create_container(
        self, spec: SandboxSpec, socket_dir: Path, labels: dict[str, str], kwargs: dict[str, Any]
    ) -> str:
        if spec.network is None:
            kwargs["network_mode"] = "none"
        else:
            kwargs["network"] = spec.network.network
            kwargs["networking_config"] = {
                spec.network.network: self.client.api.create_endpoint_config(ipv4_address=spec.network.ip)
            }
        # The gateway is the sandboxes' DNS server (daytona_server.network.dns) whenever it is on the
        # bridge, now or later; IPv6 is off inside: the firewall gives sandboxes IPv4 egress only.
        kwargs["dns"] = [spec.dns] if spec.dns else None
        kwargs["sysctls"] = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
        container = self.client.containers.create(
            image=spec.image,
            name=self.container_name(spec.sandbox_id),
            hostname=spec.sandbox_id[:63],
            command=[
                "--socket",
                f"{SOCKET_MOUNT}/{SOCKET_NAME}",
                "--user",
                spec.os_user,
                *(["--entrypoint", spec.entrypoint] if spec.entrypoint else []),
                *(["--await-identity"] if spec.pool else []),
            ],
            user="0",
            environment={**spec.env, "DAYTONA_SANDBOX_ID": spec.sandbox_id},
            labels=labels,
            volumes={
                str(self.agent_source): {"bind": f"{AGENT_MOUNT}/daytona_agent", "mode": "ro"},
                str(socket_dir): {"bind": SOCKET_MOUNT, "mode": "rw"},
            },
            cap_drop=["ALL"],
            cap_add=CAPABILITIES,
            security_opt=["no-new-privileges:true"],
            pids_limit=self.pids_for(spec.memory_gb),
            nano_cpus=int(spec.cpu * 1e9),
            mem_limit=f"{spec.memory_gb}g",
            memswap_limit=f"{spec.memory_gb}g",
            init=False,
            detach=True,
            **kwargs,
        )
        return str(container.id)

    def start(self, sandbox_id: str) -> None:
        container = self._container(sandbox_id)
        if container is None:
            raise RuntimeFailure(f"the container of sandbox {sandbox_id} is gone")
        # The socket directory lives in a temp dir that a reboot may have cleared; the volume binds too.
        self._prepare_socket_dir(sandbox_id)
        binds.stage(self.volume_mounts_dir, sandbox_id, binds.from_label(container.labels.get(LABEL_VOLUMES)), False)
        socket_path = self.agent_socket(sandbox_id)
        socket_path.unlink(missing_ok=True)
        try:
            container.start()
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot start the container: {exc.explanation or exc}") from None
        self._wait_for_agent(container, socket_path)
        if container.labels.get(LABEL_POOL) == "true":
            container.reload()  # its PID now
            if sandbox_id in self._unclaimed:  # a new member: its claim needs no inspection
                self._unclaimed[sandbox_id] = container.attrs
            self._own_hostname(sandbox_id, container.attrs)

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

    def can_rename(self) -> bool:
        return hostnames.can_rename()

    def id_reserved(self, sandbox_id: str) -> bool:
        return self.names.sandbox_of(sandbox_id) != sandbox_id

    def claim(self, spec: SandboxSpec, member_id: str | None = None) -> None:
        """Make the started pool member `member_id` the sandbox of `spec`: mapped to its id if they
        differ (MemberNames; after the identity, the hostname too), then given its identity (see
        daytona_agent.identity). `member_id` None: finish an earlier claim."""
        if member_id is not None and member_id != spec.sandbox_id:
            self.names.bind(spec.sandbox_id, member_id)
        attrs = self._unclaimed.pop(member_id or spec.sandbox_id, None)
        self._post_identity(spec)  # first: the agent keeps it under the member's hostname (daytona_agent.identity)
        if member_id != spec.sandbox_id:
            self._own_hostname(spec.sandbox_id, attrs)

    def _own_hostname(self, sandbox_id: str, attrs: dict[str, Any] | None = None) -> None:
        """A claimed pool member's hostname is its sandbox id (Docker restores the member's at each start).
        `attrs`: the container's inspection since it last started, if the caller has one."""
        if attrs is None:
            container = self._container(sandbox_id)
            if container is None:
                return
            attrs = container.attrs
        config = attrs["Config"]
        if (config.get("Labels") or {}).get(LABEL_POOL) == "true" and config["Hostname"] != sandbox_id[:63]:
            hostnames.set_hostname(attrs, sandbox_id[:63])

    def _post_identity(self, spec: SandboxSpec) -> None:
        identity: dict[str, object] = {"sandboxId": spec.sandbox_id, "user": spec.os_user, "env": spec.env}
        if spec.entrypoint:
            identity["entrypoint"] = spec.entrypoint
        try:
            body = json.dumps(identity).encode()
            status, answer = agent_socket.exchange(self.agent_socket(spec.sandbox_id), "POST", "/identity", body)
        except (OSError, ValueError) as exc:
            raise RuntimeFailure(f"cannot give the pool sandbox its identity: {exc}") from None
        # 404: the agent serves its sandbox's toolbox already (claimed before, or never a member).
        if status not in (200, 404):
            raise RuntimeFailure(f"the pool sandbox refused its identity: {answer.decode(errors='replace').strip()}")

    def stop(self, sandbox_id: str) -> None:
        container = self._container(sandbox_id)
        if container is None:
            raise RuntimeFailure(f"the container of sandbox {sandbox_id} is gone")
        try:
            container.stop(timeout=STOP_TIMEOUT_S)
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot stop the container: {exc.explanation or exc}") from None

    def remove(self, sandbox_id: str) -> None:
        self._unclaimed.pop(sandbox_id, None)
        container = self._container(sandbox_id)
        if container is not None:
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                raise RuntimeFailure(f"cannot remove the container: {exc.explanation or exc}") from None
        socket_dir = self._socket_dir(sandbox_id)
        if os.path.ismount(socket_dir):
            subprocess.run(["umount", "-l", str(socket_dir)], capture_output=True, check=False)
        shutil.rmtree(socket_dir, ignore_errors=True)
        self.names.unbind(sandbox_id)
        binds.unstage(self.volume_mounts_dir, sandbox_id)

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

    def _layer(self, sandbox_id: str) -> tuple[changes.Layout, Path, Path | None]:
        """Where the container's own files are on the host: (layout, its tree, the tree it was made from)."""
        container = self._container(sandbox_id)
        if container is None:
            raise RuntimeFailure(f"the container of sandbox {sandbox_id} is gone")
        driver = container.attrs.get("GraphDriver", {})
        name = driver.get("Name")
        hint = "; run the server as root on the Docker host"
        if name == "btrfs":
            # The root file system is a subvolume, a snapshot of the container's init layer.
            mounts = self.data_root / "image" / "btrfs" / "layerdb" / "mounts" / str(container.id)
            subvolumes = self.data_root / "btrfs" / "subvolumes"
            try:
                mount_id, init_id = ((mounts / f).read_text().strip() for f in ("mount-id", "init-id"))
            except OSError as exc:
                raise RuntimeFailure(f"cannot find the container's btrfs subvolume ({exc}){hint}") from None
            tree, parent = subvolumes / Path(mount_id).name, subvolumes / Path(init_id).name
            if not (os.access(tree, os.R_OK | os.W_OK) and os.access(parent, os.R_OK)):
                raise RuntimeFailure(f"cannot read and write the container's subvolume {tree}{hint}")
            return "rootfs", tree, parent
        upper = Path(driver.get("Data", {}).get("UpperDir") or "")
        if name == "overlay2" and str(upper) and os.access(upper, os.R_OK | os.W_OK):
            return "upper", upper, None
        raise RuntimeFailure(
            f"archives need Docker's btrfs or overlay2 storage driver (this container uses {name!r}) and a server"
            f" that can read the engine's data root {self.data_root}{hint}"
        )

    def export_changes(
        self, sandbox_id: str, out: BinaryIO, progress: changes.Progress | None = None
    ) -> tuple[str, int]:
        """Write the stopped sandbox's changes (see `changes`) to `out`; return (sha256, size)."""
        if self.status(sandbox_id).running:
            raise RuntimeFailure("the sandbox must be stopped before its changes are exported")
        _, tree, parent = self._layer(sandbox_id)
        if parent is not None:
            found = treediff.diff_trees(tree, treediff.scan(parent))
            return changes.export_changes(tree, found, out, progress)
        found = treediff.upper_changes(tree)  # overlay's own xattrs become the manifest's deletions
        return changes.export_changes(tree, found, out, progress, exclude_xattrs=["trusted.overlay.*"])

    def import_changes(self, sandbox_id: str, archive: Path, progress: changes.Progress | None = None) -> None:
        """Apply an archive to the freshly created (not started) container of `sandbox_id`."""
        layout, tree, _ = self._layer(sandbox_id)
        changes.import_changes(archive, tree, layout, progress)

    def pids_for(self, memory_gb: int) -> int:
        """The pids limit of a sandbox with `memory_gb` of memory."""
        return min(self.pids_limit, PIDS_PER_GIB * max(memory_gb, 1))

    def update_resources(self, sandbox_id: str, cpu: int, memory_gb: int) -> None:
        container = self._container(sandbox_id)
        if container is None:
            raise RuntimeFailure(f"the container of sandbox {sandbox_id} is gone")
        try:
            # docker-py's update() cannot set NanoCpus, which the container was created with.
            api: Any = self.client.api
            memory = memory_gb * 1024**3
            body = {
                "NanoCpus": int(cpu * 1e9),
                "Memory": memory,
                "MemorySwap": memory,
                "PidsLimit": self.pids_for(memory_gb),
            }
            api._result(api._post_json(api._url("/containers/{0}/update", container.id), data=body), True)
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot resize the container: {exc.explanation or exc}") from None

    def export_running_changes(self, sandbox_id: str, out: BinaryIO) -> tuple[str, int, float]:
        """Write a running sandbox's changes to `out` (see runner.capture); return (sha256, size, seconds frozen)."""
        container = self._running(sandbox_id)
        return capture.export_running(container, *self._layer(sandbox_id), out)

    def commit(self, sandbox_id: str, ref: str) -> float:
        """Save a running sandbox's file system as image `ref`; return how long it was frozen."""
        container = self._running(sandbox_id)
        image = self.client.images.get(container.attrs["Image"])
        return capture.commit_running(container, image.attrs.get("Config") or {}, ref)

    def _running(self, sandbox_id: str) -> Container:
        container = self._container(sandbox_id)
        if container is None or container.status != "running":
            raise RuntimeFailure(f"sandbox {sandbox_id} is not running: start it first")
        return container

    def list_sandbox_ids(self) -> list[str]:
        containers = self.client.containers.list(
            all=True, filters={"label": [f"{LABEL_MANAGED}=true", f"{LABEL_SERVER}={self.server_id}"]}
        )
        prefix = self.container_name("")
        ids = [c.labels[LABEL_SANDBOX] for c in containers if LABEL_SANDBOX in c.labels]
        names = [str(c.name) for c in containers if LABEL_POOL in c.labels]
        return ids + [self.names.sandbox_of(name[len(prefix) :]) for name in names if name.startswith(prefix)]
