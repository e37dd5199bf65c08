"""The agent's answers to today's SDK (daytona 0.226, daytona_toolbox_api_client 0.226), beside 0.14's.

The routes are served in-process on a unix socket, as the current user with its home in a temp dir.
Requests with today's SDK headers (`X-Daytona-Source`) get today's shapes; the same requests
without them keep 0.14's.
"""

from __future__ import annotations

import io
import json
import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daytona_agent import (
    bulk_files,
    code_charts,
    code_run,
    env_store,
    fs,
    git,
    git_current,
    lsp,
    process,
    session_routes,
    system_info,
    wire,
)
from daytona_agent.http import Router
from daytona_agent.multipart import MultipartReader
from daytona_agent.sessions import SessionManager
from daytona_agent.system_info import Metrics
from daytona_agent.users import OsUser

from ..support.agent_server import serving

CURRENT = {"X-Daytona-Source": "sdk-python", "X-Daytona-SDK-Version": "0.226.1", "Accept": "application/json"}
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def me(tmp_path: Path) -> OsUser:
    entry = pwd.getpwuid(os.getuid())
    home = tmp_path / "home"
    home.mkdir()
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, str(home), "/bin/sh", [])


def fake_cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def sock(me: OsUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(env_store, "_store", env_store.EnvOverrides(str(tmp_path / "state" / "env.json")))
    manager = SessionManager(me, root=str(tmp_path / "sessions"), log_cap=1 << 20)
    cgroup = fake_cgroup(
        tmp_path / "cgroup",
        {
            "cpu.max": "50000 100000\n",
            "cpu.stat": "usage_usec 1000\nuser_usec 600\n",
            "memory.max": "1073741824\n",
            "memory.current": "536870912\n",
            "memory.stat": "anon 1\nfile 104857600\ninactive_file 52428800\n",
        },
    )
    proc = fake_cgroup(
        tmp_path / "proc",
        {
            "meminfo": "MemTotal: 2048 kB\nMemAvailable: 1024 kB\n",
            "net/tcp": "  sl  local_address rem_address   st\n   0: 00000000:1F90 00000000:0000 0A 0\n",
            "net/tcp6": "  sl  local_address rem_address   st\n   0: 0000:0016 0000:0000 01 0\n",
        },
    )
    router = Router()
    process.register(router, me)
    code_run.register(router, me)
    session_routes.register(router, manager)
    fs.register(router, me)
    bulk_files.register(router, me)
    git.register(router, me)
    git_current.register(router, me)
    lsp.register(router, me)
    system_info.register(router, me, Metrics(cgroup=str(cgroup), proc=str(proc), disk=str(tmp_path)))
    env_store.register(router, me)
    path = tmp_path / "agent.sock"
    with serving(router, path):
        yield path
    manager.shutdown()


@pytest.fixture
def current(sock: Path) -> Iterator[httpx.Client]:
    """A client that speaks like today's SDK."""
    transport = httpx.HTTPTransport(uds=str(sock))
    with httpx.Client(transport=transport, base_url="http://agent", headers=CURRENT, timeout=30) as client:
        yield client


@pytest.fixture
def seed(sock: Path) -> Iterator[httpx.Client]:
    """A client that speaks like 0.14 (no X-Daytona-Source)."""
    transport = httpx.HTTPTransport(uds=str(sock))
    with httpx.Client(transport=transport, base_url="http://agent", timeout=30) as client:
        yield client


def parts_of(response: httpx.Response) -> list[tuple[str | None, str | None, str | None, bytes]]:
    """(name, filename, content type, data) of each part of a multipart answer."""
    kind, _, params = response.headers["content-type"].partition(";")
    assert kind == "multipart/form-data"
    boundary = params.strip().removeprefix("boundary=")
    assert response.content.endswith(f"--{boundary}--\r\n".encode())
    reader = MultipartReader(io.BytesIO(response.content).read, boundary)
    found = []
    for part in reader.parts():
        found.append((part.name, part.filename, part.headers.get("content-type"), b"".join(part.chunks())))
    return found


def assert_error(response: httpx.Response, status: int, *words: str, code: str | None = None) -> dict:
    """A clear error in today's ErrorResponse shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status and body["source"] == "DAYTONA_DAEMON"
    assert {"message", "code", "path", "method", "timestamp"} <= set(body)
    for word in words:
        assert word in body["message"], body
    if code is not None:
        assert body["code"] == code
    return body


# -- wire detection and error bodies ---------------------------------------------------------------


def test_the_request_says_which_wire_it_speaks() -> None:
    assert wire.is_current({"X-Daytona-Source": "sdk-python"})
    assert wire.is_current({"X-Daytona-SDK-Version": "0.226.1"})
    assert not wire.is_current({"User-Agent": "OpenAPI-Generator/0.14.0/python"})
    assert wire.is_current({"X-Daytona-Toolbox-Wire": "current"})
    assert not wire.is_current({"X-Daytona-Toolbox-Wire": "v014", "X-Daytona-Source": "sdk-python"})


def test_errors_carry_todays_fields_only_for_todays_sdk(current: httpx.Client, seed: httpx.Client) -> None:
    body = assert_error(current.get("/process/session/nope"), 404, "session nope not found", code="NOT_FOUND")
    assert (body["method"], body["path"], body["error"]) == ("GET", "/process/session/nope", "Not Found")
    old = seed.get("/process/session/nope")
    assert old.status_code == 404 and set(old.json()) == {"statusCode", "message", "error"}
    assert_error(current.get("/files/info", params={"path": "missing"}), 404, "missing", code="FILE_NOT_FOUND")
    assert_error(current.get("/no/such/route"), 404, "no such toolbox endpoint")
    assert_error(current.post("/files/bulk-download", content=b"{nope"), 400, "not valid JSON", code="BAD_REQUEST")


# -- files ------------------------------------------------------------------------------------------


def test_bulk_upload_writes_every_file_and_creates_parents(current: httpx.Client, me: OsUser) -> None:
    absolute = os.path.join(me.home, "abs", "b.bin")
    existing = Path(me.home, "run.sh")
    existing.write_text("old")
    existing.chmod(0o755)
    response = current.post(
        "/files/bulk-upload",
        data={"files[0].path": "rel/deep/a.txt", "files[1].path": absolute, "files[2].path": "run.sh"},
        files={
            "files[0].file": ("rel/deep/a.txt", b"alpha"),
            "files[1].file": (absolute, b"\0" * 70000),
            "files[2].file": ("run.sh", b"#!/bin/sh\n"),
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "files": [
            {"path": os.path.join(me.home, "rel/deep/a.txt"), "bytes": 5},
            {"path": absolute, "bytes": 70000},
            {"path": str(existing), "bytes": 10},
        ],
        "errors": [],
    }
    assert Path(me.home, "rel/deep/a.txt").read_bytes() == b"alpha"
    assert Path(absolute).read_bytes() == b"\0" * 70000
    assert stat.S_IMODE(Path(me.home, "rel/deep/a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755 and existing.read_text() == "#!/bin/sh\n"
    assert not [p for p in Path(me.home).rglob("*daytona-upload*")]


def test_bulk_upload_without_a_path_field_uses_the_part_file_name(current: httpx.Client, me: OsUser) -> None:
    response = current.post("/files/bulk-upload", files={"files[0].file": ("named.txt", b"by name")})
    assert response.status_code == 200 and Path(me.home, "named.txt").read_bytes() == b"by name"


def test_bulk_upload_reports_each_failure_and_keeps_the_rest(current: httpx.Client, me: OsUser) -> None:
    Path(me.home, "adir").mkdir()
    response = current.post(
        "/files/bulk-upload",
        data={"files[0].path": "ok.txt", "files[1].path": "adir"},
        files={"files[0].file": ("ok.txt", b"fine"), "files[1].file": ("adir", b"x")},
    )
    body = assert_error(response, 400, "is a directory")
    assert body["files"] == [{"path": os.path.join(me.home, "ok.txt"), "bytes": 4}]
    assert len(body["errors"]) == 1 and "adir" in body["errors"][0]
    assert Path(me.home, "ok.txt").read_bytes() == b"fine"


def test_bulk_upload_bad_bodies_are_clear_400s(current: httpx.Client, me: OsUser) -> None:
    not_multipart = current.post("/files/bulk-upload", content=b"raw", headers={"Content-Type": "text/plain"})
    assert_error(not_multipart, 400, "multipart/form-data")
    garbage = current.post(
        "/files/bulk-upload", content=b"no boundary here", headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert "boundary" in assert_error(garbage, 400)["errors"][0]
    cut = b'--b\r\nContent-Disposition: form-data; name="files[0].path"\r\n\r\nx.txt\r\n--b\r\n'
    cut += b'Content-Disposition: form-data; name="files[0].file"; filename="x.txt"\r\n\r\npartial data'
    truncated = current.post(
        "/files/bulk-upload", content=cut, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert_error(truncated, 400, "ended before its closing boundary")
    assert not Path(me.home, "x.txt").exists() and not list(Path(me.home).iterdir())
    nothing = current.post("/files/bulk-upload", data={"other": "field"}, files={"unrelated": ("f", b"x")})
    assert_error(nothing, 400, "no files[i].file part")
    nul = current.post("/files/bulk-upload", data={"files[0].path": "a\0b"}, files={"files[0].file": ("f", b"x")})
    assert_error(nul, 400, "NUL")


@pytest.mark.skipif(os.geteuid() != 0, reason="acting as another user needs root")
def test_bulk_upload_as_a_user_without_permission_is_403(tmp_path: Path) -> None:
    entry = pwd.getpwnam("nobody")
    nobody = OsUser("nobody", entry.pw_uid, entry.pw_gid, "/nonexistent", "/bin/sh", [])
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    router = Router()
    bulk_files.register(router, nobody)
    path = tmp_path / "nobody.sock"
    with serving(router, path):
        transport = httpx.HTTPTransport(uds=str(path))
        with httpx.Client(transport=transport, base_url="http://agent", headers=CURRENT) as client:
            target = str(locked / "sub" / "f.txt")
            response = client.post(
                "/files/bulk-upload", data={"files[0].path": target}, files={"files[0].file": ("f", b"x")}
            )
            assert_error(response, 403, "permission denied", code="FILE_ACCESS_DENIED")
            download = client.post("/files/bulk-download", json={"paths": [str(locked / "secret")]})
            ((name, _, _, data),) = parts_of(download)
            assert name == "error" and json.loads(data)["code"] == "FILE_ACCESS_DENIED"
    assert list(locked.iterdir()) == []


def test_upload_v2_takes_the_file_part_or_the_raw_body(current: httpx.Client, me: OsUser) -> None:
    response = current.post("/files/upload-v2", params={"path": "v2/new/f.txt"}, files={"file": ("f.txt", b"v2")})
    assert response.status_code == 200
    assert response.json() == {"name": "f.txt", "path": os.path.join(me.home, "v2/new/f.txt"), "type": "text/plain"}
    assert Path(me.home, "v2/new/f.txt").read_bytes() == b"v2"
    raw = current.post("/files/upload-v2", params={"path": "raw.bin"}, content=b"\x01\x02")
    assert raw.status_code == 200 and Path(me.home, "raw.bin").read_bytes() == b"\x01\x02"
    assert_error(current.post("/files/upload-v2", files={"file": ("f", b"x")}), 400, "path is required")
    assert_error(
        current.post("/files/upload-v2", params={"path": "n.txt"}, files={"other": ("f", b"x")}), 400, "'file'"
    )


def test_bulk_download_answers_a_part_per_path(current: httpx.Client, me: OsUser) -> None:
    Path(me.home, "a.txt").write_bytes(b"alpha")
    Path(me.home, "dir").mkdir()
    Path(me.home, "dir", "sn☃w.bin").write_bytes(bytes(range(256)) * 300)
    response = current.post(
        "/files/bulk-download", json={"paths": ["a.txt", "dir/sn☃w.bin", "missing.txt", "dir", "a.txt"]}
    )
    assert response.status_code == 200
    parts = parts_of(response)
    assert [(p[0], p[1]) for p in parts] == [
        ("file", "a.txt"),
        ("file", "dir/sn_w.bin"),  # the plain parameter is ASCII; filename* carries the real name
        ("error", "missing.txt"),
        ("error", "dir"),
    ]
    assert parts[0][3] == b"alpha" and parts[1][3] == bytes(range(256)) * 300
    assert "filename*=UTF-8''dir%2Fsn%E2%98%83w.bin" in response.text
    missing, directory = json.loads(parts[2][3]), json.loads(parts[3][3])
    assert parts[2][2] == "application/json"
    assert (missing["statusCode"], missing["code"], missing["source"]) == (404, "FILE_NOT_FOUND", "DAYTONA_DAEMON")
    assert "no such file" in missing["message"] and directory["statusCode"] == 400
    assert "is a directory" in directory["message"]


def test_bulk_download_bad_requests_are_400(current: httpx.Client) -> None:
    assert_error(current.post("/files/bulk-download", json={}), 400, "paths")
    assert_error(current.post("/files/bulk-download", json={"paths": "a.txt"}), 400, "paths")
    assert_error(current.post("/files/bulk-download", json={"paths": []}), 400, "non-empty")
    assert_error(current.post("/files/bulk-download", json={"paths": ["a\0b"]}), 400, "NUL")


def test_listing_with_depth_gives_full_paths(current: httpx.Client, seed: httpx.Client, me: OsUser) -> None:
    Path(me.home, "top", "sub").mkdir(parents=True)
    Path(me.home, "top", "sub", "deep.txt").write_text("x")
    Path(me.home, "top", "f.txt").write_text("y")
    shallow = current.get("/files", params={"path": "top"}).json()
    assert [(e["name"], e["path"]) for e in shallow] == [
        ("f.txt", os.path.join(me.home, "top/f.txt")),
        ("sub", os.path.join(me.home, "top/sub")),
    ]
    deep = current.get("/files", params={"path": "top", "depth": 2}).json()
    assert [e["name"] for e in deep] == ["f.txt", "sub", "deep.txt"]
    assert deep[0]["modifiedAt"] == deep[0]["modTime"]
    assert seed.get("/files", params={"path": "top"}).json()[0]["name"] == "f.txt"
    for bad in ("0", "x", "-1", "1000"):
        assert_error(current.get("/files", params={"path": "top", "depth": bad}), 400, "depth")


# -- information, metrics, environment -------------------------------------------------------------


def test_directories_and_version(current: httpx.Client, me: OsUser) -> None:
    assert current.get("/user-home-dir").json() == {"dir": me.home}
    assert current.get("/work-dir").json() == {"dir": me.home}
    version = current.get("/version").json()
    assert version and all(isinstance(v, str) for v in version.values())
    assert current.get("/port").json() == {"ports": [8080]}
    assert current.get("/port/8080/in-use").json() == {"isInUse": True}
    assert current.get("/port/22/in-use").json() == {"isInUse": False}
    assert_error(current.get("/port/http/in-use"), 400, "port")


def test_system_metrics_come_from_the_cgroup(current: httpx.Client) -> None:
    metrics = current.get("/system/metrics").json()
    assert (metrics["cpuCount"], metrics["cpuUsedPct"]) == (1, 0.0)
    assert (metrics["memTotal"], metrics["memUsed"], metrics["memCache"]) == (1073741824, 484442112, 104857600)
    assert metrics["diskTotal"] >= metrics["diskUsed"] > 0 and metrics["diskFree"] > 0
    assert metrics["timestamp"].endswith("Z") and abs(metrics["timestampUnix"] - time.time()) < 60


def test_metrics_fall_back_to_cgroup_v1_and_proc(tmp_path: Path) -> None:
    v1 = fake_cgroup(
        tmp_path / "v1",
        {
            "cpu/cpu.cfs_quota_us": "250000\n",
            "cpu/cpu.cfs_period_us": "100000\n",
            "cpuacct/cpuacct.usage": "5000000\n",
            "memory/memory.usage_in_bytes": "300\n",
            "memory/memory.limit_in_bytes": "9223372036854771712\n",
            "memory/memory.stat": "total_cache 40\ntotal_inactive_file 100\n",
        },
    )
    proc = fake_cgroup(tmp_path / "proc", {"meminfo": "MemTotal: 4 kB\nMemAvailable: 1 kB\nCached: 1 kB\n"})
    metrics = Metrics(cgroup=str(v1), proc=str(proc), disk=str(tmp_path))
    assert metrics.cpu_count() == min(3, len(os.sched_getaffinity(0)))
    assert metrics.memory() == (4096, 200, 40)  # no limit: the host's memory
    metrics.cpu_used_pct(1)
    (v1 / "cpuacct" / "cpuacct.usage").write_text(f"{10**15}\n")
    time.sleep(0.06)
    assert metrics.cpu_used_pct(1) == 100.0
    bare = Metrics(cgroup=str(tmp_path / "none"), proc=str(proc), disk=str(tmp_path))
    assert bare.memory() == (4096, 3072, 1024) and bare.cpu_count() == len(os.sched_getaffinity(0))


def test_env_changes_reach_later_processes_and_persist(current: httpx.Client, me: OsUser, tmp_path: Path) -> None:
    os.environ["DAYTONA_TEST_PLACEHOLDER"] = "secret-ref:abc"
    try:
        response = current.post(
            "/env", json={"set": {"GREETING": "hi", "PATH": "/opt/x:/usr/bin:/bin"}, "unsetValuePrefix": "secret-ref:"}
        )
        assert response.status_code == 200 and all(isinstance(v, str) for v in response.json().values())
        out = current.post(
            "/process/execute", json={"command": "echo $GREETING $PATH ${DAYTONA_TEST_PLACEHOLDER:-gone}"}
        )
        assert out.json()["result"] == "hi /opt/x:/usr/bin:/bin gone\n"
        assert current.post("/env", json={"unset": ["GREETING"]}).status_code == 200
        assert (
            current.post("/process/execute", json={"command": "echo ${GREETING:-unset}"}).json()["result"] == "unset\n"
        )
    finally:
        del os.environ["DAYTONA_TEST_PLACEHOLDER"]
    saved = env_store.EnvOverrides(str(tmp_path / "state" / "env.json"))  # the next agent run reads the file
    assert saved.apply({"GREETING": "x", "DAYTONA_TEST_PLACEHOLDER": "y"}) == {"PATH": "/opt/x:/usr/bin:/bin"}
    assert stat.S_IMODE((tmp_path / "state" / "env.json").stat().st_mode) == 0o600


def test_bad_env_updates_are_400(current: httpx.Client) -> None:
    assert_error(current.post("/env", json={}), 400, "nothing to change")
    assert_error(current.post("/env", json={"set": ["A"]}), 400, "set must be an object")
    assert_error(current.post("/env", json={"set": {"A": 1}}), 400, "set.A")
    assert_error(current.post("/env", json={"set": {"A=B": "x"}}), 400, "invalid environment variable name")
    assert_error(current.post("/env", json={"unset": "A"}), 400, "unset must be a list")
    assert_error(current.post("/env", json={"set": {"DAYTONA_AGENT_X": "1"}}), 400, "belong to the agent")
    assert_error(current.post("/env", json={"unsetValuePrefix": ""}), 400, "unsetValuePrefix")


# -- processes and code ----------------------------------------------------------------------------


def test_execute_takes_envs_and_env(current: httpx.Client, seed: httpx.Client, me: OsUser) -> None:
    body = {"command": "echo $A $B; echo err >&2", "env": {"A": "old", "B": "b"}, "envs": {"A": "new"}, "cwd": me.home}
    response = current.post("/process/execute", json=body).json()
    assert (response["exitCode"], response["result"]) == (0, "new b\nerr\n")
    assert seed.post("/process/execute", json={"command": "echo $A", "env": {"A": "0.14"}}).json()["result"] == "0.14\n"
    assert_error(current.post("/process/execute", json={"command": "true", "envs": ["A"]}), 400, "envs")
    assert_error(current.post("/process/execute", json={"cwd": "/"}), 400, "command is required")


def test_a_timeout_is_408_for_today_and_exit_code_124_for_014(current: httpx.Client, seed: httpx.Client) -> None:
    slow = {"command": "sleep 30", "timeout": 1}
    assert_error(current.post("/process/execute", json=slow), 408, "timed out", code="PROCESS_EXECUTION_TIMEOUT")
    old = seed.post("/process/execute", json=slow)
    assert old.status_code == 200 and old.json()["exitCode"] == 124
    code = {"code": "import time; time.sleep(30)", "language": "python", "timeout": 1}
    assert_error(current.post("/process/code-run", json=code), 408, code="PROCESS_EXECUTION_TIMEOUT")


def test_code_run_answers_artifacts_for_today_only(current: httpx.Client, seed: httpx.Client) -> None:
    body = {"code": "import os, sys; print(os.environ['X'], sys.argv[1:])", "language": "python", "argv": ["a"]}
    response = current.post("/process/code-run", json={**body, "envs": {"X": "envs"}}).json()
    assert (response["exitCode"], response["result"], response["artifacts"]) == (0, "envs ['a']\n", {"charts": []})
    old = seed.post("/process/code-run", json={**body, "env": {"X": "env"}}).json()
    assert old["result"] == "env ['a']\n" and "artifacts" not in old
    assert_error(current.post("/process/code-run", json={"code": "1", "language": "cobol"}), 400, "unsupported")
    assert_error(current.post("/process/code-run", json={"code": "1", "argv": "a"}), 400, "argv")
    assert_error(current.post("/process/code-run", json={"language": "python"}), 400, "code is required")


def test_chart_backend_is_prepared_and_its_records_collected(tmp_path: Path) -> None:
    compile(code_charts.BACKEND_SOURCE, code_charts.BACKEND_MODULE, "exec")
    env = code_charts.prepare(str(tmp_path), {"A": "1"}, "/site")
    assert env["MPLBACKEND"] == "module://" + code_charts.BACKEND_MODULE and env["A"] == "1"
    assert env["PYTHONPATH"] == f"{tmp_path}{os.pathsep}/site"
    assert (tmp_path / f"{code_charts.BACKEND_MODULE}.py").exists()
    assert code_charts.prepare(str(tmp_path), {"MPLBACKEND": "Agg"}, None)["MPLBACKEND"] == "Agg"
    assert code_charts.collect(str(tmp_path)) == []
    Path(env["DAYTONA_CHARTS_FILE"]).write_text('{"type": "line", "title": "t"}\nnot json\n[1]\n{"type": "bar"}\n')
    assert code_charts.collect(str(tmp_path)) == [{"type": "line", "title": "t"}, {"type": "bar"}]


def _python_has_matplotlib() -> bool:
    try:
        return subprocess.run(["python3", "-c", "import matplotlib"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not _python_has_matplotlib(), reason="python3 has no matplotlib here")
def test_code_run_returns_matplotlib_charts(current: httpx.Client) -> None:
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [4, 5, 6], label='up'); plt.title('Line'); plt.xlabel('x'); plt.show()\n"
        "plt.bar(['a', 'b'], [3, 4]); plt.show()\n"
    )
    response = current.post("/process/code-run", json={"code": code, "language": "python"}).json()
    line, bar = response["artifacts"]["charts"]
    assert (line["type"], line["title"], line["x_label"]) == ("line", "Line", "x")
    assert line["elements"] == [{"label": "up", "points": [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]}]
    assert bar["type"] == "bar" and [e["label"] for e in bar["elements"]] == ["a", "b"] and line["png"]


# -- sessions ---------------------------------------------------------------------------------------


def test_sessions_in_todays_shapes(current: httpx.Client, seed: httpx.Client) -> None:
    assert current.post("/process/session", json={"sessionId": "s"}).status_code == 200
    run = {"command": "echo out; echo err >&2; (exit 3)", "runAsync": False, "suppressInputEcho": True}
    done = current.post("/process/session/s/exec", json=run).json()
    assert (done["output"], done["stdout"], done["stderr"], done["exitCode"]) == ("out\nerr\n", "out\n", "err\n", 3)
    logs = current.get(f"/process/session/s/command/{done['cmdId']}/logs")
    assert logs.json() == {"output": "out\nerr\n", "stdout": "out\n", "stderr": "err\n"}
    old = seed.get(f"/process/session/s/command/{done['cmdId']}/logs", headers={"Accept": "application/json"})
    assert old.text == "out\nerr\n" and old.headers["content-type"].startswith("text/plain")
    explicit = seed.get(f"/process/session/s/command/{done['cmdId']}/logs", params={"format": "json", "offset": 4})
    assert explicit.json() == {"output": "err\n", "stdout": "", "stderr": "err\n"}
    text = current.get(f"/process/session/s/command/{done['cmdId']}/logs", headers={"Accept": "text/plain"})
    assert text.text == "out\nerr\n"
    started = current.post("/process/session/s/exec", json={"command": "read x; echo got $x", "runAsync": True})
    cid = started.json()["cmdId"]
    assert started.json()["exitCode"] is None
    assert current.post(f"/process/session/s/command/{cid}/input", json={"data": "v\n"}).status_code == 200
    deadline = time.monotonic() + 10
    while current.get(f"/process/session/s/command/{cid}").json()["exitCode"] is None:
        assert time.monotonic() < deadline, "the async command did not end"
        time.sleep(0.05)
    command = current.get(f"/process/session/s/command/{cid}").json()
    assert (command["id"], command["command"], command["exitCode"]) == (cid, "read x; echo got $x", 0)
    assert current.get(f"/process/session/s/command/{cid}/logs").json()["stdout"] == "got v\n"
    session = current.get("/process/session/s").json()
    assert session["sessionId"] == "s" and [c["id"] for c in session["commands"]] == [done["cmdId"], cid]
    late = current.post(f"/process/session/s/command/{cid}/input", json={"data": "x"})
    assert_error(late, 410, "already finished", code="COMMAND_ALREADY_COMPLETED")
    assert seed.post(f"/process/session/s/command/{cid}/input", json={"data": "x"}).status_code == 409
    assert current.delete("/process/session/s").status_code == 200


def test_bad_session_requests_are_clear_4xx(current: httpx.Client) -> None:
    assert_error(current.post("/process/session", json={}), 400, "sessionId")
    assert_error(current.post("/process/session/nope/exec", json={"command": "true"}), 404, "session nope")
    current.post("/process/session", json={"sessionId": "b"})
    assert_error(current.post("/process/session", json={"sessionId": "b"}), 409, "already exists", code="CONFLICT")
    bad_echo = {"command": "true", "suppressInputEcho": "yes"}
    assert_error(current.post("/process/session/b/exec", json=bad_echo), 400, "suppressInputEcho")
    assert_error(current.get("/process/session/b/command/nope/logs"), 404, "command nope")
    cid = current.post("/process/session/b/exec", json={"command": "true"}).json()["cmdId"]
    logs = f"/process/session/b/command/{cid}/logs"
    assert_error(current.get(logs, params={"format": "json", "follow": "true"}), 400, "format=json")
    assert_error(current.post(f"/process/session/b/command/{cid}/input", json={}), 400, "data")
    assert_error(current.post("/process/session/b/command/nope/input", json={"data": "x"}), 404, "command nope")


# -- git and lsp ------------------------------------------------------------------------------------


def git_in(path: str, *args: str) -> str:
    return subprocess.run(["git", "-C", path, *args], capture_output=True, text=True, check=True).stdout


@needs_git
def test_git_init_config_commit_and_todays_shapes(current: httpx.Client, seed: httpx.Client, me: OsUser) -> None:
    repo = os.path.join(me.home, "repo")
    assert current.post("/git/init", json={"path": "repo", "initial_branch": "trunk"}).status_code == 200
    user = {"name": "Ann", "email": "ann@example.com", "scope": "local", "path": repo}
    assert current.post("/git/config/user", json=user).status_code == 200
    assert current.get("/git/config", params={"key": "user.name", "scope": "local", "path": repo}).json() == {
        "value": "Ann"
    }
    assert current.get("/git/config", params={"key": "no.such", "scope": "local", "path": repo}).json() == {
        "value": None
    }
    assert current.post("/git/config", json={"key": "core.autocrlf", "value": "false"}).status_code == 200
    assert "autocrlf = false" in Path(me.home, ".gitconfig").read_text()  # global: the user's ~/.gitconfig
    Path(repo, "f.txt").write_text("one\n")
    current.post("/git/add", json={"path": repo, "files": ["."]})
    first = current.post("/git/commit", json={"path": repo, "message": "one", "author": "Ann", "email": "a@x"})
    empty = {"path": repo, "message": "empty", "author": "Ann", "email": "a@x", "allow_empty": True}
    assert first.status_code == 200 and current.post("/git/commit", json=empty).status_code == 200
    assert current.get("/git/branches", params={"path": repo}).json() == {"branches": ["trunk"], "current": "trunk"}
    status = current.get("/git/status", params={"path": repo}).json()
    assert (status["currentBranch"], status["detached"], status["upstream"]) == ("trunk", False, "")
    remote = {"path": repo, "name": "origin", "url": "https://example.invalid/r.git"}
    assert current.post("/git/remotes", json=remote).status_code == 200
    assert_error(current.post("/git/remotes", json=remote), 409, "already exists")
    moved = {**remote, "url": "https://example.invalid/moved.git", "overwrite": True}
    assert current.post("/git/remotes", json=moved).status_code == 200
    listed = [{"name": "origin", "url": "https://example.invalid/moved.git"}]
    assert current.get("/git/remotes", params={"path": repo}).json() == {"remotes": listed}
    assert seed.get("/git/remotes", params={"path": repo}).json() == listed
    Path(repo, "f.txt").write_text("changed\n")
    current.post("/git/add", json={"path": repo, "files": ["f.txt"]})
    assert current.post("/git/restore", json={"path": repo, "files": ["f.txt"], "staged": True}).status_code == 200
    assert git_in(repo, "diff", "--cached", "--name-only") == ""
    assert current.post("/git/reset", json={"path": repo, "mode": "hard", "target": "HEAD~1"}).status_code == 200
    assert Path(repo, "f.txt").read_text() == "one\n" and git_in(repo, "log", "--format=%s") == "one\n"
    git_in(repo, "checkout", "--quiet", "--detach")
    assert current.get("/git/status", params={"path": repo}).json()["detached"] is True
    assert current.get("/git/branches", params={"path": repo}).json()["current"] == ""


@needs_git
def test_bad_git_requests_are_clear_4xx(current: httpx.Client, me: OsUser) -> None:
    repo = os.path.join(me.home, "r")
    current.post("/git/init", json={"path": repo, "bare": False})
    assert_error(current.post("/git/init", json={}), 400, "path is required")
    assert_error(current.post("/git/init", json={"path": "x", "bare": "yes"}), 400, "bare")
    assert_error(current.post("/git/reset", json={"path": repo, "mode": "sideways"}), 400, "mode must be")
    assert_error(current.post("/git/reset", json={"path": repo, "mode": "hard", "files": ["a"]}), 400, "mixed")
    assert_error(current.post("/git/restore", json={"path": repo}), 400, "files")
    assert_error(current.post("/git/restore", json={"path": repo, "files": []}), 400, "at least one")
    assert_error(current.get("/git/config", params={"key": "user.name", "scope": "team"}), 400, "scope")
    assert_error(current.get("/git/config", params={"key": "user.name", "scope": "local"}), 400, "path")
    assert_error(current.get("/git/config", params={"key": "noDot"}), 400, "key")
    assert_error(current.post("/git/config", json={"key": "a.b"}), 400, "value")
    assert_error(current.post("/git/remotes", json={"path": repo, "name": "-x", "url": "u"}), 400, "invalid")
    assert_error(current.get("/git/status", params={"path": "missing"}), 404, "missing")
    assert_error(current.post("/git/clone", json={"url": "u", "path": "p", "depth": 0}), 400, "depth")
    creds = {"username": "u", "password": "p\nq"}
    assert_error(current.post("/git/credentials", json=creds), 400, "single line")


@needs_git
def test_git_credentials_are_stored_for_the_user(current: httpx.Client, me: OsUser) -> None:
    creds = {"username": "bot", "password": "s3cret", "host": "git.example.com"}
    assert current.post("/git/credentials", json=creds).status_code == 200
    assert Path(me.home, ".git-credentials").read_text() == "https://bot:s3cret@git.example.com\n"


def test_lsp_workspace_symbols_has_todays_spelling(current: httpx.Client, seed: httpx.Client, me: OsUser) -> None:
    query = {"languageId": "python", "pathToProject": me.home, "query": "x"}
    body = assert_error(current.get("/lsp/workspacesymbols", params=query), 400, "call start() first")
    assert body["code"] == "LSP_SERVER_NOT_INITIALIZED"
    assert seed.get("/lsp/workspace-symbols", params=query).status_code == 409
    assert seed.get("/lsp/workspacesymbols", params=query).status_code == 409
    assert_error(current.get("/lsp/workspacesymbols", params={"query": "x"}), 400, "languageId")


def test_git_failures_carry_todays_codes() -> None:
    cases = {
        "fatal: Authentication failed for 'https://h/r.git/'": (403, "GIT_AUTH_FAILED", 401),
        "fatal: unable to access 'https://h/': Could not resolve host: h": (400, "GIT_TRANSPORT_FAILED", 502),
        "fatal: repository 'https://h/r.git/' not found": (404, "GIT_REPO_NOT_FOUND", None),
        "fatal: a branch named 'x' already exists": (409, "GIT_BRANCH_EXISTS", None),
        " ! [rejected]        main -> main (fetch first)": (409, "GIT_PUSH_REJECTED", None),
        "CONFLICT (content): Merge conflict in f.txt": (409, "GIT_MERGE_CONFLICT", None),
        "error: pathspec 'x' did not match any file(s) known to git": (404, None, None),
    }
    for message, expected in cases.items():
        error = git.git_error("git x", message)
        assert (error.status, error.code, error.current_status) == expected, message
        assert error.message == "git x failed: " + message
