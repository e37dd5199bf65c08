"""Sandbox networking: egress policies, the host firewall, the sandboxes' DNS and the domain proxy."""
