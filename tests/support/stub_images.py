"""An in-memory image engine for in-process API tests: tags, builds and loads, and a log of every call."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from typing import Any, BinaryIO


class StubImages:
    """Implements daytona_server.images.service.ImageEngine; `calls` shows what touched the engine."""

    def __init__(self) -> None:
        self.build_network = "none"
        self.tags: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.size = 0.5  # GB of every image built or loaded

    def exists(self, name: str) -> bool:
        return name in self.tags or name.startswith("daytona-sandbox")

    def size_gb(self, name: str) -> float | None:
        if name in self.tags:
            return float(self.tags[name]["size"])
        return 0.8 if name.startswith("daytona-sandbox") else None

    def image_id(self, name: str) -> str | None:
        if name in self.tags:
            return f"sha256:{id(self.tags[name]):x}"  # a new entry, a new id (as a push would give)
        return "sha256:default" if name.startswith("daytona-sandbox") else None

    def validate(self, name: str) -> str | None:
        return None if self.exists(name) else f"image {name} is not on the runner"

    def onbuild_copies_from(self, name: str) -> bool:
        return bool(self.tags.get(name, {}).get("onbuild_from"))

    def build(self, name: str, context: BinaryIO, dockerfile: str) -> Iterator[dict[str, Any]]:
        self.calls.append(("build", name))
        with tarfile.open(fileobj=context, mode="r:") as tar:
            member = tar.extractfile(dockerfile)
            text = member.read().decode() if member else ""
        yield {"stream": f"building from:\n{text}"}
        if "FAIL" in text:
            yield {"error": "The command returned a non-zero code: 1"}
            return
        self.tags[name] = {"size": self.size, "dockerfile": text}

    def load(self, tarball: BinaryIO) -> list[str]:
        with tarfile.open(fileobj=tarball, mode="r:") as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.loads(member.read()) if member else []
        loaded = [tag for entry in manifest for tag in entry.get("RepoTags", [])]
        for tag in loaded:
            self.calls.append(("load", tag))
            self.tags[tag] = {"size": self.size}
        return loaded

    def tag(self, source: str, target: str) -> None:
        self.calls.append(("tag", target))
        self.tags[target] = dict(self.tags[source])

    def remove(self, name: str) -> None:
        self.calls.append(("remove", name))
        self.tags.pop(name, None)
