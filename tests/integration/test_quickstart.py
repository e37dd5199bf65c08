"""The documentation's first example, verbatim apart from the key and URL, in every language."""

from __future__ import annotations

import pytest

from daytona_sdk import CreateWorkspaceParams, Daytona, DaytonaConfig, WorkspaceState

from ..support.server import RunningServer


def test_documented_quickstart(server: RunningServer) -> None:
    daytona = Daytona(DaytonaConfig(api_key=server.api_key, server_url=server.url, target="us"))
    workspace = daytona.create()
    response = workspace.process.code_run('print("Hello World from code!")')
    assert response.exit_code == 0
    assert response.result == "Hello World from code!\n"
    daytona.remove(workspace)
    assert workspace.id not in [w.id for w in daytona.list()]


@pytest.mark.parametrize(
    ("language", "code", "expected"),
    [
        (
            "typescript",
            'const greeting: string = "Hello from TypeScript"; console.log(greeting)',
            "Hello from TypeScript",
        ),
        ("javascript", 'console.log("Hello from " + "JavaScript")', "Hello from JavaScript"),
    ],
)
def test_code_run_other_languages(daytona: Daytona, language: str, code: str, expected: str) -> None:
    workspace = daytona.create(CreateWorkspaceParams(language=language))
    try:
        response = workspace.process.code_run(code)
        assert response.exit_code == 0, response.result
        assert response.result.strip() == expected
        # The language is remembered by the server: a client that only knows the id gets it back.
        again = daytona.get_current_workspace(workspace.id)
        assert again.code_language.value == language
    finally:
        daytona.remove(workspace)


def test_failing_code_returns_exit_code_and_traceback(daytona: Daytona) -> None:
    workspace = daytona.create()
    try:
        response = workspace.process.code_run('print("before")\nraise ValueError("boom")')
        assert response.exit_code == 1
        assert "before" in response.stdout
        assert "Traceback (most recent call last)" in response.stderr
        assert "ValueError: boom" in response.result
        ts = daytona.create(CreateWorkspaceParams(language="typescript"))
        try:
            failed = ts.process.code_run('throw new Error("ts boom")')
            assert failed.exit_code != 0
            assert "ts boom" in failed.result
        finally:
            daytona.remove(ts)
    finally:
        daytona.remove(workspace)


def test_create_returns_a_ready_sandbox(daytona: Daytona) -> None:
    workspace = daytona.create(CreateWorkspaceParams(env_vars={"GREETING": "hi"}, labels={"team": "qa"}))
    try:
        assert workspace.instance.state == WorkspaceState.STARTED
        # No wait, no retry: the agent answers as soon as create returns.
        first = workspace.process.exec("echo $GREETING")
        assert first.result == "hi\n"
        info = workspace.info()
        assert info.labels["team"] == "qa"
        assert info.env == {"GREETING": "hi"}
        assert info.resources.cpu == "1" and info.resources.memory == "2Gi"
        assert workspace.get_workspace_root_dir() == "/home/daytona"
    finally:
        daytona.remove(workspace)
