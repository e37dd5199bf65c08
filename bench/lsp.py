"""How long a language server takes to start and to answer its first completions, through the SDK.

For each language, N times in a fresh sandbox (nothing cached by an earlier run): `lsp.start()`,
the first `completions()` after `did_open` (the server loads the file, the project and the standard
library), a second completion (warm), and `lsp.stop()`. Prints median, p90 and min in milliseconds.

Run: `.venv/bin/python bench/lsp.py --runs 5`. It starts its own server like bench/create_exec.py;
`--server-url URL --api-key KEY` uses a running one instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from create_exec import own_server

from daytona_sdk import Daytona, DaytonaConfig, LspLanguageId, Position

# language -> (file, its text, the position to complete at, a label that must be offered there)
CASES = {
    LspLanguageId.PYTHON: ("main.py", "import os\n\n\ndef helper():\n    pass\n\n\nos.pa\n", Position(7, 5), "path"),
    LspLanguageId.TYPESCRIPT: ("index.ts", 'const s: string = "x";\ns.toUpp\n', Position(1, 7), "toUpperCase"),
}
PROJECT = "/workspace/bench"


def measure(daytona: Daytona, language: LspLanguageId) -> dict[str, float]:
    name, text, position, expected = CASES[language]
    workspace = daytona.create()
    try:
        files = json.dumps({f"{PROJECT}/{name}": text})
        code = f"import json, pathlib\nfor p, t in json.loads({files!r}).items():\n"
        code += "    pathlib.Path(p).parent.mkdir(parents=True, exist_ok=True); pathlib.Path(p).write_text(t)\n"
        workspace.process.code_run(code, check=True)
        lsp = workspace.create_lsp_server(language, PROJECT)
        times: dict[str, float] = {}
        started = time.perf_counter()
        lsp.start()
        times["start()"] = time.perf_counter() - started
        started = time.perf_counter()
        lsp.did_open(f"{PROJECT}/{name}")
        first = lsp.completions(f"{PROJECT}/{name}", position)
        times["did_open + first completions()"] = time.perf_counter() - started
        assert expected in [item.label for item in first.items], f"{expected} not offered"
        started = time.perf_counter()
        lsp.completions(f"{PROJECT}/{name}", position)
        times["second completions()"] = time.perf_counter() - started
        started = time.perf_counter()
        lsp.stop()
        times["stop()"] = time.perf_counter() - started
        return times
    finally:
        daytona.remove(workspace)


def report(daytona: Daytona, runs: int) -> None:
    print(f"{'language':<11}| {'measurement':<31}| {'median':>8} | {'p90':>8} | {'min':>8}   (ms, {runs} runs)")
    for language in CASES:
        samples: dict[str, list[float]] = {}
        for _ in range(runs):
            for key, value in measure(daytona, language).items():
                samples.setdefault(key, []).append(value * 1000)
        for key, values in samples.items():
            ordered = sorted(values)
            p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
            print(f"{language.value:<11}| {key:<31}| {statistics.median(values):8.1f} | {p90:8.1f} | {ordered[0]:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--server-url")
    parser.add_argument("--api-key")
    args = parser.parse_args()
    if args.server_url and args.api_key:
        with Daytona(DaytonaConfig(api_key=args.api_key, server_url=args.server_url, target="us")) as daytona:
            report(daytona, args.runs)
        return
    with own_server() as (url, key), Daytona(DaytonaConfig(api_key=key, server_url=url, target="us")) as daytona:
        report(daytona, args.runs)


if __name__ == "__main__":
    main()
