"""Child processes of the agent: spawning as the sandbox user, killing whole trees, reaping orphans.

The agent is the container's PID 1, so every orphaned process in the sandbox is re-parented to it
and must be reaped here, without stealing the exit status of the children the agent waits for.
"""

from __future__ import annotations

import os
import signal
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import Any, Dict, Iterable, List, Set, Tuple

_lock = threading.Lock()
_tracked: Set[int] = set()


# The kernel's OOM killer picks the process with the highest score first: the user's processes get
# the highest (raising a score needs no capability), so a memory hog dies before the agent does.
USER_OOM_SCORE_ADJ = 1000


def spawn(args: List[str], **kwargs: Any) -> subprocess.Popen:
    """Start a child in its own session (so it can be killed as a group) and track it."""
    import subprocess  # not at start-up: the agent spawns nothing until asked to

    with _lock:
        proc = subprocess.Popen(args, start_new_session=True, **kwargs)
        _tracked.add(proc.pid)
    set_oom_score_adj(proc.pid, USER_OOM_SCORE_ADJ)
    return proc


def set_oom_score_adj(pid: int, value: int) -> None:
    """Best effort: a process that already exited, or a kernel without the file, is fine."""
    try:
        with open("/proc/%d/oom_score_adj" % pid, "w") as fh:
            fh.write(str(value))
    except OSError:
        pass


def release(proc: subprocess.Popen) -> None:
    """Forget a child once its exit status has been collected."""
    with _lock:
        _tracked.discard(proc.pid)


def _scan() -> Dict[int, Tuple[bytes, int]]:
    """Map every visible pid to (state, parent pid), read from /proc."""
    return {pid: (state, parent) for pid, (state, parent, _) in _scan_sessions().items()}


def _scan_sessions() -> Dict[int, Tuple[bytes, int, int]]:
    """Map every visible pid to (state, parent pid, session id), read from /proc."""
    found: Dict[int, Tuple[bytes, int, int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        fields = data[data.rfind(b")") + 2 :].split()
        found[int(name)] = (fields[0], int(fields[1]), int(fields[3]))
    return found


def descendants(pid: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    for child, (_, parent) in _scan().items():
        children.setdefault(parent, []).append(child)
    found: List[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def freeze(groups: Iterable[int]) -> None:
    """SIGSTOP whole process groups before a kill scans /proc.

    A fork bomb fills the sandbox with thousands of runnable processes that share the agent's CPU
    quota: a scan of /proc made while they run takes minutes. Stopped, they take no CPU, and a fork
    under way when the stop arrives is restarted by the kernel, so no child leaves the group.
    """
    mine = os.getpgrp()
    for group in groups:
        if group > 1 and group != mine:
            try:
                os.killpg(group, signal.SIGSTOP)
            except OSError:
                pass


def kill_tree(pid: int) -> None:
    """SIGKILL a process, its process group and every descendant (even those that called setsid)."""
    freeze([pid])
    victims = descendants(pid)
    for target in [pid, *victims]:
        try:
            os.killpg(target, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass


def child_pids(pid: int) -> List[int]:
    """The direct children of `pid`."""
    return [child for child, (_, parent) in _scan().items() if parent == pid]


def kill_sessions(session_ids: Set[int], roots: List[int]) -> None:
    """SIGKILL every process in the given sessions and every descendant of `roots`.

    Two passes: a process forked while the first pass ran (a fork bomb) is caught by the second.
    """
    freeze([*session_ids, *roots])
    for _ in range(2):
        victims = set(roots)
        for pid in roots:
            victims.update(descendants(pid))
        victims.update(pid for pid, (_, _, sid) in _scan_sessions().items() if sid in session_ids)
        victims.discard(os.getpid())
        for target in victims:
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass


def reap_orphans() -> None:
    """waitpid() every zombie child that nobody in the agent is waiting for."""
    me = os.getpid()
    with _lock:
        for pid, (state, parent) in _scan().items():
            if parent == me and state == b"Z" and pid not in _tracked:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass


def start_reaper(interval: float = 1.0) -> None:
    """When running as PID 1, reap orphaned zombies every `interval` seconds.

    Polling rather than SIGCHLD: Python runs signal handlers only in the main thread, which may sit
    in a blocking call for long, and a scan of /proc in a sandbox costs well under a millisecond.
    """
    if os.getpid() != 1:
        return

    def loop() -> None:
        while True:
            time.sleep(interval)
            try:
                reap_orphans()
            except Exception:  # never let the reaper die
                pass

    threading.Thread(target=loop, name="reaper", daemon=True).start()


def kill_all_children() -> None:
    with _lock:
        pids = list(_tracked)
    for pid in pids:
        kill_tree(pid)
