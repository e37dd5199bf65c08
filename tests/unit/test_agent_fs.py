"""The agent's file operations, run in-process as the current user on a temporary directory."""

from __future__ import annotations

import errno
import io
import os
import pwd
import stat
from email.message import Message
from pathlib import Path

import pytest

from daytona_agent import fs
from daytona_agent.http import HttpError, Request
from daytona_agent.userfs import os_error, parse_mode, resolve
from daytona_agent.users import OsUser

BOUNDARY = "xYzBoundary"


@pytest.fixture
def me(tmp_path: Path) -> OsUser:
    entry = pwd.getpwuid(os.getuid())
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, str(tmp_path), "/bin/sh", [])


def upload_request(data: bytes, multipart: bool = True, declared: int | None = None) -> Request:
    if multipart:
        body = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'.encode()
            + data
            + f"\r\n--{BOUNDARY}--\r\n".encode()
        )
    else:
        body = data
    headers = Message()
    headers["Content-Type"] = f"multipart/form-data; boundary={BOUNDARY}" if multipart else "application/octet-stream"
    headers["Content-Length"] = str(declared if declared is not None else len(body))
    return Request("POST", "/files/upload", {}, headers, io.BufferedReader(io.BytesIO(body)))  # type: ignore[arg-type]


def test_upload_replaces_atomically_and_keeps_the_mode(me: OsUser, tmp_path: Path) -> None:
    target = tmp_path / "run.sh"
    target.write_bytes(b"old")
    target.chmod(0o755)
    fs.upload(me, str(target), upload_request(b"#!/bin/sh\necho new\n"))
    assert target.read_bytes() == b"#!/bin/sh\necho new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    fs.upload(me, str(tmp_path / "raw.bin"), upload_request(b"\0raw", multipart=False))
    assert (tmp_path / "raw.bin").read_bytes() == b"\0raw"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.bin", "run.sh"]  # no temp files left


def test_interrupted_upload_loses_nothing(me: OsUser, tmp_path: Path) -> None:
    target = tmp_path / "keep.txt"
    target.write_bytes(b"precious")
    for request in (
        upload_request(b"x" * 1000, declared=500),  # multipart cut short
        upload_request(b"x" * 1000, multipart=False, declared=5000),  # raw body cut short
    ):
        with pytest.raises(HttpError) as caught:
            fs.upload(me, str(target), request)
        assert caught.value.status == 400
        assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_upload_errors(me: OsUser, tmp_path: Path) -> None:
    with pytest.raises(HttpError) as caught:
        fs.upload(me, str(tmp_path / "missing" / "f"), upload_request(b"x"))
    assert caught.value.status == 404
    with pytest.raises(HttpError) as caught:
        fs.upload(me, str(tmp_path), upload_request(b"x"))
    assert caught.value.status == 400


def test_replace_streams_across_chunk_boundaries(me: OsUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fs, "CHUNK", 7)
    target = tmp_path / "t.txt"
    original = "abcabc-needle-xxneedleneedle-nee dle-needl" * 5
    target.write_text(original)
    target.chmod(0o640)
    assert fs.replace_in_file(me, str(target), b"needle", b"N") == {"file": str(target), "success": True}
    assert target.read_text() == original.replace("needle", "N")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    missing = fs.replace_in_file(me, str(tmp_path / "nope"), b"a", b"b")
    assert missing["success"] is False and "no such file" in missing["error"]
    assert fs.replace_in_file(me, str(tmp_path), b"a", b"b")["success"] is False


def test_folder_delete_move_and_search(me: OsUser, tmp_path: Path) -> None:
    fs.create_folder(me, str(tmp_path / "a" / "b"), 0o700)
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
    fs.create_folder(me, str(tmp_path / "a" / "b"), 0o700)  # exists: fine
    (tmp_path / "a" / "b" / "x.py").write_text("print('TODO: x')\n")
    (tmp_path / "a" / "bin.dat").write_bytes(b"\0TODO")
    with pytest.raises(HttpError) as caught:
        fs.create_folder(me, str(tmp_path / "a" / "b" / "x.py"), 0o755)
    assert caught.value.status == 409
    found = fs.find_in_files(me, str(tmp_path), "TODO")
    assert found == [{"file": str(tmp_path / "a" / "b" / "x.py"), "line": 1, "content": "print('TODO: x')"}]
    assert fs.search_files(me, str(tmp_path), "*.py") == [str(tmp_path / "a" / "b" / "x.py")]
    assert fs.search_files(me, str(tmp_path), "b*") == [str(tmp_path / "a" / "b"), str(tmp_path / "a" / "bin.dat")]
    with pytest.raises(HttpError) as caught:
        fs.move(me, str(tmp_path / "a" / "bin.dat"), str(tmp_path / "a" / "b" / "x.py"))
    assert caught.value.status == 409
    with pytest.raises(HttpError) as caught:
        fs.move(me, str(tmp_path / "a" / "bin.dat"), str(tmp_path / "no" / "where"))
    assert caught.value.status == 404
    fs.move(me, str(tmp_path / "a" / "bin.dat"), str(tmp_path / "moved.dat"))
    with pytest.raises(HttpError) as caught:
        fs.delete(me, str(tmp_path / "a"), recursive=False)
    assert caught.value.status == 400
    fs.delete(me, str(tmp_path / "a"), recursive=True)
    assert [e["name"] for e in fs.list_files(me, str(tmp_path))] == ["moved.dat"]


def test_error_mapping_and_argument_parsing(me: OsUser) -> None:
    assert os_error(OSError(errno.ENOENT, "x", "/p")).status == 404
    assert os_error(OSError(errno.EACCES, "x", "/p")).status == 403
    assert os_error(OSError(errno.EEXIST, "x", "/p")).status == 409
    assert os_error(OSError(errno.ENOTDIR, "x", "/p")).status == 400
    assert os_error(OSError(errno.EIO, "I/O error", "/p")).status == 400
    assert os_error(OSError(errno.ENOENT, "x", "/tmp/.x.daytona-upload-1"), "/x").message == (
        "no such file or directory: /x"
    )
    assert parse_mode("755") == 0o755 and parse_mode("0644") == 0o644 and parse_mode(None) is None
    for bad in ("rwx", "888", "77777", "-1"):
        with pytest.raises(HttpError):
            parse_mode(bad)
    assert resolve(me, "rel/f") == os.path.join(me.home, "rel/f")
    with pytest.raises(HttpError):
        resolve(me, "")
    with pytest.raises(HttpError):
        resolve(me, "/a\0b")
