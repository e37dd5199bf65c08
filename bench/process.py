"""Latency of process operations (exec, code_run, sessions, streaming) next to `docker exec`.

One warm sandbox of ours and one warm container of the same image (`sleep infinity`), measured N
times each after one uncounted warm-up, ours and Docker interleaved run by run:
  exec round trip            process.exec("true")                    vs docker exec ID true
  exec streamed              exec("true", on_stdout=...)  (NDJSON)    vs docker exec ID true
  code_run python            code_run("print(1)")                    vs docker exec ID python3 -c 'print(1)'
  code_run javascript        code_run("console.log(1)")               vs docker exec ID node -e 'console.log(1)'
  code_run typescript        code_run("const n: number = 1; ...")     vs docker exec ID ts-node --transpile-only ... -e
  session command (sync)     execute_session_command(id, "true")      vs docker exec ID true
  session async + follow     run_async, then follow its log to end    vs docker exec ID sh -c 'echo 1'
Docker is driven through its CLI, as a user would. Prints median, p90 and min in milliseconds.

Run: `.venv/bin/python bench/process.py --runs 20` (starts its own server), or with
`--server-url URL --api-key KEY` / `--external` against a running one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from create_exec import bench_client, docker, docker_run, measure, parse_bench_args, print_table, timed

from daytona_sdk import CreateWorkspaceParams, Daytona, SessionExecuteRequest, Workspace

TS_CODE = "const n: number = 1; console.log(n)"


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise RuntimeError(f"unexpected result of {what}")


def ours_cases(py: Workspace, js: Workspace, ts: Workspace) -> list[tuple[str, Callable[[], object]]]:
    py.process.create_session("bench")

    def exec_plain() -> None:
        expect(py.process.exec("true").exit_code == 0, "exec")

    def exec_streamed() -> None:
        expect(py.process.exec("true", on_stdout=lambda _: None).exit_code == 0, "streamed exec")

    def code(ws: Workspace, source: str) -> Callable[[], None]:
        def run() -> None:
            r = ws.process.code_run(source)
            expect(r.exit_code == 0 and r.result.strip() == "1", f"code_run {source!r}: {r.result!r}")

        return run

    def session_sync() -> None:
        expect(py.process.execute_session_command("bench", "true").exit_code == 0, "session command")

    def session_follow() -> None:
        started = py.process.execute_session_command("bench", SessionExecuteRequest(command="echo 1", run_async=True))
        text = "".join(c.data for c in py.process.stream_session_command_logs("bench", started.cmd_id))
        expect(text == "1\n", "followed log")

    return [
        ("exec round trip", exec_plain),
        ("exec streamed (callbacks)", exec_streamed),
        ("code_run python", code(py, "print(1)")),
        ("code_run javascript", code(js, "console.log(1)")),
        ("code_run typescript", code(ts, TS_CODE)),
        ("session command (sync)", session_sync),
        ("session async + follow to end", session_follow),
    ]


def docker_cases(cid: str) -> dict[str, tuple[str, ...]]:
    true = ("exec", cid, "true")
    return {
        "exec round trip": true,
        "exec streamed (callbacks)": true,
        "code_run python": ("exec", cid, "python3", "-c", "print(1)"),
        "code_run javascript": ("exec", cid, "node", "-e", "console.log(1)"),
        "code_run typescript": (
            "exec",
            cid,
            "ts-node",
            "--transpile-only",
            "-O",
            '{"module":"CommonJS"}',
            "-e",
            TS_CODE,
        ),
        "session command (sync)": true,
        "session async + follow to end": ("exec", cid, "sh", "-c", "echo 1"),
    }


def run_bench(daytona: Daytona, image: str, runs: int) -> list[tuple[str, list[float], list[float]]]:
    py = daytona.create()
    js = daytona.create(CreateWorkspaceParams(language="javascript"))
    ts = daytona.create(CreateWorkspaceParams(language="typescript"))
    cid = docker_run(image)
    results = []
    try:
        theirs = docker_cases(cid)
        for name, fn in ours_cases(py, js, ts):
            args = theirs[name]
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            results.append(
                (name, *measure(runs, lambda fn=fn: timed(fn), lambda args=args: timed(lambda: docker(*args))))
            )
    finally:
        for ws in (py, js, ts):
            daytona.remove(ws)
        docker("rm", "-f", cid)
    return results


def main() -> None:
    args = parse_bench_args(__doc__)
    started = time.monotonic()
    with bench_client(args) as daytona:
        results = run_bench(daytona, args.image, args.runs)
    print_table(results, args.runs)
    print(f"(whole run: {time.monotonic() - started:.0f}s)")


if __name__ == "__main__":
    main()
