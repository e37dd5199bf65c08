"""The seed's wire format, as daytona_api_client 0.14.0 / daytona-sdk 0.10.0 speak it."""

from .workspaces import router

__all__ = ["router"]
