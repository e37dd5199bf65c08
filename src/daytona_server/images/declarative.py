"""Declarative images (today's `Image.base(...).pip_install(...)`): a Dockerfile built once per owner, cached.

The SDK sends the recipe as `buildInfo.dockerfileContent`. Its image is named after the recipe's hash
in the owner's namespace, so the same recipe builds once and later sandboxes reuse it. Build output
goes to a log file that clients can follow while the build runs.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from ..db.models import Image, User
from ..errors import ApiError, BadRequest, NotFound
from .service import ImageService

MAX_DOCKERFILE_BYTES = 256 * 1024
FOLLOW_LIMIT_S = 3600.0


def recipe_name(dockerfile: str) -> str:
    """The image name of a recipe: the same text always names the same image."""
    return f"build-{hashlib.sha256(dockerfile.encode()).hexdigest()[:20]}:latest"


def _context(dockerfile: str) -> io.BytesIO:
    data = dockerfile.encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    out.seek(0)
    return out


class BuildLogs:
    """Build output as files under `root`: `<key>.log` grows while the build runs; `<key>.done` marks its end."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.log", self.root / f"{key}.done"

    def start(self, key: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        log, done = self._paths(key)
        done.unlink(missing_ok=True)
        log.write_bytes(b"")

    def write(self, key: str, text: str) -> None:
        with self._paths(key)[0].open("a", encoding="utf-8") as out:
            out.write(text if text.endswith("\n") else text + "\n")

    def finish(self, key: str) -> None:
        self._paths(key)[1].touch()

    def follow(self, key: str, follow: bool, missing: str) -> Iterator[bytes]:
        """The log `key` as read() gives it; NotFound(`missing`) at once when there is none."""
        if not self._paths(key)[0].exists():
            raise NotFound(missing)
        return self.read(key, follow)

    def remove(self, key: str) -> None:
        for path in self._paths(key):
            path.unlink(missing_ok=True)

    def read(self, key: str, follow: bool) -> Iterator[bytes]:
        """The log so far; with `follow`, what is appended too, until the build has ended (bounded)."""
        log, done = self._paths(key)
        if not log.exists():
            return
        deadline = time.monotonic() + FOLLOW_LIMIT_S
        with log.open("rb") as source:
            while True:
                chunk = source.read(64 * 1024)
                if chunk:
                    yield chunk
                    continue
                if not follow or done.exists() or time.monotonic() > deadline:
                    rest = source.read()
                    if rest:
                        yield rest
                    return
                time.sleep(0.2)


class DeclarativeBuilder:
    """Builds recipes into `user`'s images through the image service (its checks, quota and namespaces)."""

    def __init__(self, images: ImageService, logs: BuildLogs) -> None:
        self.images = images
        self.logs = logs
        self._locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)

    @staticmethod
    def check(dockerfile: str) -> str:
        if not dockerfile.strip():
            raise BadRequest("buildInfo.dockerfileContent is empty: describe the image, e.g. Image.base(...)")
        if len(dockerfile.encode()) > MAX_DOCKERFILE_BYTES:
            raise BadRequest(f"buildInfo.dockerfileContent is over {MAX_DOCKERFILE_BYTES // 1024} KiB")
        if "\0" in dockerfile:
            raise BadRequest("buildInfo.dockerfileContent must not contain NUL characters")
        return dockerfile

    def cached(self, user: User, name: str) -> Image | None:
        with self.images.db.session() as session:
            image = self.images.own(session, user, name)
            return image if image is not None and image.state == "active" else None

    def build(self, user: User, dockerfile: str, log_key: str, name: str | None = None) -> Image:
        """The image of `dockerfile` (`name`, or the recipe's own name), built unless it is already there.

        Output goes to the log `log_key`, which the caller started when it queued the build.
        """
        name = name or recipe_name(dockerfile)
        try:
            with self._locks[(user.id, name)]:
                image = self.cached(user, name) if name == recipe_name(dockerfile) else None
                if image is not None:
                    self.logs.write(log_key, f"Using the cached build of this image ({name})")
                    return image
                self.logs.write(log_key, f"Building {name}")
                for event in self.images.build(user, name, _context(dockerfile), "Dockerfile", None):
                    if "log" in event:
                        if str(event["log"]).strip():
                            self.logs.write(log_key, str(event["log"]).rstrip("\n"))
                    elif "error" in event:
                        self.logs.write(log_key, str(event["error"]))
                        raise BadRequest(str(event["error"]))
                    elif "image" in event:
                        built: Image = event["image"]
                        self.logs.write(log_key, f"Built {name}")
                        return self._remember(built, dockerfile)
                raise BadRequest("the build ended without an image")
        except ApiError as exc:
            self.logs.write(log_key, f"Error: {exc.message}")
            raise
        finally:
            self.logs.finish(log_key)

    def _remember(self, built: Image, dockerfile: str) -> Image:
        with self.images.db.session() as session:
            image = session.get(Image, built.id)
            assert image is not None
            image.dockerfile = dockerfile
            session.commit()
            return image
