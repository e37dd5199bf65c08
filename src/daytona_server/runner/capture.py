"""Copies of a running container's file system: for forks (its changes) and sandbox snapshots (an image).

The container is frozen (cgroup freezer, `docker pause`) only as long as a consistent copy takes: on
btrfs, a read-only snapshot of its subvolume (constant time), which is then read at leisure; on
overlay2 there is no such copy, so it stays frozen while its changes are read.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import docker.errors
from docker.models.containers import Container

from . import changes, treediff
from .base import RuntimeFailure

# The image settings a snapshot keeps from the image its sandbox was made from, not from the sandbox.
IMAGE_CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts", "Volumes")


@contextmanager
def frozen(container: Container) -> Iterator[Callable[[], float]]:
    """Pause `container` for the block; yields a function telling how long it was (or has been) frozen."""
    began = time.monotonic()
    ended: list[float] = []
    try:
        container.pause()
    except docker.errors.APIError as exc:
        raise RuntimeFailure(f"cannot pause the sandbox for a consistent copy: {exc.explanation or exc}") from None
    try:
        yield lambda: (ended[0] if ended else time.monotonic()) - began
    finally:
        try:
            container.unpause()
        finally:
            ended.append(time.monotonic())


def _btrfs(*args: str) -> None:
    done = subprocess.run(["btrfs", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeFailure(f"btrfs {args[0]} {args[1]} failed: {done.stderr.strip()}")


def export_running(
    container: Container, layout: changes.Layout, tree: Path, parent: Path | None, out: BinaryIO
) -> tuple[str, int, float]:
    """Write the running container's changes to `out`; return (sha256, size, seconds frozen)."""
    if layout == "rootfs" and parent is not None:
        copy = tree.parent / f"fork-{secrets.token_hex(6)}"
        # Write dirty data out while the sandbox still runs: the snapshot then commits little while frozen.
        _btrfs("filesystem", "sync", str(tree))
        with frozen(container) as freeze:
            _btrfs("subvolume", "snapshot", "-r", str(tree), str(copy))
        try:
            sha, size = changes.export_changes(copy, treediff.diff_trees(copy, treediff.scan(parent)), out)
        finally:
            _btrfs("subvolume", "delete", str(copy))
        return sha, size, freeze()
    with frozen(container) as freeze:
        found = treediff.upper_changes(tree)
        sha, size = changes.export_changes(tree, found, out, exclude_xattrs=["trusted.overlay.*"])
    return sha, size, freeze()


def commit_running(container: Container, image_config: dict[str, Any], ref: str) -> float:
    """Commit the running container as image `ref`, with its image's settings; return seconds frozen."""
    repository, _, tag = ref.rpartition(":")
    conf = {key: image_config.get(key) for key in IMAGE_CONFIG_KEYS}
    began = time.monotonic()
    try:
        container.commit(repository=repository, tag=tag, conf=conf, pause=True)
    except docker.errors.APIError as exc:
        raise RuntimeFailure(f"cannot commit the sandbox: {exc.explanation or exc}") from None
    return time.monotonic() - began
