"""Sandbox networking for one server: its bridge, the sandboxes' static addresses, the firewall, DNS and proxy.

Each sandbox keeps one address on the bridge for its whole life (stored as `network_ip`), so the
firewall rules of an address always belong to one sandbox. A blocked sandbox leaves the bridge and
keeps only its loopback. The DNS forwarder and egress proxy run on a thread of their own, bound to
the bridge's gateway address only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..config import Settings
from ..db.models import Sandbox
from ..db.session import Database
from ..errors import BadRequest
from ..runner.base import NetworkAttachment, RuntimeFailure
from ..runner.networks import Bridge, BridgeNetworks
from . import policy as policies
from .dns import REFUSED, DnsServer, Resolver, parse_upstreams
from .egress_proxy import EgressProxy
from .firewall import BUILD_KEY, Firewall, FirewallError, Layout, Member, chain_key
from .policy import NetworkPolicy

log = logging.getLogger("daytona.network")

AUTO_POOL = ipaddress.IPv4Network("172.29.0.0/16")  # where "auto" picks this server's subnet
AUTO_PREFIX = 20  # 4094 addresses
HOST_ADDRESSES_TTL_S = 30.0


@dataclass(frozen=True)
class NetworkStatus:
    """What /api/health and the start-up banner say about sandbox networking."""

    enabled: bool
    reason: str
    subnet: str | None = None


def parse_hosts(raw: str) -> dict[str, list[ipaddress.IPv4Address]]:
    """`DAYTONA_NETWORK_HOSTS`: "name=address,..." (a name may repeat): names the sandboxes' DNS answers itself."""
    hosts: dict[str, list[ipaddress.IPv4Address]] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, _, address = item.partition("=")
        try:
            hosts.setdefault(name.strip().lower(), []).append(ipaddress.IPv4Address(address.strip()))
        except ValueError:
            raise SystemExit(f"DAYTONA_NETWORK_HOSTS: {item!r} is not name=IPv4-address") from None
    return hosts


def _host_routes() -> list[ipaddress.IPv4Network]:
    try:
        out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    except OSError:
        return []
    routes = []
    for line in out.splitlines():
        dest = line.split()[1] if line.split()[0] in ("local", "broadcast", "unicast") else line.split()[0]
        if dest == "default":
            continue
        try:
            routes.append(ipaddress.IPv4Network(dest, strict=False))
        except ValueError:
            continue
    return routes


def host_addresses() -> set[ipaddress.IPv4Address]:
    """Every IPv4 address of this host (the proxy never connects a sandbox to one)."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True).stdout
    except OSError:
        return set()
    found = set()
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            found.add(ipaddress.IPv4Interface(parts[parts.index("inet") + 1]).ip)
    return found


def network_name(settings: Settings) -> str:
    """The Docker network of the server with `settings`."""
    return f"daytona-{settings.server_id}"


def chain_prefix(settings: Settings) -> str:
    """What the names of its firewall chains begin with (iptables allows 28 characters)."""
    return f"DT{settings.server_id[:6]}"


def remove_network(settings: Settings, bridges: BridgeNetworks) -> None:
    """Remove the firewall rules and the bridge of the server with `settings` (none of its sandboxes may be left)."""
    name = network_name(settings)
    bridge = bridges.find(name)
    if bridge is None:
        return
    prefix = chain_prefix(settings)
    Firewall(Layout(prefix, bridge.device, bridge.subnet, bridge.gateway, bridge.builds, False, 0, 0, 0)).teardown()
    bridges.remove(name)


class SandboxNetworks:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        bridges: BridgeNetworks | None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.bridges = bridges
        self.bridge: Bridge | None = None
        self.firewall: Firewall | None = None
        self.status = NetworkStatus(False, "not started")
        self.default = policies.BLOCKED if settings.network_default == "blocked" else policies.OPEN
        self._by_ip: dict[str, tuple[str, NetworkPolicy]] = {}
        self._pending: dict[str, int] = {}  # refusals by the DNS forwarder and the proxy, not yet stored
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dns: DnsServer | None = None
        self._proxy: EgressProxy | None = None
        self._host_addresses: tuple[float, set[ipaddress.IPv4Address]] = (0.0, set())

    @property
    def enabled(self) -> bool:
        return self.status.enabled

    # -- start and stop ----------------------------------------------------------------------------

    def start(self) -> NetworkStatus:
        """Bring up the bridge, the egress services and the firewall; or say why sandboxes stay offline."""
        self.status = self._start()
        if not self.status.enabled:
            log.warning("sandboxes have no network: %s", self.status.reason)
        return self.status

    def _start(self) -> NetworkStatus:
        if self.settings.network == "off":
            return NetworkStatus(False, "turned off (DAYTONA_NETWORK=off)")
        if self.bridges is None:
            return NetworkStatus(False, "this runtime has no bridge networks")
        reason = Firewall.unavailable()
        if reason is not None:
            return NetworkStatus(False, f"policies cannot be enforced: {reason}")
        try:
            subnet = self._subnet()
            self.bridge = self.bridges.ensure(self.network_name, self.device_name, subnet, self.settings.server_id)
            self._write_state(self.bridge)
            resolver = Resolver(parse_hosts(self.settings.network_hosts), parse_upstreams(self.settings.network_dns))
            self._start_services(resolver, str(self.bridge.gateway))
            assert self._dns is not None and self._proxy is not None
            self.firewall = Firewall(
                Layout(
                    prefix=chain_prefix(self.settings),
                    bridge=self.bridge.device,
                    subnet=self.bridge.subnet,
                    gateway=self.bridge.gateway,
                    builds=self.bridge.builds,
                    allow_private=self.settings.network_allow_private,
                    dns_udp_port=self._dns.udp_port,
                    dns_tcp_port=self._dns.tcp_port,
                    proxy_port=self._proxy.port,
                )
            )
            self.sync(hook=True)
        except (RuntimeFailure, FirewallError, OSError) as exc:
            self.close()
            return NetworkStatus(False, f"cannot set up the sandbox network: {exc}")
        return NetworkStatus(True, self._describe(), str(self.bridge.subnet))

    def _describe(self) -> str:
        assert self.bridge is not None
        private = "allowed" if self.settings.network_allow_private else "blocked"
        default = "blocked" if self.default.block_all else "the public internet"
        return (
            f"bridge {self.bridge.device} {self.bridge.subnet}; by default a sandbox reaches {default};"
            f" the host, other sandboxes and link-local are blocked, private ranges {private}"
        )

    @property
    def network_name(self) -> str:
        return network_name(self.settings)

    @property
    def device_name(self) -> str:
        return f"dt-{self.settings.server_id[:10]}"

    @property
    def _state_file(self) -> Path:
        return self.settings.data_dir / "network.json"

    def _write_state(self, bridge: Bridge) -> None:
        self._state_file.write_text(json.dumps({"subnet": str(bridge.subnet)}))

    def _subnet(self) -> ipaddress.IPv4Network:
        """The configured subnet; for "auto", the one used before, else a free /20 of 172.29.0.0/16."""
        if self.settings.network_subnet != "auto":
            return ipaddress.IPv4Network(self.settings.network_subnet)
        try:
            return ipaddress.IPv4Network(json.loads(self._state_file.read_text())["subnet"])
        except (OSError, ValueError, KeyError):
            pass
        assert self.bridges is not None
        taken = [*self.bridges.subnets_in_use(), *_host_routes()]
        for candidate in AUTO_POOL.subnets(new_prefix=AUTO_PREFIX):
            if not any(candidate.overlaps(t) for t in taken):
                return candidate
        raise RuntimeFailure(f"no free /{AUTO_PREFIX} left in {AUTO_POOL}: set DAYTONA_NETWORK_SUBNET")

    def _start_services(self, resolver: Resolver, gateway: str) -> None:
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="egress", daemon=True).start()
        self._loop = loop
        self._dns = DnsServer(resolver, self._dns_gate)
        self._proxy = EgressProxy(self._policy_of, resolver.lookup, self._reachable, self._refused)

        async def bind() -> None:
            assert self._dns is not None and self._proxy is not None
            await self._dns.start(gateway)
            await self._proxy.start(gateway)

        asyncio.run_coroutine_threadsafe(bind(), loop).result(timeout=10)

    def close(self) -> None:
        """Stop the egress services. The firewall stays: sandboxes that outlive the server stay confined."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        for service in (self._dns, self._proxy):
            if service is not None:
                loop.call_soon_threadsafe(service.close)
        loop.call_soon_threadsafe(loop.stop)

    def teardown(self) -> None:
        """Remove this server's firewall rules and bridge (once none of its sandboxes is left)."""
        self.close()
        if self.bridges is not None:
            remove_network(self.settings, self.bridges)

    # -- policies ------------------------------------------------------------------------------------

    def reserved(self) -> tuple[ipaddress.IPv4Network, ...]:
        return (self.bridge.subnet,) if self.bridge is not None else ()

    def check(
        self,
        block_all: bool | None,
        allow_list: str | None,
        domain_list: str | None,
        current: NetworkPolicy | None = None,
    ) -> NetworkPolicy:
        """The policy a create (current None) or an update asks for; the server's default if it asks nothing."""
        if current is None and block_all is None and allow_list is None and domain_list is None:
            return self.default if self.enabled else policies.BLOCKED
        wanted = policies.build(
            block_all, allow_list, domain_list, self.settings.network_allow_private, self.reserved(), current
        )
        if not wanted.block_all and not self.enabled:
            raise BadRequest(
                f"this server runs sandboxes without a network ({self.status.reason}), so only networkBlockAll"
                " can apply: leave out networkAllowList and domainAllowList"
            )
        return wanted

    def allocate(self, session_ips: set[str]) -> str | None:
        """A free static address on the bridge (None without a network), given the addresses in use."""
        if self.bridge is None:
            return None
        for host in self.bridge.subnet.hosts():
            if host == self.bridge.gateway or host in self.bridge.builds:
                continue
            if str(host) not in session_ips:
                return str(host)
        raise BadRequest(f"the sandbox network {self.bridge.subnet} is full: delete sandboxes or use a bigger subnet")

    def attachment(self, sandbox: Sandbox) -> NetworkAttachment | None:
        """How the sandbox's container joins the bridge; None keeps it on loopback only."""
        if self.bridge is None or sandbox.network_ip is None or sandbox.network_blocked:
            return None
        return NetworkAttachment(self.network_name, sandbox.network_ip)

    @property
    def dns(self) -> str | None:
        """The sandboxes' resolver (the gateway: the firewall sends every DNS query to the forwarder anyway)."""
        return str(self.bridge.gateway) if self.bridge is not None else None

    def sync(self, hook: bool = False) -> None:
        """Make the firewall match every sandbox's stored policy (`hook`: check its place in the host's chains)."""
        if self.firewall is None:
            return
        with self._lock, self.db.session() as session:
            rows = session.execute(
                select(
                    Sandbox.id,
                    Sandbox.network_ip,
                    Sandbox.network_block_all,
                    Sandbox.network_allow_list,
                    Sandbox.domain_allow_list,
                ).where(Sandbox.network_ip.is_not(None))
            ).all()
            members = []
            for sandbox_id, ip, block_all, allow_list, domain_list in rows:
                member_policy = policies.from_row(block_all, allow_list, domain_list)
                members.append(Member(chain_key(sandbox_id), ipaddress.IPv4Address(ip), member_policy))
            self.firewall.sync(members, hook)
            self._by_ip = {str(m.ip): (m.key, m.policy) for m in members}

    def apply(self, sandbox: Sandbox) -> None:
        """Put the sandbox's stored policy into effect: a blocked one leaves the bridge before its rules change."""
        if self.bridges is None or self.bridge is None:
            return
        if self.attachment(sandbox) is None:
            self.place(sandbox)
            self.sync()
        else:
            self.sync()
            self.place(sandbox)

    def detach(self, sandbox_id: str) -> None:
        """Take the container of `sandbox_id` off the bridge (it keeps its loopback)."""
        if self.bridges is not None:
            self.bridges.disconnect(sandbox_id, self.network_name)

    def place(self, sandbox: Sandbox) -> None:
        """Join the sandbox's container to the bridge, or take it off, as its policy says."""
        if self.bridges is None or self.bridge is None:
            return
        attachment = self.attachment(sandbox)
        if attachment is None:
            self.bridges.disconnect(sandbox.id, self.network_name)
        else:
            self.bridges.connect(sandbox.id, attachment)

    # -- the egress services' view (called on their thread) -----------------------------------------

    def _policy_of(self, source: str) -> tuple[str, NetworkPolicy] | None:
        found = self._by_ip.get(source)
        if found is None and self.bridge is not None and ipaddress.IPv4Address(source) in self.bridge.builds:
            return BUILD_KEY, policies.OPEN
        return found

    def _dns_gate(self, source: str, name: str) -> int | None:
        found = self._policy_of(source)
        if found is None or found[1].block_all:
            return REFUSED
        key, policy = found
        if policy.domains is not None and not policy.allows_domain(name):
            self._refused(key, f"DNS {name}")
            return REFUSED
        return None

    def _reachable(self, address: ipaddress.IPv4Address) -> bool:
        if policies.is_never(address) or (self.bridge is not None and address in self.bridge.subnet):
            return False
        if policies.is_private(address) and not self.settings.network_allow_private:
            return False
        stamp, known = self._host_addresses
        if time.monotonic() - stamp > HOST_ADDRESSES_TTL_S:
            known = host_addresses()
            self._host_addresses = (time.monotonic(), known)
        return address not in known

    def _refused(self, key: str, what: str) -> None:
        with self._lock:
            self._pending[key] = self._pending.get(key, 0) + 1
        log.info("refused egress of %s: %s", key, what)

    # -- audit ---------------------------------------------------------------------------------------

    def _counts(self, key: str | None = None) -> dict[str, int]:
        """The firewall's refusal counters: of every sandbox, or of the one with chain `key`."""
        if self.firewall is None:
            return {}
        try:
            return self.firewall.refused(key)
        except FirewallError as exc:
            log.warning("cannot read the firewall's counters: %s", exc)
            return {}

    @staticmethod
    def _unstored(sandbox: Sandbox, live: int) -> int:
        """Refusals the firewall counted since the last fold (its counters restart with the host)."""
        seen = sandbox.network_refused_seen or 0
        return live - seen if live >= seen else live

    def refused(self, sandbox: Sandbox) -> int:
        """Connections refused to this sandbox so far (firewall, DNS and proxy)."""
        key = chain_key(sandbox.id)
        live = self._counts(key).get(key, 0) if sandbox.network_ip else 0
        with self._lock:
            pending = self._pending.get(key, 0)
        return (sandbox.network_refused or 0) + self._unstored(sandbox, live) + pending

    def fold(self) -> None:
        """Store the refusal counts and check the rules' hooks (the lifecycle loop calls this)."""
        if self.firewall is None:
            return
        self.sync(hook=True)
        counts = self._counts()
        with self._lock:
            pending, self._pending = self._pending, {}
        with self.db.session() as session:
            for sandbox in session.scalars(select(Sandbox).where(Sandbox.network_ip.is_not(None))):
                key = chain_key(sandbox.id)
                live = counts.get(key, sandbox.network_refused_seen or 0)
                added = self._unstored(sandbox, live) + pending.get(key, 0)
                if added or live != sandbox.network_refused_seen:
                    sandbox.network_refused = (sandbox.network_refused or 0) + added
                    sandbox.network_refused_seen = live
            session.commit()
