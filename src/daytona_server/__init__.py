"""The Daytona-compatible sandbox server: REST API, lifecycle, runner and storage."""

__version__ = "0.1.0"
