"""Runners: the container runtime behind sandboxes (Docker), the default image and the agent link."""
