"""The SDK's `fs` and `git` on the wire, against an in-process fake server (httpx.MockTransport)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest

from daytona_sdk import DaytonaNotFoundError, GitStatus, Workspace
from daytona_sdk._sync._http import SyncHttp


def workspace_answering(handler: httpx.MockTransport) -> Workspace:
    return Workspace(SyncHttp("k", "http://server/api", transport=handler), {"id": "w"})


def test_upload_sends_the_official_multipart_shape(tmp_path: Path) -> None:
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, dict(request.url.params), request.read()))
        assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
        return httpx.Response(200)

    ws = workspace_answering(httpx.MockTransport(handler))
    local = tmp_path / "local.bin"
    local.write_bytes(b"\0from a path")
    ws.fs.upload_file("/workspace/a.bin", b"raw bytes")
    ws.fs.upload_file("/workspace/b.txt", "text é")
    ws.fs.upload_file("/workspace/c.bin", local)
    ws.fs.upload_file("/workspace/d.bin", io.BytesIO(b"file object"))
    assert [(m, p, q) for m, p, q, _ in seen] == [
        ("POST", "/api/toolbox/w/toolbox/files/upload", {"path": f"/workspace/{name}"})
        for name in ("a.bin", "b.txt", "c.bin", "d.bin")
    ]
    for (_, _, _, body), content in zip(
        seen, [b"raw bytes", "text é".encode(), b"\0from a path", b"file object"], strict=True
    ):
        assert b'Content-Disposition: form-data; name="file"; filename="' in body
        assert b"\r\n\r\n" + content + b"\r\n--" in body


def test_download_to_a_path_is_atomic(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["path"] == "/missing":
            return httpx.Response(404, json={"statusCode": 404, "message": "no such file or directory: /missing"})
        return httpx.Response(200, content=b"x" * 300_000)

    ws = workspace_answering(httpx.MockTransport(handler))
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(DaytonaNotFoundError, match="no such file"):
        ws.fs.download_file("/missing", target)
    assert target.read_bytes() == b"old"
    ws.fs.download_file("/big", target)
    assert target.read_bytes() == b"x" * 300_000
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    assert ws.fs.download_file("/big") == b"x" * 300_000


def test_query_and_body_names_match_the_wire_spec() -> None:
    seen: list[tuple[str, str, dict[str, str], object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path.rsplit("/toolbox/", 1)[1], dict(request.url.params), body))
        return httpx.Response(200, json={"hash": "h"} if request.url.path.endswith("commit") else None)

    ws = workspace_answering(httpx.MockTransport(handler))
    ws.fs.create_folder("/d", 0o700)
    ws.fs.set_file_permissions("/f", mode=0o755, owner="u")
    ws.fs.delete_file("/d", recursive=True)
    ws.fs.move_files("/a", "/b")
    ws.git.clone("http://h/r.git", "/r", branch="b", commit_id="c", username="u", password="p")
    ws.git.commit("/r", "m", "A", "a@b")
    ws.git.push("/r", "u", "p", remote="origin", branch="main")
    ws.git.delete_branch("/r", "x")
    assert seen == [
        ("POST", "files/folder", {"path": "/d", "mode": "700"}, None),
        ("POST", "files/permissions", {"path": "/f", "mode": "755", "owner": "u"}, None),
        ("DELETE", "files", {"path": "/d", "recursive": "true"}, None),
        ("POST", "files/move", {"source": "/a", "destination": "/b"}, None),
        (
            "POST",
            "git/clone",
            {},
            {"url": "http://h/r.git", "path": "/r", "branch": "b", "commit_id": "c", "username": "u", "password": "p"},
        ),
        ("POST", "git/commit", {}, {"path": "/r", "message": "m", "author": "A", "email": "a@b"}),
        (
            "POST",
            "git/push",
            {},
            {"path": "/r", "username": "u", "password": "p", "remote": "origin", "branch": "main"},
        ),
        ("DELETE", "git/branches", {}, {"path": "/r", "name": "x"}),
    ]


def test_git_status_reads_either_list_name() -> None:
    entry = {"name": "a", "staging": "Modified", "worktree": "Unmodified", "extra": ""}
    for key in ("fileStatus", "FileStatus[]"):
        status = GitStatus.from_api({"currentBranch": "main", key: [entry], "ahead": 1, "branchPublished": True})
        assert (status.current_branch, status.ahead, status.behind, status.branch_published) == ("main", 1, 0, True)
        assert status.modified == ["a"]
