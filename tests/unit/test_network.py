"""The pure parts of sandbox networking: policies, the firewall's rules, DNS messages, SNI and Host parsing."""

from __future__ import annotations

import ipaddress
import ssl
import struct

import pytest

from daytona_server.errors import BadRequest
from daytona_server.network import policy
from daytona_server.network.dns import (
    NOERROR,
    REFUSED,
    DnsFormatError,
    a_query,
    a_records,
    answer,
    parse_question,
    parse_upstreams,
    read_name,
)
from daytona_server.network.egress_proxy import host_of, sni_of
from daytona_server.network.firewall import Layout, Member, chain_key, render
from daytona_server.network.manager import parse_hosts

PUBLIC = "203.0.113.0/24"


# -- policies -------------------------------------------------------------------------------------------------


def build(
    block: bool | None = None, cidrs: str | None = None, domains: str | None = None, **kw: object
) -> policy.NetworkPolicy:
    return policy.build(block, cidrs, domains, allow_private=False, **kw)  # type: ignore[arg-type]


def test_create_policies() -> None:
    assert build(False) == policy.OPEN and build(True) == policy.BLOCKED
    restricted = build(cidrs=f"{PUBLIC}, 198.51.100.7 ,{PUBLIC}")
    assert restricted.allow_list == f"{PUBLIC},198.51.100.7/32" and restricted.mode == "restricted"
    assert build(domains="Example.COM.,*.example.org").domain_list == "example.com,*.example.org"
    assert build(cidrs="") == policy.OPEN  # an empty list lifts the restriction
    both = build(cidrs="", domains="example.com")
    assert both.cidrs == () and both.domains == ("example.com",)


def test_updates_keep_what_they_do_not_name() -> None:
    current = build(cidrs=PUBLIC, domains="example.com")
    assert build(cidrs="198.51.100.0/24", current=current).domains == ("example.com",)
    assert build(domains="example.net", current=current).allow_list == PUBLIC
    assert build(False, current=current) == policy.OPEN  # restores access, clears the lists
    assert build(True, current=current) == policy.BLOCKED
    # From blocked, a list given is the whole policy: nothing of the old (blocked) one carries over.
    assert build(cidrs=PUBLIC, current=policy.BLOCKED) == policy.NetworkPolicy(cidrs=(ipaddress.IPv4Network(PUBLIC),))


@pytest.mark.parametrize(
    ("cidrs", "message"),
    [
        (",".join(f"203.0.113.{i}" for i in range(11)), "at most 10"),
        ("10.1.0.0/16", "private range"),
        ("100.64.0.0/10", "private range"),
        ("169.254.77.1", "never reach"),  # link-local (an address of the class, no traffic is sent)
        ("127.0.0.1", "never reach"),
        ("0.0.0.0/0", "never reach"),
        ("172.29.1.5", "never reach"),  # the sandbox subnet (reserved below)
        ("nope", "not a CIDR"),
        ("::/0", "IPv6"),
    ],
)
def test_bad_cidrs(cidrs: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        build(cidrs=cidrs, reserved=(ipaddress.IPv4Network("172.29.0.0/20"),))


def test_private_ranges_when_the_server_allows_them() -> None:
    assert policy.build(None, "10.1.0.0/16", None, allow_private=True).allow_list == "10.1.0.0/16"
    with pytest.raises(BadRequest, match="never reach"):
        policy.build(None, "169.254.0.0/16", None, allow_private=True)


@pytest.mark.parametrize("bad", ["1.2.3.4", "a..b", "-a.com", "x" * 64 + ".com", "a_b.com", "*.*.com"])
def test_bad_domains(bad: str) -> None:
    with pytest.raises(BadRequest):
        build(domains=bad)


def test_block_all_with_a_list_is_refused() -> None:
    with pytest.raises(BadRequest, match="cannot be combined"):
        build(True, cidrs=PUBLIC)


def test_domain_matching() -> None:
    patterns = ("example.com", "*.example.org")
    assert policy.domain_allowed(patterns, "EXAMPLE.com.")
    assert not policy.domain_allowed(patterns, "www.example.com")
    assert policy.domain_allowed(patterns, "a.b.example.org")
    assert not policy.domain_allowed(patterns, "example.org")
    assert not policy.domain_allowed(patterns, "badexample.org")


def test_a_stored_policy_reads_back() -> None:
    for original in (policy.OPEN, policy.BLOCKED, build(cidrs=PUBLIC), build(cidrs="", domains="a.com")):
        assert policy.from_row(original.block_all, original.allow_list, original.domain_list) == original


# -- the firewall's rules -------------------------------------------------------------------------------------

LAYOUT = Layout(
    prefix="DTabc123",
    bridge="dt-test",
    subnet=ipaddress.IPv4Network("172.29.0.0/20"),
    gateway=ipaddress.IPv4Address("172.29.0.1"),
    builds=ipaddress.IPv4Network("172.29.15.0/24"),
    allow_private=False,
    dns_udp_port=5301,
    dns_tcp_port=5302,
    proxy_port=5303,
)


def member(name: str, ip: str, wanted: policy.NetworkPolicy) -> Member:
    return Member(chain_key(name), ipaddress.IPv4Address(ip), wanted)


def rules_of(text: str, chain: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"-A {chain} ")]


def test_every_sandbox_is_judged_by_the_chain_of_its_address() -> None:
    open_, restricted, domains, blocked = (
        member("open", "172.29.0.2", policy.OPEN),
        member("cidrs", "172.29.0.3", build(cidrs=PUBLIC)),
        member("domains", "172.29.0.4", build(domains="example.com", cidrs="198.51.100.0/24")),
        member("blocked", "172.29.0.5", policy.BLOCKED),
    )
    text = render(LAYOUT, [open_, restricted, domains, blocked], existing=set())
    forward = rules_of(text, "DTabc123-FWD")
    assert f"-A DTabc123-FWD -i dt-test -s 172.29.0.2/32 -j DTabc123-P{open_.key}" in forward
    assert forward[-3:] == [
        "-A DTabc123-FWD -i dt-test -j REJECT --reject-with icmp-admin-prohibited",  # an unknown (spoofed) source
        "-A DTabc123-FWD -o dt-test -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A DTabc123-FWD -o dt-test -j DROP",
    ]
    opened = rules_of(text, f"DTabc123-P{open_.key}")
    refuse = f"-j DTabc123-R{open_.key}"
    for blocked_range in ("172.29.0.0/20", "169.254.0.0/16", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8"):
        assert f"-A DTabc123-P{open_.key} -d {blocked_range} {refuse}" in opened
    assert opened[-1] == f"-A DTabc123-P{open_.key} -j ACCEPT"
    limited = rules_of(text, f"DTabc123-P{restricted.key}")
    assert limited[-2:] == [
        f"-A DTabc123-P{restricted.key} -d {PUBLIC} -j ACCEPT",
        f"-A DTabc123-P{restricted.key} -j DTabc123-R{restricted.key}",
    ]
    assert rules_of(text, f"DTabc123-P{blocked.key}") == [f"-A DTabc123-P{blocked.key} -j DTabc123-R{blocked.key}"]
    pre = rules_of(text, "DTabc123-PRE")
    assert pre[:2] == [
        "-A DTabc123-PRE -p udp --dport 53 -j REDIRECT --to-ports 5301",
        "-A DTabc123-PRE -p tcp --dport 53 -j REDIRECT --to-ports 5302",
    ]
    # Only the domain-list sandbox goes through the proxy, its CIDRs excepted.
    assert pre[2:] == [
        "-A DTabc123-PRE -s 172.29.0.4/32 -d 198.51.100.0/24 -j RETURN",
        "-A DTabc123-PRE -s 172.29.0.4/32 -p tcp -j REDIRECT --to-ports 5303",
    ]
    host = rules_of(text, "DTabc123-IN")
    assert host[:3] == [
        "-A DTabc123-IN -d 172.29.0.1/32 -p udp --dport 5301 -j ACCEPT",
        "-A DTabc123-IN -d 172.29.0.1/32 -p tcp --dport 5302 -j ACCEPT",
        "-A DTabc123-IN -d 172.29.0.1/32 -p tcp --dport 5303 -j ACCEPT",
    ]
    assert host[-1] == "-A DTabc123-IN -j REJECT --reject-with icmp-admin-prohibited"


def test_private_ranges_are_not_refused_when_allowed() -> None:
    layout = Layout(**{**LAYOUT.__dict__, "allow_private": True})
    text = render(layout, [member("a", "172.29.0.2", policy.OPEN)], existing=set())
    assert "-d 10.0.0.0/8" not in text and "-d 169.254.0.0/16" in text


def test_refusal_counters_survive_and_stale_chains_go() -> None:
    kept, gone = member("kept", "172.29.0.2", policy.OPEN), chain_key("gone")
    existing = {f"DTabc123-R{kept.key}", f"DTabc123-R{gone}", f"DTabc123-P{gone}", "DTabc123-FWD"}
    text = render(LAYOUT, [kept], existing)
    assert f":DTabc123-R{kept.key} " not in text  # declaring it would zero its counters
    assert rules_of(text, f"DTabc123-R{kept.key}") == []
    assert f"-F DTabc123-R{gone}" in text and f"-X DTabc123-R{gone}" in text and f"-X DTabc123-P{gone}" in text
    assert text.index(f"-X DTabc123-P{gone}") > text.index(":DTabc123-FWD")  # after nothing refers to it


# -- DNS -------------------------------------------------------------------------------------------------------


def test_questions_and_answers_round_trip() -> None:
    query = a_query("Allowed.Test")
    ident, name, qtype, _ = parse_question(query)
    assert name == "allowed.test" and qtype == 1
    response = answer(query, NOERROR, [ipaddress.IPv4Address("198.51.100.2"), ipaddress.IPv4Address("203.0.113.9")])
    assert struct.unpack("!H", response[:2])[0] == ident
    assert a_records(response) == [ipaddress.IPv4Address("198.51.100.2"), ipaddress.IPv4Address("203.0.113.9")]
    refused = answer(query, REFUSED)
    assert refused[3] & 0x0F == REFUSED and a_records(refused) == []


def test_malformed_messages_are_errors_not_crashes() -> None:
    for bad in (b"", b"\x00" * 11, a_query("a.test")[:15], b"\x00\x01\x81\x00\x00\x01" + b"\x00" * 6 + b"\x01a\x00"):
        with pytest.raises(DnsFormatError):
            parse_question(bad)
    loop = b"\x00" * 12 + b"\xc0\x0c"  # a name that points at itself
    with pytest.raises(DnsFormatError):
        read_name(loop, 12)


def test_upstreams_and_hosts_settings() -> None:
    assert parse_upstreams("system") is None and parse_upstreams("none") == []
    assert parse_upstreams("127.0.0.1:5300, 10.0.0.2") == [("127.0.0.1", 5300), ("10.0.0.2", 53)]
    with pytest.raises(SystemExit):
        parse_upstreams("dns.example.com")
    assert parse_hosts("a.test=198.51.100.2, A.test=198.51.100.3") == {
        "a.test": [ipaddress.IPv4Address("198.51.100.2"), ipaddress.IPv4Address("198.51.100.3")]
    }
    with pytest.raises(SystemExit):
        parse_hosts("a.test")


# -- what the proxy reads ---------------------------------------------------------------------------------------


def client_hello(server_name: str) -> bytes:
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_the_server_name_of_a_real_client_hello() -> None:
    hello = client_hello("api.example.test")
    assert sni_of(hello) == "api.example.test"
    assert sni_of(hello[:40]) is None  # incomplete
    assert sni_of(b"GET / HTTP/1.1\r\n\r\n") is None


def test_the_host_of_an_http_request() -> None:
    assert host_of(b"GET / HTTP/1.1\r\nHost: Example.COM:8080\r\nAccept: */*\r\n\r\n") == "example.com"
    assert host_of(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n") is None
    assert host_of(b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n") is None
    assert host_of(b"GET / HTTP/1.1\r\nHost: example.com") is None  # the head is not complete
    assert host_of(b"\x16\x03\x01 garbage\r\n\r\n") is None
