"""The agent's bytecode, compiled on the host so that sandboxes load it instead of compiling the agent."""

from __future__ import annotations

import importlib.util
import py_compile
import shutil
from pathlib import Path

import pytest

from daytona_server.runner import agent_bytecode
from daytona_server.runner.agent_bytecode import compile_agent

AGENT = Path(__file__).resolve().parents[2] / "src" / "daytona_agent"


@pytest.fixture
def package(tmp_path: Path) -> Path:
    copy = tmp_path / "daytona_agent"
    shutil.copytree(AGENT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_every_module_gets_its_bytecode_for_this_interpreter(package: Path) -> None:
    compile_agent(package)
    sources = sorted(package.glob("*.py"))
    assert sources and all(Path(importlib.util.cache_from_source(str(p))).is_file() for p in sources)
    pyc = Path(importlib.util.cache_from_source(str(package / "http.py")))
    written = pyc.stat().st_mtime_ns
    compile_agent(package)  # up to date: left alone
    assert pyc.stat().st_mtime_ns == written


def test_a_package_it_cannot_write_to_stays_as_it_is(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "read-only")

    monkeypatch.setattr(py_compile, "compile", refuse)
    compile_agent(package)  # no error, nothing written
    assert not (package / "__pycache__").exists()
    assert agent_bytecode.compile_agent is compile_agent
