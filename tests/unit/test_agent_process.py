"""The agent's process runner on the host (as the current user): streams, caps, timeouts."""

from __future__ import annotations

import os
import pwd
import time

import pytest

from daytona_agent import process
from daytona_agent.http import HttpError
from daytona_agent.users import OsUser


@pytest.fixture
def me() -> OsUser:
    entry = pwd.getpwuid(os.getuid())
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, "/bin/sh", [])


def test_streams_are_separate_and_interleaved(me: OsUser) -> None:
    result = process.run(["/bin/sh", "-c", "echo a; sleep 0.05; echo b >&2; sleep 0.05; echo c"], me)
    assert (result["stdout"], result["stderr"], result["result"]) == ("a\nc\n", "b\n", "a\nb\nc\n")


def test_timeout_kills_and_reports(me: OsUser) -> None:
    started = time.monotonic()
    result = process.run(["/bin/sh", "-c", "sleep 30"], me, timeout=0.3)
    assert time.monotonic() - started < 5
    assert result["timedOut"] and result["exitCode"] == process.TIMEOUT_EXIT_CODE


def test_killed_by_signal_reports_128_plus_signal(me: OsUser) -> None:
    assert process.run(["/bin/sh", "-c", "kill -9 $$"], me)["exitCode"] == 137


def test_output_cap_marks_truncation(me: OsUser, monkeypatch: pytest.MonkeyPatch) -> None:
    capture = process._Capture(limit=10)
    capture.add("stdout", b"0123456789abc")
    assert capture.text("stdout").startswith("0123456789\n[output truncated")


def test_missing_cwd_is_400(me: OsUser) -> None:
    with pytest.raises(HttpError) as caught:
        process.run(["true"], me, cwd="/definitely/not/here")
    assert caught.value.status == 400


def test_stdin_is_fed(me: OsUser) -> None:
    assert process.run(["cat"], me, stdin=b"hello")["stdout"] == "hello"
