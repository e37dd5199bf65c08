"""The toolbox's hot path from memory (daytona_server.hot_cache), and that changes still take effect at once."""

from __future__ import annotations

from pathlib import Path

import httpx

from daytona_server import auth
from daytona_server.db.models import ApiKey, Sandbox, User, utcnow
from daytona_server.db.session import Database, migrate
from daytona_server.hot_cache import HotCache

from ..support.accounts import KEY, bearer, make_user
from ..support.api import assert_error_shape


def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(db.engine)
    with db.session() as session:
        session.add(User(id="u1", name="u1", role="user"))
        session.add(ApiKey(id=1, user_id="u1", name="k", key_hash="h1", prefix="dtn_"))
        session.commit()
    return db


def sandbox_row(sandbox_id: str, state: str = "started") -> Sandbox:
    return Sandbox(
        id=sandbox_id, owner_id="u1", name=sandbox_id, image="i", os_user="daytona", target="us",
        cpu=1, memory=1, disk=1, auto_stop_interval=0, state=state, last_activity_at=utcnow(),
    )  # fmt: skip


def test_a_change_drops_the_entry_and_a_racing_lookup_cannot_put_it_back(tmp_path: Path) -> None:
    db = database(tmp_path)
    cache: HotCache = db.cache
    with db.session() as session:
        user = session.get(User, "u1")
        assert user is not None
        session.expunge(user)
    cache.put_key(cache.generation, "h1", user, utcnow())
    assert cache.user_of("h1") is not None
    stale = cache.generation
    with db.session() as session:  # the key is revoked...
        session.delete(session.get(ApiKey, 1))
        session.commit()
    assert cache.user_of("h1") is None
    cache.put_key(stale, "h1", user, utcnow())  # ... while a lookup that began before wants to cache it
    assert cache.user_of("h1") is None

    with db.session() as session:
        session.add(sandbox_row("s1"))
        session.commit()
        row = session.get(Sandbox, "s1")
        assert row is not None
        cache.put_sandbox(cache.generation, row)
    assert cache.sandbox("s1") is not None and cache.sandbox("s1").state == "started"  # type: ignore[union-attr]
    with db.session() as session:
        stopped = session.get(Sandbox, "s1")
        assert stopped is not None
        stopped.state = "stopped"
        session.commit()
    assert cache.sandbox("s1") is None


def test_a_user_changed_drops_their_keys_and_entries_expire(tmp_path: Path) -> None:
    db = database(tmp_path)
    cache = HotCache(db.sessions, ttl=0.0)  # a second cache on the same factory: expires at once
    with db.session() as session:
        user = session.get(User, "u1")
        assert user is not None
        session.expunge(user)
    cache.put_key(cache.generation, "h1", user, utcnow())
    assert cache.user_of("h1") is None  # ttl 0
    db.cache.put_key(db.cache.generation, "h1", user, utcnow())
    with db.session() as session:
        changed = session.get(User, "u1")
        assert changed is not None
        changed.role = "admin"
        session.commit()
    assert db.cache.user_of("h1") is None


async def test_revoking_a_key_in_use_stops_it_at_once(app_client: httpx.AsyncClient) -> None:
    http = app_client
    key = await make_user(http, "alice")
    for _ in range(3):  # the second use or so caches the key
        assert (await http.get("/workspace", headers=bearer(key))).status_code == 200
    digest = auth.hash_key(key)
    assert http.app.state.server.db.cache.user_of(digest) is not None  # type: ignore[attr-defined]
    names = [k["name"] for k in (await http.get("/api-keys", headers=bearer(key))).json()]
    assert (await http.delete(f"/api-keys/{names[0]}", headers=bearer(key))).status_code == 204
    assert_error_shape(await http.get("/workspace", headers=bearer(key)), 401)


async def test_a_stopped_sandbox_refuses_its_toolbox_at_once(app_client: httpx.AsyncClient) -> None:
    http = app_client
    assert (await http.post("/workspace", json={"id": "hot-box"}, headers=bearer(KEY))).status_code == 200
    state = http.app.state.server  # type: ignore[attr-defined]
    for _ in range(3):
        await http.get("/workspace", headers=bearer(KEY))
    admin = state.db.cache.user_of(auth.hash_key(KEY))
    assert admin is not None
    state.sandboxes.for_toolbox(admin[0], "hot-box")
    state.sandboxes.for_toolbox(admin[0], "hot-box")  # no activity write this time: now it is cached
    assert state.sandboxes.toolbox_allowed(admin[0], "hot-box")
    assert (await http.post("/workspace/hot-box/stop", headers=bearer(KEY))).status_code in (200, 204)
    assert not state.sandboxes.toolbox_allowed(admin[0], "hot-box")
    refused = await http.get("/toolbox/hot-box/toolbox/project-dir", headers=bearer(KEY))
    assert_error_shape(refused, 409)
