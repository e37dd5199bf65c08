"""The published Daytona SDK's LspServer (daytona-sdk 0.10.0, daytona_api_client 0.14.0) against our server.

The official SDK passes `position` to a pydantic model that rejects its own `Position` class, so the
script passes the api client's `Position` (a dict works too).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..support.server import RunningServer, run_official_sdk

SCRIPT = textwrap.dedent(
    """
    import sys
    from daytona_api_client import Position
    from daytona_sdk import Daytona, DaytonaConfig, LspLanguageId

    daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], server_url=sys.argv[2], target="us"))
    workspace = daytona.create()
    try:
        workspace.process.exec(
            "mkdir -p /workspace/project/src && printf 'import os\\\\n\\\\ndef helper_func():\\\\n    pass\\\\n\\\\n"
            "class Greeter:\\\\n    pass\\\\n\\\\nos.pa\\\\n' > /workspace/project/main.py"
            " && printf 'def other_func():\\\\n    pass\\\\n' > /workspace/project/src/other.py"
            " && printf 'const s = \\"x\\";\\\\ns.toUpp\\\\n' > /workspace/project/src/index.ts"
        )
        lsp = workspace.create_lsp_server(LspLanguageId.PYTHON, "/workspace/project")
        lsp.start()
        lsp.did_open("/workspace/project/main.py")
        completions = lsp.completions("/workspace/project/main.py", Position(line=8, character=5))
        path = [item for item in completions.items if item.label == "path"][0]
        print("completions", completions.is_incomplete, path.kind, path.insert_text, path.detail,
              "pathname" in path.documentation["value"])
        symbols = lsp.document_symbols("/workspace/project/main.py")
        print("document", sorted((s.name, int(s.kind)) for s in symbols if s.name != "os"))
        print("location", symbols[1].location.uri, symbols[1].location.range.start.line)
        found = lsp.workspace_symbols("func")
        print("workspace", sorted((s.name, s.location.uri.rsplit("/", 1)[-1]) for s in found))
        lsp.did_close("/workspace/project/main.py")
        lsp.stop()
        try:
            lsp.document_symbols("/workspace/project/main.py")
        except Exception as exc:
            print("stopped", type(exc).__name__, exc)
        ts = workspace.create_lsp_server(LspLanguageId.TYPESCRIPT, "/workspace/project")
        ts.start()
        ts.did_open("/workspace/project/src/index.ts")
        items = ts.completions("/workspace/project/src/index.ts", {"line": 1, "character": 7}).items
        print("typescript", "toUpperCase" in [item.label for item in items])
        ts.stop()
        try:
            workspace.create_lsp_server("cobol", "/workspace/project").start()
        except Exception as exc:
            print("unknown", type(exc).__name__, exc)
    finally:
        daytona.remove(workspace)
    """
)


def test_official_sdk_lsp_server(server: RunningServer, tmp_path: Path) -> None:
    lines = run_official_sdk(SCRIPT, tmp_path, server.api_key, server.url)
    assert lines[:5] == [
        "completions False 9 path os True",
        "document [('Greeter', 5), ('helper_func', 12)]",
        "location file:///workspace/project/main.py 2",
        "workspace [('helper_func', 'main.py'), ('other_func', 'other.py')]",
        "stopped DaytonaError Failed to get symbols from document: "
        "no python language server is running for /workspace/project: call start() first",
    ]
    assert lines[5] == "typescript True"
    assert lines[6].startswith("unknown DaytonaError Failed to start LSP server: unsupported languageId 'cobol'")
