"""Image names: what users type, and the namespaced tags they get on the shared engine.

A user's image `my-env:1` lives on the engine as `daytona-u-<hash of the user id>/my-env:1`, so no
user can overwrite, load over or build on another's tag. System images (the default image, and
images an admin marks general) keep their plain name.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from ..errors import BadRequest

IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9._/:-]{0,254}$")
NAMESPACE_PREFIX = "daytona-u-"
STAGING_TAG = "daytona-staging-"


def normalize_name(name: str) -> str:
    """Docker's reference format, with `:latest` when no tag is given."""
    name = name.strip()
    if not IMAGE_NAME.match(name) or name.endswith((":", "/")) or "//" in name or ":/" in name:
        raise BadRequest(f"invalid image name {name!r}: use lowercase letters, digits, '.', '_', '-', '/' and a :tag")
    if name.startswith(NAMESPACE_PREFIX):
        raise BadRequest(f"invalid image name {name!r}: names starting with {NAMESPACE_PREFIX} are reserved")
    last = name.rsplit("/", 1)[-1]
    if last.count(":") > 1:
        raise BadRequest(f"invalid image name {name!r}: one :tag at most")
    return name if ":" in last else f"{name}:latest"


def namespace_of(user_id: str) -> str:
    """The repository prefix of a user's images on the engine (user ids may hold characters tags may not)."""
    return NAMESPACE_PREFIX + hashlib.sha256(user_id.encode()).hexdigest()[:16]


def user_ref(user_id: str, name: str) -> str:
    """The engine tag of `user_id`'s image `name` (already normalized)."""
    return f"{namespace_of(user_id)}/{name}"


def staging_ref(final_ref: str) -> str:
    """A fresh tag to build or load into, so nothing existing is touched before every check passed."""
    repository = final_ref.rpartition(":")[0]
    return f"{repository}:{STAGING_TAG}{secrets.token_hex(6)}"
