"""What the SDK's LspServer sends (the official client's wire format) and how it reads answers."""

from __future__ import annotations

import json
from typing import Any

import httpx

from daytona_sdk import CompletionList, Daytona, DaytonaConfig, LspLanguageId, LspServerStatus, Position

SYMBOL = {
    "name": "f",
    "kind": 12,
    "containerName": None,
    "location": {
        "uri": "file:///p/a.py",
        "range": {"start": {"line": 1, "character": 0}, "end": {"line": 2, "character": 4}},
    },
}


def recording_client(answers: dict[str, Any]) -> tuple[Daytona, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/api/workspace/w":
            return httpx.Response(200, json={"id": "w"})
        return httpx.Response(200, json=answers.get(request.url.path.rsplit("/", 1)[-1], {}))

    daytona = Daytona(
        DaytonaConfig(api_key="k", server_url="http://server/api"), transport=httpx.MockTransport(handler)
    )
    return daytona, sent


def test_requests_match_the_official_wire_format() -> None:
    daytona, sent = recording_client(
        {
            "completions": {
                "isIncomplete": False,
                "items": [{"label": "path", "kind": 9, "sortText": "a", "textEdit": {}}],
            },
            "document-symbols": [SYMBOL],
            "workspace-symbols": [SYMBOL],
        }
    )
    with daytona:
        lsp = daytona.get_current_workspace("w").create_lsp_server(LspLanguageId.PYTHON, "/p")
        lsp.start()
        lsp.did_open("/p/a b.py")
        completions = lsp.completions("/p/a.py", Position(3, 4))
        lsp.completions("src/a.py", {"line": 0, "character": 1})
        symbols = lsp.document_symbols("/p/a.py")
        lsp.sandbox_symbols("f")
        lsp.did_close("/p/a.py")
        lsp.stop()
    calls = [(r.method, r.url.path.split("/toolbox/w/toolbox/")[-1]) for r in sent[1:]]
    assert calls == [
        ("POST", "lsp/start"),
        ("POST", "lsp/did-open"),
        ("POST", "lsp/completions"),
        ("POST", "lsp/completions"),
        ("GET", "lsp/document-symbols"),
        ("GET", "lsp/workspace-symbols"),
        ("POST", "lsp/did-close"),
        ("POST", "lsp/stop"),
    ]
    bodies = [json.loads(r.content) if r.content else None for r in sent[1:]]
    assert bodies[0] == {"languageId": "python", "pathToProject": "/p"}
    assert bodies[1] == {"languageId": "python", "pathToProject": "/p", "uri": "file:///p/a%20b.py"}
    assert bodies[2] == {
        "languageId": "python",
        "pathToProject": "/p",
        "uri": "file:///p/a.py",
        "position": {"line": 3, "character": 4},
    }
    assert bodies[3]["uri"] == "file://src/a.py"
    assert dict(sent[5].url.params) == {"languageId": "python", "pathToProject": "/p", "uri": "file:///p/a.py"}
    assert dict(sent[6].url.params) == {"languageId": "python", "pathToProject": "/p", "query": "f"}
    assert isinstance(completions, CompletionList)
    assert completions.items[0].sort_text == "a" and completions.items[0].model_extra == {"textEdit": {}}
    assert symbols[0].location.range.start == Position(1, 0)
    assert symbols[0].kind == 12


def test_status_of_a_server_that_is_not_listed_is_stopped() -> None:
    daytona, sent = recording_client({"servers": []})
    with daytona:
        status = daytona.get_current_workspace("w").create_lsp_server("typescript", "proj").status()
    assert status == LspServerStatus(languageId="typescript", pathToProject="proj", state="stopped")
    assert dict(sent[-1].url.params) == {"languageId": "typescript", "pathToProject": "proj"}
