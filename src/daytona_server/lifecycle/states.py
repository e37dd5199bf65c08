"""The sandbox state machine, in one place. Every change of state goes through `transition`."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    CREATING = "creating"
    STARTING = "starting"
    STARTED = "started"
    STOPPING = "stopping"
    STOPPED = "stopped"
    RESIZING = "resizing"
    ARCHIVING = "archiving"
    ARCHIVED = "archived"
    RESTORING = "restoring"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"
    ERROR = "error"
    # A sandbox made from a declarative image waits for (pending_build), then watches (building_snapshot),
    # its image's build; build_failed when it fails.
    PENDING_BUILD = "pending_build"
    BUILDING_SNAPSHOT = "building_snapshot"
    BUILD_FAILED = "build_failed"


TRANSITIONAL = frozenset(
    {
        State.CREATING,
        State.STARTING,
        State.STOPPING,
        State.RESIZING,
        State.ARCHIVING,
        State.RESTORING,
        State.DESTROYING,
        State.PENDING_BUILD,
        State.BUILDING_SNAPSHOT,
    }
)


class IllegalTransition(Exception):
    def __init__(self, sandbox_id: str, state: str, action: str, hint: str = "") -> None:
        message = f"cannot {action} sandbox {sandbox_id}: it is {state}"
        super().__init__(message + (f"; {hint}" if hint else ""))


# action -> (states it may start from, transitional state, final state)
ACTIONS: dict[str, tuple[frozenset[State], State, State]] = {
    "create": (frozenset(), State.CREATING, State.STARTED),
    "start": (frozenset({State.STOPPED, State.ERROR}), State.STARTING, State.STARTED),
    "restore": (frozenset({State.ARCHIVED}), State.RESTORING, State.STARTED),
    "stop": (frozenset({State.STARTED}), State.STOPPING, State.STOPPED),
    "resize": (frozenset({State.STOPPED}), State.RESIZING, State.STOPPED),
    "archive": (frozenset({State.STOPPED}), State.ARCHIVING, State.ARCHIVED),
    "destroy": (frozenset(set(State) - {State.DESTROYED, State.DESTROYING}), State.DESTROYING, State.DESTROYED),
}

HINTS: dict[tuple[str, State], str] = {
    ("start", State.STARTED): "it is already running",
    ("stop", State.STOPPED): "it is already stopped",
    ("stop", State.ARCHIVED): "it is already stopped (and archived)",
    ("archive", State.STARTED): "stop it first",
    ("archive", State.ARCHIVED): "it is already archived",
    ("resize", State.STARTED): "stop it first",
    ("resize", State.ARCHIVED): "start it, stop it, then resize",
}


def transition(sandbox_id: str, state: str, action: str) -> tuple[State, State]:
    """Check that `action` is allowed from `state`; return (transitional state, final state)."""
    allowed, during, after = ACTIONS[action]
    current = State(state)
    if current not in allowed:
        hint = HINTS.get((action, current), "")
        if not hint and current in TRANSITIONAL:
            hint = "wait until it finishes and try again"
        raise IllegalTransition(sandbox_id, current.value, action, hint)
    return during, after


def accepts_toolbox(state: str) -> bool:
    return state == State.STARTED
