"""AsyncDaytona is the same client for asyncio."""

from __future__ import annotations

import asyncio

from daytona_sdk import AsyncDaytona, CreateWorkspaceParams

from ..support.server import RunningServer


async def test_async_quickstart_and_concurrent_exec(server: RunningServer) -> None:
    async with AsyncDaytona(server.config()) as daytona:
        workspace = await daytona.create(CreateWorkspaceParams(language="python"))
        try:
            response = await workspace.process.code_run('print("Hello World from code!")')
            assert (response.exit_code, response.result) == (0, "Hello World from code!\n")
            # Several commands at once in one sandbox: each gets its own answer.
            results = await asyncio.gather(*(workspace.process.exec(f"sleep 0.5; echo {i}") for i in range(5)))
            assert [r.result for r in results] == [f"{i}\n" for i in range(5)]
        finally:
            await daytona.remove(workspace)
