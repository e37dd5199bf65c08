"""`daytona sandbox ssh` in a real terminal: tmux's, driven with send-keys and read with capture-pane."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from daytona_sdk import Workspace

from ..support.server import DAYTONA, RunningServer

pytestmark = pytest.mark.integration


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30, check=True).stdout


@pytest.fixture
def terminal(server: RunningServer, workspace: Workspace) -> Iterator[tuple[str, Callable[[str], str]]]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is missing: `make test` installs it (Debian package tmux)")
    name = f"daytona-ssh-{workspace.id}"
    env = f"DAYTONA_API_KEY={server.api_key} DAYTONA_SERVER_URL={server.url}"
    command = f"env {env} {shlex.quote(str(DAYTONA))} sandbox ssh {workspace.id}; echo SSH-EXIT=$?; sleep 60"
    tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", command)

    def screen_until(wanted: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = tmux("capture-pane", "-p", "-t", name)
            if wanted in screen:
                return screen
            assert time.monotonic() < deadline, f"{wanted!r} never showed; the screen:\n{screen}"
            time.sleep(0.1)

    try:
        yield name, screen_until
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=30)


def test_ssh_is_an_interactive_shell_with_resizes_and_the_exit_code(terminal: tuple[str, Callable[[str], str]]) -> None:
    name, screen_until = terminal
    screen_until("daytona@")  # the shell's prompt
    tmux("send-keys", "-t", name, "echo hi-from-$((6*7))", "Enter")
    screen_until("hi-from-42")
    tmux("send-keys", "-t", name, "stty size", "Enter")
    screen_until("30 100")
    tmux("resize-window", "-t", name, "-x", "120", "-y", "40")
    for _ in range(40):  # the resize reaches the sandbox's terminal a moment after the window's
        tmux("send-keys", "-t", name, "clear; stty size", "Enter")
        if "40 120" in tmux("capture-pane", "-p", "-t", name):
            break
        time.sleep(0.25)
    screen_until("40 120")
    # Raw mode: Ctrl-C reaches the sandbox's shell (it interrupts the sleep there), not this command.
    tmux("send-keys", "-t", name, "sleep 30; echo not-interrupted", "Enter")
    time.sleep(0.5)
    tmux("send-keys", "-t", name, "C-c")
    tmux("send-keys", "-t", name, "echo after-ctrl-c", "Enter")
    screen = screen_until("\nafter-ctrl-c", timeout=15)  # well before the sleep would have ended
    assert "not-interrupted" not in [line.strip() for line in screen.splitlines()]  # the echo never ran
    tmux("send-keys", "-t", name, "exit 5", "Enter")
    screen_until("SSH-EXIT=5")
