"""Models of the language server (LSP) feature, with the official SDK's names and wire field names."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LspLanguageId(StrEnum):
    """Languages with a language server in the default image (javascript uses TypeScript's)."""

    PYTHON = "python"
    TYPESCRIPT = "typescript"
    JAVASCRIPT = "javascript"


@dataclass
class Position:
    """A zero-based position in a text document: line, and character offset within the line."""

    line: int
    character: int


class _WireModel(BaseModel):
    # Python names, camelCase on the wire; fields the server adds (textEdit, data, ...) are kept.
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class Range(_WireModel):
    start: Position
    end: Position


class LspLocation(_WireModel):
    uri: str
    range: Range


class LspSymbol(_WireModel):
    """A symbol (function, class, variable, ...): its name, LSP SymbolKind number and location."""

    name: str
    kind: int
    location: LspLocation
    container_name: str | None = Field(default=None, alias="containerName")


class CompletionItem(_WireModel):
    """One completion as the language server returned it (documentation is MarkupContent)."""

    label: str
    kind: int | None = None
    detail: str | None = None
    documentation: dict[str, Any] | None = None
    sort_text: str | None = Field(default=None, alias="sortText")
    filter_text: str | None = Field(default=None, alias="filterText")
    insert_text: str | None = Field(default=None, alias="insertText")


class CompletionList(_WireModel):
    is_incomplete: bool = Field(alias="isIncomplete")
    items: list[CompletionItem]


class LspServerStatus(_WireModel):
    """A language server of the sandbox: state is starting, running, crashed or stopped."""

    language_id: str = Field(alias="languageId")
    path_to_project: str = Field(alias="pathToProject")
    state: str
    pid: int | None = None
    exit_code: int | None = Field(default=None, alias="exitCode")
    error: str | None = None
    open_documents: int = Field(default=0, alias="openDocuments")
