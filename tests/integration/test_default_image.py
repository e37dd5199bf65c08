"""The default sandbox image as an AI agent uses it: pip and npm installs with no flags, a current
Node.js LTS, TypeScript through npx, matplotlib charts and native builds.

Sandboxes here have no network, so what they install are packages written here (a wheel, npm
tarballs) and uploaded; everything else must already be in the image.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from daytona_sdk import CreateWorkspaceParams, Daytona, LspLanguageId, Position, Workspace

from ..support.server import RunningServer, run_current_sdk


def make_wheel(directory: Path, name: str) -> Path:
    """A pure-Python wheel of module `name` with a console script of the same name (dashed), by hand."""
    dist = f"{name}-1.0"
    files = {
        f"{name}.py": f"GREETING = 'hello from {name}'\n\n\ndef main():\n    print(GREETING)\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}.dist-info/entry_points.txt": f"[console_scripts]\n{name.replace('_', '-')} = {name}:main\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    wheel = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def make_npm_package(directory: Path, name: str, files: dict[str, str], manifest: dict[str, object]) -> Path:
    """The tarball `npm pack` would make of a package with these files (package.json from `manifest`)."""
    tarball = directory / f"{name}-1.0.0.tgz"
    entries = {"package.json": json.dumps({"name": name, "version": "1.0.0", **manifest}), **files}
    with tarfile.open(tarball, "w:gz") as archive:
        for path, text in entries.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{path}")
            info.size, info.mode = len(data), 0o755 if path.endswith("cli.js") else 0o644
            archive.addfile(info, io.BytesIO(data))
    return tarball


def js_package(directory: Path, name: str) -> Path:
    """A package with a module (exports 42) and a command of its name."""
    files = {
        "index.js": "module.exports = { answer: 42 };\n",
        "cli.js": f"#!/usr/bin/env node\nconsole.log('hello from {name}');\n",
    }
    return make_npm_package(directory, name, files, {"main": "index.js", "bin": {name: "cli.js"}})


def upload(workspace: Workspace, local: Path) -> str:
    path = f"/tmp/{local.name}"
    workspace.fs.upload_file(path, local.read_bytes())
    return path


def last_lines(text: str, count: int) -> list[str]:
    return text.strip().splitlines()[-count:]


@pytest.fixture(scope="module")
def root_sandbox(server: RunningServer) -> Iterator[Workspace]:
    with Daytona(server.config()) as daytona:
        created = daytona.create(CreateWorkspaceParams(os_user="root"))
        yield created
        daytona.remove(created)


def test_pip_install_needs_no_flags_and_code_run_imports_the_package(workspace: Workspace, tmp_path: Path) -> None:
    wheel = upload(workspace, make_wheel(tmp_path, "dt_pip_probe"))
    install = workspace.process.exec(f"pip install {wheel}")
    assert install.exit_code == 0, install.result
    run = workspace.process.code_run("import dt_pip_probe, sys; print(dt_pip_probe.GREETING, sys.prefix)")
    assert run.result == "hello from dt_pip_probe /opt/venv\n"
    assert workspace.process.exec("dt-pip-probe; python3 -m pip --version").result.startswith(
        "hello from dt_pip_probe\npip "
    )


def test_the_python_language_server_completes_what_pip_installed(workspace: Workspace, tmp_path: Path) -> None:
    wheel = upload(workspace, make_wheel(tmp_path, "dt_lsp_probe"))
    assert workspace.process.exec(f"pip install {wheel}").exit_code == 0
    workspace.process.exec(
        "mkdir -p /workspace/lsp && printf 'import dt_lsp_probe\\ndt_lsp_probe.GRE\\n' > /workspace/lsp/m.py"
    )
    lsp = workspace.create_lsp_server(LspLanguageId.PYTHON, "/workspace/lsp")
    lsp.start()
    try:
        lsp.did_open("/workspace/lsp/m.py")
        completions = lsp.completions("/workspace/lsp/m.py", Position(line=1, character=16))
        assert "GREETING" in [item.label for item in completions.items]
    finally:
        lsp.stop()


def test_npm_installs_in_a_project_and_globally_with_no_flags(workspace: Workspace, tmp_path: Path) -> None:
    tarball = upload(workspace, js_package(tmp_path, "dt-npm-probe"))
    local = workspace.process.exec(
        f"mkdir -p ~/proj && cd ~/proj && npm init -y >/dev/null && npm install {tarball}"
        " && node -p \"require('dt-npm-probe').answer\" && npx dt-npm-probe",
        timeout=120,
    )
    assert local.exit_code == 0, local.result
    assert last_lines(local.stdout, 2) == ["42", "hello from dt-npm-probe"]

    installed = workspace.process.exec(
        f"npm install -g {tarball} && cd / && dt-npm-probe && node -p \"require('dt-npm-probe').answer\"",
        timeout=120,
    )
    assert installed.exit_code == 0, installed.result
    assert last_lines(installed.stdout, 2) == ["hello from dt-npm-probe", "42"]


def test_node_is_a_current_lts_with_the_npm_of_its_release(shared_workspace: Workspace) -> None:
    response = shared_workspace.process.exec("node -p 'process.release.lts' && node -p process.versions.node && npm -v")
    lts, node, npm = response.result.split()
    assert lts not in ("", "undefined"), "node is not an LTS release"
    assert int(node.split(".")[0]) >= 22 and int(npm.split(".")[0]) >= 10


def test_typescript_runs_offline_as_the_official_sdk_runs_it(shared_workspace: Workspace) -> None:
    code = 'import * as os from "os"; const n: number = 6 * 7; console.log(n, typeof os.cpus)'
    response = shared_workspace.process.exec(f"npx ts-node -O '{{\"module\":\"CommonJS\"}}' -e '{code}'", timeout=120)
    assert (response.exit_code, response.result) == (0, "42 function\n")


def test_matplotlib_plots_in_the_default_python(shared_workspace: Workspace) -> None:
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [2, 4, 8])\n"
        "plt.savefig('/tmp/dt-plot.png')\n"
        "print('saved')\n"
    )
    response = shared_workspace.process.code_run(code, timeout=120)
    assert (response.exit_code, response.result) == (0, "saved\n")
    assert shared_workspace.fs.download_file("/tmp/dt-plot.png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_todays_sdk_gets_a_matplotlib_chart_back_from_code_run(server: RunningServer, tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import base64, sys
        from daytona import Daytona, DaytonaConfig
        daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], api_url=sys.argv[2]))
        sandbox = daytona.create()
        try:
            run = sandbox.process.code_run(
                "import matplotlib.pyplot as plt\\nplt.plot([1, 2, 3])\\nplt.title('growth')\\nplt.show()"
            )
            chart = run.artifacts.charts[0]
            print(run.exit_code, len(run.artifacts.charts), chart.type, chart.title)
            print(base64.b64decode(chart.png)[:4] == b"\\x89PNG")
        finally:
            daytona.delete(sandbox)
        """
    )
    assert run_current_sdk(script, tmp_path, server.api_key, server.url) == ["0 1 line growth", "True"]


def test_c_extensions_and_node_addons_build_offline(shared_workspace: Workspace, tmp_path: Path) -> None:
    c_source = (
        "#include <Python.h>\n"
        'static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "dtext", NULL, -1, NULL};\n'
        "PyMODINIT_FUNC PyInit_dtext(void) { PyObject *mod = PyModule_Create(&m);"
        ' PyModule_AddIntConstant(mod, "answer", 42); return mod; }\n'
    )
    shared_workspace.process.exec("mkdir -p /tmp/dtext")
    shared_workspace.fs.upload_file("/tmp/dtext/dtext.c", c_source)
    built = shared_workspace.process.exec(
        "cd /tmp/dtext && gcc -shared -fPIC $(python3-config --includes) dtext.c"
        " -o dtext$(python3-config --extension-suffix) && python3 -c 'import dtext; print(dtext.answer)'",
        timeout=120,
    )
    assert (built.exit_code, built.result) == (0, "42\n")

    addon = {
        "binding.gyp": '{"targets": [{"target_name": "dtaddon", "sources": ["addon.c"]}]}',
        "addon.c": (
            "#include <node_api.h>\n"
            "static napi_value Init(napi_env env, napi_value exports) {\n"
            "  napi_value v; napi_create_int32(env, 42, &v); return v;\n}\n"
            "NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)\n"
        ),
    }
    tarball = upload(
        shared_workspace, make_npm_package(tmp_path, "dt-addon-probe", addon, {"main": "build/Release/dtaddon.node"})
    )
    compiled = shared_workspace.process.exec(
        f"mkdir -p /tmp/dtaddon && cd /tmp/dtaddon && npm init -y >/dev/null && npm install {tarball}"
        " && node -p \"require('dt-addon-probe')\"",
        timeout=300,
    )
    assert compiled.exit_code == 0, compiled.result
    assert last_lines(compiled.stdout, 1) == ["42"]


def test_root_can_install_with_pip_and_npm(root_sandbox: Workspace, tmp_path: Path) -> None:
    wheel = upload(root_sandbox, make_wheel(tmp_path, "dt_root_probe"))
    tarball = upload(root_sandbox, js_package(tmp_path, "dt-root-js"))
    response = root_sandbox.process.exec(f"id -u && pip install {wheel} && npm install -g {tarball}", timeout=120)
    assert response.exit_code == 0, response.result
    assert response.result.startswith("0\n")
    run = root_sandbox.process.code_run("import dt_root_probe; print(dt_root_probe.GREETING)")
    assert run.result == "hello from dt_root_probe\n"
    assert root_sandbox.process.exec("dt-root-js").result == "hello from dt-root-js\n"


def test_another_os_user_gets_pips_user_site(daytona: Daytona, tmp_path: Path) -> None:
    sandbox = daytona.create(CreateWorkspaceParams(os_user="agent2"))
    try:
        wheel = upload(sandbox, make_wheel(tmp_path, "dt_user_probe"))
        install = sandbox.process.exec(f"pip install {wheel}")
        assert install.exit_code == 0, install.result
        run = sandbox.process.code_run("import dt_user_probe; print(dt_user_probe.__file__)")
        assert run.result.startswith("/home/agent2/.local/lib/python3.")
        assert run.result.endswith("/site-packages/dt_user_probe.py\n")
    finally:
        daytona.remove(sandbox)


def test_the_agent_runs_on_debians_python_not_the_users_environment(shared_workspace: Workspace) -> None:
    response = shared_workspace.process.exec("tr '\\0' ' ' < /proc/1/cmdline; echo; command -v python3; command -v pip")
    agent, python, pip = response.result.splitlines()
    assert agent.startswith("/usr/bin/python3 -I ")
    assert (python, pip) == ("/opt/venv/bin/python3", "/opt/venv/bin/pip")
