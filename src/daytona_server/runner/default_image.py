"""Build the default sandbox image without an image registry.

Step 1 makes a Debian bookworm root filesystem with `debootstrap` from Debian's packages, slims it
as debian:bookworm-slim is slimmed, and `docker import`s it (skipped when `DAYTONA_BASE_IMAGE` names
an image that can be pulled, e.g. `debian:bookworm-slim`). Step 2 builds `image/Dockerfile` on top,
with host networking so that apt, npm and PyPI reach their registries. Both steps print progress.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

IMAGE_DIR = Path(__file__).parent / "image"
LOCAL_BASE_IMAGE = "daytona-sandbox-base:bookworm"
LABEL_DOCKERFILE = "io.daytona.dockerfile-sha256"
# The recipe of the local base below: an older base (without the label) is made again.
LABEL_BASE = "io.daytona.base-recipe"
BASE_RECIPE = "slim-1"
DEBIAN_MIRROR = os.environ.get("DAYTONA_DEBIAN_MIRROR", "http://deb.debian.org/debian")

Log = Callable[[str], None]


class ImageBuildError(Exception):
    pass


def dockerfile_digest() -> str:
    return hashlib.sha256((IMAGE_DIR / "Dockerfile").read_bytes()).hexdigest()


def is_current(client: docker.DockerClient, tag: str) -> bool:
    """True when `tag` exists and was built from the Dockerfile shipped with this version."""
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return (image.labels or {}).get(LABEL_DOCKERFILE) == dockerfile_digest()


def ensure_default_image(client: docker.DockerClient, tag: str, log: Log = print) -> None:
    if is_current(client, tag):
        return
    log(f"Building the default sandbox image {tag} (once; takes a few minutes)")
    started = time.monotonic()
    base = os.environ.get("DAYTONA_BASE_IMAGE") or _local_base(client, log)
    _build(client, tag, base, log)
    log(f"Default sandbox image {tag} ready in {time.monotonic() - started:.0f}s")


# Run in the debootstrapped tree (chroot): leave out what debian:bookworm-slim leaves out (manuals,
# translations, documents but their copyrights; now and in every later install), and apt's package
# lists and caches, which the Dockerfile fetches again (together 120 MB of a 200 MB tree).
SLIM_ROOTFS = r"""
set -eu
printf 'path-exclude %s\n' '/usr/share/doc/*' '/usr/share/man/*' '/usr/share/info/*' '/usr/share/locale/*' \
    '/usr/share/groff/*' '/usr/share/lintian/*' '/usr/share/linda/*' > /etc/dpkg/dpkg.cfg.d/docker-slim
echo 'path-include /usr/share/doc/*/copyright' >> /etc/dpkg/dpkg.cfg.d/docker-slim
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/doc -mindepth 1 -depth -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/locale/* /usr/share/groff/* /usr/share/lintian/* \
    /usr/share/linda/* /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
"""


def _local_base(client: docker.DockerClient, log: Log) -> str:
    try:
        if (client.images.get(LOCAL_BASE_IMAGE).labels or {}).get(LABEL_BASE) == BASE_RECIPE:
            return LOCAL_BASE_IMAGE
    except docker.errors.ImageNotFound:
        pass
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            "debootstrap is missing: install it (`apt-get install debootstrap`), or set "
            "DAYTONA_BASE_IMAGE=debian:bookworm-slim where an image registry is reachable"
        )
    if os.geteuid() != 0:
        raise ImageBuildError("debootstrap needs root: build the image once as root (`make image`)")
    with tempfile.TemporaryDirectory(prefix="daytona-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        log(f"[1/2] debootstrap bookworm from {DEBIAN_MIRROR}")
        cache = Path(os.environ.get("DAYTONA_DEBOOTSTRAP_CACHE", "/var/cache/daytona/debootstrap"))
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            ["debootstrap", "--variant=minbase", f"--cache-dir={cache}", "bookworm", str(rootfs), DEBIAN_MIRROR],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        tail: list[str] = []
        for count, line in enumerate(proc.stdout):
            tail = [*tail[-20:], line.rstrip()]
            if line.startswith("I: ") and (count % 25 == 0 or "Base system" in line or "Installing" in line):
                log(f"      {line[3:].rstrip()}")
        if proc.wait() != 0:
            raise ImageBuildError("debootstrap failed:\n" + "\n".join(tail))
        slim = subprocess.run(["chroot", str(rootfs), "/bin/sh", "-c", SLIM_ROOTFS], capture_output=True, text=True)
        if slim.returncode != 0:
            raise ImageBuildError(f"slimming the root filesystem failed: {slim.stderr.strip()}")
        log(f"[1/2] importing the root filesystem as {LOCAL_BASE_IMAGE}")
        archive = Path(tmp) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".")
        repository, tag = LOCAL_BASE_IMAGE.split(":")
        with archive.open("rb") as fh:
            client.api.import_image_from_data(
                fh, repository=repository, tag=tag, changes=[f"LABEL {LABEL_BASE}={BASE_RECIPE}"]
            )
    return LOCAL_BASE_IMAGE


HOST_CA_DIR = Path("/usr/local/share/ca-certificates")


def _build(client: docker.DockerClient, tag: str, base: str, log: Log) -> None:
    with tempfile.TemporaryDirectory(prefix="daytona-build-") as context:
        shutil.copy(IMAGE_DIR / "Dockerfile", Path(context) / "Dockerfile")
        ca_dir = Path(context) / "ca"
        ca_dir.mkdir()
        for cert in HOST_CA_DIR.glob("*.crt") if HOST_CA_DIR.is_dir() else []:
            shutil.copy(cert, ca_dir / cert.name)
        _build_context(client, Path(context), tag, base, log)


def _build_context(client: docker.DockerClient, context: Path, tag: str, base: str, log: Log) -> None:
    log(f"[2/2] docker build {tag} FROM {base}")
    last_error = ""
    tail: list[str] = []
    progress_lines = 0
    stream = client.api.build(
        path=str(context),
        tag=tag,
        buildargs={"BASE_IMAGE": base},
        labels={LABEL_DOCKERFILE: dockerfile_digest()},
        network_mode="host",
        rm=True,
        forcerm=True,
        decode=True,
        pull=False,
    )
    for event in stream:
        if "error" in event:
            last_error = str(event["error"]).strip()
        line = str(event.get("stream", "")).rstrip()
        if not line:
            continue
        tail = [*tail[-30:], line]
        if line.startswith("Step ") or line.startswith("Successfully"):
            log(f"      {line}")
        elif line.startswith(("Get:", "Unpacking", "Setting up", "added ")):
            progress_lines += 1
            if progress_lines % 25 == 1:  # a sign of life every 25 package lines, not all 900
                log(f"        {line[:100]}")
    if last_error:
        raise ImageBuildError(f"building {tag} failed: {last_error}\n" + "\n".join(tail[-15:]))


def main() -> None:
    """`python -m daytona_server.runner.default_image [TAG]`: build the default image if needed."""
    import sys

    from ..config import DEFAULT_IMAGE

    tag = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DAYTONA_DEFAULT_IMAGE", DEFAULT_IMAGE)
    try:
        client = docker.from_env(timeout=600)
        ensure_default_image(client, tag)
    except (ImageBuildError, docker.errors.DockerException) as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"{tag} is up to date")


if __name__ == "__main__":
    main()
