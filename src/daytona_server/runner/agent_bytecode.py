"""The agent's bytecode, compiled once on the host.

Sandboxes run the agent with `-B` from a read-only bind mount of its source: without bytecode next
to the source, every start of every sandbox compiles each module it imports (slower, and the
compiler's garbage stays in the agent's memory). The files are for the server's own interpreter;
the default image's python3 is the same minor version and loads them, any other version looks for
its own cache tag, finds none and compiles as before.
"""

from __future__ import annotations

import compileall
import py_compile
from pathlib import Path


def compile_agent(source: Path) -> None:
    """Write the bytecode of the package at `source` (daytona_agent) into its __pycache__.

    Quiet, and only where a file is missing or stale; a package the server cannot write to (an
    installed one) stays as it is: its sandboxes then compile the agent at start, as without this.
    """
    compileall.compile_dir(
        str(source),
        maxlevels=0,
        quiet=2,
        optimize=0,  # the agent runs without -O
        invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP,  # a changed source is compiled anew
    )
