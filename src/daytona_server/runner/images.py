"""Images on the runner's Docker engine: build from a context, load a `docker save` tarball, check, remove."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import docker
import docker.errors

from .base import RuntimeFailure

# The agent needs python3 >= 3.9 in the image; this is how an image is checked before use.
PYTHON_CHECK = "import sys; sys.exit(0 if sys.version_info >= (3, 9) else 3)"


class ImageTools:
    def __init__(self, client: docker.DockerClient, build_network: str) -> None:
        self.client = client
        self.build_network = build_network

    def exists(self, name: str) -> bool:
        return self.size_gb(name) is not None

    def onbuild_copies_from(self, name: str) -> bool:
        """True when `name` has ONBUILD triggers that copy from another image (they run in a child's build)."""
        try:
            image = self.client.images.get(name)
        except docker.errors.ImageNotFound:
            return False
        triggers = (image.attrs.get("Config") or {}).get("OnBuild") or []
        return any("--from" in str(t).lower() for t in triggers)

    def tag(self, source: str, target: str) -> None:
        repository, _, tag = target.rpartition(":")
        try:
            self.client.images.get(source).tag(repository, tag)
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot tag {source} as {target}: {exc.explanation or exc}") from None

    def size_gb(self, name: str) -> float | None:
        try:
            image = self.client.images.get(name)
        except docker.errors.ImageNotFound:
            return None
        return round(float(image.attrs.get("Size", 0)) / 1024**3, 3)

    def image_id(self, name: str) -> str | None:
        """The content id (sha256:...) the tag or id `name` names now; None if missing."""
        try:
            return str(self.client.images.get(name).id)
        except docker.errors.ImageNotFound:
            return None

    def validate(self, name: str) -> str | None:
        """None when sandboxes can run on `name`, else what is wrong with it. Leaves no container behind."""
        try:
            container = self.client.containers.create(
                name, ["-c", PYTHON_CHECK], entrypoint="python3", network_mode="none", user="0", cap_drop=["ALL"]
            )
        except docker.errors.ImageNotFound:
            return f"image {name} is not on the runner"
        except docker.errors.APIError as exc:
            return f"image {name} cannot run: {exc.explanation or exc}"
        try:
            container.start()
            status = int(container.wait(timeout=120).get("StatusCode", 1))
        except docker.errors.APIError:
            status = 127  # the entrypoint could not be started: no python3
        except Exception as exc:  # a wait that timed out
            return f"image {name} could not be checked: {exc}"
        finally:
            try:
                container.remove(force=True)
            except docker.errors.APIError:
                pass
        if status == 3:
            return f"image {name} has a python3 older than 3.9, which the sandbox agent needs"
        if status != 0:
            return f"image {name} has no working python3 (the sandbox agent needs python3 >= 3.9)"
        return None

    def build(self, name: str, context: BinaryIO, dockerfile: str) -> Iterator[dict[str, Any]]:
        """Build `name` from a tar build context; yield Docker's build events as they come."""
        try:
            yield from self.client.api.build(
                fileobj=context,
                custom_context=True,
                dockerfile=dockerfile,
                tag=name,
                rm=True,
                forcerm=True,
                decode=True,
                pull=False,
                network_mode=self.build_network,
                labels={"io.daytona.built-by": "daytona"},
            )
        except docker.errors.APIError as exc:
            yield {"error": str(exc.explanation or exc)}

    def load(self, tarball: BinaryIO) -> list[str]:
        """`docker load` a `docker save` tarball; return the tags it brought."""
        try:
            images = self.client.images.load(tarball)  # a file object: streamed, not read into memory
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot load the image: {exc.explanation or exc}") from None
        return [tag for image in images for tag in image.tags]

    def remove(self, name: str) -> None:
        """Remove the tag `name` (and the image, once no tag or container uses it)."""
        try:
            self.client.images.remove(name, force=False, noprune=False)
        except docker.errors.ImageNotFound:
            pass
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"cannot remove image {name}: {exc.explanation or exc}") from None
