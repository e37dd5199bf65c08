"""The state machine allows exactly the documented transitions."""

from __future__ import annotations

import pytest

from daytona_server.lifecycle.states import IllegalTransition, State, transition


def test_legal_transitions() -> None:
    assert transition("s", "stopped", "start") == (State.STARTING, State.STARTED)
    assert transition("s", "started", "stop") == (State.STOPPING, State.STOPPED)
    for state in ("started", "stopped", "error", "creating"):
        assert transition("s", state, "destroy") == (State.DESTROYING, State.DESTROYED)


@pytest.mark.parametrize(
    ("state", "action", "hint"),
    [
        ("started", "start", "already running"),
        ("stopped", "stop", "already stopped"),
        ("stopping", "start", "wait until it finishes"),
        ("destroyed", "destroy", ""),
    ],
)
def test_illegal_transitions_say_why(state: str, action: str, hint: str) -> None:
    with pytest.raises(IllegalTransition, match=f"cannot {action} sandbox s: it is {state}") as caught:
        transition("s", state, action)
    assert hint in str(caught.value)


def test_archive_and_restore_transitions() -> None:
    assert transition("s", "stopped", "archive") == (State.ARCHIVING, State.ARCHIVED)
    assert transition("s", "archived", "restore") == (State.RESTORING, State.STARTED)
    assert transition("s", "stopped", "resize") == (State.RESIZING, State.STOPPED)
    for state, action, hint in [
        ("started", "archive", "stop it first"),
        ("archived", "archive", "already archived"),
        ("started", "resize", "stop it first"),
        ("archiving", "start", "wait until it finishes"),
        ("restoring", "stop", "wait until it finishes"),
    ]:
        with pytest.raises(IllegalTransition, match=hint):
            transition("s", state, action)
