"""The `daytona` CLI against a real server: every command and flag, bad input, exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from daytona_cli.main import cli
from daytona_sdk import Daytona, Workspace
from daytona_sdk._config import config_file_path

from ..support.server import RunningServer

DAYTONA = Path(sys.executable).parent / "daytona"


@pytest.fixture
def env(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    values = {"DAYTONA_API_KEY": server.api_key, "DAYTONA_SERVER_URL": server.url}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    yield values


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_version_and_help() -> None:
    assert run("--version").output.startswith("daytona, version ")
    assert run("-v").exit_code == 0
    assert run("version").output.startswith("daytona ")
    for command in (
        [], ["sandbox"], ["sandbox", "create"], ["sandbox", "list"], ["sandbox", "info"], ["sandbox", "start"],
        ["sandbox", "stop"], ["sandbox", "delete"], ["sandbox", "archive"], ["sandbox", "exec"], ["sandbox", "ssh"],
        ["image"],
        ["image", "push"],
        ["image", "list"], ["image", "delete"], ["login"], ["logout"], ["autocomplete"], ["docs"], ["server"],
    ):  # fmt: skip
        for flag in ("--help", "-h"):
            result = run(*command, flag)
            assert result.exit_code == 0, (command, result.output)
            assert "Usage: " in result.output


def test_sandbox_lifecycle_through_the_cli(env: dict[str, str], server: RunningServer) -> None:
    created = run(
        "sandbox", "create", "--id", "cli-box", "--name", "cli box", "-e", "A=1", "--env", "B=x=y",
        "-l", "team=cli", "--label", "tier=test", "--cpu", "2", "--memory", "1536", "--disk", "5",
        "--auto-stop", "0", "--target", "eu", "--public", "--user", "daytona",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == "cli-box"
    try:
        info = json.loads(run("sandbox", "info", "cli-box", "--format", "json", "--verbose").stdout)
        assert info["env"] == {"A": "1", "B": "x=y"}
        assert info["labels"] == {"team": "cli", "tier": "test", "code-toolbox-language": "python"}
        assert (info["cpu"], info["memory"], info["disk"], info["target"], info["public"]) == (2, 2, 5, "eu", True)
        assert info["autoStopInterval"] == 0 and info["state"] == "started"
        # This test server runs sandboxes with networking off: no network, nothing refused yet.
        assert info["network"] == {"blockAll": True, "allowList": None, "domainAllowList": None, "refused": 0}
        as_yaml = yaml.safe_load(run("sandbox", "info", "cli-box", "-f", "yaml").stdout)
        assert as_yaml["id"] == "cli-box" and "env" not in as_yaml
        table = run("sandbox", "list").stdout
        assert "cli-box" in table and "started" in table
        listed = json.loads(run("sandbox", "list", "-f", "json", "-l", "team=cli").stdout)
        assert [row["id"] for row in listed] == ["cli-box"]
        assert json.loads(run("sandbox", "list", "-f", "json", "-l", "team=nobody").stdout) == []

        assert run("sandbox", "stop", "cli-box").exit_code == 0
        assert json.loads(run("sandbox", "info", "cli-box", "-f", "json").stdout)["state"] == "stopped"
        assert run("sandbox", "archive", "cli-box", "--timeout", "120").exit_code == 0
        assert json.loads(run("sandbox", "info", "cli-box", "-f", "json").stdout)["state"] == "archived"
        started = run("sandbox", "start", "cli-box", "--wait", "--timeout", "120")
        assert started.exit_code == 0 and "cli-box: started" in started.stderr
        assert run("sandbox", "stop", "--all", "--no-wait").exit_code == 0
        assert run("sandbox", "start", "-a").exit_code == 0
        assert json.loads(run("sandbox", "info", "cli-box", "-f", "json").stdout)["state"] == "started"
    finally:
        deleted = run("sandbox", "delete", "cli-box", "--force")
    assert deleted.exit_code == 0 and "cli-box: deleted" in deleted.stderr
    with Daytona() as daytona:
        assert "cli-box" not in [w.id for w in daytona.list()]


def test_class_presets_and_delete_all(env: dict[str, str]) -> None:
    assert run("sandbox", "create", "--id", "cli-medium", "--class", "medium").exit_code == 0
    info = json.loads(run("sandbox", "info", "cli-medium", "-f", "json").stdout)
    assert (info["class"], info["cpu"], info["memory"]) == ("medium", 2, 4)
    # As the reference CLI: without a terminal there is nobody to ask, so --all deletes at once.
    assert run("sandbox", "create", "--id", "cli-small").exit_code == 0
    deleted = run("sandbox", "delete", "--all")
    assert deleted.exit_code == 0 and "cli-medium: deleted" in deleted.stderr and "cli-small: deleted" in deleted.stderr
    assert json.loads(run("sandbox", "list", "-f", "json").stdout) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["sandbox", "info", "no-such-box"], 1, "error: sandbox no-such-box not found"),
        (["sandbox", "start", "no-such-box"], 1, "error: sandbox no-such-box not found"),
        (["sandbox", "delete", "no-such-box", "-f"], 1, "error: sandbox no-such-box not found"),
        (["sandbox", "create", "--env", "NOEQUALS"], 2, "'NOEQUALS' is not KEY=VALUE"),
        (["sandbox", "create", "-l", "=x"], 2, "'=x' is not KEY=VALUE"),
        (["sandbox", "create", "--target", "mars"], 2, "'mars' is not one of 'eu', 'us', 'asia'"),
        (["sandbox", "create", "--class", "huge"], 2, "'huge' is not one of"),
        (["sandbox", "create", "--cpu", "0"], 2, "--cpu"),
        (["sandbox", "create", "--image", "no-such-image:1"], 1, "image 'no-such-image:1' not found"),
        (["sandbox", "create", "--network-allow-list", "203.0.113.0/24"], 1, "runs sandboxes without a network"),
        (["sandbox", "info"], 2, "ID is required when not running in a terminal"),
        (["sandbox", "start", "x", "--all"], 2, "give an ID or --all, not both"),
        (["image", "delete", "no-such-image-id"], 1, "error: image no-such-image-id not found"),
        (["sandbox", "exec", "no-such-box", "--", "true"], 1, "error: sandbox no-such-box not found"),
        (["sandbox", "exec", "x"], 2, "Missing argument"),
        (["sandbox", "ssh", "x"], 2, "ssh needs a terminal"),
        (["autocomplete", "tcsh"], 2, "'tcsh' is not one of"),
    ],
)
def test_bad_input_is_one_line_with_the_right_exit_code(
    env: dict[str, str], args: list[str], code: int, message: str
) -> None:
    result = run(*args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_exec_streams_output_and_passes_the_exit_code_through(env: dict[str, str], workspace: Workspace) -> None:
    result = run("sandbox", "exec", workspace.id, "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (result.exit_code, result.stdout, result.stderr) == (7, "out\n", "err\n")
    quoted = run("sandbox", "exec", workspace.id, "--", "printf", "%s|", "a b", "c")
    assert (quoted.exit_code, quoted.stdout) == (0, "a b|c|")  # several arguments are quoted for the shell
    piped = run("sandbox", "exec", workspace.id, "-e", "X=42", "--cwd", "/tmp", "echo $X $(pwd) | tr 4 5")
    assert (piped.exit_code, piped.stdout) == (0, "52 /tmp\n")
    timed = run("sandbox", "exec", workspace.id, "--timeout", "1", "--", "sh", "-c", "echo before; sleep 30")
    assert timed.exit_code == 124 and "before" in timed.stdout and "error:" in timed.stderr


def test_debug_shows_the_traceback(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["--debug", "sandbox", "info", "no-such-box"])
    assert result.exit_code == 1
    assert result.exception is not None and "not found" in str(result.exception)


def test_login_checks_saves_0600_and_logout(server: RunningServer) -> None:
    wrong = run("login", "--server-url", server.url, "--api-key", "dtn_wrong")
    assert wrong.exit_code == 1 and "invalid API key" in wrong.stderr
    assert not config_file_path().exists()
    unreachable = run("login", "--server-url", "http://127.0.0.1:9/api", "--api-key", server.api_key)
    assert unreachable.exit_code == 1 and "cannot reach the Daytona server" in unreachable.stderr

    prompted = run("login", "--target", "asia", input=f"{server.url}\n{server.api_key}\n")
    assert prompted.exit_code == 0, prompted.output
    path = config_file_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"serverUrl": server.url, "apiKey": server.api_key, "target": "asia"}
    # The SDK (and so every command) now works without any environment variable.
    assert run("sandbox", "list", "-f", "json").exit_code == 0
    with Daytona() as daytona:
        assert daytona.target == "asia"
    assert run("logout").exit_code == 0
    assert not path.exists()
    assert "API key is required" in run("sandbox", "list").stderr


def test_images_build_use_list_delete(env: dict[str, str], tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "hello.txt").write_text("from the build context\n")
    (context / "secret.key").write_text("not for the image\n")
    (context / ".dockerignore").write_text("*.key\n")
    (context / "Dockerfile").write_text("FROM daytona-sandbox:0.1.0\nCOPY . /opt/ctx/\nRUN cat /opt/ctx/hello.txt\n")
    pushed = run("image", "push", "cli-test-image:1", "--dockerfile", str(context / "Dockerfile"),
                 "--entrypoint", "sleep 600")  # fmt: skip
    assert pushed.exit_code == 0, pushed.output
    assert "from the build context" in pushed.stderr  # the build log is shown
    image_id = pushed.stdout.strip()
    images = json.loads(run("image", "list", "--format", "json").stdout)
    (image,) = [i for i in images if i["id"] == image_id]
    assert (image["name"], image["state"], image["entrypoint"]) == ("cli-test-image:1", "active", "sleep 600")
    assert "cli-test-image:1" in run("image", "list").stdout

    assert run("sandbox", "create", "--image", "cli-test-image:1", "--id", "cli-img-box").exit_code == 0
    with Daytona() as daytona:
        box = daytona.get("cli-img-box")
        assert box.process.exec("ls /opt/ctx").result.split() == ["Dockerfile", "hello.txt"]
        assert "sleep 600" in box.process.exec("ps -eo args").result  # the entrypoint runs
    in_use = run("image", "delete", image_id)
    assert in_use.exit_code == 1 and "used by sandbox(es) cli-img-box" in in_use.stderr
    assert run("sandbox", "delete", "cli-img-box", "-f").exit_code == 0
    assert run("image", "delete", "cli-test-image:1").exit_code == 0  # by name, as by ID
    assert image_id not in run("image", "list", "-f", "json").stdout


def test_broken_dockerfile_fails_with_the_build_error(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM daytona-sandbox:0.1.0\nRUN echo about to fail && exit 7\n")
    result = run("image", "push", "cli-broken:1", "-f", str(tmp_path / "Dockerfile"))
    assert result.exit_code == 1
    assert (
        "error: the build failed: The command '/bin/sh -c echo about to fail && exit 7' returned a non-zero code: 7"
        in (result.stderr)
    )
    assert "cli-broken" not in run("image", "list", "-f", "json").stdout
    unparsable = tmp_path / "Dockerfile.bad"
    unparsable.write_text("FROMM nothing\n")
    result = run("image", "push", "cli-broken:2", "-f", str(unparsable))
    assert result.exit_code == 1 and "error: the build failed" in result.stderr


def test_push_an_image_already_on_the_engine(env: dict[str, str]) -> None:
    result = run("image", "push", "daytona-sandbox:0.1.0")
    assert result.exit_code == 0, result.output
    assert "daytona-sandbox:0.1.0: active" in result.stderr
    missing = run("image", "push", "no-such-image:9")
    assert missing.exit_code == 1 and "neither on the server nor in local Docker" in missing.stderr


def test_autocomplete_scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bash = run("autocomplete", "bash").stdout
    assert "_DAYTONA_COMPLETE" in bash and "complete -o nosort -F _daytona_completion daytona" in bash
    # The script's callback really completes: what bash would run on `daytona sa<TAB>`.
    completed = subprocess.run(
        [str(DAYTONA)], capture_output=True, text=True, timeout=60,
        env={**os.environ, "_DAYTONA_COMPLETE": "bash_complete", "COMP_WORDS": "daytona sa", "COMP_CWORD": "1"},
    )  # fmt: skip
    assert completed.stdout.split() == ["plain,sandbox"]
    assert "compdef" in run("autocomplete", "zsh").stdout
    assert "complete" in run("autocomplete", "fish").stdout
    powershell = run("autocomplete", "powershell").stdout
    assert "Register-ArgumentCompleter" in powershell and "'daytona sandbox'" in powershell
    monkeypatch.setenv("HOME", str(tmp_path))
    assert run("autocomplete", "bash", "--install").exit_code == 0
    assert "daytona-completion.bash" in (tmp_path / ".bashrc").read_text()
    assert run("autocomplete", "fish", "--install").exit_code == 0
    assert (tmp_path / ".config/fish/completions/daytona.fish").is_file()


def test_docs_prints_where_the_documentation_is() -> None:
    result = run("docs")
    assert result.exit_code == 0 and "README.md" in result.stdout


def test_installed_executable(server: RunningServer, tmp_path: Path) -> None:
    environment = {**os.environ, "DAYTONA_API_KEY": server.api_key, "DAYTONA_SERVER_URL": server.url}
    created = subprocess.run(
        [str(DAYTONA), "sandbox", "create", "--id", "cli-subprocess"], capture_output=True, text=True,
        env=environment, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout == "cli-subprocess\n"
    listed = subprocess.run([str(DAYTONA), "sandbox", "list", "-f", "json"], capture_output=True, text=True,
                            env=environment, cwd=tmp_path, timeout=60)  # fmt: skip
    assert "cli-subprocess" in [row["id"] for row in json.loads(listed.stdout)]
    missing = subprocess.run([str(DAYTONA), "sandbox", "info", "nope"], capture_output=True, text=True,
                             env=environment, cwd=tmp_path, timeout=60)  # fmt: skip
    assert (missing.returncode, missing.stderr, missing.stdout) == (1, "error: sandbox nope not found\n", "")
    deleted = subprocess.run([str(DAYTONA), "sandbox", "delete", "cli-subprocess", "-f"], capture_output=True,
                             text=True, env=environment, cwd=tmp_path, timeout=60)  # fmt: skip
    assert deleted.returncode == 0


def test_picker_in_a_terminal(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import daytona_cli._common
    import daytona_cli.sandbox

    for module in (daytona_cli._common, daytona_cli.sandbox):
        monkeypatch.setattr(module, "interactive", lambda: True)
    assert run("sandbox", "create", "--id", "cli-pick-a").exit_code == 0
    assert run("sandbox", "create", "--id", "cli-pick-b").exit_code == 0
    try:
        listed = [row["id"] for row in json.loads(run("sandbox", "list", "-f", "json").stdout)]
        chosen = listed.index("cli-pick-b") + 1
        picked = run("sandbox", "info", "-f", "json", input=f"{chosen}\n")
        assert picked.exit_code == 0, picked.output
        assert "Choose a sandbox" in picked.stderr and "cli-pick-a" in picked.stderr
        assert json.loads(picked.stdout)["id"] == "cli-pick-b"
        # In a terminal, delete --all asks first (answering no keeps them); one ID is deleted at once.
        kept = run("sandbox", "delete", "--all", input="n\n")
        assert kept.exit_code == 1 and "Aborted" in kept.output and "cli-pick-a" in kept.output
        assert "cli-pick-a" in run("sandbox", "list").stdout
        assert run("sandbox", "delete", "cli-pick-a").exit_code == 0
    finally:
        run("sandbox", "delete", "-a", "-f")
