"""Bad input gets a clear error and loses nothing: what needs a real sandbox (the rest is in
tests/unit/test_api_errors.py, in-process)."""

from __future__ import annotations

import pytest

from daytona_sdk import CreateWorkspaceParams, Daytona, DaytonaConflictError


def test_duplicate_id_is_409_and_keeps_the_first(daytona: Daytona) -> None:
    first = daytona.create(CreateWorkspaceParams(id="dup-test"))
    try:
        first.process.exec("echo kept > /workspace/mark")
        with pytest.raises(DaytonaConflictError, match="already exists"):
            daytona.create(CreateWorkspaceParams(id="dup-test"))
        # The failed create must not have removed the existing sandbox.
        assert first.process.exec("cat /workspace/mark").result == "kept\n"
    finally:
        daytona.remove(first)
