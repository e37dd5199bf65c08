"""Generate the sync SDK (`src/daytona_sdk/_sync`) from the async one (`_async`).

python scripts/gen_sync_sdk.py          # regenerate
python scripts/gen_sync_sdk.py --check  # fail when _sync is out of date (run by `make lint`)
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
import tempfile
from pathlib import Path

import unasync

ROOT = Path(__file__).resolve().parent.parent
ASYNC_DIR = ROOT / "src" / "daytona_sdk" / "_async"
SYNC_DIR = ROOT / "src" / "daytona_sdk" / "_sync"
HEADER = "# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.\n"

REPLACEMENTS = {
    "AsyncDaytona": "Daytona",
    "AsyncWorkspace": "Workspace",
    "AsyncProcess": "Process",
    "AsyncCodeInterpreter": "CodeInterpreter",
    "AsyncLspServer": "LspServer",
    "AsyncFileSystem": "FileSystem",
    "AsyncGit": "Git",
    "AsyncImages": "Images",
    "AsyncSnapshots": "Snapshots",
    "AsyncVolumes": "Volumes",
    "AsyncHttp": "SyncHttp",
    "AsyncPtyHandle": "PtyHandle",
    "AsyncPtySessions": "PtySessions",
    "AsyncWsConnection": "WsConnection",  # daytona_sdk/_ws.py: websockets.asyncio -> websockets.sync
    "aconnect_ws": "connect_ws",
    "arecv_within": "recv_within",
    "AsyncClient": "Client",
    "AsyncBaseTransport": "BaseTransport",
    "aclose": "close",
    "aread": "read",
    "aiter_bytes": "iter_bytes",
    "aiter_lines": "iter_lines",
    "asyncio": "time",
    "_async": "_sync",
}


def generate(out_dir: Path) -> list[Path]:
    files = sorted(ASYNC_DIR.glob("*.py"))
    rule = unasync.Rule(fromdir=str(ASYNC_DIR) + "/", todir=str(out_dir) + "/", additional_replacements=REPLACEMENTS)
    unasync.unasync_files([str(f) for f in files], [rule])
    outputs = []
    for src in files:
        target = out_dir / src.name
        text = target.read_text()
        # `import time` may now appear twice (asyncio -> time); keep the first.
        lines, seen = [], False
        for line in text.splitlines(keepends=True):
            if line.strip() == "import time":
                if seen:
                    continue
                seen = True
            lines.append(line)
        target.write_text(HEADER + "".join(lines))
        outputs.append(target)
    # Renaming can unsort imports and change line lengths: let ruff tidy the output.
    ruff = str(Path(sys.executable).parent / "ruff")
    config = ["--config", str(ROOT / "pyproject.toml")]
    names = [str(p) for p in outputs]
    subprocess.run([ruff, "check", *config, "--select", "I", "--fix", "--quiet", *names], check=False)
    subprocess.run([ruff, "format", *config, "--quiet", *names], check=True)
    return outputs


def main() -> int:
    if "--check" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            generated = generate(Path(tmp))
            stale = [p.name for p in generated if not filecmp.cmp(p, SYNC_DIR / p.name, shallow=False)]
            extra = {p.name for p in SYNC_DIR.glob("*.py")} - {p.name for p in generated}
        if stale or extra:
            names = ", ".join(sorted(stale) + sorted(extra))
            print(f"src/daytona_sdk/_sync is out of date ({names}): run `make sdk-sync`")
            return 1
        print("src/daytona_sdk/_sync matches _async")
        return 0
    SYNC_DIR.mkdir(exist_ok=True)
    for name in SYNC_DIR.glob("*.py"):
        name.unlink()
    for path in generate(SYNC_DIR):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
