"""A scripted stand-in for a language server, for unit tests of the agent's LSP client.

`python fake_lsp_server.py MODE`: speaks the LSP base protocol on stdin/stdout. MODE picks a
misbehaviour: normal, hang (never answers after initialize), crash (exits on completion),
deaf (ignores shutdown and exit), ask (asks the client for its configuration first).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

MODE = sys.argv[1] if len(sys.argv) > 1 else "normal"
IN = sys.stdin.buffer
OUT = sys.stdout.buffer


def read() -> Any:
    length = None
    while True:
        line = IN.readline()
        if not line:
            sys.exit(0)
        line = line.strip()
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    assert length is not None
    return json.loads(IN.read(length))


def send(message: dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    # Written in two pieces with a pause: the client must reassemble split frames.
    OUT.write(b"Content-Length: %d\r\n\r\n" % len(body) + body[:3])
    OUT.flush()
    time.sleep(0.001)
    OUT.write(body[3:])
    OUT.flush()


config_answer: Any = None
while True:
    message = read()
    method, request_id = message.get("method"), message.get("id")
    if method == "initialize":
        capabilities = {"completionProvider": {"resolveProvider": True}, "documentSymbolProvider": True}
        send({"jsonrpc": "2.0", "id": request_id, "result": {"capabilities": capabilities}})
    elif method == "initialized" and MODE == "ask":
        send({"jsonrpc": "2.0", "id": "cfg-1", "method": "workspace/configuration", "params": {"items": [{}, {}]}})
        send({"jsonrpc": "2.0", "id": 77, "method": "unknown/request", "params": {}})
    elif "method" not in message and MODE == "ask":
        config_answer = config_answer or []
        config_answer.append(message)
    elif MODE == "hang":
        continue
    elif method == "textDocument/completion":
        if MODE == "crash":
            sys.stderr.write("fatal: something broke\n")
            sys.stderr.flush()
            os._exit(3)
        items = [{"label": "alpha", "kind": 3, "documentation": "plain words"}, {"label": "beta"}]
        send({"jsonrpc": "2.0", "id": request_id, "result": {"isIncomplete": False, "items": items}})
    elif method == "completionItem/resolve":
        send({"jsonrpc": "2.0", "id": request_id, "result": {**message["params"], "detail": "resolved"}})
    elif method == "test/echoConfig":
        send({"jsonrpc": "2.0", "id": request_id, "result": config_answer})
    elif method == "test/fail":
        send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32603, "message": "it broke\n    at x.js:1"}})
    elif method == "shutdown":
        if MODE != "deaf":
            send({"jsonrpc": "2.0", "id": request_id, "result": None})
    elif method == "exit":
        if MODE != "deaf":
            sys.exit(0)
    elif request_id is not None:
        send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": "no " + str(method)}})
