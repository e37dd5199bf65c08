"""The published Daytona SDK's `fs` and `git` (daytona-sdk 0.10.0, daytona_api_client 0.14.0) against our server.

Same set-up as test_official_sdk.py: the official SDK has our import name, so it runs in its own
venv, in a subprocess. Git goes through a password-protected HTTP remote on the sandbox's loopback.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..support.server import RunningServer, run_official_sdk

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from daytona_sdk import Daytona, DaytonaConfig
    daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], server_url=sys.argv[2], target="us"))
    workspace = daytona.create()
    fs, git = workspace.fs, workspace.git
    try:
        fs.create_folder("/workspace/data", "755")
        fs.upload_file("/workspace/data/a.txt", b"hello old_version\\n")
        print("list", [(f.name, f.is_dir, f.size, f.owner) for f in fs.list_files("/workspace/data")])
        info = fs.get_file_info("/workspace/data/a.txt")
        print("info", info.name, info.size, info.permissions, info.mode, info.owner, info.group)
        print("download", fs.download_file("/workspace/data/a.txt"))
        print("find", [(m.file, m.line, m.content) for m in fs.find_files("/workspace", "old_version")])
        print("search", fs.search_files("/workspace", "*.txt").files)
        print("replace", [(r.file, r.success) for r in fs.replace_in_files(["/workspace/data/a.txt"], "old", "new")])
        fs.move_files("/workspace/data/a.txt", "/workspace/data/b.txt")
        fs.set_file_permissions("/workspace/data/b.txt", mode="755", owner="daytona", group="daytona")
        print("moved", fs.get_file_info("/workspace/data/b.txt").permissions, fs.download_file("/workspace/data/b.txt"))
        fs.delete_file("/workspace/data/b.txt")
        try:
            fs.get_file_info("/workspace/data/b.txt")
        except Exception as exc:
            print("deleted", type(exc).__name__, exc)

        workspace.process.exec(
            "git init -q --bare -b main /tmp/git/r.git && git init -q -b main /tmp/s && cd /tmp/s && echo s > s.txt"
            " && git add . && git -c user.name=S -c user.email=s@e commit -qm seed && git push -q /tmp/git/r.git main"
        )
        fs.upload_file("/tmp/srv.py", open(sys.argv[3], "rb").read())
        workspace.process.exec("nohup python3 /tmp/srv.py /tmp/git 8765 bob pw-123 > /tmp/srv.log 2>&1 &")
        probe = "python3 -c \\"import socket; socket.create_connection(('127.0.0.1', 8765))\\""
        deadline = time.monotonic() + 30
        while workspace.process.exec(probe).exit_code != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        url = "http://127.0.0.1:8765/r.git"
        try:
            git.clone(url=url, path="/workspace/repo", username="bob", password="wrong")
        except Exception as exc:
            print("denied", type(exc).__name__, "Authentication failed" in str(exc), "wrong" in str(exc))
        git.clone(url=url, path="/workspace/repo", username="bob", password="pw-123")
        fs.upload_file("/workspace/repo/test.txt", b"Hello, World!")
        status = git.status("/workspace/repo")
        print("status", status.current_branch, [(f.name, f.staging, f.worktree) for f in status.file_status])
        git.add("/workspace/repo", ["test.txt"])
        git.commit(path="/workspace/repo", message="Add test file", author="John Doe", email="john@example.com")
        status = git.status("/workspace/repo")
        print("committed", status.ahead, status.behind, status.branch_published)
        git.push(path="/workspace/repo", username="bob", password="pw-123")
        print("pushed", git.status("/workspace/repo").ahead)
        git.pull(path="/workspace/repo", username="bob", password="pw-123")
        print("branches", git.branches("/workspace/repo").branches)
        try:
            git.status("/workspace/data")
        except Exception as exc:
            print("not-a-repo", type(exc).__name__, exc)
    finally:
        daytona.remove(workspace)
    """
)


def test_official_sdk_fs_and_git(server: RunningServer, tmp_path: Path) -> None:
    git_server = Path(__file__).with_name("git_http_server.py")
    lines = run_official_sdk(SCRIPT, tmp_path, server.api_key, server.url, str(git_server))
    assert lines == [
        "list [('a.txt', False, 18, 'daytona')]",
        "info a.txt 18 0644 -rw-r--r-- daytona daytona",
        "download b'hello old_version\\n'",
        "find [('/workspace/data/a.txt', 1, 'hello old_version')]",
        "search ['/workspace/data/a.txt']",
        "replace [('/workspace/data/a.txt', True)]",
        "moved 0755 b'hello new_version\\n'",
        "deleted DaytonaError Failed to get file info: no such file or directory: /workspace/data/b.txt",
        "denied DaytonaError True False",
        "status main [('test.txt', 'Untracked', 'Untracked')]",
        "committed 1 0 True",
        "pushed 0",
        "branches ['main']",
        "not-a-repo DaytonaError Failed to get status: git status failed: fatal: not a git repository (or any of "
        "the parent directories): .git",
    ]
