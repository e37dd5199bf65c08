"""The OS user that toolbox processes run as (and whose home is the sandbox's root directory)."""

from __future__ import annotations

import collections
import os
import pwd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, NamedTuple

    class OsUser(NamedTuple):
        name: str
        uid: int
        gid: int
        home: str
        shell: str
        groups: List[int]

else:  # the same, without importing typing at run time
    OsUser = collections.namedtuple("OsUser", "name uid gid home shell groups")


def _supplementary_groups(name: str, gid: int) -> List[int]:
    try:
        return [g for g in os.getgrouplist(name, gid) if g != gid]
    except OSError:
        return []


def ensure_user(name: str) -> OsUser:
    """Look up `name`, creating it (with a home directory) when the image does not have it yet."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        import subprocess

        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", name],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        entry = pwd.getpwnam(name)
    home = entry.pw_dir or "/"
    if not os.path.isdir(home):
        os.makedirs(home, mode=0o755, exist_ok=True)
        os.chown(home, entry.pw_uid, entry.pw_gid)
    # The documented examples write under /workspace: make sure the user owns it.
    if entry.pw_uid != 0:
        try:
            os.makedirs("/workspace", mode=0o755, exist_ok=True)
            st = os.stat("/workspace")
            if st.st_uid != entry.pw_uid:
                os.chown("/workspace", entry.pw_uid, entry.pw_gid)
        except OSError:
            pass
    return OsUser(
        name=name,
        uid=entry.pw_uid,
        gid=entry.pw_gid,
        home=home,
        shell=entry.pw_shell or "/bin/sh",
        groups=_supplementary_groups(name, entry.pw_gid),
    )
