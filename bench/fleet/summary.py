"""The numbers the goals are about, drawn from a run's raw ones, and the printed table."""

from __future__ import annotations

from typing import Any

from harness.modes import percentile

RSS_GOAL_KIB = 512  # 0.5 MB per live sandbox
P50_GOAL = 1.5  # p50 with N alive / p50 with 1 alive


def stats(values: list[float | None]) -> dict[str, Any]:
    ok = [v for v in values if v is not None]
    if not ok:
        return {"n": 0}
    return {"n": len(ok), "p50": percentile(ok, 50), "p95": percentile(ok, 95), "min": min(ok), "max": max(ok)}


def slope(points: list[tuple[int, int]]) -> float | None:
    """Least-squares KiB per sandbox over the growth series (steadier than two end points)."""
    if len(points) < 2:
        return None
    xs, ys = [float(x) for x, _ in points], [float(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


def summarize(out: dict[str, Any]) -> dict[str, Any]:
    """The numbers the goals are about, from the raw ones (absent where that step did not run)."""
    s: dict[str, Any] = {}
    for phase in ("exec_1_alive", "exec_n_alive", "exec_n_alive_first"):
        if phase in out:
            s[phase] = {"ours": stats(out[phase]["ours_ms"]), "docker": stats(out[phase]["docker_ms"])}
    if "build" in out:
        s["create_ms"] = stats(out["build"]["create_ms"])
        s["first_exec_ms"] = stats(out["build"]["first_exec_ms"])
        s["build_wall_s"] = out["build"]["wall_s"]
        s["server_rss_slope_kib"] = slope(out["build"]["growth"])
    if "verify" in out:
        s["answered"] = sum(v is not None for v in out["verify"]["ms"])
        s["verify_ms"] = stats(out["verify"]["ms"])
    mem, n = out["memory"], out["alive"]
    if "fleet" in mem and "base" in mem and n:
        base, fleet = mem["base"], mem["fleet"]
        s["server_kib_per_sandbox"] = {k: (fleet["server"][k] - base["server"][k]) / n for k in ("rss", "pss")}
        s["engine_kib_per_sandbox"] = {k: (fleet["engine"][k] - base["engine"][k]) / n for k in ("rss", "pss")}
        s["host_available_drop_kib_per_sandbox"] = (base["mem_available"] - fleet["mem_available"]) / n
        agents = mem["agents"]
        if agents["containers"]:
            per = agents["containers"]
            s["agent_kib_per_sandbox"] = {k: agents["pid1"][k] / per for k in ("rss", "pss")}
            if agents["cgroup_memory_kib"] is not None:
                s["cgroup_kib_per_sandbox"] = agents["cgroup_memory_kib"] / agents["cgroups_read"]
    return s


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def table(s: dict[str, Any], n: int) -> str:
    """measurement | ours | Docker SDK | ours/Docker | goal."""
    rows: list[list[str]] = [["measurement", "ours", "Docker SDK", "ours/Docker", "goal"]]

    def row(name: str, ours: str, docker: str = "-", ratio: str = "", goal: str = "") -> None:
        rows.append([name, ours, docker, ratio, goal])

    for phase, alive in (("exec_1_alive", 1), ("exec_n_alive", n)):
        for key in ("p50", "p95") if phase in s else ():
            mine, base = s[phase]["ours"].get(key), s[phase]["docker"].get(key)
            row(f"exec round trip {key} ms, {alive} alive", _ms(mine), _ms(base), _x(_ratio(mine, base)))
    if "exec_n_alive_first" in s:
        mine, base = s["exec_n_alive_first"]["ours"].get("p50"), s["exec_n_alive_first"]["docker"].get("p50")
        row(f"exec p50 ms, {n} alive, ours on the 1-alive sandbox", _ms(mine), _ms(base), _x(_ratio(mine, base)))
    if "exec_1_alive" in s and "exec_n_alive" in s:
        ours, docker = (
            _ratio(s["exec_n_alive"][k].get("p50"), s["exec_1_alive"][k].get("p50")) for k in ("ours", "docker")
        )
        goal = f"<= {P50_GOAL}x {_verdict(None if ours is None else ours <= P50_GOAL)}"
        row(f"exec p50, {n} alive / 1 alive", _x(ours), _x(docker), goal=goal)
    if "answered" in s:
        row(f"sandboxes answering exec, {n} alive", f"{s['answered']}/{n}", goal=f"all {_verdict(s['answered'] == n)}")
        row(f"exec p50 ms, each of the {n} once", _ms(s["verify_ms"].get("p50")))
    if "create_ms" in s:
        create = s["create_ms"]
        row(f"create p50 / p95 ms, up to {n} alive", f"{_ms(create.get('p50'))} / {_ms(create.get('p95'))}")
        row("first exec after create p50 ms", _ms(s["first_exec_ms"].get("p50")))
        row("fleet build wall s", f"{s['build_wall_s']:.0f}")
    if "server_kib_per_sandbox" in s:
        rss, pss = s["server_kib_per_sandbox"]["rss"], s["server_kib_per_sandbox"]["pss"]
        row("server RSS KiB per sandbox", f"{rss:.0f}", goal=f"<= {RSS_GOAL_KIB} {_verdict(rss <= RSS_GOAL_KIB)}")
        row("server Pss KiB per sandbox", f"{pss:.0f}")
        if s.get("server_rss_slope_kib") is not None:
            row("server RSS KiB per sandbox, fit while building", f"{s['server_rss_slope_kib']:.0f}")
        for key, title in (
            ("agent_kib_per_sandbox", "agent (PID 1)"),
            ("engine_kib_per_sandbox", "engine (dockerd, containerd, shims)"),
        ):
            if key in s:
                row(f"{title} RSS / Pss KiB per sandbox", f"{s[key]['rss']:.0f} / {s[key]['pss']:.0f}")
        if "cgroup_kib_per_sandbox" in s:
            row("container memory cgroup KiB per sandbox", f"{s['cgroup_kib_per_sandbox']:.0f}")
        row("host MemAvailable drop KiB per sandbox", f"{s['host_available_drop_kib_per_sandbox']:.0f}")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        " | ".join(c.ljust(w) if i in (0, 4) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
