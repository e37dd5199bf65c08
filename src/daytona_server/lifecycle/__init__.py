"""Sandbox lifecycle: the state machine and the service that drives the runtime through it."""
