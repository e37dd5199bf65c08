"""A fork bomb or a memory hog in one sandbox takes down neither its agent nor another sandbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from daytona_sdk import (
    CreateWorkspaceParams,
    Daytona,
    ProcessExecutionError,
    SessionExecuteRequest,
    Workspace,
    WorkspaceResources,
)

from ..security.probes import FORK_BOMB, answers


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.fixture
def small(daytona: Daytona) -> Iterator[Workspace]:
    """A sandbox with 1 GB of memory, one core, and the server's process limit."""
    created = daytona.create(CreateWorkspaceParams(resources=WorkspaceResources(cpu=1, memory=1)))
    yield created
    daytona.remove(created)


def test_fork_bomb_is_contained(small: Workspace, workspace: Workspace) -> None:
    other_answers: list[bool] = []
    done = threading.Event()

    def probe_the_other_sandbox() -> None:
        while not done.is_set():
            other_answers.append(answers(workspace))
            time.sleep(0.5)

    prober = threading.Thread(target=probe_the_other_sandbox)
    prober.start()
    try:
        with pytest.raises(ProcessExecutionError) as caught:
            small.process.exec(FORK_BOMB, timeout=15)
        assert caught.value.timed_out
    finally:
        done.set()
        prober.join()
    assert other_answers and all(other_answers), "the other sandbox stopped answering during the fork bomb"
    wait_for(lambda: answers(small), "the bombed sandbox's agent to answer again")
    assert small.process.exec("cat /proc/1/comm").result.strip().startswith("python")  # still the agent
    wait_for(
        lambda: int(small.process.exec("ls /proc | grep -c '^[0-9]'").result) < 50, "the bomb's processes to be gone"
    )


def test_memory_hog_dies_first_and_the_session_survives(small: Workspace, workspace: Workspace) -> None:
    p = small.process
    p.create_session("hog")
    p.execute_session_command("hog", "cd /tmp && export KEPT=yes")
    hog = "python3 -c 'chunks = []\nwhile True: chunks.append(b\"x\" * 50_000_000)'"
    r = p.execute_session_command("hog", SessionExecuteRequest(command=hog))
    assert r.exit_code == 137  # killed by the kernel's OOM killer (SIGKILL)
    # The agent, the session's shell and its state survived; the other sandbox is unaffected.
    assert p.execute_session_command("hog", "echo $KEPT; pwd").output == "yes\n/tmp\n"
    assert small.process.exec("cat /proc/1/oom_score_adj /proc/self/oom_score_adj").result.split() == ["0", "1000"]
    assert answers(workspace)
    r2 = small.process.exec(hog, timeout=120)
    assert r2.exit_code == 137 and answers(small)
