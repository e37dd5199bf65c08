"""Today's published Daytona SDK (`daytona` 0.226.1) against our server, unchanged, as its documentation uses it.

It runs in a venv of its own (`make current-sdk`), in a subprocess; each script prints one line per
step, which the test compares. Sandboxes here have no network, so git clones a repository made
inside the sandbox, and preview links reach a server started in it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..support.server import RunningServer, run_current_sdk

PRELUDE = """
import asyncio, sys, time
from daytona import *
daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], api_url=sys.argv[2]))

def until(check, what, limit=30.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")
"""

TOOLBOX = PRELUDE + textwrap.dedent(
    """
    sandbox = daytona.create()
    try:
        run = sandbox.process.code_run('import os; print(6 * 7, os.getuid() != 0)')
        print("code_run", run.exit_code, run.result.strip(), run.artifacts.stdout.strip())
        print("exec", sandbox.process.exec("echo out; echo err >&2; exit 4").exit_code)
        print("dirs", sandbox.get_user_home_dir(), sandbox.get_work_dir())

        sandbox.fs.upload_file(b"hello", "/home/daytona/a.txt")
        print("download", sandbox.fs.download_file("/home/daytona/a.txt"))
        sandbox.fs.upload_files([
            FileUpload(source=b"one", destination="/home/daytona/d/1.txt"),
            FileUpload(source=b"two", destination="/home/daytona/d/2.txt"),
        ])
        print("bulk", sorted(f.name for f in sandbox.fs.list_files("/home/daytona/d")))
        got = sandbox.fs.download_files([
            FileDownloadRequest(source="/home/daytona/d/1.txt"), FileDownloadRequest(source="/home/daytona/nope")
        ])
        print("bulk download", got[0].result, got[1].error is not None)
        try:
            sandbox.fs.download_file("/home/daytona/missing.txt")
        except DaytonaError as exc:
            print("missing", type(exc).__name__)

        sandbox.process.exec(
            "git init -q -b main /home/daytona/origin && cd /home/daytona/origin"
            " && git -c user.email=a@example.com -c user.name=a commit -q --allow-empty -m init"
        )
        sandbox.git.clone("file:///home/daytona/origin", "/home/daytona/clone")
        sandbox.fs.upload_file(b"x", "/home/daytona/clone/x.txt")
        sandbox.git.add("/home/daytona/clone", ["x.txt"])
        print("status", sandbox.git.status("/home/daytona/clone").current_branch)
        commit = sandbox.git.commit("/home/daytona/clone", "add x", "Ann", "ann@example.com")
        print("commit", len(commit.sha))

        sandbox.process.create_session("s1")
        sandbox.process.execute_session_command("s1", SessionExecuteRequest(command="export A=5"))
        done = sandbox.process.execute_session_command("s1", SessionExecuteRequest(command="echo $A; echo e >&2"))
        print("session", done.exit_code, done.stdout.strip(), done.stderr.strip())
        started = sandbox.process.execute_session_command(
            "s1", SessionExecuteRequest(command="sleep 0.2; echo later; exit 3", run_async=True)
        )
        until(lambda: sandbox.process.get_session_command("s1", started.cmd_id).exit_code is not None, "command")
        logs = sandbox.process.get_session_command_logs("s1", started.cmd_id)
        print("async", sandbox.process.get_session_command("s1", started.cmd_id).exit_code, logs.stdout.strip())
        print("sessions", [s.session_id for s in sandbox.process.list_sessions()])
        loop = "for i in 1 2; do echo o$i; echo e$i >&2; sleep 0.2; done"
        followed = sandbox.process.execute_session_command("s1", SessionExecuteRequest(command=loop, run_async=True))
        out, err = [], []
        asyncio.run(sandbox.process.get_session_command_logs_async("s1", followed.cmd_id, out.append, err.append))
        print("follow", repr("".join(out)), repr("".join(err)))
        sandbox.process.delete_session("s1")

        sandbox.fs.create_folder("/home/daytona/proj", "755")
        sandbox.fs.upload_file(b"import os\\nos.pa", "/home/daytona/proj/main.py")
        lsp = sandbox.create_lsp_server("python", "/home/daytona/proj")
        lsp.start()
        lsp.did_open("/home/daytona/proj/main.py")
        items = lsp.completions("/home/daytona/proj/main.py", LspCompletionPosition(line=1, character=5)).items
        print("lsp", "path" in [item.label for item in items])
        lsp.stop()
    finally:
        daytona.delete(sandbox)
    """
)


def test_toolbox_flows(server: RunningServer, tmp_path: Path) -> None:
    lines = run_current_sdk(TOOLBOX, tmp_path, server.api_key, server.url)
    assert lines == [
        "code_run 0 42 True 42 True",
        "exec 4",
        "dirs /home/daytona /home/daytona",
        "download b'hello'",
        "bulk ['1.txt', '2.txt']",
        "bulk download b'one' True",
        "missing DaytonaFileNotFoundError",
        "status main",
        "commit 40",
        "session 0 5 e",
        "async 3 later",
        "sessions ['s1']",
        "follow 'o1\\no2\\n' 'e1\\ne2\\n'",
        "lsp True",
    ]


LIFECYCLE = PRELUDE + textwrap.dedent(
    """
    import httpx
    sandbox = daytona.create(CreateSandboxFromSnapshotParams(name="lifecycle-one", labels={"team": "a"}))
    try:
        print("created", sandbox.state, sandbox.name, type(sandbox.cpu).__name__)
        print("by name", daytona.get("lifecycle-one").id == sandbox.id)
        sandbox.set_labels({"team": "b", "x": "y"})
        found = daytona.list(ListSandboxesQuery(labels={"team": "b"}, states=[SandboxState.STARTED], limit=1))
        print("labels", [s.id == sandbox.id for s in found])
        sandbox.set_autostop_interval(0)
        sandbox.set_auto_archive_interval(60)
        sandbox.set_auto_delete_interval(-1)
        sandbox.refresh_data()
        print("intervals", sandbox.auto_stop_interval, sandbox.auto_archive_interval, sandbox.auto_delete_interval)

        sandbox.process.exec("mkdir -p /home/daytona/site && echo page > /home/daytona/site/index.html")
        sandbox.process.create_session("web")
        sandbox.process.execute_session_command(
            "web", SessionExecuteRequest(command="cd /home/daytona/site && python3 -m http.server 8080", run_async=True)
        )
        link = sandbox.get_preview_link(8080)
        host = link.url.split("://", 1)[1]
        origin = sys.argv[2].rsplit("/api", 1)[0]
        fetch = lambda **headers: httpx.get(origin + "/index.html", headers={"Host": host, **headers})
        token = {"X-Daytona-Preview-Token": link.token}
        page = until(lambda: (r := fetch(**token)).status_code == 200 and r, "preview")
        print("preview", page.text.strip(), fetch().status_code)
        signed = sandbox.create_signed_preview_url(8080, expires_in_seconds=60)
        signed_host = signed.url.split("://", 1)[1]
        print("signed", httpx.get(origin + "/index.html", headers={"Host": signed_host}).text.strip())
        sandbox.expire_signed_preview_url(8080, signed.token)
        print("expired", httpx.get(origin + "/index.html", headers={"Host": signed_host}).status_code)

        sandbox.fs.upload_file(b"kept", "/home/daytona/kept.txt")
        sandbox.stop()
        print("stopped", sandbox.state)
        sandbox.start()
        print("started", sandbox.state, sandbox.fs.download_file("/home/daytona/kept.txt"))
        sandbox.stop()
        sandbox.archive()
        until(lambda: (sandbox.refresh_data(), sandbox.state)[1] == SandboxState.ARCHIVED, "archive", 120)
        print("archived", sandbox.state)
        sandbox.start(timeout=180)
        print("restored", sandbox.state, sandbox.fs.download_file("/home/daytona/kept.txt"))

        try:
            daytona.get("no-such-sandbox")
        except DaytonaNotFoundError as exc:
            print("404", type(exc).__name__)
        try:
            Daytona(DaytonaConfig(api_key="wrong", api_url=sys.argv[2])).get(sandbox.id)
        except DaytonaAuthenticationError as exc:
            print("401", type(exc).__name__)
        try:
            daytona.create(CreateSandboxFromSnapshotParams(name="lifecycle-one"))
        except DaytonaConflictError as exc:
            print("409", type(exc).__name__)
        try:
            daytona.create(CreateSandboxFromSnapshotParams(snapshot="no-such-snapshot"))
        except DaytonaError as exc:
            print("unknown snapshot", type(exc).__name__)
    finally:
        daytona.delete(sandbox)
    try:
        daytona.get(sandbox.id)
    except DaytonaNotFoundError:
        print("deleted")
    """
)


def test_lifecycle_flows(server: RunningServer, tmp_path: Path) -> None:
    lines = run_current_sdk(LIFECYCLE, tmp_path, server.api_key, server.url)
    assert lines == [
        "created SandboxState.STARTED lifecycle-one int",
        "by name True",
        "labels [True]",
        "intervals 0 60 -1",
        "preview page 401",
        "signed page",
        "expired 401",
        "stopped SandboxState.STOPPED",
        "started SandboxState.STARTED b'kept'",
        "archived SandboxState.ARCHIVED",
        "restored SandboxState.STARTED b'kept'",
        "404 DaytonaNotFoundError",
        "401 DaytonaAuthenticationError",
        "409 DaytonaConflictError",
        "unknown snapshot DaytonaBadRequestError",
        "deleted",
    ]


TEMPLATES = PRELUDE + textwrap.dedent(
    """
    made = []
    recipe = Image.base("daytona-sandbox:0.1.0").run_commands("echo built > /built.txt")
    try:
        logs = []
        snapshot = daytona.snapshot.create(CreateSnapshotParams(name="tmpl", image=recipe), on_logs=logs.append)
        print("snapshot", snapshot.state, any("Built" in line for line in logs))
        print("listed", "tmpl" in [s.name for s in daytona.snapshot.list().items])
        one = daytona.create(CreateSandboxFromSnapshotParams(snapshot="tmpl"))
        made.append(one)
        print("from snapshot", one.process.exec("cat /built.txt").result.strip())
        two = daytona.create(
            CreateSandboxFromImageParams(image=Image.base("daytona-sandbox:0.1.0").run_commands("echo decl > /d.txt"))
        )
        made.append(two)
        print("declarative", two.process.exec("cat /d.txt").result.strip())

        one.process.exec("mkdir -p /home/daytona/w && echo before > /home/daytona/w/f.txt")
        fork = one.fork(name="tmpl-fork")
        made.append(fork)
        print("fork", fork.state, fork.process.exec("cat /home/daytona/w/f.txt").result.strip())
        one.process.exec("echo after > /home/daytona/w/f.txt")
        print("fork apart", fork.process.exec("cat /home/daytona/w/f.txt").result.strip())
        one.create_snapshot("from-one")
        print("sandbox snapshot", daytona.snapshot.get("from-one").state)
        try:
            daytona.snapshot.delete(daytona.snapshot.get("tmpl"))
        except DaytonaConflictError as exc:
            print("snapshot in use", type(exc).__name__)
        one.stop()
        try:
            one.fork()
        except DaytonaConflictError as exc:
            print("fork stopped", type(exc).__name__)

        volume = daytona.volume.create("shared-data")
        print("volume", volume.state, daytona.volume.get("shared-data").id == volume.id)
        mounts = [VolumeMount(volume_id=volume.id, mount_path="/data")]
        writer = daytona.create(CreateSandboxFromSnapshotParams(volumes=mounts))
        made.append(writer)
        reader = daytona.create(CreateSandboxFromSnapshotParams(volumes=mounts))
        made.append(reader)
        writer.process.exec("echo shared > /data/note.txt")
        print("volume shared", reader.process.exec("cat /data/note.txt").result.strip())
        try:
            daytona.volume.delete(volume)
        except DaytonaError as exc:
            print("volume in use", type(exc).__name__)
    finally:
        for sandbox in made:
            daytona.delete(sandbox)
    """
)


def test_snapshot_fork_and_volume_flows(server: RunningServer, tmp_path: Path) -> None:
    lines = run_current_sdk(TEMPLATES, tmp_path, server.api_key, server.url)
    assert lines == [
        "snapshot SnapshotState.ACTIVE True",
        "listed True",
        "from snapshot built",
        "declarative decl",
        "fork SandboxState.STARTED before",
        "fork apart before",
        "sandbox snapshot SnapshotState.ACTIVE",
        "snapshot in use DaytonaConflictError",
        "fork stopped DaytonaConflictError",
        "volume VolumeState.READY True",
        "volume shared shared",
        "volume in use DaytonaConflictError",
    ]


ASYNC = textwrap.dedent(
    """
    import asyncio, sys
    from daytona import AsyncDaytona, CreateSandboxFromSnapshotParams, DaytonaConfig

    async def main():
        async with AsyncDaytona(DaytonaConfig(api_key=sys.argv[1], api_url=sys.argv[2])) as daytona:
            sandbox = await daytona.create()
            try:
                run = await sandbox.process.code_run("print(sum(range(10)))")
                print("async code_run", run.exit_code, run.result.strip())
                await sandbox.fs.upload_file(b"async", "/home/daytona/async.txt")
                print("async download", await sandbox.fs.download_file("/home/daytona/async.txt"))
                ts = await daytona.create(CreateSandboxFromSnapshotParams(language="typescript"))
                try:
                    code = 'const s: string = "ts"; console.log(s.toUpperCase())'
                    print("typescript", (await ts.process.code_run(code)).result.strip())
                finally:
                    await daytona.delete(ts)
            finally:
                await daytona.delete(sandbox)

    asyncio.run(main())
    """
)


def test_async_daytona(server: RunningServer, tmp_path: Path) -> None:
    lines = run_current_sdk(ASYNC, tmp_path, server.api_key, server.url)
    assert lines == ["async code_run 0 45", "async download b'async'", "typescript TS"]
