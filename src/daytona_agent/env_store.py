"""`POST /env`: environment changes that every process the agent starts later inherits.

Today's SDK (`sandbox.update_env(env, unset=...)`) sends `{set, unset, unsetValuePrefix}`. The
changes apply to commands, code runs, git and new session shells started afterwards (running ones
keep their environment), and they are kept in a root-owned file so that they survive a sandbox
stop and start, as the rest of the sandbox's state does. `user_env` is what those processes get.
"""

from __future__ import annotations

import json
import os
import sys
import threading

from .http import HttpError, Request, Response, Router

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    from .users import OsUser

ENV_FILE = os.environ.get("DAYTONA_AGENT_ENV_FILE", "/var/lib/daytona/env.json")
RESERVED_PREFIX = "DAYTONA_AGENT_"


class EnvOverrides:
    """Names set (to a value) or unset (None) on top of the agent's own environment."""

    def __init__(self, path: str = ENV_FILE) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._changes: Optional[Dict[str, Optional[str]]] = None  # loaded on first use

    def _load(self) -> Dict[str, Optional[str]]:
        if self._changes is None:
            changes: Dict[str, Optional[str]] = {}
            try:
                with open(self.path) as fh:
                    data = json.load(fh)
                if isinstance(data, dict):
                    changes = {str(k): v if isinstance(v, str) else None for k, v in data.items()}
            except (OSError, ValueError):
                pass
            self._changes = changes
        return self._changes

    def apply(self, env: Dict[str, str]) -> Dict[str, str]:
        """`env` with the stored changes made (in place; also returned)."""
        with self._lock:
            for name, value in self._load().items():
                if value is None:
                    env.pop(name, None)
                else:
                    env[name] = value
        return env

    def update(
        self, base: Dict[str, str], set_: Dict[str, str], unset: List[str], unset_value_prefix: Optional[str]
    ) -> None:
        """Unset `unset`, then every variable of `base` (with the changes so far) whose value starts
        with `unset_value_prefix` and is not in `set_`, then set `set_`; persist the result."""
        with self._lock:
            changes = dict(self._load())
            for name in unset:
                changes[name] = None
            if unset_value_prefix:
                current = dict(base)
                for name, value in changes.items():
                    if value is None:
                        current.pop(name, None)
                    else:
                        current[name] = value
                for name, value in current.items():
                    if value.startswith(unset_value_prefix) and name not in set_:
                        changes[name] = None
            changes.update(set_)
            self._save(changes)
            self._changes = changes

    def _save(self, changes: Dict[str, Optional[str]]) -> None:
        directory = os.path.dirname(self.path) or "."
        tmp = self.path + ".tmp"
        try:
            os.makedirs(directory, mode=0o755, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(changes, fh)
            os.replace(tmp, self.path)
        except OSError as exc:  # still applied for this run of the agent
            sys.stderr.write("daytona-agent: cannot save the environment changes: %s\n" % exc)


_store = EnvOverrides()


def current() -> EnvOverrides:
    return _store


def install(store: EnvOverrides) -> None:
    """Use `store` from now on (tests; a store per agent)."""
    global _store
    _store = store


def user_env(user: OsUser, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of the user's processes: the agent's, the user's identity, `POST /env`'s
    changes, then `extra` (the request's own)."""
    env = current().apply(base_env(user))
    if extra:
        env.update(extra)
    return env


def base_env(user: OsUser) -> Dict[str, str]:
    """The agent's environment (less its own settings) with the user's identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(RESERVED_PREFIX)}
    env.update(
        {
            "HOME": user.home,
            "USER": user.name,
            "LOGNAME": user.name,
            "SHELL": user.shell,
        }
    )
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    return env


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or "=" in value or "\0" in value:
        raise HttpError(400, "%s: invalid environment variable name %r" % (field, value))
    if value.startswith(RESERVED_PREFIX):
        raise HttpError(400, "%s: %s... variables belong to the agent" % (field, RESERVED_PREFIX))
    return value


def parse_update(body: Dict[str, Any]) -> Any:
    """(set, unset, unsetValuePrefix) of an UpdateEnvRequest, checked."""
    raw_set, raw_unset, prefix = body.get("set"), body.get("unset"), body.get("unsetValuePrefix")
    if raw_set is None and raw_unset is None and prefix is None:
        raise HttpError(400, "nothing to change: give set, unset or unsetValuePrefix")
    if raw_set is not None and not isinstance(raw_set, dict):
        raise HttpError(400, "set must be an object of string values")
    if raw_unset is not None and not isinstance(raw_unset, list):
        raise HttpError(400, "unset must be a list of variable names")
    if prefix is not None and (not isinstance(prefix, str) or not prefix):
        raise HttpError(400, "unsetValuePrefix must be a non-empty string")
    set_: Dict[str, str] = {}
    for key, value in (raw_set or {}).items():
        if not isinstance(value, str) or "\0" in value:
            raise HttpError(400, "set.%s must be a string without NUL characters" % key)
        set_[_name(key, "set")] = value
    unset = [_name(name, "unset") for name in raw_unset or []]
    return set_, unset, prefix


def register(router: Router, user: OsUser) -> None:
    """`POST /env`; unsetValuePrefix looks at the user's `base_env`."""

    @router.route("POST", "/env")
    def update_env(request: Request) -> Response:
        set_, unset, prefix = parse_update(request.json())
        current().update(base_env(user), set_, unset, prefix)
        return Response(200, {"message": "environment updated: %d set, %d unset" % (len(set_), len(unset))})
