"""The Docker side of sandbox networking: this server's bridge network, and (dis)connecting containers.

The bridge has no masquerading and no inter-container traffic of Docker's own; the server's
firewall (daytona_server.network.firewall) decides everything that crosses it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

import docker
import docker.errors
import docker.types

from .base import NetworkAttachment, RuntimeFailure

LABEL_SERVER = "io.daytona.server"


@dataclass(frozen=True)
class Bridge:
    name: str  # the Docker network
    device: str  # the host's bridge interface
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    builds: ipaddress.IPv4Network  # the engine's own (dynamic) addresses: image builds


def layout_of(subnet: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Network]:
    """The gateway (first address) and the build range (the last /24, or quarter of a smaller subnet)."""
    builds_prefix = max(subnet.prefixlen + 2, 24)
    return next(subnet.hosts()), list(subnet.subnets(new_prefix=builds_prefix))[-1]


class BridgeNetworks:
    def __init__(self, client: docker.DockerClient, container_name: Callable[[str], str]) -> None:
        self.client = client
        self.container_name = container_name  # of a sandbox id

    def subnets_in_use(self) -> list[ipaddress.IPv4Network]:
        used = []
        for network in self.client.networks.list():
            for config in (network.attrs.get("IPAM") or {}).get("Config") or []:
                try:
                    net = ipaddress.ip_network(config.get("Subnet", ""))
                except ValueError:
                    continue
                if isinstance(net, ipaddress.IPv4Network):
                    used.append(net)
        return used

    def find(self, name: str) -> Bridge | None:
        try:
            network = self.client.networks.get(name)
        except docker.errors.NotFound:
            return None
        config = ((network.attrs.get("IPAM") or {}).get("Config") or [{}])[0]
        subnet = ipaddress.IPv4Network(config["Subnet"])
        gateway, builds = layout_of(subnet)
        device = (network.attrs.get("Options") or {}).get("com.docker.network.bridge.name", "")
        return Bridge(name, device, subnet, ipaddress.IPv4Address(config.get("Gateway") or gateway), builds)

    def ensure(self, name: str, device: str, subnet: ipaddress.IPv4Network, server_id: str) -> Bridge:
        """This server's bridge network, created if missing."""
        found = self.find(name)
        if found is not None:
            return found
        gateway, builds = layout_of(subnet)
        ipam = docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=str(subnet), iprange=str(builds), gateway=str(gateway))]
        )
        try:
            self.client.networks.create(
                name,
                driver="bridge",
                ipam=ipam,
                options={
                    "com.docker.network.bridge.name": device,
                    "com.docker.network.bridge.enable_icc": "false",
                    "com.docker.network.bridge.enable_ip_masquerade": "false",
                },
                labels={LABEL_SERVER: server_id},
            )
        except docker.errors.APIError as exc:
            raise RuntimeFailure(
                f"cannot create the sandbox network {name} ({subnet}): {exc.explanation or exc}"
            ) from None
        return Bridge(name, device, subnet, gateway, builds)

    def remove(self, name: str) -> None:
        try:
            self.client.networks.get(name).remove()
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot remove the sandbox network {name}: {exc.explanation or exc}") from None

    def _networks_of(self, sandbox_id: str) -> dict[str, object] | None:
        try:
            container = self.client.containers.get(self.container_name(sandbox_id))
        except docker.errors.NotFound:
            return None
        return dict((container.attrs.get("NetworkSettings") or {}).get("Networks") or {})

    def connect(self, sandbox_id: str, attachment: NetworkAttachment) -> None:
        """Join the bridge at the sandbox's address (live, if it runs); no-op if joined or gone."""
        networks = self._networks_of(sandbox_id)
        if networks is None or attachment.network in networks:
            return
        name = self.container_name(sandbox_id)
        try:
            network = self.client.networks.get(attachment.network)
            if "none" in networks:
                self.client.networks.get("none").disconnect(name)
            network.connect(name, ipv4_address=attachment.ip)
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot connect the sandbox to its network: {exc.explanation or exc}") from None

    def disconnect(self, sandbox_id: str, network_name: str) -> None:
        """Leave the bridge: the sandbox keeps only its loopback."""
        networks = self._networks_of(sandbox_id)
        if networks is None or network_name not in networks:
            return
        try:
            self.client.networks.get(network_name).disconnect(self.container_name(sandbox_id), force=True)
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot disconnect the sandbox from its network: {exc.explanation or exc}") from None
