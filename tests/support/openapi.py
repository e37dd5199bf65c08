"""Requests made from the server's own OpenAPI document, for tests that walk every route."""

from __future__ import annotations

from typing import Any


def example(spec: dict[str, Any], media: dict[str, Any], overrides: dict[str, Any] | None = None) -> Any:
    """A valid body for a request schema: required fields filled by type (or from `overrides`, by field name)."""
    overrides = overrides or {}

    def build(schema: dict[str, Any]) -> Any:
        if "$ref" in schema:
            return build(spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                return build(next(s for s in schema[key] if s.get("type") != "null"))
        kind = schema.get("type")
        if kind == "object":
            names = set(schema.get("required", [])) | (set(overrides) & set(schema.get("properties", {})))
            return {name: overrides.get(name, build(schema["properties"][name])) for name in sorted(names)}
        if "enum" in schema:
            return schema["enum"][0]
        return {"string": "x", "integer": 1, "number": 1, "boolean": False, "array": []}.get(str(kind), "x")

    return build(media["schema"]) if "schema" in media else None


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) for every operation of the document."""
    return [(method.upper(), path, op) for path, item in spec["paths"].items() for method, op in item.items()]
