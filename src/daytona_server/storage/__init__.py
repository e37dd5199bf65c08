"""Object storage for sandbox archives: a local directory by default, any S3-compatible store by URL."""

from .base import ObjectStore, StoredObject, open_store

__all__ = ["ObjectStore", "StoredObject", "open_store"]
