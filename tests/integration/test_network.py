"""Sandbox networking end to end: the bridge, the egress policies, DNS, the domain proxy and the audit counts.

A server of its own with networking on, and test hosts this module makes (tests/support/nethosts.py):
every probe goes to loopback or to those, never anywhere else. A probe is blocked when the connection
fails fast (refused, unreachable); a probe that times out would be a hang and fails the test.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from daytona_sdk import CreateWorkspaceParams, Daytona
from daytona_server.config import Settings
from daytona_server.network.dns import NOERROR, NXDOMAIN, answer, parse_question
from daytona_server.network.manager import remove_network
from daytona_server.runner.networks import BridgeNetworks
from tests.support.nethosts import CLASSES, HOST_SIDE, IPV6, PUBLIC, PUBLIC_2, TestHosts
from tests.support.server import ROOT, RunningServer, run_current_sdk, start_server, stop_server

pytestmark = pytest.mark.integration

PROBE = r"""
import errno, json, socket, sys
out = {}
for name, host, port in json.loads(sys.argv[1]):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(4)
    try:
        s.connect((host, port))
        s.sendall(b"GET / HTTP/1.0\r\nHost: probe\r\n\r\n")
        data = b""
        while len(data) < 2000 and (chunk := s.recv(2000)):
            data += chunk
        out[name] = "open: " + data.decode(errors="replace").split("\r\n\r\n", 1)[-1]
    except socket.timeout:
        out[name] = "timeout"
    except OSError as exc:
        out[name] = "blocked: " + errno.errorcode.get(exc.errno or 0, str(exc))
    finally:
        s.close()
print(json.dumps(out))
"""
UPSTREAM_NAME = "upstream.test"  # answered by the fake upstream resolver below, not by the server's table


class FakeUpstream:
    """A DNS server on loopback that the server forwards to: knows upstream.test only."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.queries: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        deadline = time.monotonic() + 3600
        while self.sock.fileno() >= 0 and time.monotonic() < deadline:
            try:
                query, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            _, name, _, _ = parse_question(query)
            self.queries.append(name)
            found = [ipaddress.IPv4Address(PUBLIC_2)] if name == UPSTREAM_NAME else []
            self.sock.sendto(answer(query, NOERROR if found else NXDOMAIN, found), addr)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def hosts() -> Iterator[TestHosts]:
    workdir = Path(tempfile.mkdtemp(prefix="daytona-nethosts-"))
    made = TestHosts.create(workdir)
    yield made
    made.close()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def net_server(hosts: TestHosts, docker_client: docker.DockerClient) -> Iterator[RunningServer]:
    upstream = FakeUpstream()
    tmp = Path(tempfile.mkdtemp(prefix="daytona-net-"))
    table = f"allowed.test={PUBLIC},other.test={PUBLIC},api.wild.test={PUBLIC},rebind.test={CLASSES['private 10/8']}"
    env = {
        "DAYTONA_NETWORK": "on",
        "DAYTONA_NETWORK_DNS": f"127.0.0.1:{upstream.port}",
        "DAYTONA_NETWORK_HOSTS": table,
        # A warm pool: most sandboxes here are members that take their policy at the claim.
        "DAYTONA_POOL_SIZE": "2",
    }
    running = start_server(tmp / "data", "dtn_net_" + secrets.token_hex(16), env=env)
    try:
        yield running
    finally:
        try:
            with httpx.Client(base_url=running.url, headers=_auth(running)) as api:
                for sandbox in api.get("/sandbox").json()["items"]:
                    api.delete(f"/sandbox/{sandbox['id']}")
        finally:
            stop_server(running)
            remove_network(Settings(data_dir=tmp / "data"), BridgeNetworks(docker_client, str))
            upstream.close()
            shutil.rmtree(tmp, ignore_errors=True)


def _auth(server: RunningServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}"}


@pytest.fixture(scope="module")
def api(net_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=net_server.url, headers=_auth(net_server), timeout=120) as client:
        yield client


def create(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post("/sandbox", json=body)
    assert response.status_code == 200, response.text
    sandbox = response.json()
    deadline = time.monotonic() + 120
    while sandbox["state"] != "started" and time.monotonic() < deadline:
        assert sandbox["state"] in ("creating", "starting"), sandbox
        time.sleep(0.2)
        sandbox = api.get(f"/sandbox/{sandbox['id']}").json()
    assert sandbox["state"] == "started", sandbox
    return sandbox


def run(api: httpx.Client, sandbox_id: str, command: str) -> tuple[int, str]:
    response = api.post(f"/toolbox/{sandbox_id}/toolbox/process/execute", json={"command": command, "timeout": 60})
    assert response.status_code == 200, response.text
    return response.json()["exitCode"], response.json()["result"]


def probe(api: httpx.Client, sandbox_id: str, targets: dict[str, tuple[str, int]]) -> dict[str, str]:
    argv = json.dumps([[name, host, port] for name, (host, port) in targets.items()])
    command = "python3 -c " + _quote(PROBE) + " " + _quote(argv)
    code, out = run(api, sandbox_id, command)
    assert code == 0, out
    results: dict[str, str] = json.loads(out.strip().splitlines()[-1])
    hung = [name for name, result in results.items() if result == "timeout"]
    assert not hung, f"blocked attempts must fail fast, these hung: {hung}"
    return results


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def ip_of(api: httpx.Client, sandbox_id: str) -> str:
    # A UDP "connect" sends nothing: it only picks the source address.
    script = f"import socket; s = socket.socket(2, 2); s.connect(('{PUBLIC}', 9)); print(s.getsockname()[0])"
    code, out = run(api, sandbox_id, "python3 -c " + _quote(script))
    assert code == 0, out
    return out.strip()


def refused(api: httpx.Client, sandbox_id: str) -> int:
    return int(api.get(f"/sandbox/{sandbox_id}").json()["networkRefusedCount"])


def interfaces(api: httpx.Client, sandbox_id: str) -> list[str]:
    code, out = run(api, sandbox_id, "cat /proc/net/dev")
    assert code == 0, out
    return sorted(line.split(":")[0].strip() for line in out.splitlines()[2:] if ":" in line)


def gateway(api: httpx.Client) -> str:
    subnet = api.get("/health").json()["network"]["subnet"]
    return str(next(ipaddress.IPv4Network(subnet).hosts()))


# -- the default policy ------------------------------------------------------------------------------


def test_default_egress_reaches_the_public_test_host_and_nothing_that_is_blocked(
    api: httpx.Client, hosts: TestHosts
) -> None:
    other = create(api)
    run(api, other["id"], "sh -c 'nohup python3 -m http.server 8080 >/dev/null 2>&1 &'")
    other_ip = ip_of(api, other["id"])
    deadline = time.monotonic() + 20
    while probe(api, other["id"], {"self": ("127.0.0.1", 8080)})["self"].startswith("blocked"):
        assert time.monotonic() < deadline, "the other sandbox's server did not come up"
        time.sleep(0.2)

    sandbox = create(api)
    assert sandbox["networkBlockAll"] is False and sandbox["networkAllowList"] is None
    before = refused(api, sandbox["id"])
    targets = {
        "public 198.51.100.2": (PUBLIC, 80),
        "public 203.0.113.2": (PUBLIC_2, 80),
        **{name: (address, 80) for name, address in CLASSES.items()},
        "the host (its veth address)": (HOST_SIDE, hosts.host_port),
        "the host (the bridge gateway)": (gateway(api), hosts.host_port),
        "another sandbox": (other_ip, 8080),
        "IPv6 ULA fd77::2": (IPV6, 80),
    }
    results = probe(api, sandbox["id"], targets)
    print("\n".join(f"{name:32} {result}" for name, result in results.items()))
    assert results["public 198.51.100.2"] == f"open: hello from {PUBLIC} host=probe"
    assert results["public 203.0.113.2"] == f"open: hello from {PUBLIC_2} host=probe"
    blocked = {name: result for name, result in results.items() if not name.startswith("public")}
    assert all(r.startswith("blocked") for r in blocked.values()), blocked
    # Every IPv4 attempt passed the firewall's refusal chain (IPv6 has no route at all).
    assert refused(api, sandbox["id"]) - before >= len(blocked) - 1
    # And the other sandbox's server was up all along: only the bridge stood between them.
    assert probe(api, other["id"], {"self": ("127.0.0.1", 8080)})["self"].startswith("open")


def test_dns_answers_from_the_servers_table_and_forwards_the_rest(api: httpx.Client, shared_open: str) -> None:
    code, out = run(api, shared_open, f"getent hosts allowed.test {UPSTREAM_NAME}")
    assert code == 0, out
    assert f"{PUBLIC}" in out and f"{PUBLIC_2}" in out, out
    code, out = run(api, shared_open, f"curl -s -m 10 http://{UPSTREAM_NAME}/")
    assert out == f"hello from {PUBLIC_2} host={UPSTREAM_NAME}", out
    code, _ = run(api, shared_open, "getent hosts nowhere.test")
    assert code != 0


@pytest.fixture(scope="module")
def shared_open(api: httpx.Client) -> str:
    return str(create(api)["id"])


# -- allow lists and block-all --------------------------------------------------------------------


def test_an_allow_list_admits_exactly_its_cidrs(api: httpx.Client) -> None:
    sandbox = create(api, networkAllowList=f"{PUBLIC_2}/32")
    assert sandbox["networkAllowList"] == f"{PUBLIC_2}/32" and sandbox["networkBlockAll"] is False
    results = probe(api, sandbox["id"], {"listed": (PUBLIC_2, 80), "not listed": (PUBLIC, 80)})
    assert results["listed"].startswith("open") and results["not listed"].startswith("blocked"), results


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"networkAllowList": ",".join(f"203.0.113.{i}/32" for i in range(11))}, "at most 10"),
        ({"networkAllowList": "10.0.0.0/8"}, "private range"),
        ({"networkAllowList": "169.254.0.0/16"}, "never reach"),
        ({"networkAllowList": "0.0.0.0/0"}, "never reach"),
        ({"networkAllowList": "example.com"}, "not a CIDR"),
        ({"networkAllowList": "2001:db8::/32"}, "IPv6"),
        ({"networkBlockAll": True, "networkAllowList": f"{PUBLIC}/32"}, "cannot be combined"),
        ({"domainAllowList": "203.0.113.7"}, "networkAllowList"),
        ({"domainAllowList": "bad_name!.com"}, "not a domain"),
    ],
)
def test_bad_policies_are_refused_with_the_reason(api: httpx.Client, body: dict[str, Any], message: str) -> None:
    before = len(api.get("/sandbox").json()["items"])
    response = api.post("/sandbox", json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["message"], response.json()
    assert len(api.get("/sandbox").json()["items"]) == before  # nothing was created


def test_block_all_leaves_only_loopback(api: httpx.Client) -> None:
    sandbox = create(api, networkBlockAll=True)
    assert sandbox["networkBlockAll"] is True
    assert interfaces(api, sandbox["id"]) == ["lo"]
    results = probe(api, sandbox["id"], {"public": (PUBLIC, 80)})
    assert results["public"].startswith("blocked"), results
    code, out = run(api, sandbox["id"], "getent hosts allowed.test")
    assert code != 0, out


def wait_for_pool(api: httpx.Client) -> int:
    """Hits so far, once a pool member is ready (bounded)."""
    deadline = time.monotonic() + 120
    while (pool := api.get("/health").json()["pool"])["ready"] < 1:
        assert time.monotonic() < deadline, f"no pool member became ready: {pool}"
        time.sleep(0.2)
    return int(pool["hits"])


def test_a_pool_member_takes_the_policy_of_the_sandbox_it_becomes(api: httpx.Client, hosts: TestHosts) -> None:
    hits = wait_for_pool(api)
    blocked = create(api, networkBlockAll=True)
    assert api.get("/health").json()["pool"]["hits"] == hits + 1
    assert interfaces(api, blocked["id"]) == ["lo"]  # it sat on the bridge until its claim
    assert probe(api, blocked["id"], {"public": (PUBLIC, 80)})["public"].startswith("blocked")
    hits = wait_for_pool(api)
    allowed = create(api, networkAllowList=f"{PUBLIC_2}/32")
    assert api.get("/health").json()["pool"]["hits"] == hits + 1
    results = probe(api, allowed["id"], {"a": (PUBLIC, 80), "b": (PUBLIC_2, 80)})
    assert results["a"].startswith("blocked") and results["b"].startswith("open"), results
    subnet = ipaddress.IPv4Network(api.get("/health").json()["network"]["subnet"])
    assert ipaddress.IPv4Address(ip_of(api, allowed["id"])) in subnet


def test_a_running_sandboxs_policy_changes_at_once(api: httpx.Client) -> None:
    sandbox = create(api)
    sid = sandbox["id"]
    targets = {"a": (PUBLIC, 80), "b": (PUBLIC_2, 80)}

    def opened() -> set[str]:
        return {name for name, result in probe(api, sid, targets).items() if result.startswith("open")}

    assert opened() == {"a", "b"}
    changed = api.post(f"/sandbox/{sid}/network-settings", json={"networkAllowList": f"{PUBLIC_2}/32"})
    assert changed.status_code == 200 and changed.json()["networkAllowList"] == f"{PUBLIC_2}/32", changed.text
    assert opened() == {"b"}
    assert api.post(f"/sandbox/{sid}/network-settings", json={"networkBlockAll": True}).json()["networkBlockAll"]
    assert interfaces(api, sid) == ["lo"] and opened() == set()
    restored = api.post(f"/sandbox/{sid}/network-settings", json={"networkBlockAll": False}).json()
    assert restored["networkBlockAll"] is False and restored["networkAllowList"] is None
    assert opened() == {"a", "b"}
    assert api.get(f"/sandbox/{sid}").json()["state"] == "started"  # no restart on the way

    empty = api.post(f"/sandbox/{sid}/network-settings", json={})
    assert empty.status_code == 400 and "at least one" in empty.json()["message"]
    missing = api.post("/sandbox/no-such-sandbox/network-settings", json={"networkBlockAll": True})
    assert missing.status_code == 404


def test_root_in_the_sandbox_cannot_lift_the_policy(api: httpx.Client) -> None:
    sandbox = create(api, user="root", networkAllowList=f"{PUBLIC_2}/32")
    sid = sandbox["id"]
    attempts = r"""
import fcntl, socket, struct
def attempt(what, fn):
    try:
        fn()
        print(what, "ALLOWED")
    except OSError as exc:
        print(what, "denied", exc.errno)
attempt("raw socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW))
def set_address():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    req = struct.pack("16sH2s4s8s", b"eth0", socket.AF_INET, b"\0\0", socket.inet_aton("172.29.0.250"), b"\0" * 8)
    fcntl.ioctl(s, 0x8916, req)  # SIOCSIFADDR
attempt("change its address", set_address)
def transparent():
    s = socket.socket()
    s.setsockopt(socket.SOL_IP, 19, 1)  # IP_TRANSPARENT: send from any address
attempt("transparent socket", transparent)
attempt("ip_forward", lambda: open("/proc/sys/net/ipv4/ip_forward", "w").write("1"))
attempt("re-enable IPv6", lambda: open("/proc/sys/net/ipv6/conf/all/disable_ipv6", "w").write("0"))
"""
    code, out = run(api, sid, "python3 -c " + _quote(attempts))
    assert code == 0, out
    assert "ALLOWED" not in out, out
    assert code == 0 and run(api, sid, "id -u")[1].strip() == "0"
    results = probe(api, sid, {"listed": (PUBLIC_2, 80), "not listed": (PUBLIC, 80)})
    assert results["listed"].startswith("open") and results["not listed"].startswith("blocked"), results


# -- domain allow lists ---------------------------------------------------------------------------------


def curl(api: httpx.Client, sid: str, args: str) -> tuple[int, str]:
    code, out = run(api, sid, f"sh -c 'curl -s -m 10 {args}; echo \" rc=$?\"'")
    assert code == 0, out
    body, _, rc = out.rpartition(" rc=")
    return int(rc), body.strip()


def test_a_domain_allow_list_admits_its_names_by_host_and_sni_and_nothing_else(api: httpx.Client) -> None:
    domains = f"allowed.test,*.wild.test,rebind.test,{UPSTREAM_NAME}"
    sandbox = create(api, domainAllowList=domains)
    sid = sandbox["id"]
    assert sandbox["domainAllowList"] == domains and sandbox["networkAllowList"] is None
    before = refused(api, sid)
    hello = f"hello from {PUBLIC} host="
    assert curl(api, sid, "http://allowed.test/") == (0, hello + "allowed.test")
    assert curl(api, sid, "-k https://allowed.test/") == (0, hello + "allowed.test")  # by SNI, never decrypted
    assert curl(api, sid, "http://api.wild.test/") == (0, hello + "api.wild.test")
    assert curl(api, sid, f"http://{UPSTREAM_NAME}/") == (0, f"hello from {PUBLIC_2} host={UPSTREAM_NAME}")
    # A name not listed does not even resolve; dialled by address it is refused at the proxy.
    assert curl(api, sid, "http://other.test/")[0] == 6
    assert curl(api, sid, f"--resolve other.test:80:{PUBLIC} http://other.test/")[0] != 0
    assert curl(api, sid, f"-k --resolve other.test:443:{PUBLIC} https://other.test/")[0] != 0
    assert curl(api, sid, f"http://{PUBLIC}/")[0] != 0
    # A listed Host sent to another address reaches the listed name's address, not that one.
    assert curl(api, sid, f'-H "Host: allowed.test" http://{PUBLIC_2}/') == (0, hello + "allowed.test")
    # A listed name that resolves to a private address is refused (DNS rebinding).
    assert curl(api, sid, "http://rebind.test/")[0] != 0
    assert refused(api, sid) - before >= 5


# -- the SDKs ------------------------------------------------------------------------------------------------

CURRENT_SDK_SCRIPT = """
import sys
from daytona import CreateSandboxFromSnapshotParams, Daytona, DaytonaConfig
daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], api_url=sys.argv[2], target="us"))
sandbox = daytona.create(CreateSandboxFromSnapshotParams(network_allow_list=sys.argv[3] + "/32"))
print("created", sandbox.network_allow_list, sandbox.network_block_all)
def reach(address):
    return sandbox.process.exec(f"curl -s -m 5 -o /dev/null -w '%{{http_code}}' http://{address}/").result
print("allow-list", reach(sys.argv[3]), reach(sys.argv[4]))
sandbox.update_network_settings(network_block_all=True)
sandbox.refresh_data()
print("blocked", sandbox.network_block_all, reach(sys.argv[3]))
sandbox.update_network_settings(network_block_all=False)
print("restored", sandbox.network_block_all, sandbox.network_allow_list, reach(sys.argv[3]), reach(sys.argv[4]))
daytona.delete(sandbox)
"""


def test_todays_official_sdk_sets_and_updates_the_policy(net_server: RunningServer, tmp_path: Path) -> None:
    lines = run_current_sdk(CURRENT_SDK_SCRIPT, tmp_path, net_server.api_key, net_server.url, PUBLIC_2, PUBLIC)
    assert lines == [
        f"created {PUBLIC_2}/32 False",
        "allow-list 200 000",
        "blocked True 000",
        "restored False None 200 200",
    ], lines


def test_todays_official_typescript_sdk_sets_and_updates_the_policy(net_server: RunningServer) -> None:
    harness = ROOT / "tests" / "compat" / "typescript"
    env = {
        **os.environ,
        "DAYTONA_API_KEY": net_server.api_key,
        "DAYTONA_API_URL": net_server.url,
        "COMPAT_FLOWS": "network",
        "COMPAT_NET_ALLOWED": PUBLIC_2,
        "COMPAT_NET_OTHER": PUBLIC,
    }
    done = subprocess.run(["node", "flows.mjs"], cwd=harness, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "ok network " in done.stdout, done.stdout + done.stderr


def test_our_sdk_sets_the_policy_and_reads_the_refusals(net_server: RunningServer) -> None:
    with Daytona(net_server.config()) as daytona:
        workspace = daytona.create(CreateWorkspaceParams(network_allow_list=[f"{PUBLIC_2}/32"]))
        try:
            network = workspace.info().network
            assert network is not None and network.allow_list == f"{PUBLIC_2}/32" and network.refused == 0
            assert workspace.process.exec(f"curl -s -m 5 http://{PUBLIC}/").exit_code != 0
            after = workspace.info().network
            assert after is not None and after.refused is not None and after.refused >= 1
            changed = workspace.update_network_settings(block_all=True)
            assert changed.block_all is True
            assert workspace.process.exec(f"curl -s -m 5 http://{PUBLIC_2}/").exit_code != 0
        finally:
            daytona.remove(workspace)


# -- builds and restarts -------------------------------------------------------------------------------------


def test_image_builds_get_the_default_policy(api: httpx.Client) -> None:
    dockerfile = (
        "FROM daytona-sandbox:0.1.0\n"
        f"RUN curl -sf -m 10 http://{PUBLIC}/ > /opt/fetched.txt\n"
        f"RUN ! curl -s -m 10 http://{CLASSES['private 10/8']}/\n"
    )
    response = api.post("/snapshots", json={"name": "net-build", "buildInfo": {"dockerfileContent": dockerfile}})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 300
    snapshot = response.json()
    while snapshot["state"] not in ("active", "build_failed", "error") and time.monotonic() < deadline:
        time.sleep(0.5)
        snapshot = api.get(f"/snapshots/{snapshot['id']}").json()
    assert snapshot["state"] == "active", snapshot
    sandbox = create(api, snapshot="net-build", networkBlockAll=True)
    assert run(api, sandbox["id"], "cat /opt/fetched.txt") == (0, f"hello from {PUBLIC} host={PUBLIC}")


def test_policies_and_counts_survive_a_server_restart(net_server: RunningServer, api: httpx.Client) -> None:
    sandbox = create(api, networkAllowList=f"{PUBLIC_2}/32")
    sid = sandbox["id"]
    probe(api, sid, {"not listed": (PUBLIC, 80)})
    counted = refused(api, sid)
    assert counted >= 1
    stop_server(net_server)
    net_server.process = start_server(net_server.data_dir, net_server.api_key, net_server.port, net_server.env).process
    assert api.post(f"/sandbox/{sid}/start").status_code == 200
    results = probe(api, sid, {"listed": (PUBLIC_2, 80), "not listed": (PUBLIC, 80)})
    assert results["listed"].startswith("open") and results["not listed"].startswith("blocked"), results
    assert refused(api, sid) >= counted + 1
