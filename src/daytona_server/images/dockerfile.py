"""Rewrite a Dockerfile's image references so that a build can only start from images its caller may use.

Docker resolves `FROM x` and `COPY --from=x` against every image on the engine, other users' included.
Before a build, each such reference goes through a resolver that maps a name the caller may use to
its engine tag and refuses everything else; stage names, stage indexes and `scratch` stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import BadRequest

Resolver = Callable[[str], str]

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-+])(?P<word>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_MOUNT_FROM = re.compile(r"--mount=\S*\bfrom=", re.IGNORECASE)


@dataclass
class _Instruction:
    keyword: str
    text: str  # the whole logical line, continuations joined
    first: int  # index of its first physical line
    last: int  # index of its last physical line


def _instructions(lines: list[str]) -> list[_Instruction]:
    escape = "\\"
    for line in lines:  # parser directives: only at the very top
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match[1].lower() == "escape":
            escape = match[2]
    found: list[_Instruction] = []
    parts: list[str] = []
    first = 0
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not parts:
            if not stripped or stripped.startswith("#"):
                continue
            first = index
        elif stripped.startswith("#"):
            continue  # comments inside a continued instruction are dropped by Docker too
        if stripped.endswith(escape):
            parts.append(stripped[: -len(escape)])
            continue
        parts.append(stripped)
        text = " ".join(p.strip() for p in parts if p.strip())
        found.append(_Instruction(text.split(None, 1)[0].upper(), text, first, index))
        parts = []
    if parts:
        text = " ".join(p.strip() for p in parts if p.strip())
        found.append(_Instruction(text.split(None, 1)[0].upper(), text, first, len(lines) - 1))
    return found


def _expand(value: str, args: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        current = args.get(name, "")
        if match["op"] == "-":
            return current or match["word"]
        if match["op"] == "+":
            return match["word"] if current else ""
        return current

    expanded = _VARIABLE.sub(one, value)
    if "$" in expanded or not expanded:
        raise BadRequest(f"cannot resolve {value!r} in the Dockerfile: use a literal image name")
    return expanded


def resolve_references(dockerfile: str, resolve: Resolver) -> str:
    """`dockerfile` with every image it starts from or copies from mapped through `resolve`."""
    lines = dockerfile.splitlines()
    replaced: dict[int, tuple[int, str]] = {}
    args: dict[str, str] = {}
    stages: list[str] = []
    seen_from = False
    for instruction in _instructions(lines):
        words = instruction.text.split()
        keyword = instruction.keyword
        if keyword == "ARG" and not seen_from:
            for word in words[1:]:
                name, _, default = word.partition("=")
                args[name] = default.strip("\"'")
        elif keyword == "FROM":
            seen_from = True
            flags = [w for w in words[1:] if w.startswith("--")]
            rest = [w for w in words[1:] if not w.startswith("--")]
            if not rest:
                raise BadRequest(f"FROM without an image on line {instruction.first + 1} of the Dockerfile")
            image = _expand(rest[0], args)
            if image.lower() not in stages and image != "scratch":
                image = resolve(image)
            if len(rest) >= 3 and rest[1].lower() == "as":
                stages.append(rest[2].lower())
            text = " ".join(["FROM", *flags, image, *rest[1:]])
            replaced[instruction.first] = (instruction.last, text)
        elif keyword in ("COPY", "ONBUILD", "RUN"):
            if keyword == "ONBUILD" and "--from" in instruction.text.lower():
                raise BadRequest("ONBUILD with --from is not allowed: it would copy from images chosen later")
            if keyword == "RUN" and _MOUNT_FROM.search(instruction.text):
                raise BadRequest("RUN --mount=...,from= is not supported: copy from a build stage instead")
            if keyword == "COPY":
                copied = _resolve_copy(words, stages, resolve)
                if copied is not None:
                    replaced[instruction.first] = (instruction.last, copied)
    out: list[str] = []
    index = 0
    while index < len(lines):
        if index in replaced:
            last, text = replaced[index]
            out.append(text)
            index = last + 1
            continue
        out.append(lines[index])
        index += 1
    return "\n".join(out) + "\n"


def _resolve_copy(words: list[str], stages: list[str], resolve: Resolver) -> str | None:
    """A COPY line with its `--from=<image>` resolved; None when it copies from no image."""
    changed = False
    for position, word in enumerate(words):
        if not word.lower().startswith("--from="):
            continue
        source = word.split("=", 1)[1]
        if source.isdigit() or source.lower() in stages:
            continue
        words[position] = f"--from={resolve(source)}"
        changed = True
    return " ".join(words) if changed else None
