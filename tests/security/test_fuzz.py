"""Fuzz every operation of /api/openapi.json with schemathesis, in-process, over a stand-in runtime.

Each generated case is sent four times: with an admin's key, an ordinary user's key, no key and a
garbage key; one with a sandbox id in its path (outside the toolbox) is sent once more, as the
admin, at a sandbox that exists. Every answer must be no 5xx and must keep to what the spec says of
that operation: the status is documented, the content type is the documented one, and the body
matches the documented schema. Deterministic (Hypothesis derandomized) and bounded: MAX_EXAMPLES
cases per operation keep the whole run to about a minute or two on two cores.

Toolbox requests never reach an agent here (their sandboxes do not exist or are stopped): the
server's part of them (auth, ownership, state, validation) is what is fuzzed. The agent's own
answers are checked by the agent's unit tests and the integration suite.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from daytona_server import auth
from daytona_server.api.app import create_app
from daytona_server.config import Settings
from daytona_server.db.models import User
from daytona_server.main import bootstrap
from tests.support.api_runtime import ApiRuntime

MAX_EXAMPLES = 12
ADMIN_KEY = "dtn_fuzz_admin_key"
USER_KEY = "dtn_fuzz_user_key_of_an_ordinary_user"
CREDENTIALS: dict[str, dict[str, str]] = {
    "admin": {"Authorization": f"Bearer {ADMIN_KEY}"},
    "user": {"Authorization": f"Bearer {USER_KEY}"},
    "none": {},
    "garbage": {"Authorization": "Bearer dtn_not-a-key-of-this-server"},
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BOX = "fuzz-box"


FIGURES: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()
OPERATIONS: set[str] = set()


class WithoutLifespan:
    """The app without its lifespan: schemathesis' ASGI transport opens a test client, and so runs
    start-up and shutdown, for every request; the unit tests never run it either."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def make_app(data_dir: Path) -> FastAPI:
    """The app over the stand-in runtime, with an admin, an ordinary user and a stopped sandbox."""
    settings_ = Settings(data_dir=data_dir, bootstrap_api_key=ADMIN_KEY)
    bootstrap(settings_)
    app = create_app(settings_, ApiRuntime())
    with app.state.server.db.session() as session:
        user = User(id="fuzz-user", name="Fuzz User", role="user", quota={})
        session.add(user)
        auth.add_key(session, user, "fuzz", USER_KEY)
        session.commit()
    client = TestClient(app, headers=CREDENTIALS["admin"])
    assert client.post("/api/workspace", json={"id": BOX}).status_code == 200
    assert client.post(f"/api/workspace/{BOX}/stop").status_code == 200
    return app


# Loaded at import: schemathesis' fixture-based (lazy) loader does not run under pytest 9.
DATA_DIR = Path(tempfile.mkdtemp(prefix="daytona-fuzz-"))
APP = make_app(DATA_DIR / "data")
schema = schemathesis.openapi.from_asgi("/api/openapi.json", WithoutLifespan(APP))


@pytest.fixture(scope="module", autouse=True)
def remove_data_dir() -> Iterator[None]:
    yield
    shutil.rmtree(DATA_DIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_fuzz(case: Any) -> None:
    OPERATIONS.add(f"{case.operation.method.upper()} {case.operation.path}")
    FIGURES["cases"] += 1
    calls = [dict(headers) for headers in CREDENTIALS.values()]
    if "workspace_id" in (case.path_parameters or {}) and not case.path.startswith("/api/toolbox/"):
        calls.append({**CREDENTIALS["admin"], "x-fuzz-box": "1"})
    for headers in calls:
        if headers.pop("x-fuzz-box", None):
            case.path_parameters = {**case.path_parameters, "workspace_id": BOX}
        FIGURES["requests"] += 1
        try:
            response = case.call(headers=headers)
            # A started stub sandbox has no agent: its toolbox answers 502, as a real one whose agent died.
            no_agent = response.status_code == 502 and "did not answer" in response.text
            checks = [c for c in CHECKS if c is not not_a_server_error] if no_agent else CHECKS
            case.validate_response(response, checks=checks, headers=headers)
            STATUSES[response.status_code] += 1
        except BaseException:
            FIGURES["failures"] += 1
            raise


def test_fuzz_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the fuzz (same module, later): every operation got cases; print the figures."""
    paths = schema.raw_schema["paths"]
    documented = {f"{method.upper()} {path}" for path, item in paths.items() for method in item}
    answers = ", ".join(f"{status}: {n}" for status, n in sorted(STATUSES.items()))
    line = (
        f"fuzz: {len(documented)} operations, {len(OPERATIONS)} fuzzed, {FIGURES['cases']} cases,"
        f" {FIGURES['requests']} requests, {FIGURES['failures']} failures;"
        f" answers {answers}"
    )
    with capsys.disabled():
        print(f"\n{line}")
    if not OPERATIONS:
        pytest.skip("run with the fuzz tests (this one only reports on them)")
    assert documented == OPERATIONS, sorted(documented ^ OPERATIONS)
