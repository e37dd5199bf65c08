"""`workspace.git` with the real git binary, against a password-protected HTTP remote in the sandbox.

One sandbox serves bare repositories through `git http-backend` behind Basic auth on its own
loopback (tests/integration/git_http_server.py); the tests clone, push and pull through the SDK.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daytona_sdk import (
    Daytona,
    DaytonaBadRequestError,
    DaytonaConflictError,
    DaytonaForbiddenError,
    DaytonaNotFoundError,
    GitRemote,
    Workspace,
)

from ..support.server import RunningServer

PORT = 8765
USER = "alice"
PASSWORD = "s3cr3t-" + secrets.token_hex(8)
BASE = f"http://127.0.0.1:{PORT}"
PRIVATE = f"{BASE}/private.git"

SEED = """
set -e
for r in private repo private-repo; do git init -q --bare -b main /tmp/git/$r.git; done
git init -q -b main /tmp/seed && cd /tmp/seed
git config user.name Seed && git config user.email seed@example.com
echo "# seed" > README.md && git add README.md && git commit -qm seed
git branch develop
for r in private repo private-repo; do git push -q /tmp/git/$r.git main develop; done
git rev-parse HEAD
"""


def sh(workspace: Workspace, command: str) -> str:
    return workspace.process.exec(command, check=True).result


@pytest.fixture(scope="module")
def git_ws(server: RunningServer) -> Iterator[Workspace]:
    """A sandbox serving private.git and private-repo.git (Basic auth) and repo.git (open) on its loopback."""
    with Daytona(server.config()) as daytona:
        workspace = daytona.create()
        try:
            workspace.seed_hash = sh(workspace, SEED).strip()  # type: ignore[attr-defined]
            workspace.fs.upload_file("/tmp/git_http_server.py", Path(__file__).with_name("git_http_server.py"))
            workspace.process.exec(
                f"nohup python3 /tmp/git_http_server.py /tmp/git {PORT} {USER} {PASSWORD},token,github_token"
                " repo.git > /tmp/git-server.log 2>&1 &"
            )
            probe = f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {PORT}))\""
            deadline = time.monotonic() + 30
            while workspace.process.exec(probe).exit_code != 0:
                assert time.monotonic() < deadline, workspace.process.exec("cat /tmp/git-server.log").result
                time.sleep(0.1)
            yield workspace
        finally:
            daytona.remove(workspace)


def test_clone_with_credentials_leaves_them_nowhere(git_ws: Workspace) -> None:
    # A helper configured by the user that would store what it is given must not see the password.
    sh(git_ws, "git config --global credential.helper store")
    try:
        git_ws.git.clone(PRIVATE, "/workspace/secret-clone", username=USER, password=PASSWORD)
    finally:
        sh(git_ws, "git config --global --unset credential.helper")
    assert git_ws.fs.download_file("/workspace/secret-clone/README.md") == b"# seed\n"
    assert git_ws.git.list_remotes("/workspace/secret-clone") == [GitRemote(name="origin", url=PRIVATE)]
    found = git_ws.process.exec(f"grep -rIlF -- '{PASSWORD}' /workspace /home/daytona /tmp")
    assert (found.exit_code, found.result) == (1, "")  # 1: searched everything, found nothing
    assert ".git-credentials" not in sh(git_ws, "ls -A /home/daytona")


def test_wrong_or_missing_credentials_fail_cleanly(git_ws: Workspace) -> None:
    attempts = [
        lambda: git_ws.git.clone(PRIVATE, "/workspace/denied", username=USER, password="wrong-" + PASSWORD),
        lambda: git_ws.git.clone(PRIVATE, "/workspace/denied"),
        lambda: git_ws.git.clone(f"http://{USER}:wrong-{PASSWORD}@127.0.0.1:{PORT}/private.git", "/workspace/denied"),
    ]
    for attempt in attempts:
        with pytest.raises(DaytonaForbiddenError) as caught:
            attempt()
        message = str(caught.value)
        assert "git clone failed" in message
        assert "Authentication failed" in message or "terminal prompts disabled" in message
        assert PASSWORD not in message and "wrong-" not in message
        assert caught.value.status_code == 403
    with pytest.raises(DaytonaNotFoundError):
        git_ws.fs.get_file_info("/workspace/denied")  # nothing left behind
    git_ws.git.clone(PRIVATE, "/workspace/push-denied", username=USER, password=PASSWORD)
    git_ws.fs.upload_file("/workspace/push-denied/x.txt", b"x")
    git_ws.git.add("/workspace/push-denied", ["x.txt"])
    git_ws.git.commit("/workspace/push-denied", "x", "A", "a@example.com")
    with pytest.raises(DaytonaForbiddenError) as caught:
        git_ws.git.push("/workspace/push-denied", USER, "bad-" + PASSWORD)
    assert "Authentication failed" in str(caught.value) and PASSWORD not in str(caught.value)
    with pytest.raises(DaytonaForbiddenError):
        git_ws.git.pull("/workspace/push-denied")
    assert git_ws.git.status("/workspace/push-denied").ahead == 1  # the commit is still there


def test_status_add_commit_log_push_pull(git_ws: Workspace) -> None:
    git, fs = git_ws.git, git_ws.fs
    git.clone(PRIVATE, "/workspace/a", username=USER, password=PASSWORD)
    status = git.status("/workspace/a")
    assert (status.current_branch, status.ahead, status.behind, status.branch_published) == ("main", 0, 0, True)
    assert status.file_status == []
    fs.upload_file("/workspace/a/new.txt", b"new\n")
    fs.upload_file("/workspace/a/README.md", b"# changed\n")
    status = git.status("/workspace/a")
    assert {(f.name, f.staging, f.worktree) for f in status.file_status} == {
        ("new.txt", "Untracked", "Untracked"),
        ("README.md", "Unmodified", "Modified"),
    }
    assert status.modified == ["README.md"]
    git.add("/workspace/a", ["new.txt", "README.md"])
    status = git.status("/workspace/a")
    assert {(f.name, f.staging, f.worktree) for f in status.file_status} == {
        ("new.txt", "Added", "Unmodified"),
        ("README.md", "Modified", "Unmodified"),
    }
    commit = git.commit("/workspace/a", "Add new.txt\n\nwith a body", "John Doe", "john@example.com")
    assert len(commit.hash) == 40
    log = git.log("/workspace/a")
    assert [c.hash for c in log] == [commit.hash, git_ws.seed_hash]  # type: ignore[attr-defined]
    assert (log[0].author, log[0].email, log[0].message) == (
        "John Doe",
        "john@example.com",
        "Add new.txt\n\nwith a body",
    )
    assert log[0].timestamp[:2] == "20" and "T" in log[0].timestamp
    assert git.status("/workspace/a").ahead == 1
    git.push("/workspace/a", USER, PASSWORD)
    assert git.status("/workspace/a").ahead == 0
    # Someone else pushes; pull brings it in.
    git.clone(PRIVATE, "/workspace/b", username=USER, password=PASSWORD)
    assert fs.download_file("/workspace/b/new.txt") == b"new\n"
    fs.upload_file("/workspace/b/other.txt", b"other\n")
    git.add("/workspace/b", ["."])
    other = git.commit("/workspace/b", "other", "Jane", "jane@example.com")
    git.push("/workspace/b", USER, PASSWORD)
    git.pull("/workspace/a", USER, PASSWORD)
    assert git.log("/workspace/a")[0].hash == other.hash
    assert fs.download_file("/workspace/a/other.txt") == b"other\n"


def test_branches_checkout_and_delete(git_ws: Workspace) -> None:
    git, fs = git_ws.git, git_ws.fs
    git.clone(PRIVATE, "/workspace/br", username=USER, password=PASSWORD)
    assert git.branches("/workspace/br").branches == ["main"]
    git.create_branch("/workspace/br", "feature")
    assert git.status("/workspace/br").current_branch == "feature"
    assert git.status("/workspace/br").branch_published is False
    fs.upload_file("/workspace/br/f.txt", b"f")
    git.add("/workspace/br", ["f.txt"])
    git.commit("/workspace/br", "feature work", "A", "a@example.com")
    git.push("/workspace/br", USER, PASSWORD, remote="origin", branch="feature")
    assert git.status("/workspace/br").branch_published is True
    # An unpublished branch with its own commit is deleted only when forced.
    git.create_branch("/workspace/br", "local-only")
    git.commit("/workspace/br", "only here", "A", "a@example.com", allow_empty=True)
    git.checkout("/workspace/br", "main")
    with pytest.raises(DaytonaConflictError, match="not fully merged"):
        git.delete_branch("/workspace/br", "local-only")
    git.delete_branch("/workspace/br", "local-only", force=True)
    git.delete_branch("/workspace/br", "feature")  # pushed: nothing is lost
    assert git.branches("/workspace/br").branches == ["main"]
    # A branch that exists only on the remote gets a local tracking branch.
    git.checkout("/workspace/br", "develop")
    status = git.status("/workspace/br")
    assert (status.current_branch, status.branch_published) == ("develop", True)
    assert git.branches("/workspace/br").branches == ["develop", "main"]
    # A commit: detached HEAD.
    git.checkout("/workspace/br", git_ws.seed_hash)  # type: ignore[attr-defined]
    assert git.status("/workspace/br").current_branch == "HEAD"
    # The pushed branch arrived: pull it by name into a fresh clone.
    git.clone(PRIVATE, "/workspace/br2", username=USER, password=PASSWORD)
    git.pull("/workspace/br2", USER, PASSWORD, remote="origin", branch="feature")
    assert fs.download_file("/workspace/br2/f.txt") == b"f"


def test_clone_a_branch_or_a_commit(git_ws: Workspace) -> None:
    git = git_ws.git
    git.clone(PRIVATE, "/workspace/dev", branch="develop", username=USER, password=PASSWORD)
    assert git.status("/workspace/dev").current_branch == "develop"
    seed = git_ws.seed_hash  # type: ignore[attr-defined]
    git.clone(PRIVATE, "/workspace/at-commit", commit_id=seed, username=USER, password=PASSWORD)
    assert git.status("/workspace/at-commit").current_branch == "HEAD"
    assert git.log("/workspace/at-commit")[0].hash == seed
    with pytest.raises(DaytonaNotFoundError):
        git.clone(PRIVATE, "/workspace/bad-commit", commit_id="0" * 40, username=USER, password=PASSWORD)
    with pytest.raises(DaytonaNotFoundError):
        git_ws.fs.get_file_info("/workspace/bad-commit")  # not left half-done


def test_git_bad_inputs(git_ws: Workspace) -> None:
    git, fs = git_ws.git, git_ws.fs
    git.clone(PRIVATE, "/workspace/bad", username=USER, password=PASSWORD)
    fs.create_folder("/workspace/not-a-repo", "755")
    cases = [
        (lambda: git.status("/workspace/not-a-repo"), DaytonaBadRequestError, "not a git repository"),
        (lambda: git.log("/workspace/not-a-repo"), DaytonaBadRequestError, "not a git repository"),
        (lambda: git.branches("/workspace/not-a-repo"), DaytonaBadRequestError, "not a git repository"),
        (lambda: git.push("/workspace/not-a-repo"), DaytonaBadRequestError, "not a git repository"),
        (lambda: git.status("/workspace/missing"), DaytonaNotFoundError, "no such file or directory"),
        (lambda: git.checkout("/workspace/bad", "no-such-branch"), DaytonaNotFoundError, "no-such-branch"),
        (lambda: git.delete_branch("/workspace/bad", "no-such-branch"), DaytonaNotFoundError, "not found"),
        (lambda: git.delete_branch("/workspace/bad", "main"), DaytonaConflictError, "Cannot delete branch"),
        (lambda: git.create_branch("/workspace/bad", "main"), DaytonaConflictError, "already exists"),
        (lambda: git.create_branch("/workspace/bad", "bad..name"), DaytonaBadRequestError, "not a valid branch"),
        (lambda: git.create_branch("/workspace/bad", "-x"), DaytonaBadRequestError, "invalid branch name"),
        (
            lambda: git.clone(PRIVATE, "/workspace/nb", branch="nope", username=USER, password=PASSWORD),
            DaytonaNotFoundError,
            "Remote branch nope not found",
        ),
        (lambda: git.clone(f"{BASE}/missing.git", "/workspace/nr", username=USER, password=PASSWORD), None, ""),
        (
            lambda: git.clone(PRIVATE, "/workspace/bad", username=USER, password=PASSWORD),
            DaytonaConflictError,
            "already exists and is not an empty directory",
        ),
        (lambda: git.commit("/workspace/bad", "m", "A", "a@example.com"), DaytonaConflictError, "nothing to commit"),
        (lambda: git.commit("/workspace/bad", "m", "", "a@example.com"), DaytonaBadRequestError, "author is required"),
        (lambda: git.add("/workspace/bad", ["missing.txt"]), DaytonaNotFoundError, "did not match any files"),
        (lambda: git.add("/workspace/bad", []), DaytonaBadRequestError, "non-empty list"),
        (
            lambda: git.push("/workspace/bad", USER, PASSWORD, branch="nope"),
            DaytonaNotFoundError,
            "src refspec nope does not match",
        ),
        (
            lambda: git.pull("/workspace/bad", USER, PASSWORD, branch="nope"),
            DaytonaNotFoundError,
            "couldn't find remote ref nope",
        ),
    ]
    for call, error, text in cases:
        if error is None:  # a missing repository: 404 from the remote
            with pytest.raises(DaytonaNotFoundError, match="not found"):
                call()
            continue
        with pytest.raises(error) as caught:
            call()
        assert text in str(caught.value), (error, str(caught.value))
    assert git.status("/workspace/bad").file_status == []  # nothing changed along the way


def test_merge_conflict_on_pull_is_a_409(git_ws: Workspace) -> None:
    git, fs = git_ws.git, git_ws.fs
    for name in ("c1", "c2"):
        git.clone(PRIVATE, f"/workspace/{name}", username=USER, password=PASSWORD)
    fs.upload_file("/workspace/c1/README.md", b"theirs\n")
    git.add("/workspace/c1", ["README.md"])
    git.commit("/workspace/c1", "theirs", "T", "t@example.com")
    git.push("/workspace/c1", USER, PASSWORD)
    fs.upload_file("/workspace/c2/README.md", b"mine\n")
    git.add("/workspace/c2", ["README.md"])
    git.commit("/workspace/c2", "mine", "M", "m@example.com")
    with pytest.raises(DaytonaConflictError) as caught:
        git.pull("/workspace/c2", USER, PASSWORD)
    assert "CONFLICT (content): Merge conflict in README.md" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    status = git.status("/workspace/c2")
    assert [(f.name, f.staging) for f in status.file_status] == [("README.md", "Updated but unmerged")]
    assert b"<<<<<<<" in fs.download_file("/workspace/c2/README.md")  # left as git leaves it, nothing lost


def test_documented_examples_run_verbatim(git_ws: Workspace) -> None:
    """The examples of the official SDK's git.py docstrings, unchanged, between setup steps.

    Their github.com URLs lead to the sandbox's own server through git's `url.<base>.insteadOf`
    (the sandbox has no network); "user" with "token" or "github_token" is a valid login there.
    """
    workspace = git_ws
    # A second server on the same repositories, for the examples' login "user".
    docs_base = f"http://127.0.0.1:{PORT + 1}"
    workspace.process.exec(
        f"nohup python3 /tmp/git_http_server.py /tmp/git {PORT + 1} user token,github_token repo.git"
        " > /tmp/git-server-2.log 2>&1 &"
    )
    probe = f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {PORT + 1}))\""
    deadline = time.monotonic() + 30
    while workspace.process.exec(probe).exit_code != 0:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    sh(workspace, f'git config --global url."{docs_base}/".insteadOf "https://github.com/user/"')
    try:
        run_git_examples(workspace)
    finally:
        sh(workspace, f"git config --global --remove-section 'url.{docs_base}/'")


def run_git_examples(workspace: Workspace) -> None:
    def reset(*paths: str) -> None:
        for path in paths:
            sh(workspace, f"rm -rf {path}")

    # -- module docstring: basic git workflow
    # Clone a repository
    workspace.git.clone(url="https://github.com/user/repo.git", path="/workspace/repo")

    # Make some changes
    workspace.fs.upload_file("/workspace/repo/test.txt", "Hello, World!")

    # Stage and commit changes
    workspace.git.add("/workspace/repo", ["test.txt"])
    workspace.git.commit(path="/workspace/repo", message="Add test file", author="John Doe", email="john@example.com")

    # Push changes (with authentication)
    workspace.git.push(path="/workspace/repo", username="user", password="token")
    assert sh(workspace, "git -C /tmp/git/repo.git log -1 --format=%s main") == "Add test file\n"

    # -- setup
    reset("/workspace/repo")

    # -- class docstring
    # Clone a repository
    workspace.git.clone(url="https://github.com/user/repo.git", path="/workspace/repo")

    # -- setup
    workspace.fs.upload_file("/workspace/repo/file.txt", b"changed\n")
    sh(workspace, "cd /workspace/repo && git add file.txt && git -c user.name=S -c user.email=s@e commit -qm f")
    workspace.fs.upload_file("/workspace/repo/file.txt", b"changed again\n")

    # Check repository status
    status = workspace.git.status("/workspace/repo")
    print(f"Modified files: {status.modified}")
    assert status.modified == ["file.txt"]

    # Stage and commit changes
    workspace.git.add("/workspace/repo", ["file.txt"])
    workspace.git.commit(path="/workspace/repo", message="Update file", author="John Doe", email="john@example.com")

    # -- setup
    for name in ("src/main.py", "tests/test_main.py", "README.md"):
        workspace.fs.create_folder("/workspace/repo/" + str(Path(name).parent), "755")
        workspace.fs.upload_file("/workspace/repo/" + name, b"new content\n")

    # -- add
    # Stage a single file
    workspace.git.add("/workspace/repo", ["file.txt"])

    # Stage multiple files
    workspace.git.add("/workspace/repo", ["src/main.py", "tests/test_main.py", "README.md"])

    # -- branches
    response = workspace.git.branches("/workspace/repo")
    print(f"Branches: {response.branches}")
    assert response.branches == ["main"]

    # -- clone
    # Clone the default branch
    reset("/workspace/repo")
    workspace.git.clone(url="https://github.com/user/repo.git", path="/workspace/repo")

    # Clone a specific branch with authentication
    workspace.git.clone(
        url="https://github.com/user/private-repo.git",
        path="/workspace/private",
        branch="develop",
        username="user",
        password="token",
    )
    assert workspace.git.status("/workspace/private").current_branch == "develop"

    # -- setup: the documented `commit_id="abc123"` is not a commit of these repositories; one that is
    commit_id = workspace.seed_hash  # type: ignore[attr-defined]

    # Clone a specific commit
    workspace.git.clone(url="https://github.com/user/repo.git", path="/workspace/repo-old", commit_id=commit_id)
    assert workspace.git.log("/workspace/repo-old")[0].hash == commit_id

    # -- setup
    workspace.fs.upload_file("/workspace/repo/README.md", b"# documented\n")

    # -- commit
    # Stage and commit changes
    workspace.git.add("/workspace/repo", ["README.md"])
    workspace.git.commit(
        path="/workspace/repo", message="Update documentation", author="John Doe", email="john@example.com"
    )

    # -- push
    # Push without authentication (for public repos or SSH)
    workspace.git.push("/workspace/repo")

    # Push with authentication
    workspace.git.push(path="/workspace/repo", username="user", password="github_token")

    # -- pull
    # Pull without authentication
    workspace.git.pull("/workspace/repo")

    # Pull with authentication
    workspace.git.pull(path="/workspace/repo", username="user", password="github_token")

    # -- status
    status = workspace.git.status("/workspace/repo")
    print(f"On branch: {status.current_branch}")
    print(f"Commits ahead: {status.ahead}")
    print(f"Commits behind: {status.behind}")
    assert (status.current_branch, status.ahead, status.behind) == ("main", 0, 0)
    assert sh(workspace, "git -C /tmp/git/repo.git log -1 --format=%s main") == "Update documentation\n"
