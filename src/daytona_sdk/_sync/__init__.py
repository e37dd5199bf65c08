# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
"""The async implementation. `_sync/` is generated from this package by `scripts/gen_sync_sdk.py`."""
