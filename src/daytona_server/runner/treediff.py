"""A sandbox's changes against its image as two lists: entries to store and paths deleted.

Paths are relative to the root file system, `/`-separated, with "." for the root itself; they are
`str` decoded with the file-system encoding (surrogate escapes keep non-UTF-8 names intact).

- btrfs: a container's root file system is a snapshot of its parent, so an unchanged entry has the
  same type, inode number and ctime in both trees. Any change bumps the ctime, which nobody can
  set back without CAP_SYS_TIME, so comparing (type, st_ino, st_ctime_ns) finds every change.
- overlay2: the upper directory is the change set; whiteouts (character devices 0:0) are
  deletions and an opaque directory (`trusted.overlay.opaque=y`) is a deletion plus a new directory.

Restoring turns the deletions back into removals (btrfs) or whiteouts (overlay2), always through
directory file descriptors and O_NOFOLLOW, so a symlink in a sandbox never leads outside it.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

OPAQUE_XATTR = "trusted.overlay.opaque"

# The entries of one directory (relative path) of a tree, by name, as lstat results.
Listing = Callable[[str], dict[str, os.stat_result]]


@dataclass
class Changes:
    """What an archive holds: `entries` to store (parents first) and `deleted` paths (topmost only)."""

    entries: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def join(rel: str, name: str) -> str:
    return name if rel == "." else f"{rel}/{name}"


def _parent(rel: str) -> str:
    return rel.rpartition("/")[0] or "."


def scan(root: Path) -> Listing:
    """A `Listing` that reads a real directory tree (missing directories list as empty)."""

    def listing(rel: str) -> dict[str, os.stat_result]:
        try:
            with os.scandir(root / rel) as entries:
                return {entry.name: entry.stat(follow_symlinks=False) for entry in entries}
        except (FileNotFoundError, NotADirectoryError):
            return {}

    return listing


def _walk(root: Path, rel: str) -> Iterator[str]:
    """`rel` and, for a directory, everything below it (symlinks are not followed)."""
    stack = [rel]
    while stack:
        current = stack.pop()
        yield current
        if stat.S_ISDIR(os.lstat(root / current).st_mode):
            with os.scandir(root / current) as entries:
                stack.extend(join(current, entry.name) for entry in entries)


def _finish(changed: set[str], deleted: list[str]) -> Changes:
    """Add the root and every ancestor of a change (so the archive is self-contained), parents first."""
    entries = {"."} | changed
    for path in [*changed, *deleted]:
        while path != ".":
            path = _parent(path)
            if path in entries:
                break
            entries.add(path)
    ordered = sorted(entries - {"."}, key=lambda p: p.split("/"))
    return Changes(entries=[".", *ordered], deleted=sorted(deleted, key=lambda p: p.split("/")))


def diff_trees(root: Path, parent: Listing) -> Changes:
    """Changes of the tree at `root` against `parent`, a snapshot it was made from (btrfs)."""
    changed: set[str] = set()
    deleted: list[str] = []
    current = scan(root)
    stack = ["."]
    while stack:
        rel = stack.pop()
        now, before = current(rel), parent(rel)
        deleted.extend(join(rel, name) for name in before.keys() - now.keys())
        for name, st in now.items():
            path = join(rel, name)
            old = before.get(name)
            is_dir = stat.S_ISDIR(st.st_mode)
            if old is None:
                changed.update(_walk(root, path))
            elif stat.S_IFMT(st.st_mode) != stat.S_IFMT(old.st_mode) or (is_dir and st.st_ino != old.st_ino):
                deleted.append(path)  # replaced: nothing of the old entry may come back
                changed.update(_walk(root, path))
            elif is_dir:
                if st.st_ctime_ns != old.st_ctime_ns:
                    changed.add(path)
                stack.append(path)
            elif (st.st_ino, st.st_ctime_ns) != (old.st_ino, old.st_ctime_ns):
                changed.add(path)
    return _finish(changed, deleted)


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def upper_changes(upper: Path) -> Changes:
    """The changes an overlay2 upper directory holds, in the driver-neutral form."""
    changed: set[str] = set()
    deleted: list[str] = []
    for path in _walk(upper, "."):
        if path == ".":
            continue
        full = upper / path
        st = os.lstat(full)
        if _is_whiteout(st):
            deleted.append(path)
            continue
        if stat.S_ISDIR(st.st_mode) and _is_opaque(full):
            deleted.append(path)
        changed.add(path)
    return _finish(changed, deleted)


def _open_parent(root_fd: int, rel: str, create: bool = False) -> tuple[int, str] | None:
    """An fd of the directory holding `rel` (caller closes it) and the last name; None if absent."""
    *dirs, name = rel.split("/")
    fd = os.dup(root_fd)
    try:
        for part in dirs:
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                    os.close(fd)
                    return None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd, name


def _each_parent(root: Path, paths: Iterable[str], create: bool = False) -> Iterator[tuple[int, str]]:
    """For each path, (fd of its directory, name), resolved without following any symlink."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for rel in paths:
            if rel in (".", "") or ".." in rel.split("/"):
                raise ValueError(f"bad path in the archive's manifest: {rel!r}")
            found = _open_parent(root_fd, rel, create)
            if found is None:
                continue
            fd, name = found
            try:
                yield fd, name
            finally:
                os.close(fd)
    finally:
        os.close(root_fd)


def _lstat_at(fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def apply_deletions(root: Path, deleted: Iterable[str]) -> None:
    """Remove each path (a directory with everything in it) from the tree at `root`; absent is fine."""
    for fd, name in _each_parent(root, deleted):
        st = _lstat_at(fd, name)
        if st is None:
            continue
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=fd)  # fd-based: never follows a symlink
        else:
            os.unlink(name, dir_fd=fd)


def apply_whiteouts(upper: Path, deleted: Iterable[str]) -> None:
    """Turn deletions into an overlay2 upper directory's form: whiteouts, opaque re-added directories."""
    for fd, name in _each_parent(upper, deleted, create=True):
        st = _lstat_at(fd, name)
        if st is None:
            os.mknod(name, stat.S_IFCHR, os.makedev(0, 0), dir_fd=fd)
        elif stat.S_ISDIR(st.st_mode):  # deleted, then made anew: hide what the image had there
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            try:
                os.setxattr(child, OPAQUE_XATTR, b"y")
            finally:
                os.close(child)
        # A file or symlink in the upper directory hides the image's entry already.
