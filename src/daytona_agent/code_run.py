"""`POST /process/code-run`: run a snippet of python, javascript or typescript as the sandbox user.

0.14 sends `{code, language, argv, env, input, timeout}` and reads `{exitCode, result}` (plus our
stdout/stderr). Today's SDK sends `envs` and reads `{exitCode, result, artifacts: {charts}}`, the
charts being the matplotlib figures a python snippet showed (see code_charts.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from . import code_charts, wire
from .env_store import user_env
from .http import HttpError, Request, Response, Router, str_field
from .process import (
    _parse_timeout,
    _wants_stream,
    check_timeout,
    request_env,
    run,
    start,
    streamed,
    then_remove,
)
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List

# How each language's code is run from a file; argv follows the file name.
RUNNERS = {
    "python": (".py", ["python3", "-u"]),
    "javascript": (".js", ["node"]),
    "typescript": (".ts", ["ts-node", "--transpile-only", "-O", '{"module":"CommonJS"}']),
}


def _argv(body: Dict[str, Any]) -> List[str]:
    argv = body.get("argv") or []
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise HttpError(400, "argv must be a list of strings")
    return argv


def register(router: Router, user: OsUser) -> None:
    """`POST /process/code-run`."""
    router.route("POST", "/process/code-run")(handler(user))


def handler(user: OsUser) -> Any:
    def handle(request: Request) -> Response:
        body = request.json()
        language = str_field(body, "language") or "python"
        if language not in RUNNERS:
            raise HttpError(400, "unsupported language %r: use one of %s" % (language, ", ".join(RUNNERS)))
        code = str_field(body, "code", required=True)
        argv = _argv(body)
        stdin = str_field(body, "input")
        cwd, env, timeout = str_field(body, "cwd"), request_env(body), _parse_timeout(body.get("timeout"))
        suffix, runner = RUNNERS[language]
        if shutil.which(runner[0], path=user_env(user, env).get("PATH")) is None:
            raise HttpError(400, "%s is not installed in this sandbox's image (%s)" % (runner[0], language))
        current = wire.is_current(request.headers)
        # The file lives in a private directory readable only by the user running it.
        tmpdir = tempfile.mkdtemp(prefix="daytona-code-")
        try:
            path = os.path.join(tmpdir, "main" + suffix)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(code or "")
            charts = current and language == "python" and not _wants_stream(request)
            if charts:
                env = code_charts.prepare(tmpdir, env, user_env(user, env).get("PYTHONPATH"))
            if os.getuid() == 0:
                for name in [tmpdir, *(os.path.join(tmpdir, n) for n in os.listdir(tmpdir))]:
                    os.chown(name, user.uid, user.gid)
            data = stdin.encode() if stdin is not None else None
            if _wants_stream(request):
                # The code file must outlive the handler: the stream removes it when the run ends.
                response = streamed(start([*runner, path, *argv], user, cwd, env, data is not None), timeout, data)
                response.stream = then_remove(response.stream or [], tmpdir)
                tmpdir = ""
                return response
            result = run([*runner, path, *argv], user, cwd=cwd, env=env, timeout=timeout, stdin=data)
            check_timeout(request, result, timeout)
            if current:
                result["artifacts"] = {"charts": code_charts.collect(tmpdir) if charts else []}
        finally:
            if tmpdir:
                shutil.rmtree(tmpdir, ignore_errors=True)
        return Response(200, result)

    return handle
