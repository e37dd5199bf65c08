"""`make security-report`: run the escape matrix against a fresh server and print it as a table.

    python -m tests.security.report [--no-resources]

Starts its own server (as the tests do: sandboxes without networking), creates the sandboxes,
runs every probe of tests/security/probes.py for both users, and prints probe, user, expected,
observed and the verdict (PASS, FAIL, or HOLE for a known hole). Exit status 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import docker

from daytona_sdk import Daytona, Workspace
from tests.support.server import start_server, stop_server

from .lab import create_matrix_sandbox, create_neighbour, create_resource_sandbox
from .probes import (
    PROBES,
    RESOURCE_PROBES,
    SYMLINK_EXPECTED,
    USERS,
    agent_socket_symlink,
    answers,
    run_probe,
)

Row = tuple[str, str, str, str, str]


def verdict(expected: str, observed: str, hole: str | None) -> str:
    if observed in expected.split(" | "):
        return "PASS" if hole is None else "FIXED?"
    return "HOLE" if hole is not None else "FAIL"


def run_matrix(
    daytona: Daytona, client: docker.DockerClient, server_url: str, api_key: str, resources: bool
) -> list[Row]:
    rows: list[Row] = []
    created: list[Workspace] = []
    try:
        neighbour, env = create_neighbour(daytona)
        created.append(neighbour)
        for user in USERS:
            workspace = create_matrix_sandbox(daytona, client, user)
            created.append(workspace)
            for probe in PROBES:
                observed, _ = run_probe(workspace, probe, env)
                hole = probe.holes.get(user)
                rows.append(
                    (probe.name, user, probe.expected[user], observed, verdict(probe.expected[user], observed, hole))
                )
                print(".", end="", file=sys.stderr, flush=True)
        victim = create_matrix_sandbox(daytona, client, "root")
        created.append(victim)
        observed = agent_socket_symlink(victim, server_url, api_key)
        rows.append(
            (
                "agent_socket_symlink",
                "root",
                SYMLINK_EXPECTED,
                observed,
                verdict(SYMLINK_EXPECTED, observed, None),
            )
        )
        if resources:
            for user in USERS:
                target = create_resource_sandbox(daytona, user)
                created.append(target)
                for resource in RESOURCE_PROBES:
                    observed = resource.run(target, neighbour)
                    hole = resource.holes.get(user)
                    expected = resource.expected[user]
                    rows.append((resource.name, user, expected, observed, verdict(expected, observed, hole)))
                    print("+", end="", file=sys.stderr, flush=True)
        neighbour_ok = answers(neighbour)
        rows.append(
            ("neighbour_answers", "daytona", "True", str(neighbour_ok), verdict("True", str(neighbour_ok), None))
        )
    finally:
        print(file=sys.stderr)
        for workspace in created:
            try:
                daytona.remove(workspace)
            except Exception as exc:  # report, keep cleaning up
                print(f"warning: could not remove {workspace.id}: {exc}", file=sys.stderr)
    return rows


def print_table(rows: list[Row]) -> None:
    header = ("probe", "user", "expected", "observed", "verdict")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(5)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="security-report", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--no-resources", action="store_true", help="skip the fork bomb, memory, disk and output probes"
    )
    args = parser.parse_args(argv)
    client = docker.from_env()
    tmp = Path(tempfile.mkdtemp(prefix="daytona-security-"))
    started = time.monotonic()
    server = start_server(tmp / "data", "dtn_security_" + secrets.token_hex(16))
    try:
        with Daytona(server.config()) as daytona:
            rows = run_matrix(daytona, client, server.url, server.api_key, not args.no_resources)
    finally:
        stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(rows)
    counts = {v: sum(1 for r in rows if r[4] == v) for v in ("PASS", "FAIL", "HOLE", "FIXED?")}
    print(
        f"\n{len(rows)} checks in {time.monotonic() - started:.0f}s: "
        + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    )
    return 1 if counts["FAIL"] or counts["FIXED?"] else 0


if __name__ == "__main__":
    sys.exit(main())
