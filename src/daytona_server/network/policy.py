"""A sandbox's egress policy, as today's Daytona API names it, checked and normalised (no I/O).

- `networkBlockAll`: no network at all (the container has only loopback).
- `networkAllowList`: up to 10 IPv4 CIDRs; only those are reachable directly.
- `domainAllowList`: domains reachable through the server's egress proxy, which reads the name from
  the HTTP Host header or the TLS SNI; `*.example.com` matches every subdomain of example.com.
- none of them: the public internet.

Whatever the policy, some destinations are never reachable (`NEVER`: the host, other sandboxes,
link-local, multicast and reserved ranges); private ranges (`PRIVATE`) only where the server allows them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..errors import BadRequest

MAX_CIDRS = 10
MAX_DOMAINS = 50
Network = ipaddress.IPv4Network

# Never reachable from a sandbox (the host's own addresses and the sandbox subnet are added at run time).
NEVER: tuple[Network, ...] = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254) among it
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
# Private and special-purpose ranges: unreachable unless the server allows private networks.
PRIVATE: tuple[Network, ...] = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # carrier-grade NAT
        "192.0.0.0/24",  # IETF protocol assignments
        "198.18.0.0/15",  # benchmarking
    )
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class NetworkPolicy:
    """Normalised policy: `cidrs` and `domains` are None when not restricted that way."""

    block_all: bool = False
    cidrs: tuple[Network, ...] | None = None
    domains: tuple[str, ...] | None = None

    @property
    def mode(self) -> str:
        """blocked, open (the public internet), or restricted (allow lists only)."""
        if self.block_all:
            return "blocked"
        return "open" if self.cidrs is None and self.domains is None else "restricted"

    @property
    def allow_list(self) -> str | None:
        return ",".join(str(c) for c in self.cidrs) if self.cidrs is not None else None

    @property
    def domain_list(self) -> str | None:
        return ",".join(self.domains) if self.domains is not None else None

    def allows_domain(self, name: str) -> bool:
        return self.domains is not None and domain_allowed(self.domains, name)


BLOCKED = NetworkPolicy(block_all=True)
OPEN = NetworkPolicy()


def domain_allowed(patterns: tuple[str, ...], name: str) -> bool:
    name = name.rstrip(".").lower()
    for pattern in patterns:
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]) and len(name) > len(pattern) - 1:
                return True
        elif name == pattern:
            return True
    return False


def is_private(address: ipaddress.IPv4Address) -> bool:
    return any(address in n for n in PRIVATE)


def is_never(address: ipaddress.IPv4Address) -> bool:
    return any(address in n for n in NEVER)


def parse_cidrs(raw: str, allow_private: bool, reserved: tuple[Network, ...] = ()) -> tuple[Network, ...]:
    """`networkAllowList`: comma-separated IPv4 CIDRs (a bare address is a /32), at most MAX_CIDRS."""
    items = [part.strip() for part in raw.split(",") if part.strip()]
    if len(items) > MAX_CIDRS:
        raise BadRequest(f"networkAllowList has {len(items)} entries; at most {MAX_CIDRS} CIDRs are allowed")
    cidrs: list[Network] = []
    for item in items:
        try:
            cidr = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise BadRequest(f"networkAllowList: {item!r} is not a CIDR such as 203.0.113.0/24") from None
        if not isinstance(cidr, ipaddress.IPv4Network):
            raise BadRequest(f"networkAllowList: {item} is IPv6; sandboxes have IPv4 egress only")
        for never in (*NEVER, *reserved):
            if cidr.overlaps(never):
                raise BadRequest(
                    f"networkAllowList: {cidr} overlaps {never}, which sandboxes can never reach"
                    " (the host, other sandboxes, link-local and reserved ranges)"
                )
        if not allow_private:
            for private in PRIVATE:
                if cidr.overlaps(private):
                    raise BadRequest(
                        f"networkAllowList: {cidr} overlaps the private range {private}, which this server does"
                        " not let sandboxes reach (the operator can allow it with DAYTONA_NETWORK_ALLOW_PRIVATE=1)"
                    )
        if cidr not in cidrs:
            cidrs.append(cidr)
    return tuple(cidrs)


def parse_domains(raw: str) -> tuple[str, ...]:
    """`domainAllowList`: comma-separated host names; `*.example.com` for every subdomain."""
    items = [part.strip().lower().rstrip(".") for part in raw.split(",") if part.strip()]
    if len(items) > MAX_DOMAINS:
        raise BadRequest(f"domainAllowList has {len(items)} entries; at most {MAX_DOMAINS} domains are allowed")
    domains: list[str] = []
    for item in items:
        bare = item[2:] if item.startswith("*.") else item
        labels = bare.split(".")
        if len(bare) > 253 or not all(_LABEL.match(label) for label in labels):
            raise BadRequest(f"domainAllowList: {item!r} is not a domain name such as example.com or *.example.com")
        try:
            ipaddress.ip_address(bare)
        except ValueError:
            pass
        else:
            raise BadRequest(f"domainAllowList: {item} is an address; put addresses in networkAllowList")
        if item not in domains:
            domains.append(item)
    return tuple(domains)


def build(
    block_all: bool | None,
    allow_list: str | None,
    domain_list: str | None,
    allow_private: bool,
    reserved: tuple[Network, ...] = (),
    current: NetworkPolicy | None = None,
) -> NetworkPolicy:
    """The policy a create or an update asks for; `current` is the policy being updated (None at create).

    As today's SDK documents: an allow list implies not blocking all; `networkBlockAll: false` alone
    restores general access and clears stored allow lists; fields left out keep their current value.
    """
    if block_all and (allow_list or domain_list):
        raise BadRequest("networkBlockAll cannot be combined with networkAllowList or domainAllowList")
    cidrs = parse_cidrs(allow_list, allow_private, reserved) if allow_list is not None else None
    domains = parse_domains(domain_list) if domain_list is not None else None
    if block_all:
        return BLOCKED
    if current is not None and allow_list is None and domain_list is None:
        return OPEN if block_all is False else current
    if current is not None:
        # One list given: the other keeps its value, unless the update restores access (block_all False).
        keep = block_all is not False and not current.block_all
        if cidrs is None and keep:
            cidrs = current.cidrs
        if domains is None and keep:
            domains = current.domains
    # An empty list is "nothing of that kind" when the other list is given, else it lifts the restriction.
    if cidrs == () and domains is None:
        cidrs = None
    if domains == () and cidrs is None:
        domains = None
    return NetworkPolicy(cidrs=cidrs, domains=domains)


def from_row(block_all: bool, allow_list: str | None, domain_list: str | None) -> NetworkPolicy:
    """The stored policy (already checked when it was stored)."""
    if block_all:
        return BLOCKED
    cidrs = tuple(ipaddress.IPv4Network(c) for c in allow_list.split(",") if c) if allow_list is not None else None
    domains = tuple(d for d in domain_list.split(",") if d) if domain_list is not None else None
    return NetworkPolicy(cidrs=cidrs, domains=domains)
