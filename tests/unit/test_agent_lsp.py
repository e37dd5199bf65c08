"""The agent's LSP bridge without Docker: framing, the JSON-RPC client, request parsing, result shapes,
and server lifecycle (crash, hang, stop) against a scripted fake server."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from daytona_agent import lsp, lsp_servers, lsp_shapes
from daytona_agent.http import HttpError
from daytona_agent.lsp_client import (
    FrameParser,
    LspConnection,
    LspResponseError,
    LspServerExited,
    LspTimeout,
    ProtocolError,
    encode_message,
)
from daytona_agent.users import OsUser

FAKE_SERVER = Path(__file__).with_name("fake_lsp_server.py")


@pytest.fixture
def me() -> OsUser:
    entry = pwd.getpwuid(os.getuid())
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, "/bin/sh", [])


# -- framing -------------------------------------------------------------------------------------


def test_frames_count_bytes_not_characters() -> None:
    frame = encode_message({"text": "é€"})
    header, body = frame.split(b"\r\n\r\n")
    assert header == b"Content-Length: %d" % len(body)
    assert len(body) > len(json.dumps({"text": "é€"}, ensure_ascii=False))


def test_parser_reassembles_messages_split_anywhere() -> None:
    stream = encode_message({"id": 1, "result": "ü" * 50}) + encode_message({"id": 2, "result": None})
    for cut in range(len(stream) + 1):
        parser = FrameParser()
        messages = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert messages == [{"id": 1, "result": "ü" * 50}, {"id": 2, "result": None}]
    parser = FrameParser()
    assert [parser.feed(bytes([b])) for b in stream].count([]) == len(stream) - 2


def test_parser_accepts_other_headers_in_any_case() -> None:
    body = b'{"id":3}'
    data = b"content-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-LENGTH: 8\r\n\r\n" + body
    assert FrameParser().feed(data) == [{"id": 3}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Content-Type: x\r\n\r\n{}", "no Content-Length"),
        (b"Content-Length: ten\r\n\r\n", "not a number"),
        (b"Content-Length: -1\r\n\r\n", "out of range"),
        (b"Content-Length: 99999999999\r\n\r\n", "out of range"),
        (b"garbage without colon\r\n\r\n", "malformed header"),
        (b"Content-Length: 3\r\n\r\n{x}", "not valid UTF-8 JSON"),
        (b"X" * 9000, "header longer than"),
    ],
)
def test_parser_rejects_broken_frames(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        FrameParser().feed(data)


# -- the JSON-RPC client against a scripted server -----------------------------------------------


def spawn_fake(mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(FAKE_SERVER), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finished_within(seconds: float, func: Any) -> Any:
    """Run `func` in a thread; fail (rather than hang the suite) when it does not return in time."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = func()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the call hung"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def test_requests_get_answers_and_errors() -> None:
    proc = spawn_fake("normal")
    conn = LspConnection(proc, "fake")
    try:
        assert conn.request("initialize", {}, 10)["capabilities"]["documentSymbolProvider"] is True
        answer = conn.request("textDocument/completion", {}, 10)
        assert [i["label"] for i in answer["items"]] == ["alpha", "beta"]
        with pytest.raises(LspResponseError) as caught:
            conn.request("test/fail", {}, 10)
        assert caught.value.code == -32603
        with pytest.raises(LspResponseError, match="-32601"):
            conn.request("no/such", {}, 10)
    finally:
        proc.kill()
        proc.wait()


def test_a_request_that_gets_no_answer_times_out() -> None:
    proc = spawn_fake("hang")
    conn = LspConnection(proc, "fake")
    try:
        conn.request("initialize", {}, 10)
        with pytest.raises(LspTimeout, match=r"fake did not answer textDocument/completion within 0\.3s"):
            finished_within(30, lambda: conn.request("textDocument/completion", {}, 0.3))
    finally:
        proc.kill()
        proc.wait()


def test_a_server_that_dies_fails_waiting_and_later_requests() -> None:
    proc = spawn_fake("crash")
    exited = threading.Event()
    conn = LspConnection(proc, "fake", on_exit=exited.set)
    conn.request("initialize", {}, 10)
    with pytest.raises(LspServerExited, match="exit code 3"):
        finished_within(30, lambda: conn.request("textDocument/completion", {}, 60))
    assert exited.wait(10)
    assert "fatal: something broke" in conn.stderr_tail()
    with pytest.raises(LspServerExited):
        conn.request("initialize", {}, 10)
    with pytest.raises(LspServerExited):
        conn.notify("initialized", {})


def test_requests_from_the_server_are_answered() -> None:
    proc = spawn_fake("ask")
    conn = LspConnection(proc, "fake", on_server_request=lambda method, params: [None] * len(params["items"]))
    try:
        conn.request("initialize", {}, 10)
        conn.notify("initialized", {})

        def both_answers() -> list[Any]:
            while len(answers := conn.request("test/echoConfig", None, 10) or []) < 2:
                pass
            return answers

        answers = finished_within(30, both_answers)
        assert answers[0] == {"jsonrpc": "2.0", "id": "cfg-1", "result": [None, None]}
        assert answers[1]["id"] == 77 and answers[1]["error"]["code"] == -32601
    finally:
        proc.kill()
        proc.wait()


# -- managed servers (lifecycle) against the fake ------------------------------------------------


@pytest.fixture
def fake_language(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(mode: str) -> None:
        spec = lsp_servers.Language([sys.executable, str(FAKE_SERVER), mode], (".fake",), {})
        monkeypatch.setitem(lsp_servers.LANGUAGES, "python", spec)

    return use


def test_managed_server_completes_resolves_and_stops(fake_language: Any, me: OsUser, tmp_path: Path) -> None:
    fake_language("normal")
    (tmp_path / "a.fake").write_text("line one\nal\n")
    server = lsp_servers.LanguageServer("python", str(tmp_path), me)
    server.start()
    try:
        result = server.completions(str(tmp_path / "a.fake"), {"line": 1, "character": 2}, None)
        alpha, beta = result["items"]
        assert alpha["detail"] == "resolved"  # matches the word before the cursor: resolved
        assert alpha["documentation"] == {"kind": "plaintext", "value": "plain words"}
        assert "detail" not in beta
        with pytest.raises(HttpError) as caught:
            server.completions(str(tmp_path / "a.fake"), {"line": 3, "character": 0}, None)
        assert caught.value.status == 400
    finally:
        server.stop()
    assert server.state == "stopped" and server.exit_code == 0
    with pytest.raises(HttpError, match="is not running") as caught:
        server.request("textDocument/completion", {})
    assert caught.value.status == 409


def test_managed_server_that_crashes_is_reported(fake_language: Any, me: OsUser, tmp_path: Path) -> None:
    fake_language("crash")
    (tmp_path / "a.fake").write_text("x\n")
    server = lsp_servers.LanguageServer("python", str(tmp_path), me)
    server.start()
    with pytest.raises(HttpError) as caught:
        finished_within(30, lambda: server.completions(str(tmp_path / "a.fake"), {"line": 0, "character": 0}, None))
    assert caught.value.status == 409
    assert "crashed (exited unexpectedly with code 3: fatal: something broke); start it again" in caught.value.message
    assert server.status()["state"] == "crashed" and server.status()["exitCode"] == 3
    server.stop()


def test_managed_server_that_hangs_times_out_and_is_killed_on_stop(
    fake_language: Any, me: OsUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_language("hang")
    monkeypatch.setenv("DAYTONA_AGENT_LSP_TIMEOUT", "0.3")
    monkeypatch.setattr(lsp_servers, "SHUTDOWN_TIMEOUT_S", 0.3)
    monkeypatch.setattr(lsp_servers, "EXIT_WAIT_S", 0.3)
    (tmp_path / "a.fake").write_text("x\n")
    server = lsp_servers.LanguageServer("python", str(tmp_path), me)
    server.start()
    message = r"^the python language server for .* did not answer textDocument/documentSymbol within 0\.3s$"
    with pytest.raises(HttpError, match=message) as caught:
        finished_within(30, lambda: server.document_symbols(str(tmp_path / "a.fake")))
    assert caught.value.status == 504
    finished_within(30, server.stop)
    assert server.state == "stopped" and server.exit_code == -9


def test_a_missing_server_binary_is_a_clear_400(monkeypatch: pytest.MonkeyPatch, me: OsUser, tmp_path: Path) -> None:
    monkeypatch.setitem(lsp_servers.LANGUAGES, "python", lsp_servers.Language(["no-such-lsp-binary"], (".py",), {}))
    with pytest.raises(HttpError, match="no-such-lsp-binary is not installed") as caught:
        lsp_servers.LanguageServer("python", str(tmp_path), me).start()
    assert caught.value.status == 400


# -- request parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("file:///work/p/a.py", "/work/p/a.py"),
        ("file:///work/p/dir%20x/a%2Bb.py", "/work/p/dir x/a+b.py"),
        ("file://src/a.py", "/work/p/src/a.py"),
        ("src/../a.py", "/work/p/a.py"),
        ("/work/p/./a.py", "/work/p/a.py"),
    ],
)
def test_document_uris_resolve_inside_the_project(uri: str, path: str) -> None:
    assert lsp.parse_document(uri, "/work/p") == path


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("file:///etc/passwd", "outside the project"),
        ("file:///work/p2/a.py", "outside the project"),
        ("../p2/a.py", "outside the project"),
        ("file:///work/p", "outside the project"),
        ("https://example.com/a.py", "file:// URI"),
        ("", "uri is required"),
        (None, "uri is required"),
        (5, "uri must be a string"),
        ("a\0b", "NUL"),
    ],
)
def test_bad_document_uris_are_400(uri: Any, message: str) -> None:
    with pytest.raises(HttpError, match=message) as caught:
        lsp.parse_document(uri, "/work/p")
    assert caught.value.status == 400


def test_positions_and_contexts_are_validated() -> None:
    assert lsp.parse_position({"line": 2, "character": 4.0}) == {"line": 2, "character": 4}
    for bad in (None, [], {"line": 1}, {"line": -1, "character": 0}, {"line": True, "character": 0}):
        with pytest.raises(HttpError):
            lsp.parse_position(bad)
    assert lsp.parse_context(None) is None
    assert lsp.parse_context({"triggerKind": 2, "triggerCharacter": "."}) == {"triggerKind": 2, "triggerCharacter": "."}
    for bad_context in ({"triggerKind": 7}, {}, "x", {"triggerKind": 1, "triggerCharacter": 1}):
        with pytest.raises(HttpError):
            lsp.parse_context(bad_context)


def test_language_ids_and_projects(me: OsUser) -> None:
    assert lsp.parse_language("TypeScript") == "typescript"
    with pytest.raises(HttpError, match="unsupported languageId 'go': use one of javascript, python, typescript"):
        lsp.parse_language("go")
    assert lsp.parse_project("proj/", me) == os.path.join(me.home, "proj")
    assert lsp.parse_project("/a/b/../c", me) == "/a/c"


# -- result shapes -------------------------------------------------------------------------------


def test_completion_results_take_the_toolbox_shape() -> None:
    assert lsp_shapes.normalize_completions(None) == {"isIncomplete": False, "items": []}
    assert lsp_shapes.normalize_completions([{"label": "a"}, "junk"]) == {
        "isIncomplete": False,
        "items": [{"label": "a"}],
    }
    assert lsp_shapes.normalize_completions({"isIncomplete": True, "items": None}) == {
        "isIncomplete": True,
        "items": [],
    }
    item: dict[str, Any] = {"label": "x", "documentation": "text"}
    lsp_shapes.normalize_documentation(item)
    assert item["documentation"] == {"kind": "plaintext", "value": "text"}


def test_the_word_before_the_cursor_ranks_items() -> None:
    assert lsp_shapes.word_before("    s.toUpp", 11) == "toUpp"
    assert lsp_shapes.word_before("os.", 3) == ""
    assert lsp_shapes.word_before("$el_1", 99) == "$el_1"
    items = [{"label": "zeta", "sortText": "0"}, {"label": "Path", "sortText": "2"}, {"label": "path", "sortText": "9"}]
    assert lsp_shapes.rank_for_prefix(items, "pa") == [2, 1, 0]
    assert lsp_shapes.rank_for_prefix(items, "") == [0, 1, 2]


def test_hierarchical_symbols_are_flattened() -> None:
    rng = {"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 1}}
    tree = [
        {
            "name": "C",
            "kind": 5,
            "range": rng,
            "selectionRange": rng,
            "children": [{"name": "m", "kind": 6, "range": rng}],
        }
    ]
    assert lsp_shapes.flatten_symbols(tree, "file:///a.py") == [
        {"name": "C", "kind": 5, "location": {"uri": "file:///a.py", "range": rng}},
        {"name": "m", "kind": 6, "location": {"uri": "file:///a.py", "range": rng}, "containerName": "C"},
    ]
    flat = [{"name": "f", "kind": 12, "location": {"uri": "file:///b.py", "range": rng}}]
    assert lsp_shapes.flatten_symbols(flat, "file:///a.py") == flat
    assert lsp_shapes.flatten_symbols(None, "x") == []


def test_files_are_read_as_the_user_may(tmp_path: Path) -> None:
    path = tmp_path / "secret.py"
    path.write_text("x")
    path.chmod(0o600)
    st = os.stat(path)
    owner = OsUser("o", st.st_uid, 4242, "/", "/bin/sh", [])
    other = OsUser("x", st.st_uid + 1000, 4242, "/", "/bin/sh", [])
    root = OsUser("root", 0, 0, "/root", "/bin/sh", [])
    assert lsp_servers.user_can_read(st, owner) and lsp_servers.user_can_read(st, root)
    assert not lsp_servers.user_can_read(st, other)
    path.chmod(0o644)
    assert lsp_servers.user_can_read(os.stat(path), other)
    with pytest.raises(HttpError, match="file not found") as caught:
        lsp_servers.read_text(str(tmp_path / "missing.py"), owner)
    assert caught.value.status == 404


def test_project_files_skip_hidden_and_vendored_dirs(tmp_path: Path) -> None:
    for name in ("b.py", "a.py", "sub/c.py", ".git/d.py", "node_modules/e.py", "sub/f.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    found = lsp_servers.project_files(str(tmp_path), (".py",), 10)
    assert [os.path.relpath(p, tmp_path) for p in found] == ["a.py", "b.py", "sub/c.py"]
    assert len(lsp_servers.project_files(str(tmp_path), (".py",), 2)) == 2


def test_a_server_that_exits_at_start_says_why(monkeypatch: pytest.MonkeyPatch, me: OsUser, tmp_path: Path) -> None:
    spec = lsp_servers.Language(["/bin/sh", "-c", "echo 'no module named jedi' >&2; exit 2"], (".py",), {})
    monkeypatch.setitem(lsp_servers.LANGUAGES, "python", spec)
    with pytest.raises(HttpError) as caught:
        finished_within(30, lsp_servers.LanguageServer("python", str(tmp_path), me).start)
    assert caught.value.status == 502
    assert caught.value.message == (
        f"the python language server for {tmp_path} did not start: it closed its output (exit code 2):"
        " no module named jedi"
    )
