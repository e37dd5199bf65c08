"""Git toolbox routes (`/git/...`): the real git binary, run as the sandbox user.

Credentials are handed to git for one call only, through a credential helper that reads them from
that call's environment: they never reach the disk, the remote URL, logs or error messages.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
from urllib.parse import quote

from . import process, wire
from .env_store import user_env
from .http import HttpError, Request, Response, Router, str_field
from .userfs import as_user, os_error, resolve
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

# Answers git's "get" with the call's credentials; ignores "store" and "erase". No secret in here.
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || return 0; '
    'printf "username=%s\\n" "$DAYTONA_GIT_USERNAME"; '
    'test -n "$DAYTONA_GIT_PASSWORD" && printf "password=%s\\n" "$DAYTONA_GIT_PASSWORD"; return 0; }; f'
)

# Status letters of `git status --porcelain=v2` -> the names of Daytona's FileStatus.
STATUS_NAMES = {
    ".": "Unmodified",
    "M": "Modified",
    "T": "Modified",
    "A": "Added",
    "D": "Deleted",
    "R": "Renamed",
    "C": "Copied",
    "U": "Updated but unmerged",
    "?": "Untracked",
    "!": "Ignored",
}

# (pattern in git's message, HTTP status): first match wins; anything else is a 400.
_CLASSIFY: List[Tuple[str, int]] = [
    (
        r"Authentication failed|could not read (Username|Password)|terminal prompts disabled"
        r"|HTTP Basic: Access denied|The requested URL returned error: 40[13]|Permission denied \(publickey",
        403,
    ),
    (r"Permission denied|dubious ownership|unable to create .*: Permission", 403),
    (
        r"not found in upstream|couldn't find remote ref|invalid reference|did not match any|branch '.*' not found"
        r"|src refspec .* does not match|repository '.*' not found|does not appear to be a git repository"
        r"|The requested URL returned error: 404|unknown revision|bad revision|not a valid object name"
        r"|No such remote|reference is not a tree|No such file or directory|does not exist",
        404,
    ),
    (
        r"already exists|CONFLICT|Automatic merge failed|not fully merged|Cannot delete branch|nothing to commit"
        r"|nothing added to commit|would be overwritten|\[rejected\]|Updates were rejected|failed to push some refs"
        r"|not possible to fast-forward|You have not concluded your merge|unmerged files"
        r"|Need to specify how to reconcile",
        409,
    ),
]


def classify(message: str) -> int:
    """The HTTP status for a failed git command, from git's own message."""
    for pattern, status in _CLASSIFY:
        if re.search(pattern, message):
            return status
    return 400


# (pattern, DaemonErrorCode, status for today's SDK when it differs): today's SDK raises a precise
# exception per code (a subclass of its status's); first match wins.
_CODES: List[Tuple[str, str, Optional[int]]] = [
    (r"Authentication failed|could not read (Username|Password)|terminal prompts disabled"
     r"|HTTP Basic: Access denied|The requested URL returned error: 40[13]|Permission denied \(publickey",
     "GIT_AUTH_FAILED", 401),
    (r"Could not resolve host|Failed to connect to|Connection (refused|timed out)|SSL certificate problem",
     "GIT_TRANSPORT_FAILED", 502),
    (r"repository '.*' not found|does not appear to be a git repository|The requested URL returned error: 404",
     "GIT_REPO_NOT_FOUND", None),
    (r"not found in upstream|couldn't find remote ref|branch '.*' not found|invalid reference",
     "GIT_BRANCH_NOT_FOUND", None),
    (r"a branch named '.*' already exists", "GIT_BRANCH_EXISTS", None),
    (r"\[rejected\]|Updates were rejected|failed to push some refs", "GIT_PUSH_REJECTED", None),
    (r"CONFLICT|Automatic merge failed|unmerged files", "GIT_MERGE_CONFLICT", None),
    (r"would be overwritten", "GIT_DIRTY_WORKTREE", None),
]  # fmt: skip


def git_error(what: str, message: str) -> HttpError:
    """The error for a failed git command: its status (classify) and, for today's SDK, its code."""
    status = classify(message)
    for pattern, code, current_status in _CODES:
        if re.search(pattern, message):
            return HttpError(status, "%s failed: %s" % (what, message), code=code, current_status=current_status)
    return HttpError(status, "%s failed: %s" % (what, message))


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")


def scrub(text: str, secrets: List[str]) -> str:
    """Remove credentials from text: the given secrets (raw and URL-encoded) and any user:password@ in URLs."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return _USERINFO.sub(r"\1***@", text)


class Git:
    """Runs git as the sandbox user, optionally with credentials for one call."""

    def __init__(self, user: OsUser) -> None:
        self.user = user

    def run(
        self,
        args: List[str],
        cwd: str,
        username: Optional[str] = None,
        password: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
    ) -> Dict[str, Any]:
        if shutil.which("git", path=user_env(self.user).get("PATH")) is None:
            raise HttpError(400, "git is not installed in this sandbox's image")
        call_env = {
            "GIT_TERMINAL_PROMPT": "0",  # never wait for a prompt: fail instead
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GCM_INTERACTIVE": "never",
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND") or "ssh -o BatchMode=yes",
            "LC_ALL": "C.UTF-8",  # git's messages in English: they are classified below
            "LANGUAGE": "",
            **(env or {}),
        }
        argv = ["git", "-c", "core.quotePath=false"]
        if username or password:
            # An empty value first drops helpers configured elsewhere (which might store the secret).
            argv += ["-c", "credential.helper=", "-c", "credential.helper=" + CREDENTIAL_HELPER]
            call_env["DAYTONA_GIT_USERNAME"] = username or ""
            call_env["DAYTONA_GIT_PASSWORD"] = password or ""
        result = process.run(argv + args, self.user, cwd=cwd, env=call_env)
        # Scrubbed from messages: the password, or a username given alone (then often a token).
        result["secrets"] = [password] if password else [username] if username else []
        return result

    def check(self, result: Dict[str, Any], what: str) -> Dict[str, Any]:
        """Raise a 4xx carrying git's (scrubbed) message when the command failed."""
        if result["exitCode"] == 0:
            return result
        raw = (result["stderr"].strip() + "\n" + result["stdout"].strip()).strip() or "exit code %d" % result[
            "exitCode"
        ]
        raise git_error(what, scrub(raw, result.get("secrets") or []))

    def ok(self, args: List[str], cwd: str, what: str, **kwargs: Any) -> Dict[str, Any]:
        return self.check(self.run(args, cwd, **kwargs), what)


def repo_dir(user: OsUser, raw: Optional[str]) -> str:
    """The directory a repository command runs in: 404 when missing, 400 when not a directory."""
    path = resolve(user, raw)
    with as_user(user):
        try:
            st = os.stat(path)
        except OSError as exc:
            raise os_error(exc, path) from None
    if not stat.S_ISDIR(st.st_mode):
        raise HttpError(400, "not a directory: %s" % path)
    return path


def parse_status(output: str) -> Dict[str, Any]:
    """The GitStatus of `git status --porcelain=v2 --branch -z` output."""
    branch, published, ahead, behind, upstream = "", False, 0, 0, ""
    files: List[Dict[str, str]] = []
    records = output.split("\0")
    i = 0
    while i < len(records):
        record = records[i]
        i += 1
        if not record:
            continue
        if record.startswith("# "):
            key, _, value = record[2:].partition(" ")
            if key == "branch.head":
                branch = "HEAD" if value == "(detached)" else value
            elif key == "branch.upstream":
                upstream = value
            elif key == "branch.ab":
                published = True
                parts = value.split()
                ahead, behind = abs(int(parts[0])), abs(int(parts[1]))
            continue
        kind = record[0]
        if kind in "?!":
            name = STATUS_NAMES[kind]
            files.append({"name": record[2:], "staging": name, "worktree": name, "extra": ""})
        elif kind == "1":
            fields = record.split(" ", 8)
            files.append(_entry(fields[1], fields[8], ""))
        elif kind == "2":
            fields = record.split(" ", 9)
            original = records[i] if i < len(records) else ""
            i += 1  # a rename's original path follows as its own record
            files.append(_entry(fields[1], fields[9], original))
        elif kind == "u":
            fields = record.split(" ", 10)
            name = STATUS_NAMES["U"]
            files.append({"name": fields[10], "staging": name, "worktree": name, "extra": ""})
    return {
        "currentBranch": branch,
        "ahead": ahead,
        "behind": behind,
        "branchPublished": published,
        "detached": branch == "HEAD",
        "upstream": upstream,
        "fileStatus": files,
        # The name daytona_api_client 0.14.0's GitStatus model reads the list from.
        "FileStatus[]": files,
    }


def _entry(xy: str, name: str, extra: str) -> Dict[str, str]:
    return {
        "name": name,
        "staging": STATUS_NAMES.get(xy[0], xy[0]),
        "worktree": STATUS_NAMES.get(xy[1], xy[1]),
        "extra": extra,
    }


def parse_log(output: str) -> List[Dict[str, str]]:
    """GitCommitInfo entries of `git log -z --format=%H%x1f%an%x1f%ae%x1f%aI%x1f%B` output."""
    commits = []
    for record in output.split("\0"):
        fields = record.split("\x1f", 4)
        if len(fields) != 5:
            continue  # an empty trailing record
        commit, author, email, timestamp, message = fields
        commits.append(
            {"hash": commit, "author": author, "email": email, "timestamp": timestamp, "message": message.strip()}
        )
    return commits


def _str(body: Dict[str, Any], name: str, required: bool = False) -> Optional[str]:
    # For git an empty string is as good as absent.
    return str_field(body, name, required, empty_ok=False)


def _name_arg(value: Optional[str], what: str) -> str:
    """A branch, remote or commit name given to git: never something git could read as an option."""
    if not value:
        raise HttpError(400, "%s is required" % what)
    if value.startswith("-") or any(c in value for c in "\0\n"):
        raise HttpError(400, "invalid %s: %r" % (what, value))
    return value


def register(router: Router, user: OsUser) -> None:
    """Add the `/git/...` routes, running git as `user`."""
    git = Git(user)

    def done() -> Response:
        return Response(200, b"")

    def current_branch(path: str) -> str:
        result = git.run(["symbolic-ref", "--quiet", "--short", "HEAD"], path)
        if result["exitCode"] != 0:
            git.ok(["rev-parse", "--git-dir"], path, "git")  # not a repository: say so
            raise HttpError(400, "HEAD is detached in %s: name the branch" % path)
        return str(result["stdout"].strip())

    def fallback_identity(path: str) -> Dict[str, str]:
        """A committer for merge commits when the user configured none (git would refuse to merge)."""
        configured = git.run(["config", "user.email"], path)
        if configured["stdout"].strip():
            return {}
        name, email = user.name, "%s@%s" % (user.name, socket.gethostname() or "sandbox")
        return {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }

    @router.route("POST", "/git/clone")
    def clone(request: Request) -> Response:
        body = request.json()
        url = _name_arg(_str(body, "url", required=True), "url")
        path = resolve(user, _str(body, "path", required=True))
        branch, commit = _str(body, "branch"), _str(body, "commit_id") or _str(body, "commitId")
        args = ["clone"]
        if branch:
            args.append("--branch=" + _name_arg(branch, "branch"))
        depth = body.get("depth")
        if depth is not None:
            if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
                raise HttpError(400, "depth must be a positive integer")
            args.append("--depth=%d" % depth)
        if body.get("insecure_skip_tls") is True:  # kept in the clone's config: later pulls need it too
            args.append("--config=http.sslVerify=false")
        existed = os.path.lexists(path)
        git.ok([*args, "--quiet", "--", url, path], user.home, "git clone", username=_str(body, "username"),
               password=_str(body, "password"))  # fmt: skip
        if commit:
            result = git.run(["checkout", "--detach", _name_arg(commit, "commit_id")], path)
            if result["exitCode"] != 0:
                if not existed:
                    shutil.rmtree(path, ignore_errors=True)  # not left half-done: a retry can clone again
                git.check(result, "git checkout of commit %s" % commit)
        return done()

    @router.route("GET", "/git/status")
    def status(request: Request) -> Response:
        path = repo_dir(user, request.arg("path"))
        result = git.ok(["status", "--porcelain=v2", "--branch", "-z"], path, "git status")
        return Response(200, parse_status(result["stdout"]))

    @router.route("GET", "/git/branches")
    def branches(request: Request) -> Response:
        path = repo_dir(user, request.arg("path"))
        result = git.ok(["for-each-ref", "--format=%(refname:short)", "refs/heads/"], path, "git branch")
        head = git.run(["symbolic-ref", "--quiet", "--short", "HEAD"], path)
        current = head["stdout"].strip() if head["exitCode"] == 0 else ""  # empty when detached
        return Response(200, {"branches": [b for b in result["stdout"].splitlines() if b], "current": current})

    @router.route("POST", "/git/branches")
    def create_branch(request: Request) -> Response:
        body = request.json()
        path = repo_dir(user, _str(body, "path", required=True))
        name = _name_arg(_str(body, "name", required=True), "branch name")
        git.ok(["check-ref-format", "--branch", name], path, "git branch")
        git.ok(["checkout", "-b", name], path, "git checkout -b %s" % name)
        return done()

    @router.route("DELETE", "/git/branches")
    def delete_branch(request: Request) -> Response:
        body = request.json()
        path = repo_dir(user, _str(body, "path", required=True))
        name = _name_arg(_str(body, "name", required=True), "branch name")
        flag = "-D" if body.get("force") is True else "-d"
        git.ok(["branch", flag, name], path, "git branch %s %s" % (flag, name))
        return done()

    @router.route("POST", "/git/checkout")
    def checkout(request: Request) -> Response:
        body = request.json()
        path = repo_dir(user, _str(body, "path", required=True))
        target = _name_arg(_str(body, "branch", required=True), "branch")
        result = git.run(["switch", target], path)
        if result["exitCode"] != 0:
            message = result["stderr"]
            if "invalid reference" in message or "a branch is expected" in message:
                result = git.run(["switch", "--detach", target], path)  # a commit or tag
                if result["exitCode"] != 0 and "invalid reference" in result["stderr"]:
                    raise HttpError(404, "no branch or commit named %r in %s" % (target, path))
            git.check(result, "git checkout %s" % target)
        return done()

    @router.route("POST", "/git/add")
    def add(request: Request) -> Response:
        body = request.json()
        path = repo_dir(user, _str(body, "path", required=True))
        files = body.get("files")
        if not isinstance(files, list) or not files or not all(isinstance(f, str) and f for f in files):
            raise HttpError(400, 'files must be a non-empty list of paths (use ["."] for everything)')
        git.ok(["add", "--", *files], path, "git add")
        return done()

    @router.route("POST", "/git/commit")
    def commit(request: Request) -> Response:
        body = request.json()
        path = repo_dir(user, _str(body, "path", required=True))
        message = _str(body, "message", required=True)
        author = _str(body, "author", required=True)
        email = _str(body, "email", required=True)
        identity = {
            "GIT_AUTHOR_NAME": author or "",
            "GIT_AUTHOR_EMAIL": email or "",
            "GIT_COMMITTER_NAME": author or "",
            "GIT_COMMITTER_EMAIL": email or "",
        }
        args = ["commit", "--quiet", "--no-edit", "--message=" + (message or "")]
        if body.get("allow_empty") is True or body.get("allowEmpty") is True:
            args.append("--allow-empty")
        git.ok(args, path, "git commit", env=identity)
        result = git.ok(["rev-parse", "HEAD"], path, "git commit")
        return Response(200, {"hash": result["stdout"].strip()})

    @router.route("GET", "/git/history")
    def history(request: Request) -> Response:
        path = repo_dir(user, request.arg("path"))
        result = git.run(["log", "-z", "--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%B"], path)
        if result["exitCode"] != 0 and "does not have any commits yet" in result["stderr"]:
            return Response(200, [])
        git.check(result, "git log")
        return Response(200, parse_log(result["stdout"]))

    @router.route("GET", "/git/remotes")
    def remotes(request: Request) -> Response:
        path = repo_dir(user, request.arg("path"))
        result = git.ok(["remote", "-v"], path, "git remote")
        found: List[Dict[str, str]] = []
        for line in result["stdout"].splitlines():
            name, _, rest = line.partition("\t")
            if rest.endswith(" (fetch)"):
                found.append({"name": name, "url": scrub(rest[: -len(" (fetch)")], [])})
        # Today's SDK reads ListRemotesResponse, the project's own SDK a plain list.
        return Response(200, {"remotes": found} if wire.is_current(request.headers) else found)

    def sync_args(body: Dict[str, Any], path: str) -> Tuple[str, Optional[str]]:
        remote = _str(body, "remote")
        branch = _str(body, "branch")
        return (_name_arg(remote, "remote") if remote else ""), (_name_arg(branch, "branch") if branch else None)

    @router.route("POST", "/git/push")
    def push(request: Request) -> Response:
        body = request.json()
        path = repo_dir(user, _str(body, "path", required=True))
        remote, branch = sync_args(body, path)
        branch = branch or current_branch(path)
        if not remote:
            configured = git.run(["config", "--get", "branch.%s.remote" % branch], path)
            remote = configured["stdout"].strip() or "origin"
        git.ok(["push", "--set-upstream", remote, branch], path, "git push", username=_str(body, "username"),
               password=_str(body, "password"))  # fmt: skip
        return done()

    @router.route("POST", "/git/pull")
    def pull(request: Request) -> Response:
        body = request.json()
        path = repo_dir(user, _str(body, "path", required=True))
        remote, branch = sync_args(body, path)
        args = ["pull", "--no-rebase", "--no-edit"]
        if remote or branch:
            args += [remote or "origin", branch or current_branch(path)]
        env = fallback_identity(path)
        git.ok(args, path, "git pull", username=_str(body, "username"), password=_str(body, "password"), env=env)
        return done()
