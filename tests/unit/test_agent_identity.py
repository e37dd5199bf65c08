"""The agent's warm-pool mode: nothing but /health and POST /identity until claimed, then the sandbox it was told."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daytona_agent import identity
from daytona_agent.http import Request, Response, Router

from ..support.agent_server import serving


@pytest.fixture
def identity_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state" / "identity.json"
    monkeypatch.setattr(identity, "IDENTITY_FILE", str(path))
    for name in ("DAYTONA_SANDBOX_ID", "HOSTNAME", "GREETING"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def became() -> list[identity.Identity]:
    return []


@pytest.fixture
def agent(tmp_path: Path, identity_file: Path, became: list[identity.Identity]) -> Iterator[httpx.Client]:
    def become(given: identity.Identity) -> Router:
        became.append(given)
        full = Router()

        @full.route("GET", "/health")
        def health(request: Request) -> Response:
            return Response(200, {"status": "ok", "user": given.user})

        @full.route("GET", "/env/{name}")
        def env(request: Request) -> Response:
            return Response(200, {"value": os.environ.get(request.params["name"])})

        return full

    path = tmp_path / "agent.sock"
    with (
        serving(identity.awaiting(become), path),
        httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), base_url="http://agent", timeout=10) as client,
    ):
        yield client


CLAIM = {"sandboxId": "sandbox-1234", "user": "daytona", "env": {"GREETING": "hi"}, "entrypoint": "sleep 1"}


def test_an_unclaimed_agent_serves_only_health_and_identity(agent: httpx.Client) -> None:
    health = agent.get("/health")
    assert health.status_code == 200 and health.json()["awaitingIdentity"] is True
    assert agent.get("/env/GREETING").status_code == 404
    assert agent.post("/process/execute", json={"command": "id"}).status_code == 404


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"user": "daytona"}, "sandboxId"),
        ({"sandboxId": "s", "user": "Robert'); DROP"}, "user"),
        ({"sandboxId": "s", "user": "daytona", "env": {"A": 1}}, "env"),
        ({"sandboxId": "s", "user": "daytona", "env": ["A"]}, "env"),
        ({"sandboxId": "s", "user": "daytona", "entrypoint": 7}, "entrypoint"),
    ],
)
def test_a_bad_claim_is_a_clear_400_and_claims_nothing(
    agent: httpx.Client, identity_file: Path, became: list[identity.Identity], body: dict, word: str
) -> None:
    response = agent.post("/identity", json=body)
    assert response.status_code == 400 and word in response.text
    assert not identity_file.exists() and not became
    assert agent.get("/health").json()["awaitingIdentity"] is True


def test_a_claim_makes_the_agent_that_sandbox_once(
    agent: httpx.Client, identity_file: Path, became: list[identity.Identity]
) -> None:
    response = agent.post("/identity", json=CLAIM)
    assert response.status_code == 200 and response.json() == {"sandboxId": "sandbox-1234", "user": "daytona"}
    assert became == [identity.Identity("sandbox-1234", "daytona", {"GREETING": "hi"}, "sleep 1")]
    assert agent.get("/health").json() == {"status": "ok", "user": "daytona"}
    assert agent.get("/env/GREETING").json()["value"] == "hi"
    assert agent.get("/env/DAYTONA_SANDBOX_ID").json()["value"] == "sandbox-1234"
    assert agent.get("/env/HOSTNAME").json()["value"] == "sandbox-1234"
    assert agent.post("/identity", json={**CLAIM, "sandboxId": "sandbox-other"}).status_code == 404
    assert stat.S_IMODE(identity_file.stat().st_mode) == 0o600
    # Its directory is /var/lib/daytona, where the sessions of the sandbox user live too: never 0700.
    assert stat.S_IMODE(identity_file.parent.stat().st_mode) & 0o055 == 0o055
    assert identity.load() == became[0]  # a later start of this container comes up as the same sandbox


def test_an_identity_copied_from_another_container_is_not_taken(identity_file: Path) -> None:
    identity.save(identity.parse(CLAIM))
    data = json.loads(identity_file.read_text())
    identity_file.write_text(json.dumps({**data, "claimedOn": "pool-of-another-server"}))
    assert identity.load() is None
    identity_file.write_text("not json")
    assert identity.load() is None
