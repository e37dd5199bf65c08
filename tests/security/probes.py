"""The adversarial escape matrix: one table of probes, used by the tests and by `make security-report`.

Each in-sandbox probe is a small python3 program (standard library only: ctypes and libc's
`syscall()` for raw system calls) that prints one machine-readable line, `RESULT ok` or
`RESULT errno=EPERM` (or another short value). It runs twice: as the default user (`daytona`) and
in a sandbox created with `os_user="root"`; `expected` says what each must print. Where a probe
shows a known hole, `holes` names it and the test is a strict xfail until the hole is closed.

Resource probes (fork bomb, memory hog, disk fill, giant output) drive the sandbox from the host
side and return what they observed as one short string, checked the same way.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from daytona_sdk import CodeRunParams, DaytonaError, ProcessExecutionError, Workspace

USERS = ("daytona", "root")
PROBE_TIMEOUT_S = 30

# Shared by every probe program: raw system calls by name, errno names, the RESULT line.
PRELUDE = r'''
import ctypes, errno, os, platform, socket, stat, struct, subprocess, sys, time
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
NR = {
    "x86_64": dict(mount=165, umount2=166, unshare=272, clone=56, clone3=435, setns=308, keyctl=250,
                   add_key=248, ptrace=101, init_module=175, finit_module=313, delete_module=176, bpf=321,
                   perf_event_open=298, userfaultfd=323, io_uring_setup=425, clock_settime=227, reboot=169,
                   swapon=167, syslog=103, kexec_load=246, open_by_handle_at=304, sethostname=170,
                   iopl=172, pivot_root=155, fsopen=430, acct=163),
    "aarch64": dict(mount=40, umount2=39, unshare=97, clone=220, clone3=435, setns=268, keyctl=219,
                    add_key=217, ptrace=117, init_module=105, finit_module=273, delete_module=106, bpf=280,
                    perf_event_open=241, userfaultfd=282, io_uring_setup=425, clock_settime=112, reboot=142,
                    swapon=224, syslog=116, kexec_load=104, open_by_handle_at=265, sethostname=161,
                    pivot_root=41, fsopen=430, acct=89),
}[platform.machine()]

def ename(number):
    return errno.errorcode.get(number, str(number))

def done(value):
    print("RESULT " + value, flush=True)
    sys.exit(0)

def raw(name, *args):
    """A raw system call: (return value, errno name or None)."""
    ctypes.set_errno(0)
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ret = _libc.syscall(ctypes.c_long(NR[name]), *conv)
    return ret, (ename(ctypes.get_errno()) if ret < 0 else None)

def syscall(name, *args):
    """'ok' or 'errno=NAME' of a raw system call; a descriptor it returns is closed."""
    ret, err = raw(name, *args)
    return "ok" if err is None else "errno=" + err

def attempt(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except OSError as exc:
        return "errno=" + ename(exc.errno)
    return "ok"

def write_file(path, data="1"):
    with open(path, "w") as fh:
        fh.write(data)

def read_file(path, size=64):
    with open(path, "rb") as fh:
        fh.read(size)
'''


@dataclass(frozen=True)
class Probe:
    name: str
    what: str
    code: str
    expected: Mapping[str, str]
    # user -> why: the probe shows a known hole there (its test is a strict xfail until fixed).
    holes: Mapping[str, str] = field(default_factory=dict)

    def accepts(self, user: str, observed: str) -> bool:
        """`expected` may list alternatives as `a | b` (e.g. where a kernel lacks the file)."""
        return observed in self.expected[user].split(" | ")

    def program(self) -> str:
        return PRELUDE + "\n" + self.code.strip() + "\n"


def both(value: str) -> dict[str, str]:
    return {user: value for user in USERS}


def per_user(daytona: str, root: str) -> dict[str, str]:
    return {"daytona": daytona, "root": root}


EPERM = both("errno=EPERM")

PROBES: list[Probe] = [
    # -- mounts and namespaces (seccomp lets these through only with CAP_SYS_ADMIN: EPERM) -------
    Probe("mount_tmpfs", "mount(2) a tmpfs", 'done(syscall("mount", b"none", b"/mnt", b"tmpfs", 0, None))', EPERM),
    Probe(
        "umount_masked",
        "umount2 a masked /proc path (would unmask it)",
        'done(syscall("umount2", b"/proc/kcore", 2))',
        EPERM,
    ),
    Probe("fsopen", "new mount API: fsopen(tmpfs)", 'done(syscall("fsopen", b"tmpfs", 0))', EPERM),
    Probe("pivot_root", "pivot_root(2)", 'done(syscall("pivot_root", b"/tmp", b"/tmp"))', EPERM),
    Probe("unshare_user", "unshare(CLONE_NEWUSER)", 'done(syscall("unshare", 0x10000000))', EPERM),
    Probe("unshare_mount", "unshare(CLONE_NEWNS)", 'done(syscall("unshare", 0x00020000))', EPERM),
    Probe("unshare_net", "unshare(CLONE_NEWNET)", 'done(syscall("unshare", 0x40000000))', EPERM),
    Probe(
        "clone_newuser",
        "clone(CLONE_NEWUSER) (seccomp filters clone's flags)",
        """
ret, err = raw("clone", 0x10000000 | 17, 0, 0, 0, 0)
if ret == 0:
    os._exit(0)
if ret > 0:
    os.waitpid(ret, 0)
done("ok" if err is None else "errno=" + err)
""",
        EPERM,
    ),
    Probe(
        "clone3",
        "clone3(2): seccomp answers ENOSYS so libc falls back to clone",
        'done(syscall("clone3", None, 0))',
        both("errno=ENOSYS"),
    ),
    Probe(
        "setns_pid1_mnt",
        "setns into PID 1's mount namespace",
        """
try:
    fd = os.open("/proc/1/ns/mnt", os.O_RDONLY)
except OSError as exc:
    done("open errno=" + ename(exc.errno))
done(syscall("setns", fd, 0))
""",
        per_user("open errno=EACCES", "errno=EPERM"),
    ),
    # -- keys, tracing, other processes --------------------------------------------------------
    Probe("keyctl", "keyctl(KEYCTL_GET_KEYRING_ID)", 'done(syscall("keyctl", 0, -3, 0))', EPERM),
    Probe(
        "add_key",
        "add_key(2) to the session keyring",
        'done(syscall("add_key", b"user", b"probe", b"x", 1, -3))',
        EPERM,
    ),
    Probe(
        "ptrace_pid1",
        "PTRACE_SEIZE the agent (PID 1); the seize never stops it",
        'done(syscall("ptrace", 0x4206, 1, 0, 0))',
        per_user("errno=EPERM", "ok"),
    ),
    Probe(
        "ptrace_other_uid",
        "PTRACE_SEIZE another uid's process (root: a child run as nobody; daytona: the agent)",
        """
if os.getuid() == 0:
    child = subprocess.Popen(["sleep", "20"], user=65534, group=65534, extra_groups=[])
    time.sleep(0.3)
    target = child.pid
else:
    child, target = None, 1
result = syscall("ptrace", 0x4206, target, 0, 0)
if child is not None:
    child.kill()
    child.wait()
done(result)
""",
        EPERM,
    ),
    Probe(
        "proc1_environ",
        "read the agent's /proc/1/environ",
        'done(attempt(read_file, "/proc/1/environ"))',
        per_user("errno=EACCES", "ok"),
    ),
    Probe(
        "proc1_mem",
        "open the agent's /proc/1/mem",
        'done(attempt(os.open, "/proc/1/mem", os.O_RDONLY))',
        per_user("errno=EACCES", "ok"),
    ),
    # -- kernel interfaces in /proc and /sys -----------------------------------------------------
    Probe(
        "proc_sys_hostname",
        "write /proc/sys/kernel/hostname",
        'done(attempt(write_file, "/proc/sys/kernel/hostname", "x"))',
        both("errno=EROFS"),
    ),
    Probe(
        "proc_sys_core_pattern",
        "write /proc/sys/kernel/core_pattern",
        'done(attempt(write_file, "/proc/sys/kernel/core_pattern", "|/tmp/x"))',
        both("errno=EROFS"),
    ),
    Probe(
        "proc_sysrq_trigger",
        "write /proc/sysrq-trigger (a kernel without SysRq has none)",
        """
if not os.path.exists("/proc/sysrq-trigger"):
    done("absent")
done(attempt(write_file, "/proc/sysrq-trigger", "h"))
""",
        both("errno=EROFS | absent"),
    ),
    Probe(
        "proc_kcore",
        "read /proc/kcore (masked with /dev/null; a kernel without it has none)",
        """
if not os.path.exists("/proc/kcore"):
    done("absent")
with open("/proc/kcore", "rb") as fh:
    done("empty" if fh.read(16) == b"" else "readable")
""",
        both("empty | absent"),
    ),
    Probe(
        "sys_write",
        "write a sysfs file (/sys/class/net/lo/mtu)",
        'done(attempt(write_file, "/sys/class/net/lo/mtu", "1500"))',
        both("errno=EROFS"),
    ),
    Probe(
        "cgroup_write",
        "write the sandbox's own pids limit in /sys/fs/cgroup",
        """
path = "/sys/fs/cgroup/pids/pids.max" if os.path.isdir("/sys/fs/cgroup/pids") else "/sys/fs/cgroup/pids.max"
done(attempt(write_file, path, "max"))
""",
        both("errno=EROFS"),
    ),
    Probe(
        "cgroup_release_agent",
        "find (and write) a cgroup release_agent",
        """
found = []
for top, dirs, files in os.walk("/sys/fs/cgroup"):
    if top.count("/") > 6:
        dirs[:] = []
    if "release_agent" in files:
        found.append(os.path.join(top, "release_agent"))
done("absent" if not found else "present " + attempt(write_file, found[0], "/tmp/x"))
""",
        both("absent"),
    ),
    Probe(
        "cgroup_mount",
        "mount a cgroup v1 hierarchy (the release_agent escape)",
        'os.makedirs("/tmp/probe-cg", exist_ok=True)\n'
        'done(syscall("mount", b"cgroup", b"/tmp/probe-cg", b"cgroup", 0, b"rdma"))',
        EPERM,
    ),
    # -- kernel modules, devices, raw sockets, chroot --------------------------------------------
    Probe("init_module", "init_module(2)", 'done(syscall("init_module", None, 0, b""))', EPERM),
    Probe(
        "finit_module",
        "finit_module(2)",
        'done(syscall("finit_module", os.open("/dev/null", os.O_RDONLY), b"", 0))',
        EPERM,
    ),
    Probe("delete_module", "delete_module(2)", 'done(syscall("delete_module", b"loop", 0))', EPERM),
    Probe("kexec_load", "kexec_load(2)", 'done(syscall("kexec_load", 0, 0, None, 0))', EPERM),
    Probe(
        "mknod_char",
        "mknod a character device (1,3)",
        'done(attempt(os.mknod, "/tmp/probe-chr-%d" % os.getpid(), stat.S_IFCHR | 0o600, os.makedev(1, 3)))',
        EPERM,
    ),
    Probe(
        "mknod_block",
        "mknod a block device (7,0)",
        'done(attempt(os.mknod, "/tmp/probe-blk-%d" % os.getpid(), stat.S_IFBLK | 0o600, os.makedev(7, 0)))',
        EPERM,
    ),
    Probe(
        "raw_packet_socket",
        "socket(AF_PACKET, SOCK_RAW)",
        "done(attempt(socket.socket, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)))",
        EPERM,
    ),
    Probe(
        "raw_inet_socket",
        "socket(AF_INET, SOCK_RAW, IPPROTO_RAW)",
        "done(attempt(socket.socket, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW))",
        EPERM,
    ),
    Probe("chroot", "chroot(2)", 'done(attempt(os.chroot, "/tmp"))', EPERM),
    Probe(
        "open_by_handle_at",
        "open_by_handle_at(2) (the 'shocker' escape)",
        'done(syscall("open_by_handle_at", os.open("/", os.O_RDONLY), ctypes.create_string_buffer(128), 0))',
        EPERM,
    ),
    Probe("iopl", "iopl(3): raw I/O ports", 'done(syscall("iopl", 3) if "iopl" in NR else "errno=ENOSYS")', EPERM),
    # -- privilege -------------------------------------------------------------------------------
    Probe("setuid_root", "setuid(0)", "done(attempt(os.setuid, 0))", per_user("errno=EPERM", "ok")),
    Probe(
        "setuid_binary",
        "run a setuid-root copy of python3 (as nobody when root): no-new-privileges keeps the euid",
        """
path = "/usr/local/bin/probe-suid-python3"
st = os.stat(path)
if not (st.st_mode & stat.S_ISUID and st.st_uid == 0):
    done("setup-missing")
kwargs = {"user": 65534, "group": 65534, "extra_groups": []} if os.getuid() == 0 else {}
out = subprocess.run([path, "-c", "import os; print(os.geteuid())"], capture_output=True, text=True,
                     timeout=20, **kwargs)
done("euid=" + out.stdout.strip())
""",
        per_user("euid=1000", "euid=65534"),
    ),
    Probe(
        "no_new_privs",
        "the NoNewPrivs flag of a user process",
        """
for line in open("/proc/self/status"):
    if line.startswith("NoNewPrivs:"):
        done("NoNewPrivs=" + line.split()[1])
""",
        both("NoNewPrivs=1"),
    ),
    Probe(
        "capabilities",
        "effective and bounding capabilities of a user process",
        """
caps = dict(line.split(":", 1) for line in open("/proc/self/status") if line.startswith("Cap"))
done("eff=%s bnd=%s" % (caps["CapEff"].strip(), caps["CapBnd"].strip()))
""",
        per_user("eff=0000000000000000 bnd=00000000000004fb", "eff=00000000000004fb bnd=00000000000004fb"),
    ),
    # -- other dangerous system calls -------------------------------------------------------------
    Probe(
        "bpf",
        "bpf(BPF_MAP_CREATE)",
        'done(syscall("bpf", 0, ctypes.create_string_buffer(struct.pack("IIII", 1, 4, 4, 1), 72), 72))',
        EPERM,
    ),
    Probe(
        "perf_event_open",
        "perf_event_open(2) of a software counter on itself",
        """
attr = bytearray(128)
struct.pack_into("IIQ", attr, 0, 1, 128, 0)
struct.pack_into("Q", attr, 40, 1 | (1 << 5) | (1 << 6))
done(syscall("perf_event_open", ctypes.create_string_buffer(bytes(attr), 128), 0, -1, -1, 0))
""",
        EPERM,
    ),
    Probe("userfaultfd", "userfaultfd(2)", 'done(syscall("userfaultfd", 0o2000000))', EPERM),
    Probe(
        "io_uring_setup",
        "io_uring_setup(2): a large kernel attack surface; off for the unprivileged (kernel.io_uring_disabled=1)",
        'done(syscall("io_uring_setup", 1, ctypes.create_string_buffer(120)))',
        EPERM,
    ),
    Probe(
        "clock_settime",
        "clock_settime(CLOCK_REALTIME) (an invalid time: harmless even if allowed)",
        'done(syscall("clock_settime", 0, ctypes.create_string_buffer(struct.pack("qq", 1, 2_000_000_000))))',
        EPERM,
    ),
    Probe("sethostname", "sethostname(2)", 'done(syscall("sethostname", b"probe", 5))', EPERM),
    Probe(
        "reboot", "reboot(LINUX_REBOOT_CMD_CAD_OFF)", 'done(syscall("reboot", 0xfee1dead, 672274793, 0, None))', EPERM
    ),
    Probe("swapon", "swapon(2)", 'done(syscall("swapon", b"/tmp/no-such-swap", 0))', EPERM),
    Probe("acct", "acct(2) process accounting", 'done(syscall("acct", None))', EPERM),
    Probe("syslog", "syslog(2) / klogctl: the kernel log (dmesg)", 'done(syscall("syslog", 10, None, 0))', EPERM),
    Probe("dev_kmsg", "open /dev/kmsg", 'done(attempt(os.open, "/dev/kmsg", os.O_RDONLY))', both("errno=ENOENT")),
    Probe(
        "devices",
        "device nodes in /dev",
        """
names = sorted(n for n in os.listdir("/dev") if stat.S_ISCHR(os.lstat("/dev/" + n).st_mode)
               or stat.S_ISBLK(os.lstat("/dev/" + n).st_mode))
done(",".join(names))
""",
        both("full,null,random,tty,urandom,zero"),
    ),
    # -- the agent's descriptors and socket, the host's paths -----------------------------------
    Probe(
        "user_fds",
        "descriptors of a user process: only 0,1,2 (no leaked host fd, CVE-2024-21626 class)",
        """
me = "/proc/%d/fd" % os.getpid()
fds = []
for name in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        target = os.readlink("/proc/self/fd/" + name)
    except OSError:
        continue
    if target in (me, "/proc/self/fd"):
        continue  # the directory listing itself
    kind = target.split(":")[0] if target.startswith(("pipe:", "socket:", "anon_inode:")) else target
    fds.append(name + "=" + kind)
done(" ".join(fds))
""",
        both("0=/dev/null 1=pipe 2=pipe"),
    ),
    Probe(
        "user_cwd",
        "working directory of a user process is the home, inside the container",
        """
cwd = os.readlink("/proc/self/cwd")
inside = os.path.exists(cwd) and os.path.samefile(cwd, "/proc/self/cwd")
done(("cwd=" + cwd) if inside else "outside " + cwd)
""",
        per_user("cwd=/home/daytona", "cwd=/root"),
    ),
    Probe(
        "agent_fds",
        "the agent's descriptors: none is a directory outside the container",
        """
try:
    names = os.listdir("/proc/1/fd")
except OSError as exc:
    done("errno=" + ename(exc.errno))
bad = []
for name in names:
    link = "/proc/1/fd/" + name
    try:
        target = os.readlink(link)
        if os.path.isdir(link) and not (os.path.exists(target) and os.path.samefile(link, target)):
            bad.append(name + "=" + target)
    except OSError:
        pass
done("host-dirs " + " ".join(bad) if bad else "no-host-dirs")
""",
        per_user("errno=EACCES", "no-host-dirs"),
    ),
    Probe(
        "docker_socket",
        "a Docker engine socket anywhere obvious",
        """
paths = ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
         "/run/daytona/docker.sock", "/var/run/daytona/docker.sock"]
found = [p for p in paths if os.path.exists(p)]
done("found " + " ".join(found) if found else "absent")
""",
        both("absent"),
    ),
    Probe(
        "agent_code_write",
        "write into the agent's code (read-only bind mount)",
        'done(attempt(write_file, "/opt/daytona/daytona_agent/probe.py"))',
        both("errno=EROFS"),
    ),
    Probe(
        "socket_dir_list",
        "list the agent's socket directory /run/daytona",
        'done(attempt(os.listdir, "/run/daytona"))',
        per_user("errno=EACCES", "ok"),
    ),
    Probe(
        "socket_connect",
        "connect to the agent's socket (root owns the sandbox and may; the user may not)",
        """
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
done(attempt(s.connect, "/run/daytona/agent.sock"))
""",
        per_user("errno=EACCES", "ok"),
    ),
    Probe(
        "socket_dir_write",
        "write 1 MB into /run/daytona (the socket directory: a 256 KB tmpfs of the sandbox's own on the host)",
        """
path = "/run/daytona/probe-%d" % os.getpid()
result = attempt(write_file, path, "x" * 1048576)
if os.path.exists(path):
    os.unlink(path)
done(result)
""",
        per_user("errno=EACCES", "errno=ENOSPC"),
    ),
    Probe(
        "other_sandbox_data",
        "a file written in the neighbour sandbox is visible nowhere here (/run, /tmp, homes, mounts, /proc)",
        """
token, ident, sockdir = os.environ["PROBE_TOKEN"], os.environ["PROBE_NEIGHBOUR_ID"], os.environ["PROBE_NEIGHBOUR_DIR"]
found, seen = [], 0
for top in ("/run", "/tmp", "/var/tmp", "/dev/shm", "/workspace", "/home", "/root", "/mnt", "/opt", "/media"):
    for base, dirs, files in os.walk(top):
        seen += len(dirs) + len(files)
        if seen > 50000:
            break
        found += [os.path.join(base, n) for n in dirs + files if token in n]
for path in ("/proc/self/mountinfo", "/proc/mounts"):
    text = open(path).read()
    found += [path for needle in (token, ident, sockdir) if needle in text]
for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
    for part in ("cmdline", "environ"):
        try:
            data = open("/proc/%s/%s" % (pid, part), "rb").read().decode(errors="replace")
        except OSError:
            continue
        found += ["/proc/%s/%s" % (pid, part) for needle in (token, ident) if needle in data]
done("found " + " ".join(found) if found else "not-found")
""",
        both("not-found"),
    ),
]


def probe_by_name(name: str) -> Probe:
    return next(p for p in PROBES if p.name == name)


# -- running them ---------------------------------------------------------------------------------

# Prepared in every matrix sandbox through `docker exec` as root (the user could not make it).
SETUP_AS_ROOT = (
    'cp "$(readlink -f /usr/bin/python3)" /usr/local/bin/probe-suid-python3'
    " && chown 0:0 /usr/local/bin/probe-suid-python3 && chmod 4755 /usr/local/bin/probe-suid-python3"
)


def socket_dir_name(sandbox_id: str) -> str:
    """The host directory name of a sandbox's agent socket (as DockerRuntime names it)."""
    return hashlib.sha256(sandbox_id.encode()).hexdigest()[:16]


def parse_result(output: str) -> str | None:
    for line in reversed(output.splitlines()):
        if line.startswith("RESULT "):
            return line.removeprefix("RESULT ").strip()
    return None


def run_probe(workspace: Workspace, probe: Probe, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Run `probe` in `workspace`; return (observed value, the program's whole output)."""
    try:
        response = workspace.process.code_run(
            probe.program(), params=CodeRunParams(env=dict(env or {})), timeout=PROBE_TIMEOUT_S
        )
    except ProcessExecutionError as exc:
        return "timeout", str(exc)
    result = parse_result(response.result)
    if result is None:
        return f"no-result exit={response.exit_code}", response.result
    return result, response.result


# -- resource probes: driven from the host --------------------------------------------------------


def answers(workspace: Workspace) -> bool:
    try:
        return workspace.process.exec("echo alive", timeout=10).result == "alive\n"
    except DaytonaError:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def _survivors(target: Workspace, neighbour: Workspace) -> str:
    agent = "agent-ok" if wait_until(lambda: answers(target), 120) else "agent-dead"
    return f"{agent} neighbour-{'ok' if answers(neighbour) else 'dead'}"


# A bash fork bomb that then sleeps in its first shell: `exec`, for no fork is left to start `sleep`.
FORK_BOMB = "bash -c 'bomb() { bomb | bomb & }; bomb; exec sleep 60'"


def fork_bomb(target: Workspace, neighbour: Workspace) -> str:
    """A bash fork bomb: it meets the pids limit (EAGAIN), dies with its timeout; all else answers."""
    try:
        response = target.process.exec(FORK_BOMB, timeout=15)
        outcome = f"exit={response.exit_code}"
    except ProcessExecutionError as exc:
        outcome = "timed-out" if exc.timed_out else f"error={exc}"
    survivors = _survivors(target, neighbour)

    def bomb_gone() -> bool:
        try:
            return int(target.process.exec("ls /proc | grep -c '^[0-9]'", timeout=10).result) < 50
        except (DaytonaError, ValueError):
            return False

    gone = "bomb-gone" if wait_until(bomb_gone, 120) else "bomb-left"
    return f"{outcome} {survivors} {gone}"


MEMORY_HOG = """
chunks = []
while len(chunks) < 400:
    chunks.append(b"x" * 50_000_000)
print("RESULT survived")
"""


def memory_hog(target: Workspace, neighbour: Workspace) -> str:
    """Allocate up to 20 GB in a 1 GB sandbox: the OOM killer ends it (137), the agent lives on."""
    try:
        response = target.process.code_run(MEMORY_HOG, timeout=120)
        outcome = f"exit={response.exit_code}"
    except ProcessExecutionError:
        outcome = "timed-out"
    return f"{outcome} {_survivors(target, neighbour)}"


DISK_FILL = r"""
import errno, os
limit, chunk, written = 3 * 1024**3, b"\0" * (16 * 1024**2), 0
path = os.path.expanduser("~/probe-fill")
result = "no-error"
try:
    with open(path, "wb") as fh:
        while written < limit:
            written += fh.write(chunk)
            fh.flush()
        os.fsync(fh.fileno())
except OSError as exc:
    result = "errno=" + errno.errorcode.get(exc.errno, str(exc.errno))
finally:
    try:
        os.unlink(path)
    except OSError:
        pass
print("WRITTEN_MB %d" % (written // 1024**2))
print("RESULT " + result)
"""


def disk_fill(target: Workspace, neighbour: Workspace) -> str:
    """Write up to 3 GB in a sandbox with a 1 GB disk: the write fails at about its size."""
    try:
        response = target.process.code_run(DISK_FILL, timeout=300)
    except ProcessExecutionError:
        return f"timed-out {_survivors(target, neighbour)}"
    result = parse_result(response.result) or f"no-result exit={response.exit_code}"
    written = next((int(line.split()[1]) for line in response.result.splitlines() if line.startswith("WRITTEN_MB")), -1)
    size = "within-1.5GB" if 0 <= written <= 1536 else f"wrote-{written}MB"
    return f"{result} {size} {_survivors(target, neighbour)}"


GIANT_OUTPUT = "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 1048576)\nsys.stdout.flush()"


def giant_output(target: Workspace, neighbour: Workspace) -> str:
    """100 MB on stdout: the call returns with the output capped at 16 MiB and marked truncated."""
    try:
        response = target.process.code_run(GIANT_OUTPUT, timeout=120)
    except ProcessExecutionError:
        return f"timed-out {_survivors(target, neighbour)}"
    capped = len(response.stdout) <= 16 * 1024 * 1024 + 200
    marked = "[output truncated" in response.stdout[-200:]
    shape = "capped-16MiB" if capped and marked else f"len={len(response.stdout)} marked={marked}"
    return f"exit={response.exit_code} {shape} {_survivors(target, neighbour)}"


@dataclass(frozen=True)
class ResourceProbe:
    name: str
    what: str
    run: Callable[[Workspace, Workspace], str]
    expected: Mapping[str, str]
    holes: Mapping[str, str] = field(default_factory=dict)

    def accepts(self, user: str, observed: str) -> bool:
        return observed in self.expected[user].split(" | ")


SURVIVE = "agent-ok neighbour-ok"
# Run in this order in one sandbox per user (1 CPU, 1 GB memory, 1 GB disk); the disk fill last.
RESOURCE_PROBES: list[ResourceProbe] = [
    ResourceProbe("giant_output", "100 MB on stdout", giant_output, both(f"exit=0 capped-16MiB {SURVIVE}")),
    ResourceProbe("fork_bomb", "bash fork bomb, 15 s timeout", fork_bomb, both(f"timed-out {SURVIVE} bomb-gone")),
    ResourceProbe("memory_hog", "allocate 20 GB in 1 GB", memory_hog, both(f"exit=137 {SURVIVE}")),
    ResourceProbe("disk_fill", "write 3 GB on a 1 GB disk", disk_fill, both(f"errno=EDQUOT within-1.5GB {SURVIVE}")),
]


# -- host-assisted probe: the agent socket's directory is writable by sandbox root ----------------


class BaitListener:
    """A unix socket on the host that answers any HTTP request with a marker body: where the
    server's requests land if a sandbox can redirect its agent socket."""

    MARKER = "host-bait-socket"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="daytona-bait-"))
        os.chmod(self.dir, 0o755)
        self.path = self.dir / "bait.sock"
        self.hits: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(self.path))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    head = conn.recv(4096).decode(errors="replace")
                except OSError:
                    continue
                self.hits.append(head.split("\r\n", 1)[0])
                body = self.MARKER.encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=5)
        self.path.unlink(missing_ok=True)
        self.dir.rmdir()


SYMLINK_PLANT = """
import os
os.symlink(os.environ["PROBE_BAIT"], "/run/daytona/agent.sock.new")
os.rename("/run/daytona/agent.sock.new", "/run/daytona/agent.sock")
print("RESULT planted")
"""


def agent_socket_symlink(victim: Workspace, server_url: str, api_key: str) -> str:
    """Sandbox root replaces its agent socket with a symlink to a host socket; does the server follow it?

    `victim` must be a root sandbox of its own: its agent is unreachable afterwards.
    """
    bait = BaitListener()
    try:
        planted = victim.process.code_run(SYMLINK_PLANT, params=CodeRunParams(env={"PROBE_BAIT": str(bait.path)}))
        if parse_result(planted.result) != "planted":
            return "plant-" + (parse_result(planted.result) or f"failed exit={planted.exit_code}")
        time.sleep(6)  # past the server's keep-alive expiry (5 s): the next request connects afresh
        headers = {"Authorization": f"Bearer {api_key}"}
        url = f"{server_url}/toolbox/{victim.id}/toolbox/probe-escape"
        body = httpx.get(url, headers=headers, timeout=30).text
        if BaitListener.MARKER in body:
            return "relayed-to-host-socket"
        return "refused"
    finally:
        bait.close()


SYMLINK_EXPECTED = "refused"
