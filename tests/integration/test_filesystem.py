"""`workspace.fs` through a real server and sandbox: every operation, bad inputs, confinement, streaming."""

from __future__ import annotations

import hashlib
import io
import os
import resource
import socket
import threading
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daytona_sdk import (
    DaytonaBadRequestError,
    DaytonaConflictError,
    DaytonaError,
    DaytonaForbiddenError,
    DaytonaNotFoundError,
    FileInfo,
    Workspace,
)

from ..support.server import ROOT, RunningServer

MB = 1 << 20


def sh(workspace: Workspace, command: str) -> str:
    return workspace.process.exec(command, check=True).result


def test_folders_uploads_and_metadata(shared_workspace: Workspace) -> None:
    fs = shared_workspace.fs
    fs.create_folder("/workspace/data/nested", "700")  # parents too
    fs.create_folder("/workspace/data/nested", "700")  # an existing directory is fine
    fs.upload_file("/workspace/data/hello.txt", b"Hello, World!")
    info = fs.get_file_info("/workspace/data/hello.txt")
    assert (info.name, info.is_dir, info.size, info.owner, info.group) == ("hello.txt", False, 13, "daytona", "daytona")
    assert (info.mode, info.permissions) == ("-rw-r--r--", "0644")
    assert info.mod_time.endswith("+00:00")
    nested = fs.get_file_info("/workspace/data/nested")
    assert (nested.is_dir, nested.permissions, nested.mode) == (True, "0700", "drwx------")
    listing = fs.list_files("/workspace/data")
    assert [(f.name, f.is_dir) for f in listing] == [("hello.txt", False), ("nested", True)]
    assert all(isinstance(f, FileInfo) for f in listing)
    # Relative paths start at the user's home directory.
    fs.upload_file("notes.txt", "text is uploaded as UTF-8: é")
    assert fs.download_file("/home/daytona/notes.txt") == "text is uploaded as UTF-8: é".encode()
    assert "notes.txt" in [f.name for f in fs.list_files("/home/daytona")]
    # Overwriting keeps the file's permissions (here: executable).
    fs.upload_file("/workspace/run.sh", b"#!/bin/sh\necho one\n")
    fs.set_file_permissions("/workspace/run.sh", mode="755")
    fs.upload_file("/workspace/run.sh", b"#!/bin/sh\necho two\n")
    assert sh(shared_workspace, "/workspace/run.sh") == "two\n"
    assert fs.get_file_info("/workspace/run.sh").permissions == "0755"


def test_upload_sources_and_download_destinations(shared_workspace: Workspace, tmp_path: Path) -> None:
    fs = shared_workspace.fs
    local = tmp_path / "local.bin"
    local.write_bytes(bytes(range(256)) * 1000)
    fs.upload_file("/workspace/from-path.bin", local)
    with local.open("rb") as fh:
        fs.upload_file("/workspace/from-file.bin", fh)
    fs.upload_file("/workspace/from-bytesio.bin", io.BytesIO(b"\0binary\xff"))
    fs.upload_file("/workspace/empty", b"")
    assert (
        sh(shared_workspace, "cd /workspace && cmp from-path.bin from-file.bin && wc -c < from-path.bin") == "256000\n"
    )
    assert fs.download_file("/workspace/from-bytesio.bin") == b"\0binary\xff"
    assert fs.download_file("/workspace/empty") == b""
    out = tmp_path / "out.bin"
    assert fs.download_file("/workspace/from-path.bin", out) is None
    assert out.read_bytes() == local.read_bytes()
    sink = io.BytesIO()
    fs.download_file("/workspace/from-path.bin", sink)
    assert sink.getvalue() == local.read_bytes()
    # A failed download leaves the local file as it was.
    out.write_bytes(b"mine")
    with pytest.raises(DaytonaNotFoundError):
        fs.download_file("/workspace/missing", out)
    assert out.read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local.bin", "out.bin"]
    with pytest.raises(DaytonaError, match="binary mode"), (tmp_path / "t.txt").open("w") as text_file:
        fs.upload_file("/workspace/x", text_file)  # type: ignore[arg-type]


def test_uploads_of_unknown_length_stream_chunked(shared_workspace: Workspace, server: RunningServer) -> None:
    """A pipe has no size: the SDK sends it chunked, the server streams it on, the agent decodes it."""
    payload = os.urandom(3 * MB + 123)
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write_end, payload), os.close(write_end)))
    writer.start()
    with os.fdopen(read_end, "rb") as pipe:
        shared_workspace.fs.upload_file("/workspace/from-pipe.bin", pipe)
    writer.join()
    assert shared_workspace.fs.download_file("/workspace/from-pipe.bin") == payload

    # A raw (not multipart) chunked body through the REST API, as curl -T - sends it.
    def body() -> Iterator[bytes]:
        yield b"first,"
        yield b"second"

    url = f"{server.url}/toolbox/{shared_workspace.id}/toolbox/files/upload"
    headers = {"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/octet-stream"}
    response = httpx.post(url, params={"path": "/workspace/raw.txt"}, content=body(), headers=headers)
    assert response.status_code == 200, response.text
    assert shared_workspace.fs.download_file("/workspace/raw.txt") == b"first,second"


def test_find_search_replace(workspace: Workspace) -> None:
    fs = workspace.fs
    fs.create_folder("/workspace/src/pkg", "755")
    fs.upload_file("/workspace/src/a.py", b"import os\n# TODO: one\nold_function()\n")
    fs.upload_file("/workspace/src/pkg/b.py", b"def old_function():\n    pass  # TODO: two\n")
    fs.upload_file("/workspace/src/pkg/data.bin", b"\0\x01TODO: binary files are skipped")
    fs.upload_file("/workspace/src/notes.md", b"nothing here\n")
    matches = fs.find_files("/workspace/src", "TODO:")
    assert [(m.file, m.line, m.content) for m in matches] == [
        ("/workspace/src/a.py", 2, "# TODO: one"),
        ("/workspace/src/pkg/b.py", 2, "    pass  # TODO: two"),
    ]
    assert [m.line for m in fs.find_files("/workspace/src/a.py", "o")] == [1, 2, 3]  # a single file
    assert fs.find_files("/workspace/src", "no such text") == []
    assert fs.search_files("/workspace", "*.py").files == ["/workspace/src/a.py", "/workspace/src/pkg/b.py"]
    assert fs.search_files("/workspace/src", "pk?").files == ["/workspace/src/pkg"]
    results = fs.replace_in_files(
        ["/workspace/src/a.py", "/workspace/src/pkg/b.py", "/workspace/src/missing.py", "/workspace/src/pkg"],
        "old_function",
        "new_function",
    )
    assert [(r.file, r.success) for r in results] == [
        ("/workspace/src/a.py", True),
        ("/workspace/src/pkg/b.py", True),
        ("/workspace/src/missing.py", False),
        ("/workspace/src/pkg", False),
    ]
    assert results[2].error == "no such file or directory: /workspace/src/missing.py"
    assert fs.download_file("/workspace/src/a.py") == b"import os\n# TODO: one\nnew_function()\n"
    assert sh(workspace, "grep -rl old_function /workspace/src || echo none") == "none\n"


def test_move_permissions_and_delete(workspace: Workspace) -> None:
    fs = workspace.fs
    fs.create_folder("/workspace/old_dir/inner", "755")
    fs.upload_file("/workspace/old_dir/inner/f.txt", b"f")
    fs.move_files("/workspace/old_dir", "/workspace/new_dir")
    assert fs.download_file("/workspace/new_dir/inner/f.txt") == b"f"
    fs.move_files("/workspace/new_dir/inner/f.txt", "/tmp/f.txt")  # to another directory
    fs.set_file_permissions("/tmp/f.txt", mode="600", owner="daytona", group="daytona")
    info = fs.get_file_info("/tmp/f.txt")
    assert (info.permissions, info.owner, info.group) == ("0600", "daytona", "daytona")
    fs.delete_file("/tmp/f.txt")
    with pytest.raises(DaytonaNotFoundError):
        fs.get_file_info("/tmp/f.txt")
    with pytest.raises(DaytonaBadRequestError, match="recursive"):
        fs.delete_file("/workspace/new_dir")
    fs.delete_file("/workspace/new_dir", recursive=True)
    assert [f.name for f in fs.list_files("/workspace")] == []


def test_bad_inputs_get_clear_4xx(workspace: Workspace) -> None:
    fs = workspace.fs
    fs.upload_file("/workspace/file.txt", b"content")
    fs.create_folder("/workspace/dir", "755")
    cases = [
        (lambda: fs.list_files("/workspace/missing"), DaytonaNotFoundError, "no such file or directory"),
        (lambda: fs.get_file_info("/nope"), DaytonaNotFoundError, "/nope"),
        (lambda: fs.download_file("/workspace/missing"), DaytonaNotFoundError, "/workspace/missing"),
        (lambda: fs.delete_file("/workspace/missing"), DaytonaNotFoundError, "/workspace/missing"),
        (lambda: fs.upload_file("/workspace/no/such/dir/f", b"x"), DaytonaNotFoundError, "directory does not exist"),
        (lambda: fs.find_files("/workspace/missing", "x"), DaytonaNotFoundError, "/workspace/missing"),
        (lambda: fs.move_files("/workspace/missing", "/workspace/x"), DaytonaNotFoundError, "/workspace/missing"),
        (lambda: fs.move_files("/workspace/file.txt", "/workspace/no/x"), DaytonaNotFoundError, "does not exist"),
        (lambda: fs.list_files("/workspace/file.txt"), DaytonaBadRequestError, "not a directory"),
        (lambda: fs.download_file("/workspace/dir"), DaytonaBadRequestError, "is a directory"),
        (lambda: fs.upload_file("/workspace/dir", b"x"), DaytonaBadRequestError, "is a directory"),
        (lambda: fs.upload_file("/workspace/file.txt/x", b"x"), DaytonaBadRequestError, "not a directory"),
        (lambda: fs.download_file("/dev/null"), DaytonaBadRequestError, "not a regular file"),
        (lambda: fs.create_folder("/workspace/file.txt", "755"), DaytonaConflictError, "not a directory"),
        (lambda: fs.move_files("/workspace/file.txt", "/workspace/dir"), DaytonaConflictError, "already exists"),
        (lambda: fs.create_folder("/workspace/x", "999"), DaytonaBadRequestError, "octal"),
        (lambda: fs.set_file_permissions("/workspace/file.txt"), DaytonaBadRequestError, "nothing to change"),
        (lambda: fs.set_file_permissions("/workspace/file.txt", owner="nobody-here"), DaytonaBadRequestError, "user"),
        (lambda: fs.find_files("/workspace", ""), DaytonaBadRequestError, "pattern is required"),
        (lambda: fs.search_files("/workspace/file.txt", "*"), DaytonaBadRequestError, "not a directory"),
        (lambda: fs.replace_in_files(["/workspace/file.txt"], "", "x"), DaytonaBadRequestError, "pattern"),
        (lambda: fs.get_file_info(""), DaytonaBadRequestError, "path is required"),
    ]
    for call, error, text in cases:
        with pytest.raises(error) as caught:
            call()
        assert text in str(caught.value), (error, str(caught.value))
    # Nothing was lost or changed along the way.
    assert fs.download_file("/workspace/file.txt") == b"content"
    assert sorted(f.name for f in fs.list_files("/workspace")) == ["dir", "file.txt"]


def test_operations_have_the_sandbox_users_permissions(workspace: Workspace) -> None:
    fs = workspace.fs
    denied = [
        lambda: fs.list_files("/root"),
        lambda: fs.download_file("/etc/shadow"),
        lambda: fs.upload_file("/etc/passwd", b"x"),
        lambda: fs.upload_file("/root/x", b"x"),
        lambda: fs.create_folder("/etc/new", "755"),
        lambda: fs.delete_file("/etc/hostname"),
        lambda: fs.move_files("/etc/hosts", "/workspace/hosts"),
        lambda: fs.set_file_permissions("/etc/hosts", mode="777"),
        lambda: fs.replace_in_files(["/etc/hosts"], "localhost", "x")[0].error or "",
    ]
    for call in denied[:-1]:
        with pytest.raises(DaytonaForbiddenError):
            call()
    assert "permission denied" in denied[-1]()
    assert [f.name for f in fs.list_files("/workspace")] == []  # a refused move left no copy behind
    fs.upload_file("/workspace/mine.txt", b"x")
    with pytest.raises(DaytonaForbiddenError, match="operation not permitted"):
        fs.set_file_permissions("/workspace/mine.txt", owner="root")
    assert sh(workspace, "stat -c '%U:%G' /workspace/mine.txt /etc/hosts") == "daytona:daytona\nroot:root\n"


def test_paths_cannot_reach_the_host(shared_workspace: Workspace) -> None:
    fs = shared_workspace.fs
    hostname = sh(shared_workspace, "cat /etc/hostname")
    assert hostname.strip() != socket.gethostname()
    # `..` stops at the container's root.
    assert fs.download_file("/workspace/../../../../../../etc/hostname").decode() == hostname
    marker = f"escape-{uuid.uuid4().hex}"
    fs.upload_file(f"/workspace/../../../../../tmp/{marker}", b"inside")
    assert sh(shared_workspace, f"cat /tmp/{marker}") == "inside"
    assert not Path("/tmp", marker).exists()
    # A symbolic link to / is the container's root too.
    sh(shared_workspace, "ln -s / /workspace/rootlink && ln -s ../../../../.. /workspace/uplink")
    assert fs.download_file("/workspace/rootlink/etc/hostname").decode() == hostname
    assert fs.download_file("/workspace/uplink/etc/hostname").decode() == hostname
    assert "workspace" in [f.name for f in fs.list_files("/workspace/rootlink/")]
    # The only host paths inside: the agent's code (read-only) and its socket directory (root only).
    before = sorted(p.name for p in (ROOT / "src" / "daytona_agent").iterdir())
    with pytest.raises(DaytonaForbiddenError, match="read-only file system"):
        fs.upload_file("/opt/daytona/daytona_agent/evil.py", b"x")
    with pytest.raises(DaytonaForbiddenError):
        fs.delete_file("/opt/daytona/daytona_agent/fs.py")
    with pytest.raises(DaytonaForbiddenError):
        fs.list_files("/run/daytona")
    assert sorted(p.name for p in (ROOT / "src" / "daytona_agent").iterdir()) == before


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_200mb_round_trip_streams_with_flat_memory(workspace: Workspace, server: RunningServer, tmp_path: Path) -> None:
    size = 200 * MB
    local, back = tmp_path / "big.bin", tmp_path / "back.bin"
    digest = hashlib.sha256()
    with local.open("wb") as out:
        for _ in range(size // MB):
            block = os.urandom(MB)
            digest.update(block)
            out.write(block)
    # Reset the server's peak-RSS counter (writing 5 to clear_refs), then measure its peak after.
    Path(f"/proc/{server.process.pid}/clear_refs").write_text("5")
    server_before = _peak_rss_mb(server.process.pid)
    own_peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    try:
        workspace.fs.upload_file("/workspace/big.bin", local, timeout=120)
        workspace.fs.download_file("/workspace/big.bin", back, timeout=120)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sh(workspace, "sha256sum /workspace/big.bin").split()[0] == digest.hexdigest()
    back_digest = hashlib.sha256()
    with back.open("rb") as fh:
        while block := fh.read(MB):
            back_digest.update(block)
    assert back_digest.hexdigest() == digest.hexdigest()
    # No process held the file: SDK (Python allocations and RSS), server and agent stay far below 200 MB.
    assert python_peak < 32 * MB, python_peak
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - own_peak_before < 64
    assert _peak_rss_mb(server.process.pid) - server_before < 64, server.log()[-2000:]
    agent_peak = int(sh(workspace, "awk '/VmHWM/ {print $2}' /proc/1/status")) / 1024
    assert agent_peak < 80, agent_peak


def test_documented_examples_run_verbatim(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The examples of the official SDK's filesystem.py docstrings, unchanged, between setup steps."""
    monkeypatch.chdir(tmp_path)
    Path("local_file.txt").write_text("a local file\n")
    fs = workspace.fs

    # -- setup (not part of the examples): what the examples assume exists
    fs.create_folder("/workspace/src", "755")
    fs.upload_file("/workspace/src/main.py", b"x = 'text-of-interest'  # TODO: rename\n")

    # -- module docstring: basic file operations
    # Create a directory
    workspace.fs.create_folder("/workspace/data", "755")

    # Upload a file
    with open("local_file.txt", "rb") as f:
        content = f.read()
    workspace.fs.upload_file("/workspace/data/file.txt", content)

    # List directory contents
    files = workspace.fs.list_files("/workspace")
    for file in files:
        print(f"Name: {file.name}")
        print(f"Is directory: {file.is_dir}")
        print(f"Size: {file.size}")
        print(f"Modified: {file.mod_time}")

    # Search file contents
    matches = workspace.fs.find_files(path="/workspace/src", pattern="text-of-interest")
    for match in matches:
        print(f"Absolute file path: {match.file}")
        print(f"Line number: {match.line}")
        print(f"Line content: {match.content}")
        print("\n")
    assert [(m.file, m.line) for m in matches] == [("/workspace/src/main.py", 1)]

    # -- setup
    fs.upload_file("/workspace/data/old.txt", b"version: old_version\n")
    fs.upload_file("/workspace/data/script.sh", b"#!/bin/sh\n")

    # -- module docstring: file manipulation
    # Move files
    workspace.fs.move_files("/workspace/data/old.txt", "/workspace/data/new.txt")

    # Replace text in files
    results = workspace.fs.replace_in_files(
        files=["/workspace/data/new.txt"], pattern="old_version", new_value="new_version"
    )

    # Set permissions
    workspace.fs.set_file_permissions(path="/workspace/data/script.sh", mode="755", owner="daytona")
    assert fs.download_file("/workspace/data/new.txt") == b"version: new_version\n"
    assert fs.get_file_info("/workspace/data/script.sh").permissions == "0755"

    # -- create_folder
    # Create a directory with standard permissions
    workspace.fs.create_folder("/workspace/data", "755")

    # Create a private directory
    workspace.fs.create_folder("/workspace/secrets", "700")
    assert fs.get_file_info("/workspace/secrets").permissions == "0700"

    # -- upload_file
    # Upload a text file
    content = b"Hello, World!"
    workspace.fs.upload_file("/workspace/data/hello.txt", content)

    # Upload a local file
    with open("local_file.txt", "rb") as f:
        content = f.read()
    workspace.fs.upload_file("/workspace/data/file.txt", content)

    # Upload binary data
    import json

    data = {"key": "value"}
    content = json.dumps(data).encode("utf-8")
    workspace.fs.upload_file("/workspace/data/config.json", content)

    # -- download_file
    # Download and save a file locally
    content = workspace.fs.download_file("/workspace/data/file.txt")
    with open("local_copy.txt", "wb") as f:
        f.write(content)

    # Download and process text content
    content = workspace.fs.download_file("/workspace/data/config.json")
    config = json.loads(content.decode("utf-8"))
    assert Path("local_copy.txt").read_text() == "a local file\n" and config == {"key": "value"}

    # -- find_files
    # Search for TODOs in Python files
    matches = workspace.fs.find_files("/workspace/src", "TODO:")
    for match in matches:
        print(f"{match.file}:{match.line}: {match.content.strip()}")
    assert len(matches) == 1

    # -- get_file_info
    # Get file metadata
    info = workspace.fs.get_file_info("/workspace/data/file.txt")
    print(f"Size: {info.size} bytes")
    print(f"Modified: {info.mod_time}")
    print(f"Mode: {info.mode}")

    # Check if path is a directory
    info = workspace.fs.get_file_info("/workspace/data")
    if info.is_dir:
        print("Path is a directory")

    # -- list_files
    # List directory contents
    files = workspace.fs.list_files("/workspace/data")

    # Print files and their sizes
    for file in files:
        if not file.is_dir:
            print(f"{file.name}: {file.size} bytes")

    # List only directories
    dirs = [f for f in files if f.is_dir]
    print("Subdirectories:", ", ".join(d.name for d in dirs))

    # -- setup
    fs.upload_file("/workspace/data/old_name.txt", b"o")
    fs.create_folder("/workspace/archive", "755")
    fs.create_folder("/workspace/old_dir", "755")

    # -- move_files
    # Rename a file
    workspace.fs.move_files("/workspace/data/old_name.txt", "/workspace/data/new_name.txt")

    # Move a file to a different directory
    workspace.fs.move_files("/workspace/data/file.txt", "/workspace/archive/file.txt")

    # Move a directory
    workspace.fs.move_files("/workspace/old_dir", "/workspace/new_dir")
    assert sorted(f.name for f in fs.list_files("/workspace")) == ["archive", "data", "new_dir", "secrets", "src"]

    # -- setup
    fs.upload_file("/workspace/src/file1.py", b"old_function()\n")
    fs.upload_file("/workspace/src/file2.py", b"def old_function(): pass\n")

    # -- replace_in_files
    # Replace in specific files
    results = workspace.fs.replace_in_files(
        files=["/workspace/src/file1.py", "/workspace/src/file2.py"], pattern="old_function", new_value="new_function"
    )

    # Print results
    for result in results:
        if result.success:
            print(f"{result.file}: {result.success}")
        else:
            print(f"{result.file}: {result.error}")
    assert [r.success for r in results] == [True, True]

    # -- search_files
    # Find all Python files
    result = workspace.fs.search_files("/workspace", "*.py")
    for file in result.files:
        print(file)

    # Find files with specific prefix
    result = workspace.fs.search_files("/workspace/data", "test_*")
    print(f"Found {len(result.files)} test files")

    # -- setup
    fs.create_folder("/workspace/scripts", "755")
    fs.upload_file("/workspace/scripts/run.sh", b"#!/bin/sh\necho ran\n")
    fs.upload_file("/workspace/data/file.txt", b"again")

    # -- set_file_permissions
    # Make a file executable
    workspace.fs.set_file_permissions(
        path="/workspace/scripts/run.sh",
        mode="755",  # rwxr-xr-x
    )

    # Change file owner
    workspace.fs.set_file_permissions(path="/workspace/data/file.txt", owner="daytona", group="daytona")
    assert sh(workspace, "/workspace/scripts/run.sh") == "ran\n"

    # -- setup
    fs.upload_file("/workspace/data/old_file.txt", b"bye")

    # -- delete_file
    # Delete a file
    workspace.fs.delete_file("/workspace/data/old_file.txt")
    assert "old_file.txt" not in [f.name for f in fs.list_files("/workspace/data")]
    assert json.loads(fs.download_file("/workspace/data/config.json")) == {"key": "value"}
