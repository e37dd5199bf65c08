"""The archive format and the tree diff behind it, on real temp directories.

A btrfs snapshot is the tree as it was, with the same inode numbers and ctimes; a recording of a
tree's lstat results before it is changed is exactly that, so the diff runs here unchanged.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from daytona_server.runner import changes, treediff
from daytona_server.runner.base import RuntimeFailure

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts and trusted xattrs need root")
needs_tools = pytest.mark.skipif(not (shutil.which("tar") and shutil.which("zstd")), reason="needs tar and zstd")


def record(root: Path) -> treediff.Listing:
    """The tree's lstat results now, as a snapshot would keep them."""
    kept: dict[str, dict[str, os.stat_result]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        kept[rel] = {name: os.lstat(os.path.join(dirpath, name)) for name in [*dirnames, *filenames]}
    time.sleep(0.02)  # later changes get a later ctime even with coarse clocks
    return lambda rel: kept.get(rel, {})


def make_image(root: Path) -> None:
    (root / "etc/deep").mkdir(parents=True)
    (root / "etc/passwd").write_text("root\n")
    (root / "etc/deep/keep").write_text("keep\n")
    (root / "etc/meta").write_text("meta\n")
    (root / "gone/sub").mkdir(parents=True)
    (root / "gone/sub/file").write_text("x\n")
    (root / "remade").mkdir()
    (root / "remade/old").write_text("old\n")
    (root / "was-file").write_text("file\n")
    (root / "was-dir").mkdir()
    (root / "was-dir/child").write_text("child\n")
    (root / "bin").symlink_to("usr/bin")
    (root / "hard1").write_text("linked\n")
    os.link(root / "hard1", root / "hard2")
    (root / "untouched").write_text("same\n")


def change_tree(root: Path) -> None:
    with (root / "etc/passwd").open("a") as fh:  # in place: same inode
        fh.write("daytona\n")
    os.chmod(root / "etc/meta", 0o600)  # metadata only
    shutil.rmtree(root / "gone")
    shutil.rmtree(root / "remade")
    (root / "remade").mkdir()
    (root / "remade/new").write_text("new\n")
    (root / "was-file").unlink()
    (root / "was-file").mkdir()
    (root / "was-file/inside").write_text("inside\n")
    shutil.rmtree(root / "was-dir")
    (root / "was-dir").symlink_to("/etc/passwd")
    (root / "added/deeper").mkdir(parents=True)
    (root / "added/deeper/f").write_bytes(os.urandom(1000))
    (root / "sparse").open("wb").truncate(1 << 20)
    with (root / "hard2").open("a") as fh:
        fh.write("more\n")
    os.setxattr(root / "etc/deep/keep", "user.note", b"hi")


def test_diff_finds_every_change_and_nothing_else(tmp_path: Path) -> None:
    make_image(tmp_path)
    before = record(tmp_path)
    change_tree(tmp_path)
    found = treediff.diff_trees(tmp_path, before)
    assert found.deleted == ["gone", "remade", "was-dir", "was-file"]
    assert found.entries == [
        ".",
        "added",
        "added/deeper",
        "added/deeper/f",
        "etc",
        "etc/deep",
        "etc/deep/keep",
        "etc/meta",
        "etc/passwd",
        "hard1",
        "hard2",
        "remade",
        "remade/new",
        "sparse",
        "was-dir",
        "was-file",
        "was-file/inside",
    ]


def test_an_unchanged_tree_has_no_changes(tmp_path: Path) -> None:
    make_image(tmp_path)
    found = treediff.diff_trees(tmp_path, record(tmp_path))
    assert found == treediff.Changes(entries=["."], deleted=[])


def fingerprint(root: Path) -> list[tuple[object, ...]]:
    """Everything a restore must bring back: names, types, modes, owners, mtimes, data, xattrs, links."""
    rows: list[tuple[object, ...]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted([*dirnames, *filenames, "."]):
            path = Path(dirpath, name)
            st = os.lstat(path)
            data = ""
            if stat.S_ISREG(st.st_mode):
                data = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                data = os.readlink(path)
            xattrs = sorted(os.listxattr(path, follow_symlinks=False)) if not stat.S_ISLNK(st.st_mode) else []
            mtime = st.st_mtime_ns if not stat.S_ISLNK(st.st_mode) else 0
            rows.append(
                (os.path.relpath(path, root), st.st_mode, st.st_uid, st.st_gid, mtime, st.st_nlink, data, xattrs)
            )
    return sorted(rows)


@needs_tools
def test_archive_restores_a_copy_of_the_image_to_the_changed_tree(tmp_path: Path) -> None:
    image, restored, archive = tmp_path / "image", tmp_path / "restored", tmp_path / "a.tar.zst"
    image.mkdir()
    make_image(image)
    subprocess.run(["cp", "-a", f"{image}/.", str(restored)], check=True)
    before = record(image)
    change_tree(image)
    with archive.open("wb") as out:
        sha256, size = changes.export_changes(image, treediff.diff_trees(image, before), out)
    assert (sha256, size) == (changes.sha256_of(archive), archive.stat().st_size)
    assert changes.read_manifest(archive) == {
        "format": "daytona-changes",
        "version": 1,
        "deleted": ["gone", "remade", "was-dir", "was-file"],
    }
    listed = subprocess.run(f"zstd -dc {archive} | tar -t", shell=True, capture_output=True, text=True, check=True)
    assert "./untouched" not in listed.stdout.split() and "./etc/passwd" in listed.stdout.split()
    changes.import_changes(archive, restored, "rootfs")
    assert fingerprint(restored) == fingerprint(image)
    assert os.stat(restored / "hard1").st_ino == os.stat(restored / "hard2").st_ino
    assert os.stat(restored / "sparse").st_blocks < 100  # still sparse


def test_deletions_never_follow_symlinks(tmp_path: Path) -> None:
    outside, root = tmp_path / "outside", tmp_path / "root"
    outside.mkdir()
    (outside / "precious").write_text("keep me\n")
    root.mkdir()
    (root / "escape").symlink_to(outside)
    (root / "dirlink").symlink_to(outside)
    treediff.apply_deletions(root, ["escape/precious", "dirlink", "missing/x"])
    assert (outside / "precious").read_text() == "keep me\n"
    assert not (root / "dirlink").is_symlink() and (root / "escape").is_symlink()
    with pytest.raises(ValueError):
        treediff.apply_deletions(root, ["a/../../outside"])


@needs_tools
def test_old_tarball_only_archives_restore_on_overlay2_only(tmp_path: Path) -> None:
    upper, archive = tmp_path / "upper", tmp_path / "old.tar.zst"
    upper.mkdir()
    (upper / "file").write_text("old format\n")
    subprocess.run(f"tar -C {upper} -cf - . | zstd -q -c > {archive}", shell=True, check=True)
    assert changes.read_manifest(archive) is None
    with pytest.raises(RuntimeFailure, match="older version"):
        changes.import_changes(archive, tmp_path, "rootfs")
    target = tmp_path / "new-upper"
    target.mkdir()
    changes.import_changes(archive, target, "upper")
    assert (target / "file").read_text() == "old format\n"


@needs_root
@needs_tools
def test_overlay_upper_directories_round_trip(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "home/daytona").mkdir(parents=True)
    os.mknod(upper / "home/daytona/.bashrc", stat.S_IFCHR, os.makedev(0, 0))
    (upper / "opt/replaced").mkdir(parents=True)
    (upper / "opt/replaced/new").write_text("new\n")
    try:
        os.setxattr(upper / "opt/replaced", treediff.OPAQUE_XATTR, b"y")
    except OSError as exc:
        pytest.skip(f"no trusted xattrs here: {exc}")
    found = treediff.upper_changes(upper)
    assert found.deleted == ["home/daytona/.bashrc", "opt/replaced"]
    assert found.entries == [".", "home", "home/daytona", "opt", "opt/replaced", "opt/replaced/new"]
    archive = tmp_path / "a.tar.zst"
    with archive.open("wb") as out:
        changes.export_changes(upper, found, out, exclude_xattrs=["trusted.overlay.*"])
    # Back into an upper directory: the same whiteout and opaque directory.
    again = tmp_path / "again"
    again.mkdir()
    changes.import_changes(archive, again, "upper")
    whiteout = os.lstat(again / "home/daytona/.bashrc")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0
    assert os.getxattr(again / "opt/replaced", treediff.OPAQUE_XATTR) == b"y"
    # Onto a full root file system (btrfs): real deletions.
    rootfs = tmp_path / "rootfs"
    (rootfs / "home/daytona").mkdir(parents=True)
    (rootfs / "home/daytona/.bashrc").write_text("image\n")
    (rootfs / "opt/replaced").mkdir(parents=True)
    (rootfs / "opt/replaced/old").write_text("image\n")
    changes.import_changes(archive, rootfs, "rootfs")
    assert not (rootfs / "home/daytona/.bashrc").exists()
    assert sorted(os.listdir(rootfs / "opt/replaced")) == ["new"]
    assert treediff.OPAQUE_XATTR not in os.listxattr(rootfs / "opt/replaced")
