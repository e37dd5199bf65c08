"""Two users never cross: every route walked as a stranger, and the image rules (namespaces, system images).

In-process over the stub runtime; tests/security/test_images.py plays the same attacks on real Docker.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from daytona_server.db.models import ApiKey, Image, Sandbox, User, Volume

from ..support.accounts import KEY, bearer, make_user
from ..support.api import PUBLIC_ROUTES, assert_error_shape
from ..support.openapi import example, operations
from ..support.tarballs import tar_of

# Routes about the caller only: nothing of anyone else can be reached through them.
SELF_ROUTES = {"/api/users/me", "/api/users/overview"}
DEFAULT = "daytona-sandbox:0.1.0"


def saved_image(*tags: str) -> bytes:
    """A minimal `docker save` layout naming `tags` (enough for the server's checks and the stub engine)."""
    manifest = [{"Config": "config.json", "RepoTags": list(tags), "Layers": []}]
    return tar_of({"manifest.json": json.dumps(manifest).encode(), "config.json": b'{"config": {}}'})


def rows(state: Any, owner: str) -> dict[str, Any]:
    """Everything `owner` has, as plain values: any change a stranger causes shows up here."""

    def plain(row: Any) -> dict[str, Any]:
        return {c.name: getattr(row, c.key) for c in row.__mapper__.columns}

    with state.db.session() as session:
        user = session.get(User, owner)
        return {
            "user": plain(user),
            "sandboxes": [plain(r) for r in session.query(Sandbox).filter_by(owner_id=owner).order_by(Sandbox.id)],
            "images": [plain(r) for r in session.query(Image).filter_by(owner_id=owner).order_by(Image.id)],
            "keys": [plain(r) for r in session.query(ApiKey).filter_by(user_id=owner).order_by(ApiKey.id)],
            "volumes": [plain(r) for r in session.query(Volume).filter_by(owner_id=owner).order_by(Volume.id)],
        }


async def signed_in(http: httpx.AsyncClient, user_id: str) -> httpx.AsyncClient:
    browser = httpx.AsyncClient(transport=http._transport, base_url="http://test/api")
    response = await browser.post("/auth/login", json={"username": user_id, "password": f"{user_id}-secret-pw"})
    assert response.status_code == 200
    browser.headers["X-Daytona-CSRF"] = "1"
    return browser


@pytest.mark.parametrize("credential", ["api-key", "dashboard-cookie"])
async def test_every_route_as_a_stranger_changes_and_shows_nothing_of_another_user(
    app_client: httpx.AsyncClient, credential: str
) -> None:
    """Every operation of the OpenAPI document, as bob, aimed at alice's things: alice's rows stay as they were."""
    http = app_client
    key_a = await make_user(http, "alice")
    key_b = await make_user(http, "bob")
    state = http.app.state.server  # type: ignore[attr-defined]
    assert (await http.post("/workspace", json={"id": "alice-box"}, headers=bearer(key_a))).status_code == 200
    built = await http.post(
        "/images/build", params={"name": "alice-image:1"}, headers=bearer(key_a),
        content=tar_of({"Dockerfile": f"FROM {DEFAULT}\n".encode()}),
    )  # fmt: skip
    image_id = json.loads(built.text.splitlines()[-1])["image"]["id"]
    volume = await http.post("/volumes", json={"name": "alice-key"}, headers=bearer(key_a))
    volume_id = volume.json()["id"]
    engine = state.sandboxes.runtime.images
    alice_tags = {t: dict(v) for t, v in engine.tags.items()}
    before = rows(state, "alice")
    secrets = {"alice-box", image_id, "alice-key", key_a, volume_id}
    values = {
        "workspace_id": "alice-box", "image_id": image_id, "name": "alice-key", "user_id": "alice", "interval": "5",
        "port": "8080", "is_public": "true", "path": "files", "sessionId": "s1", "session_id": "s1",
        "commandId": "c1", "command_id": "c1", "sandbox_id_or_name": "alice-box", "snapshot_id_or_name": image_id,
        "snapshot_id": image_id, "volume_id": volume_id, "token": "s0",
    }  # fmt: skip
    # Bodies and queries that name alice's things where a route takes a name.
    overrides = {"name": "alice-image:1", "id": "alice-box", "image": "alice-image:1"}
    client = await signed_in(http, "bob") if credential == "dashboard-cookie" else http
    headers = bearer(key_b) if credential == "api-key" else {}
    spec = (await http.get("/openapi.json")).json()
    checked = 0
    try:
        for method, path, operation in operations(spec):
            if path in PUBLIC_ROUTES:
                continue
            url = path.removeprefix("/api")
            for name, value in values.items():
                url = url.replace("{" + name + "}", value)
            assert "{" not in url, f"no value for a parameter of {path}"
            media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            body = example(spec, media, overrides)
            query = {p["name"]: overrides.get(p["name"], example(spec, p)) for p in operation.get("parameters", [])
                     if p["in"] == "query" and p.get("required")}  # fmt: skip
            response = await client.request(method, url, headers=headers, json=body, params=query)
            where = (method, path, response.status_code, response.text)
            assert response.status_code < 500, where
            if "{" in path and path not in SELF_ROUTES:
                assert response.status_code in (403, 404), where
            elif path == "/api/workspace" and method == "POST":
                assert response.status_code in (400, 409), where  # ids are global: a taken one says so, no more
            shown = response.text.replace("alice-image:1", "")
            assert not any(s in shown for s in secrets) or "not found" in shown or "already exists" in shown, where
            assert rows(state, "alice") == before, where
            assert all(engine.tags.get(t) == v for t, v in alice_tags.items()), where
            checked += 1
    finally:
        if client is not http:
            await client.aclose()
    assert checked > 50
    # Lists hold one's own things (and the system's default image).
    # (bob's own create through today's POST /sandbox may have made him a sandbox: never alice's)
    assert "alice-box" not in [w["id"] for w in (await http.get("/workspace", headers=bearer(key_b))).json()]
    names = [i["name"] for i in (await http.get("/images", headers=bearer(key_b))).json()["items"]]
    assert "alice-image:1" not in names and DEFAULT in names
    assert "alice-box" in [w["id"] for w in (await http.get("/workspace", headers=bearer(KEY))).json()]


async def test_the_default_image_is_the_systems_and_no_user_can_claim_change_or_disable_it(
    app_client: httpx.AsyncClient,
) -> None:
    http = app_client
    key = await make_user(http, "mallory")
    claim = await http.post("/images", json={"name": DEFAULT, "entrypoint": "touch /tmp/pwned"}, headers=bearer(key))
    assert "system image" in assert_error_shape(claim, 409)
    (default,) = [i for i in (await http.get("/images", headers=bearer(key))).json()["items"] if i["name"] == DEFAULT]
    assert default["general"] and default["userId"] == "admin" and default["entrypoint"] is None
    toggled = await http.patch(f"/images/{default['id']}/toggle", json={"enabled": False}, headers=bearer(key))
    assert "only admins" in assert_error_shape(toggled, 403)
    assert_error_shape(await http.delete(f"/images/{default['id']}", headers=bearer(key)), 403)
    made_general = await http.patch(f"/images/{default['id']}/general", json={"general": False}, headers=bearer(key))
    assert_error_shape(made_general, 403)
    for route in ("build", "push"):
        body = tar_of({"Dockerfile": b"FROM scratch\n"}) if route == "build" else saved_image(DEFAULT)
        taken = await http.post(f"/images/{route}", params={"name": DEFAULT}, content=body, headers=bearer(key))
        assert "system image" in assert_error_shape(taken, 409)
    # Even an admin cannot delete it; sandboxes of everyone still start from it, with no entrypoint.
    assert "default image" in assert_error_shape(
        await http.delete(f"/images/{default['id']}", headers=bearer(KEY)), 409
    )
    state = http.app.state.server  # type: ignore[attr-defined]
    assert (await http.post("/workspace", json={"id": "admin-box"}, headers=bearer(KEY))).status_code == 200
    with state.db.session() as session:
        sandbox = session.get(Sandbox, "admin-box")
        assert sandbox is not None and sandbox.image_ref == DEFAULT
    assert state.sandboxes.runtime.images.calls == []  # nothing reached the engine


async def test_a_hijacked_default_image_row_is_taken_back_at_start_up(app_client: httpx.AsyncClient) -> None:
    """A database written by an older version, where a user had registered the default image's name."""
    http = app_client
    await make_user(http, "mallory")
    state = http.app.state.server  # type: ignore[attr-defined]
    with state.db.session() as session:
        session.query(Image).delete()
        session.commit()
        session.add(Image(id=str(uuid.uuid4()), owner_id="mallory", name=DEFAULT, engine_ref=DEFAULT,
                          enabled=False, state="active", entrypoint="touch /tmp/pwned"))  # fmt: skip
        session.commit()
    state.images.ensure_default("admin")
    with state.db.session() as session:
        (image,) = session.query(Image).all()
        assert (image.owner_id, image.general, image.enabled, image.entrypoint) == ("admin", True, True, None)


async def test_builds_and_uploads_land_in_the_callers_namespace_only(app_client: httpx.AsyncClient) -> None:
    http = app_client
    key_a, key_b = await make_user(http, "alice"), await make_user(http, "bob")
    engine = http.app.state.server.sandboxes.runtime.images  # type: ignore[attr-defined]
    context = tar_of({"Dockerfile": f"FROM {DEFAULT}\nRUN echo alice\n".encode()})
    first = await http.post("/images/build", params={"name": "app:1"}, content=context, headers=bearer(key_a))
    alice_ref = next(t for t in engine.tags if t.endswith("/app:1"))
    alice_content = dict(engine.tags[alice_ref])
    alice_calls = len(engine.calls)
    assert json.loads(first.text.splitlines()[-1])["image"]["name"] == "app:1"
    # Bob builds and pushes the same name: his own image, alice's tag untouched.
    context = tar_of({"Dockerfile": f"FROM {DEFAULT}\nRUN echo bob\n".encode()})
    second = await http.post("/images/build", params={"name": "app:1"}, content=context, headers=bearer(key_b))
    assert "image" in json.loads(second.text.splitlines()[-1])
    pushed = await http.post("/images/push", params={"name": "app:2"}, content=saved_image("app:2", DEFAULT),
                             headers=bearer(key_b))  # fmt: skip
    assert pushed.status_code == 200, pushed.text
    assert engine.tags[alice_ref] == alice_content
    touched = [ref for _, ref in engine.calls[alice_calls:]]
    assert DEFAULT not in touched and alice_ref not in touched
    bob_refs = {t for t in engine.tags if t.endswith(("/app:1", "/app:2")) and t != alice_ref}
    assert len(bob_refs) == 2 and not any("staging" in t for t in engine.tags)  # staging tags are gone
    # Each user's sandboxes start from their own image.
    for key, box in ((key_a, "a-box"), (key_b, "b-box")):
        assert (
            await http.post("/workspace", json={"id": box, "image": "app:1"}, headers=bearer(key))
        ).status_code == 200
    with http.app.state.server.db.session() as session:  # type: ignore[attr-defined]
        refs = {s.id: s.image_ref for s in session.query(Sandbox).all()}
    assert refs["a-box"] == alice_ref and refs["b-box"] in bob_refs
    # A tarball that does not hold the image asked for is refused before anything is loaded.
    calls = len(engine.calls)
    wrong = await http.post(
        "/images/push", params={"name": "app:3"}, content=saved_image(DEFAULT), headers=bearer(key_b)
    )
    assert f"holds {DEFAULT}, not app:3" in assert_error_shape(wrong, 400)
    assert len(engine.calls) == calls


@pytest.mark.parametrize(
    ("dockerfile", "problem"),
    [
        ("FROM app:1\n", "image 'app:1' not found"),  # alice's, by its name
        ("FROM daytona-u-0123456789abcdef/app:1\n", "names starting with daytona-u- are reserved"),  # by its tag
        ("ARG BASE=app:1\nFROM ${BASE}\n", "image 'app:1' not found"),
        (f"FROM {DEFAULT} AS one\nCOPY --from=app:1 / /stolen\n", "image 'app:1' not found"),
        (f"FROM {DEFAULT}\nONBUILD COPY --from=app:1 / /x\n", "ONBUILD with --from is not allowed"),
        ("FROM $UNSET_BUT_USED\n", "use a literal image name"),
    ],
)
async def test_a_build_starts_only_from_images_its_caller_may_use(
    app_client: httpx.AsyncClient, dockerfile: str, problem: str
) -> None:
    http = app_client
    key_a, key_b = await make_user(http, "alice"), await make_user(http, "bob")
    own = tar_of({"Dockerfile": f"FROM {DEFAULT}\n".encode()})
    await http.post("/images/build", params={"name": "app:1"}, content=own, headers=bearer(key_a))
    engine = http.app.state.server.sandboxes.runtime.images  # type: ignore[attr-defined]
    calls = len(engine.calls)
    context = tar_of({"Dockerfile": dockerfile.encode()})
    refused = await http.post("/images/build", params={"name": "mine:1"}, content=context, headers=bearer(key_b))
    if "not found" in problem:
        problem = problem.replace("image ", "image ").strip()
    assert problem in assert_error_shape(refused, 400)
    assert len(engine.calls) == calls  # refused before the engine saw anything


async def test_a_build_resolves_its_bases_to_engine_tags(app_client: httpx.AsyncClient) -> None:
    http = app_client
    key = await make_user(http, "alice")
    engine = http.app.state.server.sandboxes.runtime.images  # type: ignore[attr-defined]
    base = tar_of({"Dockerfile": f"FROM {DEFAULT}\n".encode()})
    await http.post("/images/build", params={"name": "base:1"}, content=base, headers=bearer(key))
    base_ref = next(t for t in engine.tags if t.endswith("/base:1"))
    text = (
        f"# a comment\nARG V=1\nFROM base:${{V}} AS builder\nRUN make\nFROM {DEFAULT}\nCOPY --from=builder /out /out\n"
    )
    context = tar_of({"ctx/Dockerfile.dev": text.encode(), "ctx/file": b"x"})
    response = await http.post("/images/build", params={"name": "app:1", "dockerfile": "ctx/Dockerfile.dev"},
                               content=context, headers=bearer(key))  # fmt: skip
    assert "image" in json.loads(response.text.splitlines()[-1]), response.text
    built = engine.tags[next(t for t in engine.tags if t.endswith("/app:1"))]["dockerfile"]
    assert f"FROM {base_ref} AS builder" in built and "COPY --from=builder /out /out" in built


async def test_image_quotas_refuse_builds_with_an_answer_and_leave_nothing_behind(
    app_client: httpx.AsyncClient,
) -> None:
    http = app_client
    key = await make_user(http, "carol", maxImageSize=0.4, totalImageSize=0.9, imageQuota=2)
    engine = http.app.state.server.sandboxes.runtime.images  # type: ignore[attr-defined]
    context = tar_of({"Dockerfile": f"FROM {DEFAULT}\n".encode()})

    async def build(name: str) -> dict[str, Any]:
        response = await http.post("/images/build", params={"name": name}, content=context, headers=bearer(key))
        assert response.status_code == 200, response.text
        return dict(json.loads(response.text.splitlines()[-1]))

    engine.size = 0.5  # over maxImageSize
    too_big = await build("big:1")
    assert too_big["statusCode"] == 403 and "per image" in too_big["error"]
    engine.size = 0.3
    assert "image" in await build("a:1")
    assert "image" in await build("b:1")
    over_count = await http.post("/images/build", params={"name": "c:1"}, content=context, headers=bearer(key))
    assert "2 images" in assert_error_shape(over_count, 429)  # answered before anything is built
    assert "image" in await build("a:1")  # replacing one of one's images always fits the count
    await http.put("/users/carol/quota", json={"imageQuota": 5}, headers=bearer(KEY))
    engine.size = 0.4
    total = await build("c:1")
    assert total["statusCode"] == 429 and "would take 1.00 GB, the limit is 0.9 GB" in total["error"]
    assert not any("staging" in t or t.endswith(("/big:1", "/c:1")) for t in engine.tags)
    overview = (await http.get("/users/overview", headers=bearer(key))).json()
    assert (overview["currentImageNumber"], overview["totalImageSizeUsed"]) == (2, 0.6)


async def test_gpu_quota(app_client: httpx.AsyncClient) -> None:
    http = app_client
    key = await make_user(http, "dave")
    assert "1 GPUs" not in assert_error_shape(await http.post("/workspace", json={"gpu": 2}, headers=bearer(key)), 403)
    assert (await http.post("/workspace", json={"id": "g1", "gpu": 1}, headers=bearer(key))).status_code == 200
    second = assert_error_shape(await http.post("/workspace", json={"id": "g2", "gpu": 1}, headers=bearer(key)), 429)
    assert "GPUs in running sandboxes" in second
    overview = (await http.get("/users/overview", headers=bearer(key))).json()
    assert (overview["totalGpuQuota"], overview["currentGpuUsage"]) == (1, 1)
