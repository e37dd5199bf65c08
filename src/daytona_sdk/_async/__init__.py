"""The async implementation. `_sync/` is generated from this package by `scripts/gen_sync_sdk.py`."""
