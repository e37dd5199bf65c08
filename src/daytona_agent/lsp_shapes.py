"""The toolbox's shapes of language server answers: CompletionList, flat LspSymbol lists, and the
ranking that picks which completions to resolve. Pure functions, no I/O."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple


def normalize_completions(result: Any) -> Dict[str, Any]:
    """CompletionItem[] | CompletionList | null -> {"isIncomplete", "items"} (the toolbox's CompletionList)."""
    if isinstance(result, list):
        return {"isIncomplete": False, "items": [i for i in result if isinstance(i, dict)]}
    if isinstance(result, dict):
        items = result.get("items") or []
        return {
            "isIncomplete": bool(result.get("isIncomplete")),
            "items": [i for i in items if isinstance(i, dict)],
        }
    return {"isIncomplete": False, "items": []}


def normalize_documentation(item: Dict[str, Any]) -> None:
    """A plain-string documentation becomes MarkupContent, the object shape the wire spec declares."""
    doc = item.get("documentation")
    if isinstance(doc, str):
        item["documentation"] = {"kind": "plaintext", "value": doc}


def word_before(line: str, character: int) -> str:
    """The identifier being typed: the word characters just left of the cursor."""
    end = min(max(character, 0), len(line))
    start = end
    while start > 0 and (line[start - 1].isalnum() or line[start - 1] in "_$"):
        start -= 1
    return line[start:end]


def _filter_text(item: Dict[str, Any]) -> str:
    return str(item.get("filterText") or item.get("label") or "")


def matches_prefix(item: Dict[str, Any], prefix: str) -> bool:
    return _filter_text(item).lower().startswith(prefix.lower())


def rank_for_prefix(items: List[Dict[str, Any]], prefix: str) -> List[int]:
    """Indexes of `items`, best first: matching the prefix exactly, then ignoring case, then by sortText."""

    def key(index: int) -> Tuple[int, str, str]:
        text = _filter_text(items[index])
        rank = 0 if text.startswith(prefix) else 1 if matches_prefix(items[index], prefix) else 2
        return rank, str(items[index].get("sortText") or text), text

    return sorted(range(len(items)), key=key)


def flatten_symbols(result: Any, uri: str) -> List[Dict[str, Any]]:
    """SymbolInformation[] stays as is; hierarchical DocumentSymbol[] becomes flat SymbolInformation."""
    flat: List[Dict[str, Any]] = []
    if not isinstance(result, list):
        return flat

    def walk(symbol: Dict[str, Any], container: Optional[str]) -> None:
        if "location" in symbol:
            flat.append(symbol)
            return
        entry: Dict[str, Any] = {
            "name": symbol.get("name"),
            "kind": symbol.get("kind"),
            "location": {"uri": uri, "range": symbol.get("range")},
        }
        if container:
            entry["containerName"] = container
        if symbol.get("detail"):
            entry["detail"] = symbol["detail"]
        flat.append(entry)
        for child in symbol.get("children") or []:
            if isinstance(child, dict):
                walk(child, str(symbol.get("name")))

    for symbol in result:
        if isinstance(symbol, dict):
            walk(symbol, None)
    return flat
