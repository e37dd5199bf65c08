# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
"""`workspace.git`: git repositories in a sandbox, driven through the real git binary as its user.

Credentials (`username`, `password` or token) are used for the one call they are passed to and are
never stored in the sandbox, in the remote URL or in error messages.
"""

from __future__ import annotations

from typing import Any

from .._fs_git_models import GitCommitInfo, GitCommitResponse, GitRemote, GitStatus, ListBranchResponse
from ._http import SyncHttp


def _body(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


class Git:
    """Git operations in one sandbox. `path` is the repository's directory.

    Network operations (clone, push, pull) wait as long as git takes; `timeout` (seconds) bounds them.
    """

    def __init__(self, http: SyncHttp, workspace_id: str) -> None:
        self._http = http
        self._base = f"/toolbox/{workspace_id}/toolbox/git"

    def clone(
        self,
        url: str,
        path: str,
        branch: str | None = None,
        commit_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """Clone `url` into `path`; `branch` picks the branch, `commit_id` leaves HEAD detached at a commit."""
        body = _body(url=url, path=path, branch=branch, commit_id=commit_id, username=username, password=password)
        self._http.request("POST", f"{self._base}/clone", json=body, timeout=timeout)

    def status(self, path: str) -> GitStatus:
        """Current branch, commits ahead of / behind its upstream, whether it is published, changed files."""
        return GitStatus.from_api(self._http.request("GET", f"{self._base}/status", params={"path": path}))

    def branches(self, path: str) -> ListBranchResponse:
        """The local branches."""
        data = self._http.request("GET", f"{self._base}/branches", params={"path": path})
        return ListBranchResponse(branches=list(data.get("branches") or []))

    def create_branch(self, path: str, name: str) -> None:
        """Create branch `name` at HEAD and switch to it (as Daytona does)."""
        self._http.request("POST", f"{self._base}/branches", json={"path": path, "name": name})

    def checkout(self, path: str, branch: str) -> None:
        """Switch to a branch (a remote-only branch gets a local tracking branch) or detach at a commit."""
        self._http.request("POST", f"{self._base}/checkout", json={"path": path, "branch": branch})

    checkout_branch = checkout

    def delete_branch(self, path: str, name: str, force: bool = False) -> None:
        """Delete a local branch; one with unmerged commits only with `force=True`."""
        body = _body(path=path, name=name, force=force or None)
        self._http.request("DELETE", f"{self._base}/branches", json=body)

    def add(self, path: str, files: list[str]) -> None:
        """Stage files (paths relative to the repository; ["."] stages everything)."""
        self._http.request("POST", f"{self._base}/add", json={"path": path, "files": files})

    def commit(
        self,
        path: str,
        message: str,
        author: str,
        email: str,
        allow_empty: bool = False,
        *,
        timeout: float | None = 60.0,
    ) -> GitCommitResponse:
        """Commit the staged changes as `author <email>`; returns the new commit's hash (`.hash`)."""
        body = _body(path=path, message=message, author=author, email=email, allow_empty=allow_empty or None)
        data = self._http.request("POST", f"{self._base}/commit", json=body, timeout=timeout)
        return GitCommitResponse(hash=data["hash"])

    def log(self, path: str) -> list[GitCommitInfo]:
        """The commits reachable from HEAD, newest first."""
        data = self._http.request("GET", f"{self._base}/history", params={"path": path}, timeout=None)
        return [GitCommitInfo.from_api(c) for c in data]

    history = log

    def push(
        self,
        path: str,
        username: str | None = None,
        password: str | None = None,
        *,
        remote: str | None = None,
        branch: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Push `branch` (default: the current one) to `remote` (default: its upstream's, else origin).

        The branch's upstream is set to what was pushed, so `status` reports ahead/behind from then on.
        """
        body = _body(path=path, username=username, password=password, remote=remote, branch=branch)
        self._http.request("POST", f"{self._base}/push", json=body, timeout=timeout)

    def pull(
        self,
        path: str,
        username: str | None = None,
        password: str | None = None,
        *,
        remote: str | None = None,
        branch: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Fetch and merge (never rebase) `remote`/`branch`, by default the current branch's upstream.

        A merge conflict raises DaytonaConflictError; the repository is left mid-merge, as git leaves it.
        """
        body = _body(path=path, username=username, password=password, remote=remote, branch=branch)
        self._http.request("POST", f"{self._base}/pull", json=body, timeout=timeout)

    def list_remotes(self, path: str) -> list[GitRemote]:
        """The remotes and their fetch URLs."""
        data = self._http.request("GET", f"{self._base}/remotes", params={"path": path})
        return [GitRemote(name=r["name"], url=r["url"]) for r in data]
