"""A warm-pool sandbox's identity: the sandbox it becomes, given once by the server (`POST /identity`).

A pool sandbox starts with `--await-identity`. Until the server claims it, its agent answers only
`GET /health` and `POST /identity`: no process of any user runs in it. The claim names the
sandbox's id, OS user, environment and the image's entrypoint; the agent takes them, keeps them in a
root-owned file (so that every later start of the same container comes up as that sandbox at once)
and serves the whole toolbox from then on.

The file names the container it was written in (its hostname when the claim came, the pool
member's, which Docker gives the container again at every start): a snapshot or fork of a claimed
sandbox carries the file in its file system, and a pool member made from that snapshot must not
take the identity of the sandbox it was copied from.
"""

from __future__ import annotations

import collections
import json
import os
import re
import socket

from .http import HttpError, Request, Response, Router

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, NamedTuple, Optional

IDENTITY_FILE = os.environ.get("DAYTONA_AGENT_IDENTITY_FILE", "/var/lib/daytona/identity.json")
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


if TYPE_CHECKING:

    class Identity(NamedTuple):
        sandbox_id: str
        user: str
        env: Dict[str, str]
        entrypoint: Optional[str]

else:  # the same, without importing typing at run time
    Identity = collections.namedtuple("Identity", "sandbox_id user env entrypoint")


def parse(data: object) -> Identity:
    """An identity from its JSON form, checked (HttpError 400 otherwise)."""
    if not isinstance(data, dict):
        raise HttpError(400, "identity must be a JSON object")
    sandbox_id, user, env = data.get("sandboxId"), data.get("user"), data.get("env") or {}
    entrypoint = data.get("entrypoint") or None
    if not isinstance(sandbox_id, str) or not sandbox_id:
        raise HttpError(400, "sandboxId is required")
    if not isinstance(user, str) or not _USER_NAME.match(user):
        raise HttpError(400, "user must be a valid OS user name")
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise HttpError(400, "env must map names to strings")
    if entrypoint is not None and not isinstance(entrypoint, str):
        raise HttpError(400, "entrypoint must be a string")
    return Identity(sandbox_id, user, dict(env), entrypoint)


def load(path: Optional[str] = None) -> Optional[Identity]:
    """The identity this container was given at its claim, if this container was claimed."""
    try:
        with open(path or IDENTITY_FILE) as fh:
            data = json.load(fh)
        if not isinstance(data, dict) or data.get("claimedOn") != socket.gethostname():
            return None  # unclaimed, or copied from another container
        return parse(data)
    except (OSError, ValueError, HttpError):
        return None


def save(identity: Identity, path: Optional[str] = None) -> None:
    path = path or IDENTITY_FILE
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)  # shared with sessions; the file is 0600
    data = {"sandboxId": identity.sandbox_id, "user": identity.user, "env": identity.env}
    data["claimedOn"] = socket.gethostname()
    if identity.entrypoint:
        data["entrypoint"] = identity.entrypoint
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def apply(identity: Identity) -> None:
    """Make the agent's own environment the sandbox's: every process it starts inherits it."""
    os.environ.update(identity.env)
    os.environ["DAYTONA_SANDBOX_ID"] = identity.sandbox_id
    os.environ["HOSTNAME"] = identity.sandbox_id[:63]


# What the first request of a claimed sandbox needs (nearly always an exec), imported while the
# member waits: its cost is then off the path of the create that claims it.
WARM_MODULES = ("process",)


def _warm_up() -> None:
    import importlib

    for name in WARM_MODULES:
        importlib.import_module("." + name, __package__)


def awaiting(become: Callable[[Identity], Router]) -> Router:
    """The router of an unclaimed pool sandbox; `POST /identity` replaces its routes with `become`'s."""
    import threading

    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    router = Router()

    @router.route("GET", "/health")
    def health(request: Request) -> Response:
        return Response(200, {"status": "ok", "pid": os.getpid(), "awaitingIdentity": True})

    @router.route("POST", "/identity")
    def claim(request: Request) -> Response:
        identity = parse(request.json())
        save(identity)  # before the server gives the container the sandbox's hostname
        apply(identity)
        router.adopt(become(identity))  # /identity is gone from now on
        return Response(200, {"sandboxId": identity.sandbox_id, "user": identity.user})

    return router
