"""Cross-user attacks through images, on real Docker: the default image, builds, uploads and FROM."""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from collections.abc import Iterator

import docker
import httpx
import pytest

from daytona_sdk import CreateWorkspaceParams, Daytona
from daytona_server.images.naming import user_ref
from tests.support.server import RunningServer
from tests.support.tarballs import tar_of

DEFAULT = "daytona-sandbox:0.1.0"


def user_key(server: RunningServer, user_id: str) -> str:
    """A new ordinary user, and an API key of theirs made by signing in to the dashboard."""
    admin = {"Authorization": f"Bearer {server.api_key}"}
    password = f"{user_id}-password-1"
    made = httpx.post(f"{server.url}/users", json={"id": user_id, "name": user_id, "password": password}, headers=admin)
    assert made.status_code in (200, 201), made.text
    with httpx.Client(base_url=server.url) as browser:
        assert browser.post("/auth/login", json={"username": user_id, "password": password}).status_code == 200
        key = browser.post("/api-keys", json={"name": "k"}, headers={"X-Daytona-CSRF": "1"})
        assert key.status_code in (200, 201), key.text
        return str(key.json()["value"])


def build(server: RunningServer, key: str, name: str, dockerfile: str) -> dict[str, object]:
    """Build on the server; the last JSON line of the stream (the image, or the error)."""
    response = httpx.post(
        f"{server.url}/images/build", params={"name": name}, content=tar_of({"Dockerfile": dockerfile.encode()}),
        headers={"Authorization": f"Bearer {key}"}, timeout=600,
    )  # fmt: skip
    if response.status_code != 200:
        return {"status": response.status_code, **response.json()}
    return dict(json.loads(response.text.strip().splitlines()[-1]))


SUFFIX = uuid.uuid4().hex[:6]


def engine_tag(user: str, name: str) -> str:
    """The tag `user`'s image `name` has on the engine."""
    return user_ref(f"{user}-{SUFFIX}", name)


@pytest.fixture(scope="module")
def users(server: RunningServer) -> Iterator[dict[str, str]]:
    keys = {name: user_key(server, f"{name}-{SUFFIX}") for name in ("alice", "bob", "mallory")}
    yield keys
    for key in keys.values():
        with Daytona(server.config(key)) as daytona:
            for workspace in daytona.list():
                daytona.remove(workspace)
            for image in daytona.images.list():
                if not image.general:
                    daytona.images.delete(image.id)


def test_no_user_can_claim_the_default_image_or_run_code_in_other_users_sandboxes(
    server: RunningServer, users: dict[str, str], docker_client: docker.DockerClient
) -> None:
    headers = {"Authorization": f"Bearer {users['mallory']}"}
    claim = httpx.post(
        f"{server.url}/images", json={"name": DEFAULT, "entrypoint": "touch /tmp/pwned"}, headers=headers
    )
    assert claim.status_code == 409 and "system image" in claim.json()["message"]
    images = httpx.get(f"{server.url}/images", headers=headers).json()["items"]
    (default,) = [i for i in images if i["name"] == DEFAULT]
    off = httpx.patch(f"{server.url}/images/{default['id']}/toggle", json={"enabled": False}, headers=headers)
    assert off.status_code == 403
    with Daytona(server.config()) as daytona:
        workspace = daytona.create()
        try:
            assert workspace.process.exec("test -e /tmp/pwned").exit_code == 1
        finally:
            daytona.remove(workspace)


def test_a_second_users_build_of_the_same_name_leaves_the_first_users_image_alone(
    server: RunningServer, users: dict[str, str], docker_client: docker.DockerClient
) -> None:
    first = build(server, users["alice"], "shared:1", f"FROM {DEFAULT}\nRUN echo alice > /owner\n")
    assert "image" in first, first
    alice_image = docker_client.images.get(engine_tag("alice", "shared:1")).id
    second = build(server, users["bob"], "shared:1", f"FROM {DEFAULT}\nRUN echo bob > /owner\n")
    assert "image" in second, second
    assert docker_client.images.get(engine_tag("alice", "shared:1")).id == alice_image  # still alice's
    assert not [t for i in docker_client.images.list() for t in i.tags if "daytona-staging" in t]
    for who in ("alice", "bob"):
        with Daytona(server.config(users[who])) as daytona:
            workspace = daytona.create(CreateWorkspaceParams(image="shared:1"))
            try:
                assert workspace.process.exec("cat /owner").result.strip() == who
            finally:
                daytona.remove(workspace)


def test_a_build_cannot_start_from_or_copy_out_of_another_users_image(
    server: RunningServer, users: dict[str, str], docker_client: docker.DockerClient
) -> None:
    made = build(server, users["alice"], "private:1", f"FROM {DEFAULT}\nRUN echo secret > /secret\n")
    assert "image" in made, made
    alice_tag = engine_tag("alice", "private:1")
    assert docker_client.images.get(alice_tag)
    for dockerfile in (f"FROM {alice_tag}\n", "FROM private:1\n", f"FROM {DEFAULT}\nCOPY --from=private:1 /secret /\n"):
        refused = build(server, users["bob"], "thief:1", dockerfile)
        assert refused["status"] == 400, refused
    assert not [t for i in docker_client.images.list() for t in i.tags if t.startswith(engine_tag("bob", "thief"))]


def test_an_upload_cannot_put_a_tag_on_the_engine_it_does_not_own(
    server: RunningServer, users: dict[str, str], docker_client: docker.DockerClient
) -> None:
    """A `docker save` tarball whose manifest also names the default image: only the asked-for one loads."""
    default_id = docker_client.images.get(DEFAULT).id
    repository, version = "daytona-test-tiny", uuid.uuid4().hex[:8]
    tag = f"{repository}:{version}"
    docker_client.api.import_image_from_data(tar_of({"hello": b"hi"}), repository=repository, tag=version)
    try:
        saved = b"".join(docker_client.images.get(tag).save(named=True))
    finally:
        docker_client.images.remove(tag)
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(saved)) as source, tarfile.open(fileobj=out, mode="w") as tar:
        for member in source:
            data = source.extractfile(member) if member.isfile() else None
            if member.name == "manifest.json" and data is not None:
                manifest = json.loads(data.read())
                manifest[0]["RepoTags"] = [DEFAULT, "evil:1"]
                body = json.dumps(manifest).encode()
                member.size = len(body)
                data = io.BytesIO(body)
            tar.addfile(member, data)
    headers = {"Authorization": f"Bearer {users['mallory']}"}
    as_default = httpx.post(
        f"{server.url}/images/push", params={"name": DEFAULT}, content=out.getvalue(), headers=headers, timeout=300
    )
    assert as_default.status_code == 409
    pushed = httpx.post(
        f"{server.url}/images/push", params={"name": "evil:1"}, content=out.getvalue(), headers=headers, timeout=300
    )
    assert pushed.status_code == 400 and "python3" in pushed.json()["message"]  # loaded, checked, refused
    assert docker_client.images.get(DEFAULT).id == default_id
    assert not [t for i in docker_client.images.list() for t in i.tags if "evil" in t or "daytona-staging" in t]
