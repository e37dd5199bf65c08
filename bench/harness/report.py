"""What a run leaves behind: the machine it ran on, the printed table, the JSON and the chart."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import docker

from harness.modes import Batch, summary

RESULTS = Path(__file__).resolve().parent.parent / "results"
COLUMNS = ("ours", "ours-pool", "docker", "llm-sandbox")
HEADERS = ("measurement", "ours", "ours, pool hit", "Docker SDK", "llm-sandbox", "ours/Docker", "pool/Docker")
TITLES = {
    "sequential": "create -> first exec, sequential",
    "staggered": "create -> first exec, staggered",
    "burst": "create -> first exec, burst",
    "exec": "exec round trip",
}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info(client: docker.DockerClient, image: str) -> dict[str, Any]:
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    engine = client.version()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
        "docker_server": engine.get("Version"),
        "docker_api": engine.get("ApiVersion"),
        "docker_storage_driver": client.info().get("Driver"),
        "python": sys.version.split()[0],
        "image": image,
        "image_id": client.images.get(image).id,
        "packages": {p: _version(p) for p in ("daytona-selfhost", "docker", "llm-sandbox", "matplotlib")},
    }


Results = dict[str, dict[str, Batch]]  # mode -> system -> batch


def _rows(results: Results, sequential: dict[str, Batch] | None) -> list[tuple[str, dict[str, str], list[str]]]:
    rows: list[tuple[str, dict[str, str], list[str]]] = []

    def ratio(values: dict[str, float]) -> list[str]:
        theirs = values.get("docker")
        mine = (values.get("ours"), values.get("ours-pool"))
        return [f"{ours / theirs:.2f}x" if ours is not None and theirs else "-" for ours in mine]

    for mode, batches in results.items():
        sums = {name: summary(b) for name, b in batches.items()}
        title = TITLES[mode]
        if mode != "exec":
            rows.append((f"{title}: ok", {n: f"{s['success']}/{s['attempts']}" for n, s in sums.items()}, ["-", "-"]))
        for key in ("p50", "p95", "p99", "min", "max"):
            vals = {n: s[key] for n, s in sums.items() if key in s}
            rows.append((f"{title}: {key} ms", {n: f"{v:.1f}" for n, v in vals.items()}, ratio(vals)))
        if mode != "exec":
            vals = {n: s["wall_s"] for n, s in sums.items()}
            rows.append((f"{title}: wall s", {n: f"{v:.2f}" for n, v in vals.items()}, ratio(vals)))
        if mode == "burst" and (vals := burst_ratio(results, sequential)):
            rows.append(("burst p95 / sequential p50", {n: f"{v:.2f}" for n, v in vals.items()}, ratio(vals)))
    return rows


def table(results: Results, sequential: dict[str, Batch] | None = None) -> str:
    """The printed table; `sequential` (this run's, or a baseline's) gives the burst ratio."""
    lines = [list(HEADERS)] + [
        [name, *(cells.get(c, "-") for c in COLUMNS), *r] for name, cells, r in _rows(results, sequential)
    ]
    widths = [max(len(row[i]) for row in lines) for i in range(len(HEADERS))]
    text = [
        " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in lines
    ]
    text.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(text)


def burst_ratio(results: Results, sequential: dict[str, Batch] | None) -> dict[str, float]:
    """Per system, burst p95 / sequential p50: how much a crowd slows the slowest creates."""
    if "burst" not in results or not sequential:
        return {}
    seq = {n: summary(b).get("p50") for n, b in sequential.items()}
    burst = {n: summary(b).get("p95") for n, b in results["burst"].items()}
    return {n: p95 / seq[n] for n, p95 in burst.items() if p95 is not None and seq.get(n)}


def load_sequential(path: Path) -> dict[str, Batch]:
    """The sequential batches of an earlier run's JSON (a baseline for a burst-only run)."""
    data = json.loads(path.read_text())["results"].get("sequential") or {}
    return {n: Batch(ms=b["ms"], errors=b["errors"], wall_s=b["wall_s"]) for n, b in data.items()}


def write_json(path: Path, run: dict[str, Any], results: Results, sequential: dict[str, Batch] | None) -> None:
    body = {**run, "results": {mode: {n: b.to_json() for n, b in batches.items()} for mode, batches in results.items()}}
    body["burst_p95_over_sequential_p50"] = burst_ratio(results, sequential)
    path.write_text(json.dumps(body, indent=2) + "\n")


def write_chart(paths: list[Path], results: Results, subtitle: str) -> None:
    """Box plots of every latency, one panel per mode, one box per system (the dots are the runs)."""
    import matplotlib  # optional: `pip install -e '.[bench]'`

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"ours": "#2b7bba", "ours-pool": "#7fb3e0", "docker": "#e07b39", "llm-sandbox": "#5a9e4b"}
    fig, axes = plt.subplots(1, len(results), figsize=(max(3.6 * len(results) + 1, 6.5), 4.8), squeeze=False)
    for ax, (mode, batches) in zip(axes[0], results.items(), strict=True):
        names = [n for n in COLUMNS if n in batches and batches[n].ok]
        data = [batches[n].ok for n in names]
        if data:
            box = ax.boxplot(data, whis=(0, 100), patch_artist=True, widths=0.55, medianprops={"color": "black"})
            for patch, name in zip(box["boxes"], names, strict=True):
                patch.set_facecolor(colors[name])
                patch.set_alpha(0.55)
            for i, values in enumerate(data, start=1):
                ax.scatter([i] * len(values), values, s=9, color="black", alpha=0.5, zorder=3)
            labels = [n.replace("docker", "Docker SDK").replace("ours-pool", "ours\npool hit") for n in names]
            ax.set_xticks(range(1, len(names) + 1), labels, fontsize=8)
        n = max((len(b.ms) for b in batches.values()), default=0)
        ax.set_title(f"{TITLES[mode]}\n(n={n} each)", fontsize=9.5)
        ax.set_ylabel("ms")
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(subtitle, fontsize=9)
    fig.tight_layout()
    for path in paths:
        fig.savefig(path, dpi=110)
    plt.close(fig)
