"""Volumes: the service's rules, `/api/volumes` in-process, the local store, and the safe subpath walk.

The bind-mount tests need root (the server runs as root); they make real binds under tmp_path and
release them. The Docker side is a stand-in engine: what matters is what the runtime hands it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from daytona_server.db.models import Sandbox, User
from daytona_server.db.session import Database, migrate
from daytona_server.errors import BadRequest, Conflict, NotFound
from daytona_server.lifecycle.specs import spec_of
from daytona_server.runner.base import RuntimeFailure, SandboxSpec, VolumeMount
from daytona_server.runner.docker_runtime import LABEL_VOLUMES, DockerRuntime
from daytona_server.volumes import binds
from daytona_server.volumes.service import VolumeService
from daytona_server.volumes.store import LocalVolumeStore, VolumeUnavailable

from ..support.accounts import KEY, bearer, make_user

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root")
DTO_FIELDS = {"id", "name", "organizationId", "state", "createdAt", "updatedAt", "lastUsedAt", "errorReason"}


# -- the service -------------------------------------------------------------------------------------


@pytest.fixture
def service(tmp_path: Path) -> Iterator[VolumeService]:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(db.engine)
    with db.session() as session:
        session.add_all([User(id="alice", name="Alice"), User(id="bob", name="Bob"), User(id="root", name="Root")])
        session.commit()
    yield VolumeService(db, LocalVolumeStore(tmp_path / "volumes"))
    db.engine.dispose()


def user(user_id: str) -> User:
    return User(id=user_id, name=user_id, role="admin" if user_id == "root" else "user")


def add_sandbox(service: VolumeService, sandbox_id: str, owner: str, mounts: list[dict[str, Any]], state: str) -> None:
    with service.db.session() as session:
        session.add(
            Sandbox(
                id=sandbox_id, owner_id=owner, name=sandbox_id, image="img", os_user="daytona", target="us",
                cpu=1, memory=1, disk=1, auto_stop_interval=0, state=state, volumes=mounts,
            )
        )  # fmt: skip
        session.commit()


def resolve(service: VolumeService, who: str, requested: Any) -> list[dict[str, Any]]:
    with service.db.session() as session:
        return service.resolve_mounts(session, user(who), requested)


def test_names_are_unique_per_owner_and_checked(service: VolumeService) -> None:
    first = service.create(user("alice"), "data")
    with pytest.raises(Conflict, match="already exists"):
        service.create(user("alice"), "data")
    assert service.create(user("bob"), "data").id != first.id  # another owner may use the name
    for bad in ["", "a/b", "..x y", "ünï", "x" * 256, "a\0b"]:
        with pytest.raises(BadRequest, match="1-255 characters"):
            service.create(user("alice"), bad)
    assert service.create(user("alice"), "A-1_b.c").state == "ready"


def test_another_users_volume_is_missing_to_them_and_visible_to_admins(service: VolumeService) -> None:
    volume = service.create(user("alice"), "data")
    with pytest.raises(NotFound) as hidden:
        service.get(user("bob"), volume.id)
    with pytest.raises(NotFound) as missing:
        service.get(user("bob"), "no-such-volume")
    assert str(hidden.value) == str(missing.value).replace("no-such-volume", volume.id)
    with pytest.raises(NotFound):
        service.get_by_name(user("bob"), "data")
    with pytest.raises(NotFound):
        service.delete(user("bob"), volume.id)
    assert [v.id for v in service.list(user("bob"))] == []
    assert [v.id for v in service.list(user("root"))] == [volume.id]
    assert service.get(user("root"), volume.id).name == "data"
    with pytest.raises(NotFound):  # by name, everyone (admins too) means their own
        service.get_by_name(user("root"), "data")
    assert service.get_by_name(user("alice"), "data").id == volume.id


def test_a_volume_in_use_cannot_be_deleted(service: VolumeService, tmp_path: Path) -> None:
    volume = service.create(user("alice"), "data")
    (tmp_path / "volumes" / volume.id / "kept").write_text("x")
    mount = {"volumeId": volume.id, "mountPath": "/data", "subpath": None}
    add_sandbox(service, "box-1", "alice", [mount], "stopped")
    add_sandbox(service, "box-2", "alice", [mount], "archived")
    add_sandbox(service, "gone", "alice", [mount], "destroyed")
    add_sandbox(service, "admins", "root", [mount], "started")
    with pytest.raises(Conflict) as refused:
        service.delete(user("alice"), volume.id)
    message = str(refused.value)
    assert "box-1, box-2, 1 of another user" in message and "gone" not in message and "admins" not in message
    with pytest.raises(Conflict, match="admins, box-1, box-2:"):  # admins see every sandbox's id
        service.delete(user("root"), volume.id)
    assert service.get(user("alice"), volume.id).state == "ready"  # refused: nothing changed
    assert (tmp_path / "volumes" / volume.id / "kept").exists()


def test_delete_removes_the_files_and_never_follows_a_planted_link(service: VolumeService, tmp_path: Path) -> None:
    outside = tmp_path / "host-file"
    outside.write_text("the host's")
    (tmp_path / "host-dir").mkdir()
    (tmp_path / "host-dir" / "f").write_text("the host's")
    volume = service.create(user("alice"), "data")
    root = tmp_path / "volumes" / volume.id
    (root / "sub").mkdir()
    (root / "sub" / "file").write_text("mine")
    (root / "link").symlink_to(outside)
    (root / "sub" / "dirlink").symlink_to(tmp_path / "host-dir")
    service.delete(user("alice"), volume.id)
    assert not root.exists() and os.listdir(tmp_path / "volumes") == []
    assert outside.read_text() == "the host's" and (tmp_path / "host-dir" / "f").exists()
    with pytest.raises(NotFound):
        service.get(user("alice"), volume.id)


def test_the_store_keeps_volumes_root_only_and_writable_inside(tmp_path: Path) -> None:
    store = LocalVolumeStore(tmp_path / "volumes")
    store.create("v1")
    assert stat.S_IMODE(os.stat(tmp_path / "volumes").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.host_path("v1")).st_mode) == 0o777
    store.delete("v1")
    store.delete("v1")  # missing is not an error
    with pytest.raises(VolumeUnavailable, match="missing"):
        store.host_path("v1")
    with pytest.raises(VolumeUnavailable, match="invalid volume id"):
        store.host_path("../etc")


def test_resolve_mounts_returns_the_stored_form(service: VolumeService) -> None:
    data = service.create(user("alice"), "data")
    cache = service.create(user("alice"), "cache")
    stored = resolve(
        service,
        "alice",
        [
            {"volumeId": data.id, "mountPath": "/home/daytona/data/", "subpath": "./users//alice/"},
            {"volumeId": "cache", "mountPath": "//cache/./x"},  # by name, no subpath
            {"volumeId": data.id, "mountPath": "/other", "subpath": ""},
        ],
    )
    assert stored == [
        {"volumeId": data.id, "mountPath": "/home/daytona/data", "subpath": "users/alice"},
        {"volumeId": cache.id, "mountPath": "/cache/x", "subpath": None},
        {"volumeId": data.id, "mountPath": "/other", "subpath": None},
    ]
    assert resolve(service, "alice", None) == [] and resolve(service, "alice", []) == []


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        ({"mountPath": "/data"}, "volumeId is required"),
        ({"volumeId": "V", "mountPath": "data"}, "must be absolute"),
        ({"volumeId": "V"}, "mountPath is required"),
        ({"volumeId": "V", "mountPath": "/"}, "must not be '/'"),
        ({"volumeId": "V", "mountPath": "/./"}, "must not be '/'"),
        ({"volumeId": "V", "mountPath": "/proc"}, "under /proc"),
        ({"volumeId": "V", "mountPath": "/sys/fs/x"}, "under /sys"),
        ({"volumeId": "V", "mountPath": "/dev/shm"}, "under /dev"),
        ({"volumeId": "V", "mountPath": "/opt/daytona/daytona_agent"}, "agent"),
        ({"volumeId": "V", "mountPath": "/run/daytona"}, "agent"),
        ({"volumeId": "V", "mountPath": "/run"}, "agent"),
        ({"volumeId": "V", "mountPath": "/opt"}, "agent"),
        ({"volumeId": "V", "mountPath": "/etc/hosts"}, "runtime manages"),
        ({"volumeId": "V", "mountPath": "/data/../proc"}, "'..'"),
        ({"volumeId": "V", "mountPath": "/da\0ta"}, "control characters"),
        ({"volumeId": "V", "mountPath": "/d" * 600}, "at most 1024"),
        ({"volumeId": "V", "mountPath": "/data", "subpath": "/etc"}, "relative"),
        ({"volumeId": "V", "mountPath": "/data", "subpath": "a/../../etc"}, "'..'"),
        ({"volumeId": "V", "mountPath": "/data", "subpath": "a\0b"}, "NUL"),
        ({"volumeId": "V", "mountPath": "/data", "subpath": "x" * 256}, "longer than 255 bytes"),
        ({"volumeId": "V", "mountPath": "/data", "subpath": 5}, "relative path"),
        ({"volumeId": "V", "mountPath": 5}, "mountPath is required"),
    ],
)
def test_resolve_mounts_refuses_unsafe_paths(service: VolumeService, mount: dict[str, Any], message: str) -> None:
    volume = service.create(user("alice"), "V")
    mount = {k: (volume.id if v == "V" else v) for k, v in mount.items()}
    with pytest.raises(BadRequest, match=message):
        resolve(service, "alice", [mount])


def test_resolve_mounts_refuses_duplicates_nesting_and_too_many(service: VolumeService) -> None:
    volume = service.create(user("alice"), "data")
    one = {"volumeId": volume.id, "mountPath": "/data"}
    with pytest.raises(BadRequest, match="two volumes are mounted at /data"):
        resolve(service, "alice", [one, {**one, "mountPath": "/data/"}])
    with pytest.raises(BadRequest, match="must not nest"):
        resolve(service, "alice", [one, {**one, "mountPath": "/data/inner"}])
    with pytest.raises(BadRequest, match="at most 10"):
        resolve(service, "alice", [{**one, "mountPath": f"/d{n}"} for n in range(11)])
    assert len(resolve(service, "alice", [{**one, "mountPath": f"/d{n}"} for n in range(10)])) == 10
    for shape in ["/data", {"volumeId": volume.id}, ["/data"]]:
        with pytest.raises(BadRequest):
            resolve(service, "alice", shape)


def test_resolve_mounts_finds_only_visible_ready_volumes(service: VolumeService) -> None:
    mine = service.create(user("alice"), "data")
    theirs = service.create(user("bob"), "theirs")
    for ref in [theirs.id, "theirs", "missing"]:
        with pytest.raises(NotFound, match=f"volume {ref} not found"):
            resolve(service, "alice", [{"volumeId": ref, "mountPath": "/data"}])
    assert resolve(service, "root", [{"volumeId": theirs.id, "mountPath": "/x"}])[0]["volumeId"] == theirs.id
    with service.db.session() as session:
        stored = session.get(type(mine), mine.id)
        assert stored is not None and stored.last_used_at is None
        service.resolve_mounts(session, user("alice"), [{"volumeId": "data", "mountPath": "/x"}])
        stored.state = "deleting"
        session.commit()
        assert stored.last_used_at is not None  # marked used, committed by the caller
    with pytest.raises(Conflict, match="deleting, not ready"):
        resolve(service, "alice", [{"volumeId": mine.id, "mountPath": "/data"}])


def test_spec_of_binds_the_volumes_from_the_store(service: VolumeService, tmp_path: Path) -> None:
    volume = service.create(user("alice"), "data")
    sandbox = Sandbox(id="box", image="img", os_user="daytona", env={}, cpu=1, memory=1, disk=1, gpu=0)
    sandbox.volumes = [{"volumeId": volume.id, "mountPath": "/data", "subpath": "a/b"}]
    assert spec_of(sandbox, volumes=service.store).mounts == [
        VolumeMount(source=tmp_path / "volumes" / volume.id, target="/data", subpath="a/b")
    ]
    with pytest.raises(RuntimeFailure, match="no volume store"):
        spec_of(sandbox)
    sandbox.volumes = []
    assert spec_of(sandbox).mounts == []


# -- /api/volumes in-process -------------------------------------------------------------------------


async def test_volumes_api_crud(app_client: httpx.AsyncClient) -> None:
    admin = bearer(KEY)
    alice = bearer(await make_user(app_client, "alice"))
    created = await app_client.post("/volumes", json={"name": "data"}, headers=alice)
    assert created.status_code == 200, created.text  # the generated client reads a body only on 200
    body = created.json()
    assert set(body) == DTO_FIELDS
    assert body["organizationId"] == "alice" and body["state"] == "ready" and body["errorReason"] is None
    assert isinstance(body["createdAt"], str) and body["createdAt"].startswith("20")
    vid = body["id"]
    assert (await app_client.post("/volumes", json={"name": "data"}, headers=alice)).status_code == 409
    assert (await app_client.post("/volumes", json={"name": "no/slash"}, headers=alice)).status_code == 400
    assert (await app_client.post("/volumes", json={}, headers=alice)).status_code == 400
    assert (await app_client.get(f"/volumes/{vid}", headers=alice)).json() == body
    assert (await app_client.get("/volumes/by-name/data", headers=alice)).json()["id"] == vid
    assert (await app_client.get("/volumes/by-name/data", headers=admin)).status_code == 404
    assert [v["id"] for v in (await app_client.get("/volumes", headers=alice)).json()] == [vid]
    assert [v["id"] for v in (await app_client.get("/volumes", headers=admin)).json()] == [vid]
    bob = bearer(await make_user(app_client, "bob"))
    assert (await app_client.get("/volumes", headers=bob)).json() == []
    assert (await app_client.get(f"/volumes/{vid}", headers=bob)).status_code == 404
    assert (await app_client.delete(f"/volumes/{vid}", headers=bob)).status_code == 404
    deleted = await app_client.delete(f"/volumes/{vid}", headers=alice)
    assert deleted.status_code == 200 and deleted.content == b""
    assert (await app_client.get(f"/volumes/{vid}", headers=alice)).status_code == 404
    assert (await app_client.get("/volumes", headers=bob)).status_code == 200


async def test_volumes_api_refuses_deleting_a_volume_in_use(app_client: httpx.AsyncClient) -> None:
    state = app_client.app.state.server  # type: ignore[attr-defined]
    vid = (await app_client.post("/volumes", json={"name": "data"}, headers=bearer(KEY))).json()["id"]
    add_sandbox(state.volumes, "user-of-data", "admin", [{"volumeId": vid, "mountPath": "/d"}], "started")
    refused = await app_client.delete(f"/volumes/{vid}", headers=bearer(KEY))
    assert refused.status_code == 409 and "user-of-data" in refused.json()["message"]


# -- the safe subpath walk ---------------------------------------------------------------------------


def test_open_subpath_makes_missing_dirs_writable_by_every_sandbox_user(tmp_path: Path) -> None:
    fd = binds.open_subpath(tmp_path, "a/b/c")
    try:
        assert os.path.samefile(f"/proc/self/fd/{fd}", tmp_path / "a" / "b" / "c")
    finally:
        os.close(fd)
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o777 for p in [tmp_path / "a", tmp_path / "a" / "b"])
    with pytest.raises(binds.MountError, match="cannot open"):
        binds.open_subpath(tmp_path, "x/y", create=False)


@pytest.mark.parametrize("planted", ["a", "a/b"])
def test_open_subpath_never_follows_a_planted_link(tmp_path: Path, planted: str) -> None:
    volume, host = tmp_path / "volume", tmp_path / "host-etc"
    (volume / "inside").mkdir(parents=True)
    host.mkdir()
    (volume / planted).parent.mkdir(parents=True, exist_ok=True)
    (volume / planted).symlink_to(host)  # what a sandbox's root can do in a volume it mounts
    with pytest.raises(binds.MountError, match="is a symbolic link"):
        binds.open_subpath(volume, f"{planted}/etc")
    assert os.listdir(host) == []  # nothing made through the link
    (volume / "inside-link").symlink_to(volume / "inside")  # a link inside the volume is refused too
    with pytest.raises(binds.MountError, match="is a symbolic link"):
        binds.open_subpath(volume, "inside-link")


def test_open_subpath_refuses_files_and_dotdot(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(binds.MountError, match="not a directory"):
        binds.open_subpath(tmp_path, "file/x")
    with pytest.raises(binds.MountError, match=r"'\.\.'"):
        binds.open_subpath(tmp_path, "a/../..")
    with pytest.raises(binds.MountError, match="relative"):
        binds.open_subpath(tmp_path, "/etc")


# -- staging binds (root) ----------------------------------------------------------------------------


@pytest.fixture
def mounts_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "volume-mounts"
    yield path
    for sandbox in os.listdir(path) if path.exists() else []:
        binds.unstage(path, sandbox)


@as_root
def test_a_subpath_is_bound_by_what_was_opened_not_by_its_path(tmp_path: Path, mounts_dir: Path) -> None:
    volume = tmp_path / "volume"
    (volume / "users" / "alice").mkdir(parents=True)
    (volume / "users" / "alice" / "mine").write_text("alice's")
    mounts = [
        VolumeMount(source=volume, target="/whole"),
        VolumeMount(source=volume, target="/data", subpath="users/alice"),
    ]
    staged = binds.stage(mounts_dir, "box", mounts, fresh=True)
    staging = mounts_dir / "box" / "1"
    assert staged == [mounts[0], VolumeMount(source=staging, target="/data")]
    assert binds.is_mount_point(staging) and (staging / "mine").read_text() == "alice's"
    assert stat.S_IMODE(os.stat(mounts_dir).st_mode) == 0o700
    # A sandbox swaps the directory for a link to the host: the bind still shows what was opened.
    (volume / "users" / "alice").rename(volume / "users" / "moved")
    (volume / "users" / "alice").symlink_to("/etc")
    assert os.listdir(staging) == ["mine"]
    # A start after a reboot (the bind gone) walks again, and refuses the link.
    binds._libc().umount2(str(staging).encode(), binds.MNT_DETACH)
    with pytest.raises(binds.MountError, match="is a symbolic link"):
        binds.stage(mounts_dir, "box", mounts, fresh=False)
    assert not binds.is_mount_point(staging)
    binds.unstage(mounts_dir, "box")
    assert not (mounts_dir / "box").exists() and (volume / "users" / "moved" / "mine").exists()


@as_root
def test_start_restages_only_what_is_gone_and_create_starts_afresh(tmp_path: Path, mounts_dir: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    mounts = [VolumeMount(source=volume, target="/data", subpath="a")]
    binds.stage(mounts_dir, "box", mounts, fresh=True)
    staging = mounts_dir / "box" / "0"
    (staging / "f").write_text("1")
    binds.stage(mounts_dir, "box", mounts, fresh=False)  # still there: not bound twice
    assert sum(str(staging) in line for line in Path("/proc/self/mountinfo").read_text().splitlines()) == 1
    binds._libc().umount2(str(staging).encode(), binds.MNT_DETACH)
    binds.stage(mounts_dir, "box", mounts, fresh=False)
    assert (staging / "f").read_text() == "1"
    # A new sandbox of the same id never inherits an old one's binds.
    other = tmp_path / "other"
    other.mkdir()
    binds.stage(mounts_dir, "box", [VolumeMount(source=other, target="/data", subpath="a")], fresh=True)
    assert os.listdir(staging) == []
    binds.unstage(mounts_dir, "box")
    binds.unstage(mounts_dir, "box")  # nothing there is not an error
    assert (volume / "a" / "f").read_text() == "1"


def test_without_root_only_whole_volumes_mount(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binds.os, "geteuid", lambda: 1000)
    whole = [VolumeMount(source=tmp_path, target="/data")]
    assert binds.stage(tmp_path / "mounts", "box", whole, fresh=True) == whole
    with pytest.raises(binds.MountError, match="needs a server running as root"):
        binds.stage(tmp_path / "mounts", "box", [VolumeMount(source=tmp_path, target="/d", subpath="a")], fresh=True)
    binds.unstage(tmp_path / "mounts", "not/an id")  # nothing could be staged for it: not an error


# -- the Docker runtime hands Docker the staged paths ------------------------------------------------


class FakeContainer:
    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.id = "c1"
        self.labels = kwargs["labels"]
        self.kwargs = kwargs

    def remove(self, **kwargs: Any) -> None:
        pass


class FakeDocker:
    """Enough of docker.DockerClient for create and remove; records what create was asked."""

    def __init__(self) -> None:
        self.created: list[FakeContainer] = []
        self.images = self.containers = self

    def ping(self) -> bool:
        return True

    def info(self) -> dict[str, Any]:
        return {"Driver": "vfs", "DockerRootDir": "/var/lib/engine"}

    def get(self, name: str) -> Any:
        if self.created and "daytona-" in name:
            return self.created[-1]
        return type("FakeImage", (), {"attrs": {}})()

    def list(self, **kwargs: Any) -> list[Any]:
        return []

    def create(self, **kwargs: Any) -> FakeContainer:
        self.created.append(FakeContainer(kwargs))
        return self.created[-1]


@as_root
def test_docker_gets_the_staging_path_and_remove_releases_it(tmp_path: Path) -> None:
    engine = FakeDocker()
    runtime = DockerRuntime("unit", tmp_path / "run", client=engine)  # type: ignore[arg-type]
    volume = tmp_path / "volume"
    volume.mkdir()
    spec = SandboxSpec(
        sandbox_id="box",
        image="img",
        os_user="daytona",
        mounts=[VolumeMount(source=volume, target="/data", subpath="x"), VolumeMount(source=volume, target="/all")],
    )
    try:
        runtime.create(spec)
        created = engine.created[0].kwargs
        staging = tmp_path / "run" / "volume-mounts" / "box" / "0"
        assert [(m["Target"], m["Source"], m["Type"]) for m in created["mounts"]] == [
            ("/data", str(staging), "bind"),
            ("/all", str(volume), "bind"),
        ]
        assert binds.from_label(created["labels"][LABEL_VOLUMES]) == spec.mounts
        assert binds.is_mount_point(staging)
    finally:
        runtime.remove("box")
    assert not (tmp_path / "run" / "volume-mounts" / "box").exists()
    assert (volume / "x").is_dir()
