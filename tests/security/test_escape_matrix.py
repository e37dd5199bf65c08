"""The escape matrix: every probe, as the default user and as root, answers exactly as expected."""

from __future__ import annotations

import pytest

from daytona_sdk import Workspace

from ..support.sandboxes import SandboxCache
from .probes import PROBES, USERS, Probe, answers, run_probe


def _cases() -> list[object]:
    cases: list[object] = []
    for user in USERS:  # user-major: each shared sandbox is made once, in order
        for probe in PROBES:
            hole = probe.holes.get(user)
            marks = [pytest.mark.xfail(strict=True, reason=f"known hole: {hole}")] if hole else []
            cases.append(pytest.param(user, probe, id=f"{probe.name}-{user}", marks=marks))
    return cases


@pytest.mark.parametrize(("user", "probe"), _cases())
def test_probe(
    user: str, probe: Probe, matrix_sandbox: SandboxCache, neighbour: tuple[Workspace, dict[str, str]]
) -> None:
    observed, output = run_probe(matrix_sandbox(user), probe, neighbour[1])
    assert probe.accepts(user, observed), (
        f"{probe.name} as {user}: expected {probe.expected[user]!r}, observed {observed!r}\n{output}"
    )


def test_neighbour_still_answers(neighbour: tuple[Workspace, dict[str, str]]) -> None:
    assert answers(neighbour[0])
