"""Round trip of the stateful interpreter next to one-shot python runs, measured in the same run.

One warm sandbox of ours and one warm container of the same image (`sleep infinity`); N runs each
after one uncounted warm-up, the cases interleaved run by run:
  interpreter x+1            code_interpreter.run_code("x+1") in the warm default context
  interpreter print(1+1)     code_interpreter.run_code("print(1+1)"): one output message too
  new context + first run    create_context(), run_code("x = 1"), delete_context()
  code_run python            process.code_run("print(1+1)"): a new python3 process per run
  docker exec (Docker SDK)   container.exec_run(["python3", "-c", "print(1+1)"])
Prints median, p95 and min in milliseconds.

Run: `.venv/bin/python bench/interpreter.py --runs 50` (starts its own server), or with
`--server-url URL --api-key KEY` / `--external` against a running one.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import docker
from create_exec import DOCKER_LABEL, bench_client, parse_bench_args, timed

from daytona_sdk import Daytona, Workspace


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise RuntimeError(f"unexpected result of {what}")


def cases(ws: Workspace, container: object) -> list[tuple[str, Callable[[], object]]]:
    ci = ws.code_interpreter
    ci.run_code("x = 1")

    def plus_one() -> None:
        result = ci.run_code("x+1")
        expect(result.error is None and result.stdout == "", "run_code('x+1')")

    def printed() -> None:
        expect(ci.run_code("print(1+1)").stdout == "2\n", "run_code('print(1+1)')")

    def new_context() -> None:
        context = ci.create_context()
        expect(ci.run_code("x = 1", context=context).error is None, "first run in a new context")
        ci.delete_context(context)

    def code_run() -> None:
        expect(ws.process.code_run("print(1+1)").result.strip() == "2", "code_run")

    def docker_exec() -> None:
        code, output = container.exec_run(["python3", "-c", "print(1+1)"])  # type: ignore[attr-defined]
        expect(code == 0 and output.strip() == b"2", "docker exec")

    return [
        ("interpreter x+1", plus_one),
        ("interpreter print(1+1)", printed),
        ("new context + first run", new_context),
        ("code_run python", code_run),
        ("docker exec (Docker SDK)", docker_exec),
    ]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def run_bench(daytona: Daytona, image: str, runs: int) -> list[tuple[str, list[float]]]:
    client = docker.from_env()
    container = client.containers.run(
        image, ["sleep", "infinity"], detach=True, network_mode="none", labels={DOCKER_LABEL.split("=")[0]: "interp"}
    )
    ws = daytona.create()
    try:
        measured = cases(ws, container)
        for _, fn in measured:
            fn()  # warm-up, not counted
        times: dict[str, list[float]] = {name: [] for name, _ in measured}
        print(f"measuring {len(measured)} cases x {runs} runs ...", file=sys.stderr, flush=True)
        for _ in range(runs):
            for name, fn in measured:
                times[name].append(timed(fn))
        return [(name, times[name]) for name, _ in measured]
    finally:
        daytona.remove(ws)
        container.remove(force=True)


def print_results(results: list[tuple[str, list[float]]], runs: int) -> None:
    rows = [["measurement", "median", "p95", "min"]]
    for name, values in results:
        rows.append([name, *(f"{v:.1f}" for v in (statistics.median(values), p95(values), min(values)))])
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    cells = [
        [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))] for row in rows
    ]
    lines = [" | ".join(row) for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    print(f"\nmilliseconds, {runs} runs each")
    print("\n".join(lines))


def main() -> None:
    args = parse_bench_args(__doc__)
    started = time.monotonic()
    with bench_client(args) as daytona:
        results = run_bench(daytona, args.image, args.runs)
    print_results(results, args.runs)
    print(f"(whole run: {time.monotonic() - started:.0f}s)")


if __name__ == "__main__":
    main()
