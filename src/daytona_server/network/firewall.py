"""The host firewall around the sandbox bridge: iptables chains of this server's own, rendered from policies.

Every packet a sandbox sends is judged by the chain of its (static) address, so a policy change
applies to open connections too:

    FORWARD -i/-o <bridge> → <P>-FWD   sandbox → world: its policy chain <P>-P<key>; unknown source: reject
                                       world → sandbox: only replies (nothing opens a connection into one)
    INPUT   -i <bridge>    → <P>-IN    sandbox → host: only the server's DNS forwarder and egress proxy
    nat PREROUTING         → <P>-PRE   DNS (any resolver) → the forwarder; domain-list sandboxes' TCP → the proxy
    nat POSTROUTING        → <P>-POST  masquerade towards the world

Refused packets of a sandbox pass through its own chain <P>-R<key>, whose counters are its audit count.
Rules are applied with `iptables-restore --noflush`: one batch per change, so no half-applied state.
IPv6 from the bridge is refused outright (sandboxes get IPv4 only).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .policy import NEVER, PRIVATE, NetworkPolicy

Run = Callable[[list[str], str | None], str]
_COUNTER = re.compile(r"^\[(\d+):\d+\] -A (\S+) ")


class FirewallError(Exception):
    pass


def run_command(argv: list[str], stdin: str | None = None) -> str:
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FirewallError(f"{argv[0]}: {exc}") from None
    if proc.returncode != 0:
        raise FirewallError(f"{' '.join(argv[:3])} failed: {(proc.stderr or proc.stdout).strip()[:500]}")
    return proc.stdout


def chain_key(sandbox_id: str) -> str:
    return hashlib.sha256(sandbox_id.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Layout:
    """Where the rules apply: this server's bridge, its addresses, and the ports of its egress services."""

    prefix: str  # of every chain name, e.g. "DT1a2b3c"
    bridge: str
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    builds: ipaddress.IPv4Network  # addresses the engine hands out itself (image builds)
    allow_private: bool
    dns_udp_port: int
    dns_tcp_port: int
    proxy_port: int


@dataclass(frozen=True)
class Member:
    """A sandbox on the bridge: its chain key, static address and policy."""

    key: str
    ip: ipaddress.IPv4Address
    policy: NetworkPolicy


BUILD_KEY = "builds"  # the chain of image builds: the default policy, counted apart


def _blocked_destinations(layout: Layout) -> list[ipaddress.IPv4Network]:
    return [layout.subnet, *NEVER, *(() if layout.allow_private else PRIVATE)]


def render(layout: Layout, members: Iterable[Member], existing: set[str]) -> str:
    """iptables-restore input (for --noflush) that makes this server's chains exactly `members`'.

    `existing` are this server's chains already there: refusal chains among them keep their counters,
    the ones no member needs any more are deleted.
    """
    p, br, gw = layout.prefix, layout.bridge, layout.gateway
    members = [*members, Member(BUILD_KEY, layout.gateway, NetworkPolicy())]  # ip unused for builds
    declared = [f"{p}-FWD", f"{p}-IN"] + [f"{p}-P{m.key}" for m in members]
    refusal = {f"{p}-R{m.key}" for m in members}
    filt = [f":{c} - [0:0]" for c in declared] + [f":{c} - [0:0]" for c in sorted(refusal - existing)]
    for m in members:
        source = str(layout.builds) if m.key == BUILD_KEY else f"{m.ip}/32"
        filt.append(f"-A {p}-FWD -i {br} -s {source} -j {p}-P{m.key}")
    filt += [
        f"-A {p}-FWD -i {br} -j REJECT --reject-with icmp-admin-prohibited",
        f"-A {p}-FWD -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        f"-A {p}-FWD -o {br} -j DROP",
        f"-A {p}-IN -d {gw}/32 -p udp --dport {layout.dns_udp_port} -j ACCEPT",
        f"-A {p}-IN -d {gw}/32 -p tcp --dport {layout.dns_tcp_port} -j ACCEPT",
        f"-A {p}-IN -d {gw}/32 -p tcp --dport {layout.proxy_port} -j ACCEPT",
    ]
    for m in members:
        source = str(layout.builds) if m.key == BUILD_KEY else f"{m.ip}/32"
        filt.append(f"-A {p}-IN -s {source} -j {p}-R{m.key}")
    filt.append(f"-A {p}-IN -j REJECT --reject-with icmp-admin-prohibited")
    for m in members:
        chain, refuse = f"{p}-P{m.key}", f"-j {p}-R{m.key}"
        if m.policy.block_all:
            filt.append(f"-A {chain} {refuse}")
            continue
        filt += [f"-A {chain} -d {dest} {refuse}" for dest in _blocked_destinations(layout)]
        if m.policy.cidrs is None and m.policy.domains is None:
            filt.append(f"-A {chain} -j ACCEPT")
        else:
            filt += [f"-A {chain} -d {cidr} -j ACCEPT" for cidr in m.policy.cidrs or ()]
            filt.append(f"-A {chain} {refuse}")
    for chain in sorted(refusal - existing):
        filt += [f"-A {chain} -p tcp -j REJECT --reject-with tcp-reset", f"-A {chain} -j REJECT"]
    stale = sorted(c for c in existing if c not in refusal and c not in declared)
    filt += [f"-F {c}" for c in stale] + [f"-X {c}" for c in stale]

    nat = [f":{p}-PRE - [0:0]", f":{p}-POST - [0:0]"]
    nat += [
        f"-A {p}-PRE -p udp --dport 53 -j REDIRECT --to-ports {layout.dns_udp_port}",
        f"-A {p}-PRE -p tcp --dport 53 -j REDIRECT --to-ports {layout.dns_tcp_port}",
    ]
    for m in members:
        if m.policy.domains is None or m.policy.block_all:
            continue
        nat += [f"-A {p}-PRE -s {m.ip}/32 -d {cidr} -j RETURN" for cidr in m.policy.cidrs or ()]
        nat.append(f"-A {p}-PRE -s {m.ip}/32 -p tcp -j REDIRECT --to-ports {layout.proxy_port}")
    nat.append(f"-A {p}-POST ! -o {br} -j MASQUERADE")
    return "*filter\n" + "\n".join(filt) + "\nCOMMIT\n*nat\n" + "\n".join(nat) + "\nCOMMIT\n"


def jumps(layout: Layout) -> list[tuple[str, str, list[str]]]:
    """(table, chain, rule) that hook this server's chains into the built-in ones, first in line."""
    p, br = layout.prefix, layout.bridge
    return [
        ("filter", "INPUT", ["-i", br, "-j", f"{p}-IN"]),
        # The DNS forwarder and the proxy listen on the gateway address: for the bridge only.
        ("filter", "INPUT", ["!", "-i", br, "-d", f"{layout.gateway}/32", "-j", "DROP"]),
        ("filter", "FORWARD", ["-o", br, "-j", f"{p}-FWD"]),
        ("filter", "FORWARD", ["-i", br, "-j", f"{p}-FWD"]),
        ("nat", "PREROUTING", ["-i", br, "-j", f"{p}-PRE"]),
        ("nat", "POSTROUTING", ["-s", str(layout.subnet), "-j", f"{p}-POST"]),
    ]


class Firewall:
    """Applies rendered rules with the host's iptables; safe to call from several threads."""

    def __init__(self, layout: Layout, run: Run = run_command) -> None:
        self.layout = layout
        self.run = run
        self._lock = threading.Lock()
        self._chains: set[str] | None = None  # this server's chains, as the last sync left them

    @staticmethod
    def unavailable() -> str | None:
        """Why this host cannot enforce sandbox network policies, or None."""
        for tool in ("iptables", "iptables-restore", "iptables-save"):
            if shutil.which(tool) is None:
                return f"{tool} is not installed (Debian package iptables)"
        try:
            run_command(["iptables", "-w", "5", "-S", "INPUT"])
        except FirewallError as exc:
            return f"iptables does not work here (the server must run as root): {exc}"
        return None

    def _existing(self) -> set[str]:
        prefix = f":{self.layout.prefix}-"
        out = self.run(["iptables-save", "-t", "filter"], None)
        return {line[1:].split()[0] for line in out.splitlines() if line.startswith(prefix)}

    def sync(self, members: Iterable[Member], hook: bool = False) -> None:
        """Make the chains exactly these members'; with `hook`, (re)check that they are hooked in first."""
        members = list(members)
        with self._lock:
            first = self._chains is None
            existing = self._existing() if self._chains is None else self._chains
            self.run(["iptables-restore", "-w", "5", "--noflush"], render(self.layout, members, existing))
            p = self.layout.prefix
            self._chains = {f"{p}-FWD", f"{p}-IN"} | {f"{p}-{kind}{m.key}" for m in members for kind in "PR"}
            self._chains |= {f"{p}-P{BUILD_KEY}", f"{p}-R{BUILD_KEY}"}
            if hook or first:
                self._hook()

    def _hook(self) -> None:
        chains = self.run(["iptables-save", "-t", "filter"], None)
        hooks = list(jumps(self.layout))
        if ":DOCKER-USER " in chains:  # an engine with iptables on: be first in its chain too
            hooks += [("filter", "DOCKER-USER", rule) for _, chain, rule in hooks if chain == "FORWARD"]
        for table, chain, rule in hooks:
            try:
                self.run(["iptables", "-w", "5", "-t", table, "-C", chain, *rule], None)
            except FirewallError:
                self.run(["iptables", "-w", "5", "-t", table, "-I", chain, "1", *rule], None)
        br = self.layout.bridge
        if shutil.which("ip6tables") is not None:
            for chain in ("INPUT", "FORWARD"):
                rule = ["-i", br, "-j", "REJECT"]
                try:
                    try:
                        self.run(["ip6tables", "-w", "5", "-C", chain, *rule], None)
                    except FirewallError:
                        self.run(["ip6tables", "-w", "5", "-I", chain, "1", *rule], None)
                except FirewallError:
                    pass  # no IPv6 in this kernel: nothing to refuse

    def refused(self, key: str | None = None) -> dict[str, int]:
        """Refused packets per chain key since the chain was made: of every chain, or of `key`'s only."""
        prefix = f"{self.layout.prefix}-R"
        if key is not None:
            try:
                out = self.run(["iptables", "-w", "5", "-t", "filter", "-L", prefix + key, "-v", "-x", "-n"], None)
            except FirewallError:
                return {}  # no such chain (yet)
            rows = [line.split() for line in out.splitlines()[2:]]
            return {key: sum(int(row[0]) for row in rows if row and row[0].isdigit())}
        out = self.run(["iptables-save", "-c", "-t", "filter"], None)
        counts: dict[str, int] = {}
        for line in out.splitlines():
            match = _COUNTER.match(line)
            if match and match.group(2).startswith(prefix):
                chain = match.group(2)[len(prefix) :]
                counts[chain] = counts.get(chain, 0) + int(match.group(1))
        return counts

    def teardown(self) -> None:
        """Remove every rule and chain of this server (its bridge is going away)."""
        with self._lock:
            self._chains = None
            for table, chain, rule in jumps(self.layout):
                for builtin in (chain, "DOCKER-USER") if table == "filter" and chain == "FORWARD" else (chain,):
                    try:
                        self.run(["iptables", "-w", "5", "-t", table, "-D", builtin, *rule], None)
                    except FirewallError:
                        pass
            for chain in ("INPUT", "FORWARD"):
                try:
                    self.run(["ip6tables", "-w", "5", "-D", chain, "-i", self.layout.bridge, "-j", "REJECT"], None)
                except FirewallError:
                    pass
            for table in ("filter", "nat"):
                prefix = f":{self.layout.prefix}-"
                out = self.run(["iptables-save", "-t", table], None)
                chains = [line[1:].split()[0] for line in out.splitlines() if line.startswith(prefix)]
                if chains:
                    text = "\n".join([f"-F {c}" for c in chains] + [f"-X {c}" for c in chains])
                    self.run(["iptables-restore", "-w", "5", "--noflush"], f"*{table}\n{text}\nCOMMIT\n")
