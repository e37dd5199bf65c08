"""Entry point: `python3 -m daytona_agent --socket PATH --user NAME` (or `--await-identity`: a warm-pool sandbox)."""

from __future__ import annotations

import os
import signal
import sys

from . import children
from .app import build_router
from .http import serve
from .users import ensure_user

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    from .http import Router
    from .users import OsUser

ENTRYPOINT_LOG = "/var/log/daytona-entrypoint.log"
_VALUED = {"--socket": "socket", "--user": "user", "--entrypoint": "entrypoint"}


def start_entrypoint(command: str, user: OsUser) -> None:
    """Run the image's entrypoint in the background as the sandbox user; its output goes to a log."""
    import subprocess

    from .env_store import user_env

    with open(ENTRYPOINT_LOG, "ab") as log:
        os.chown(ENTRYPOINT_LOG, user.uid, user.gid)
        kwargs = {"user": user.uid, "group": user.gid, "extra_groups": user.groups} if user.uid else {}
        children.spawn(
            ["/bin/sh", "-c", command],
            cwd=user.home,
            env=user_env(user),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            **kwargs,
        )


def parse_args(argv: List[str]) -> Dict[str, Any]:
    """The options, read by hand when they are what the runtime passes (argparse costs start-up time
    and memory); anything else (--help, `--opt=value`, a mistake) goes to argparse, which knows best."""
    args: Dict[str, Any] = {"socket": None, "user": "daytona", "entrypoint": None, "await_identity": False}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--await-identity":
            args["await_identity"] = True
            i += 1
        elif arg in _VALUED and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            args[_VALUED[arg]] = argv[i + 1]
            i += 2
        else:
            return _argparse(argv)
    return args if args["socket"] is not None else _argparse(argv)


def _argparse(argv: List[str]) -> Dict[str, Any]:
    import argparse

    parser = argparse.ArgumentParser(prog="daytona-agent")
    parser.add_argument("--socket", required=True, help="unix socket to listen on")
    parser.add_argument("--user", default="daytona", help="OS user that toolbox processes run as")
    parser.add_argument("--entrypoint", default=None, help="command the image runs in the background at start")
    parser.add_argument(
        "--await-identity",
        action="store_true",
        help="a warm-pool sandbox: serve nothing but POST /identity until the server claims it (then as that sandbox)",
    )
    return vars(parser.parse_args(argv))


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)

    def on_term(signum: int, frame: Any) -> None:
        # As PID 1 nothing else would end the sandbox's processes gracefully: do it, then leave.
        children.kill_all_children()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    children.start_reaper()
    router: Optional[Router] = None
    if args["await_identity"]:
        from . import identity

        claimed = identity.load()
        if claimed is None:
            router = identity.awaiting(lambda given: become(given.user, given.entrypoint))
        else:  # a claimed pool sandbox, started again
            identity.apply(claimed)
            router = become(claimed.user, claimed.entrypoint)
    os.makedirs(os.path.dirname(args["socket"]), exist_ok=True)
    sys.stderr.write("daytona-agent: serving on %s\n" % args["socket"])
    sys.stderr.flush()
    serve(args["socket"], router or become(args["user"], args["entrypoint"]))


def become(user_name: str, entrypoint: Optional[str]) -> Router:
    """The toolbox of a sandbox whose processes run as `user_name`, its image's entrypoint started."""
    user = ensure_user(user_name)
    if entrypoint:
        start_entrypoint(entrypoint, user)
    return build_router(user)


if __name__ == "__main__":
    main()
