"""The systems under test, one adapter each: create + first exec, a warm exec, untimed removal.

Every adapter remembers what it made until it is removed, so `close()` removes the rest after an
error or Ctrl-C; containers also carry DOCKER_LABEL, for a last sweep by label.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import docker
import httpx

from daytona_sdk import CreateWorkspaceParams, Daytona, DaytonaError, DaytonaNotFoundError, Workspace

DOCKER_LABEL = ("daytona-bench", "harness")
SANDBOX_LABEL = "io.daytona.sandbox"  # what our runtime labels a sandbox's container with
CREATE_TIMEOUT_S = 300  # a burst of 50 on 2 cores queues for a while; still bounded


class System:
    """Base adapter: subclasses make and drop one sandbox; this keeps the books."""

    name = ""

    def __init__(self) -> None:
        self._live: dict[int, Any] = {}
        self._lock = threading.Lock()

    def _keep(self, handle: Any) -> Any:
        with self._lock:
            self._live[id(handle)] = handle
        return handle

    def prepare(self, n: int) -> None:
        """Before a mode that makes `n` sandboxes (untimed): nothing, but for a warm pool's refill."""

    def settle(self) -> None:
        """After this system's timed creates (untimed): let background work it started finish, so that
        it never runs during another system's turn (a warm pool's refill)."""

    def create(self) -> Any:
        """Make a sandbox and run `true` in it once (the timed part); return its handle."""
        raise NotImplementedError

    def exec(self, handle: Any) -> None:
        """Run `true` in a warm sandbox; raise unless it exited 0."""
        raise NotImplementedError

    def _drop(self, handle: Any) -> None:
        raise NotImplementedError

    def remove(self, handle: Any) -> None:
        with self._lock:
            self._live.pop(id(handle), None)
        self._drop(handle)

    def close(self) -> None:
        """Remove everything this adapter made and did not remove yet."""
        with self._lock:
            left = list(self._live.values())
            self._live.clear()
        for handle in left:
            try:
                self._drop(handle)
            except Exception as exc:
                print(f"warning: {self.name}: could not remove a sandbox: {exc}")


def _check(exit_code: int | None, what: str) -> None:
    if exit_code != 0:
        raise RuntimeError(f"{what} exited {exit_code}")


class Ours(System):
    """Our server through our SDK: `Daytona.create()` then `process.exec("true")`."""

    name = "ours"

    def __init__(self, daytona: Daytona, client: docker.DockerClient) -> None:
        super().__init__()
        self.daytona, self.client = daytona, client
        self.made: set[str] = set()  # every sandbox id, for a Docker-side sweep if the server is gone

    def create(self) -> Workspace:
        sandbox_id = f"sandbox-{uuid.uuid4().hex[:8]}"  # as the SDK makes them, but known before the call
        self.made.add(sandbox_id)
        params = CreateWorkspaceParams(id=sandbox_id, labels={DOCKER_LABEL[0]: DOCKER_LABEL[1]})
        ws = self._keep(self.daytona.create(params, timeout=CREATE_TIMEOUT_S))
        self.exec(ws)
        return ws

    def exec(self, handle: Workspace) -> None:
        _check(handle.process.exec("true").exit_code, "process.exec('true')")

    def _drop(self, handle: Workspace) -> None:
        self.daytona.remove(handle, timeout=CREATE_TIMEOUT_S)

    def close(self) -> None:
        try:
            super().close()
            for ws in self.daytona.list(labels={DOCKER_LABEL[0]: DOCKER_LABEL[1]}):
                try:
                    self.daytona.remove(ws, timeout=CREATE_TIMEOUT_S)
                except DaytonaNotFoundError:
                    pass  # its removal, cut short by Ctrl-C, went through after all
        except DaytonaError as exc:
            print(f"warning: ours: {exc}; removing this run's sandbox containers through Docker")
        # Whatever the server could not remove (it died, or a removal was cut short), Docker can.
        for container in self.client.containers.list(all=True, filters={"label": SANDBOX_LABEL}):
            if container.labels.get(SANDBOX_LABEL) in self.made:
                print(f"warning: ours: removing leftover container {container.name}")
                _force_remove(container)


class OursPool(Ours):
    """The same, against a server whose warm pool (DAYTONA_POOL_SIZE=`size`) is full before each mode.

    The create carries an id, as the seed's SDK always sends one: the member is renamed to it."""

    name = "ours-pool"
    REFILL_DEADLINE_S = 600

    def __init__(self, daytona: Daytona, client: docker.DockerClient, api_url: str, size: int) -> None:
        super().__init__(daytona, client)
        self.api_url, self.size = api_url, size

    def pool(self) -> dict[str, int]:
        with httpx.Client(trust_env=False, timeout=10) as http:
            pool: dict[str, int] = http.get(f"{self.api_url}/health").json()["pool"]
            return pool

    def prepare(self, n: int) -> None:
        self._refilled(min(n, self.size), show=True)

    def settle(self) -> None:
        self._refilled(self.size, show=False)

    def _refilled(self, wanted: int, show: bool) -> None:
        started = time.monotonic()
        while (pool := self.pool())["ready"] < wanted or pool["starting"]:
            if time.monotonic() - started > self.REFILL_DEADLINE_S:
                raise RuntimeError(f"the warm pool did not refill to {wanted} in {self.REFILL_DEADLINE_S}s")
            if show:
                print(f"  {self.name}: pool {pool['ready']}/{wanted} ...", end="\r", flush=True)
            time.sleep(0.2)
        time.sleep(0.5)  # its last member's start settles


def docker_client(pool: int) -> docker.DockerClient:
    """A Docker SDK client whose connection pool is big enough for `pool` threads at once."""
    return docker.from_env(timeout=CREATE_TIMEOUT_S, max_pool_size=max(pool, 10))


class DockerSdk(System):
    """The Docker SDK: `containers.run(image, "sleep infinity", network_mode="none")`, `exec_run("true")`."""

    name = "docker"

    def __init__(self, client: docker.DockerClient, image: str) -> None:
        super().__init__()
        self.client, self.image = client, image

    def create(self) -> Any:
        labels = {DOCKER_LABEL[0]: DOCKER_LABEL[1]}
        container = self.client.containers.run(
            self.image, "sleep infinity", detach=True, network_mode="none", labels=labels
        )
        self._keep(container)
        self.exec(container)
        return container

    def exec(self, handle: Any) -> None:
        _check(handle.exec_run("true").exit_code, "exec_run('true')")

    def _drop(self, handle: Any) -> None:
        handle.remove(force=True)


class LlmSandbox(System):
    """llm-sandbox's Docker backend: `SandboxSession(...).open()` then `execute_command("true")`.

    Two settings make it work offline on this image: `skip_environment_setup=True` (its default
    Python setup makes a venv and runs `pip install --upgrade pip`, which needs the network: offline
    that costs ~12 s of pip retries per sandbox) and `command="sleep infinity"` (the image has no
    CMD, and llm-sandbox creates containers with the image's own). `network_mode="none"` as for Docker.
    """

    name = "llm-sandbox"

    def __init__(self, client: docker.DockerClient, image: str) -> None:
        super().__init__()
        from llm_sandbox import SandboxSession  # optional: `pip install -e '.[bench]'`

        self._session_cls = SandboxSession
        self.client, self.image = client, image

    def create(self) -> Any:
        runtime = {"command": "sleep infinity", "network_mode": "none", "labels": {DOCKER_LABEL[0]: DOCKER_LABEL[1]}}
        session = self._session_cls(
            backend="docker",
            client=self.client,
            image=self.image,
            lang="python",
            runtime_configs=runtime,
            skip_environment_setup=True,
            keep_template=True,  # never remove the shared image afterwards
        )
        self._keep(session)
        session.open()
        self.exec(session)
        return session

    def exec(self, handle: Any) -> None:
        _check(handle.execute_command("true").exit_code, "execute_command('true')")

    def _drop(self, handle: Any) -> None:
        # Its close() runs `docker stop` (10 s: `sleep` ignores SIGTERM as PID 1); removal is not
        # timed, so remove the container directly and then close the session's bookkeeping.
        container, handle.container = handle.container, None
        if container is not None:
            container.remove(force=True)
        handle.close()


def _force_remove(container: Any) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: a removal already under way (one cut short by Ctrl-C)
            raise


def sweep_containers(client: docker.DockerClient, deadline_s: float = 60, label: tuple[str, str] = DOCKER_LABEL) -> int:
    """Remove any container left with `label` (a crash between create and bookkeeping); wait till gone."""
    labelled: dict[str, str | list[str] | bool] = {"label": "=".join(label)}
    found = client.containers.list(all=True, filters=labelled)
    for container in found:
        _force_remove(container)
    deadline = time.monotonic() + deadline_s
    while found and client.containers.list(all=True, filters=labelled) and time.monotonic() < deadline:
        time.sleep(0.5)
    return len(found)
