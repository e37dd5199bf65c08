"""Results of `workspace.fs` and `workspace.git`, with the field names of the official SDK."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FileInfo:
    """A file or directory: `mode` as `ls -l` shows it ("-rw-r--r--"), `permissions` in octal ("0644")."""

    name: str
    is_dir: bool
    size: int
    mod_time: str
    mode: str
    permissions: str
    owner: str
    group: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> FileInfo:
        return cls(
            name=data["name"],
            is_dir=bool(data["isDir"]),
            size=int(data["size"]),
            mod_time=data["modTime"],
            mode=data["mode"],
            permissions=data["permissions"],
            owner=data["owner"],
            group=data["group"],
        )


@dataclass
class Match:
    """A line that contains the searched text: file path, 1-based line number, the line itself."""

    file: str
    line: int
    content: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Match:
        return cls(file=data["file"], line=int(data["line"]), content=data["content"])


@dataclass
class ReplaceResult:
    """The outcome of `replace_in_files` for one file (`error` says why when `success` is False)."""

    file: str
    success: bool
    error: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ReplaceResult:
        return cls(file=data.get("file", ""), success=bool(data.get("success")), error=data.get("error"))


@dataclass
class SearchFilesResponse:
    """Paths whose names match the pattern of `search_files`."""

    files: list[str] = field(default_factory=list)


@dataclass
class FileStatus:
    """One changed file: its status in the index (`staging`) and in the work tree, e.g. "Modified".

    `extra` holds the original path of a renamed file.
    """

    name: str
    staging: str
    worktree: str
    extra: str = ""


@dataclass
class GitStatus:
    """The state of a repository: current branch, commits ahead of/behind its upstream, changed files."""

    current_branch: str
    file_status: list[FileStatus]
    ahead: int = 0
    behind: int = 0
    branch_published: bool = False

    @property
    def modified(self) -> list[str]:
        """Names of the files modified in the index or the work tree."""
        return [f.name for f in self.file_status if "Modified" in (f.staging, f.worktree)]

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> GitStatus:
        files = data.get("fileStatus")
        if files is None:
            files = data.get("FileStatus[]") or []
        return cls(
            current_branch=data.get("currentBranch", ""),
            file_status=[
                FileStatus(name=f["name"], staging=f["staging"], worktree=f["worktree"], extra=f.get("extra") or "")
                for f in files
            ],
            ahead=int(data.get("ahead") or 0),
            behind=int(data.get("behind") or 0),
            branch_published=bool(data.get("branchPublished")),
        )


@dataclass
class ListBranchResponse:
    """The local branches of a repository."""

    branches: list[str] = field(default_factory=list)


@dataclass
class GitCommitResponse:
    """The commit that `commit` made."""

    hash: str


@dataclass
class GitCommitInfo:
    """One commit of `log`: hash, author, email, message and timestamp (ISO 8601)."""

    hash: str
    author: str
    email: str
    message: str
    timestamp: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> GitCommitInfo:
        return cls(
            hash=data["hash"],
            author=data["author"],
            email=data["email"],
            message=data["message"],
            timestamp=data["timestamp"],
        )


@dataclass
class GitRemote:
    """A remote of a repository (credentials in its URL are masked)."""

    name: str
    url: str
