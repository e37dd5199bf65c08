"""Resource probes: a fork bomb, a memory hog, a disk fill and giant output stay inside their sandbox."""

from __future__ import annotations

import pytest

from daytona_sdk import Workspace

from ..support.sandboxes import SandboxCache
from .probes import RESOURCE_PROBES, USERS, ResourceProbe


def _cases() -> list[object]:
    cases: list[object] = []
    for user in USERS:
        for probe in RESOURCE_PROBES:  # in table order: the disk fill last
            hole = probe.holes.get(user)
            marks = [pytest.mark.xfail(strict=True, reason=f"known hole: {hole}")] if hole else []
            cases.append(pytest.param(user, probe, id=f"{probe.name}-{user}", marks=marks))
    return cases


@pytest.mark.parametrize(("user", "probe"), _cases())
def test_resource_probe(
    user: str, probe: ResourceProbe, resource_sandbox: SandboxCache, neighbour: tuple[Workspace, dict[str, str]]
) -> None:
    observed = probe.run(resource_sandbox(user), neighbour[0])
    assert probe.accepts(user, observed), (
        f"{probe.name} as {user}: expected {probe.expected[user]!r}, observed {observed!r}"
    )
