"""Entry point: `python3 -m daytona_agent --socket PATH --user NAME`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, List, Optional

from . import children
from .app import build_router
from .http import serve
from .users import ensure_user


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="daytona-agent")
    parser.add_argument("--socket", required=True, help="unix socket to listen on")
    parser.add_argument("--user", default="daytona", help="OS user that toolbox processes run as")
    args = parser.parse_args(argv)

    def on_term(signum: int, frame: Any) -> None:
        # As PID 1 nothing else would end the sandbox's processes gracefully: do it, then leave.
        children.kill_all_children()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    children.start_reaper()
    user = ensure_user(args.user)
    os.makedirs(os.path.dirname(args.socket), exist_ok=True)
    sys.stderr.write("daytona-agent: serving on %s as user %s\n" % (args.socket, user.name))
    sys.stderr.flush()
    serve(args.socket, build_router(user))


if __name__ == "__main__":
    main()
