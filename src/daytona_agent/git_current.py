"""Git routes that today's toolbox adds to 0.14's: init, reset, restore, config, remotes, credentials.

    POST /git/init         {path, bare?, initial_branch?}
    POST /git/reset        {path, mode?, target?, files?}
    POST /git/restore      {path, files, staged?, worktree?, source?}
    GET  /git/config       ?key&scope&path -> {value}  (null when unset)
    POST /git/config       {key, value, scope?, path?}
    POST /git/config/user  {name, email, scope?, path?}
    POST /git/remotes      {path, name, url, fetch?, overwrite?}
    POST /git/credentials  {username, password, host?, protocol?}: kept by git's `store` helper

Scopes are global (the default, the user's ~/.gitconfig), local (the repository at `path`) or
system. Like the rest of git.py, git runs as the sandbox user and secrets never reach a message.
"""

from __future__ import annotations

import os

from . import process
from .git import Git, _name_arg, _str, git_error, repo_dir, scrub
from .http import HttpError, Request, Response, Router
from .userfs import as_user, os_error, resolve
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

RESET_MODES = ("soft", "mixed", "hard", "merge", "keep")
SCOPES = ("global", "local", "system")


def _flag(body: Dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise HttpError(400, "%s must be true or false" % name)
    return value


def _paths(body: Dict[str, Any], required: bool) -> List[str]:
    files = body.get("files")
    if files is None and not required:
        return []
    if not isinstance(files, list) or not all(isinstance(f, str) and f and "\0" not in f for f in files):
        raise HttpError(400, "files must be a list of paths")
    if required and not files:
        raise HttpError(400, 'files must name at least one path (use ["."] for everything)')
    return files


def _scope(user: OsUser, scope: Optional[str], path: Optional[str]) -> List[str]:
    """git config's scope option and, for `local`, the repository's directory (else the home)."""
    scope = scope or "global"
    if scope not in SCOPES:
        raise HttpError(400, "scope must be one of %s, got %r" % (", ".join(SCOPES), scope))
    if scope == "local":
        if not path:
            raise HttpError(400, "path (the repository) is required when scope is local")
        return ["--local", repo_dir(user, path)]
    return ["--" + scope, user.home]


def _config_key(value: Optional[str]) -> str:
    key = _name_arg(value, "key")
    if "." not in key or any(c.isspace() for c in key):
        raise HttpError(400, "key must be a git config name such as user.name, got %r" % key)
    return key


def register(router: Router, user: OsUser) -> None:
    """Add today's extra `/git/...` routes, running git as `user`."""
    git = Git(user)

    def done() -> Response:
        return Response(200, b"")

    @router.route("POST", "/git/init")
    def init(request: Request) -> Response:
        body = request.json()
        path = resolve(user, _str(body, "path", required=True))
        branch = _str(body, "initial_branch") or _str(body, "initialBranch")
        with as_user(user):
            try:
                os.makedirs(path, mode=0o755, exist_ok=True)
            except OSError as exc:
                raise os_error(exc, path) from None
        git.ok(["init", "--quiet", *(["--bare"] if _flag(body, "bare") else []), "--", path], path, "git init")
        if branch:  # works on every git version, bare or not, while the repository has no commits
            git.ok(["check-ref-format", "--branch", _name_arg(branch, "initial_branch")], path, "git init")
            git.ok(["symbolic-ref", "HEAD", "refs/heads/" + branch], path, "git init")
        return done()

    @router.route("POST", "/git/reset")
    def reset(request: Request) -> Response:
        body = request.json()
        path = repo_dir(user, _str(body, "path", required=True))
        mode, target, files = _str(body, "mode"), _str(body, "target"), _paths(body, required=False)
        if mode is not None and mode not in RESET_MODES:
            raise HttpError(400, "mode must be one of %s, got %r" % (", ".join(RESET_MODES), mode))
        if files and mode not in (None, "mixed"):
            raise HttpError(400, "a reset of given files leaves the working tree alone: mode must be mixed")
        args = ["reset", "--quiet"] + (["--" + mode] if mode and not files else [])
        args += [_name_arg(target, "target")] if target else []
        git.ok(args + (["--", *files] if files else []), path, "git reset")
        return done()

    @router.route("POST", "/git/restore")
    def restore(request: Request) -> Response:
        body = request.json()
        path = repo_dir(user, _str(body, "path", required=True))
        files = _paths(body, required=True)
        args = ["restore"]
        args += ["--staged"] if _flag(body, "staged") else []
        args += ["--worktree"] if _flag(body, "worktree") else []
        source = _str(body, "source")
        args += ["--source=" + _name_arg(source, "source")] if source else []
        git.ok([*args, "--", *files], path, "git restore")
        return done()

    @router.route("GET", "/git/config")
    def get_config(request: Request) -> Response:
        key = _config_key(request.arg("key"))
        option, cwd = _scope(user, request.arg("scope"), request.arg("path"))
        result = git.run(["config", option, "--get", key], cwd)
        if result["exitCode"] == 1 and not result["stderr"].strip():
            return Response(200, {"value": None})  # not set
        git.check(result, "git config")
        return Response(200, {"value": result["stdout"].rstrip("\n")})

    @router.route("POST", "/git/config")
    def set_config(request: Request) -> Response:
        body = request.json()
        key, value = _config_key(_str(body, "key", required=True)), body.get("value")
        if not isinstance(value, str) or "\0" in value:
            raise HttpError(400, "value must be a string")
        option, cwd = _scope(user, _str(body, "scope"), _str(body, "path"))
        git.ok(["config", option, key, value], cwd, "git config")
        return done()

    @router.route("POST", "/git/config/user")
    def configure_user(request: Request) -> Response:
        body = request.json()
        name, email = _str(body, "name", required=True), _str(body, "email", required=True)
        option, cwd = _scope(user, _str(body, "scope"), _str(body, "path"))
        git.ok(["config", option, "user.name", name or ""], cwd, "git config")
        git.ok(["config", option, "user.email", email or ""], cwd, "git config")
        return done()

    @router.route("POST", "/git/remotes")
    def add_remote(request: Request) -> Response:
        body = request.json()
        path = repo_dir(user, _str(body, "path", required=True))
        name = _name_arg(_str(body, "name", required=True), "remote name")
        url = _name_arg(_str(body, "url", required=True), "url")
        exists = git.run(["remote", "get-url", name], path)["exitCode"] == 0
        if exists and not _flag(body, "overwrite"):
            raise HttpError(409, "remote %s already exists in %s (set overwrite to replace it)" % (name, path))
        git.ok(["remote", "set-url" if exists else "add", name, url], path, "git remote")
        if _flag(body, "fetch"):
            git.ok(["fetch", "--quiet", name], path, "git fetch %s" % name)
        return done()

    @router.route("POST", "/git/credentials")
    def credentials(request: Request) -> Response:
        body = request.json()
        username, password = _str(body, "username", required=True), _str(body, "password", required=True)
        host, protocol = _str(body, "host") or "github.com", _str(body, "protocol") or "https"
        for field, value in (("username", username), ("password", password), ("host", host), ("protocol", protocol)):
            if value is None or any(c in value for c in "\0\n"):
                raise HttpError(400, "%s must be a single line" % field)
        git.ok(["config", "--global", "credential.helper", "store"], user.home, "git config")
        text = "protocol=%s\nhost=%s\nusername=%s\npassword=%s\n\n" % (protocol, host, username, password)
        result = process.run(["git", "credential", "approve"], user, cwd=user.home, stdin=text.encode())
        if result["exitCode"] != 0:
            message = scrub(result["stderr"].strip() or "exit code %d" % result["exitCode"], [password or ""])
            raise git_error("git credential approve", message)
        return done()
