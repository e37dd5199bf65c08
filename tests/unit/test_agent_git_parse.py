"""Pure logic of the agent's git routes: status and log parsing, error classes, credential scrubbing."""

from __future__ import annotations

import pytest

from daytona_agent.git import classify, parse_log, parse_status, scrub

H = "0" * 40


def test_status_of_a_published_branch_with_every_kind_of_change() -> None:
    records = [
        f"# branch.oid {H}",
        "# branch.head main",
        "# branch.upstream origin/main",
        "# branch.ab +2 -1",
        f"1 M. N... 100644 100644 100644 {H} {H} staged.txt",
        f"1 .M N... 100644 100644 100644 {H} {H} dir/with space.txt",
        f"1 A. N... 000000 100644 100644 {H} {H} added.py",
        f"1 .D N... 100644 100644 000000 {H} {H} gone.md",
        f"2 R. N... 100644 100644 100644 {H} {H} R100 new name.txt",
        "old name.txt",
        f"u UU N... 100644 100644 100644 100644 {H} {H} {H} conflict.txt",
        "? untracked.log",
    ]
    status = parse_status("\0".join(records) + "\0")
    assert (status["currentBranch"], status["ahead"], status["behind"], status["branchPublished"]) == (
        "main",
        2,
        1,
        True,
    )
    files = {f["name"]: (f["staging"], f["worktree"], f["extra"]) for f in status["fileStatus"]}
    assert files == {
        "staged.txt": ("Modified", "Unmodified", ""),
        "dir/with space.txt": ("Unmodified", "Modified", ""),
        "added.py": ("Added", "Unmodified", ""),
        "gone.md": ("Unmodified", "Deleted", ""),
        "new name.txt": ("Renamed", "Unmodified", "old name.txt"),
        "conflict.txt": ("Updated but unmerged", "Updated but unmerged", ""),
        "untracked.log": ("Untracked", "Untracked", ""),
    }
    # daytona_api_client 0.14.0 reads the list under this name.
    assert status["FileStatus[]"] == status["fileStatus"]


def test_status_of_an_unpublished_branch_and_a_detached_head() -> None:
    fresh = parse_status("# branch.oid (initial)\0# branch.head master\0")
    assert (fresh["currentBranch"], fresh["branchPublished"], fresh["ahead"], fresh["fileStatus"]) == (
        "master",
        False,
        0,
        [],
    )
    assert parse_status(f"# branch.oid {H}\0# branch.head (detached)\0")["currentBranch"] == "HEAD"


def test_log_parsing_keeps_multiline_messages() -> None:
    out = f"{H}\x1fJohn Doe\x1fjohn@example.com\x1f2024-05-01T10:00:00+02:00\x1fSubject\n\nBody line\n\0"
    out += f"{'1' * 40}\x1fA\x1fa@b\x1f2024-04-30T09:00:00+00:00\x1finit\n\0"
    assert parse_log(out) == [
        {
            "hash": H,
            "author": "John Doe",
            "email": "john@example.com",
            "timestamp": "2024-05-01T10:00:00+02:00",
            "message": "Subject\n\nBody line",
        },
        {"hash": "1" * 40, "author": "A", "email": "a@b", "timestamp": "2024-04-30T09:00:00+00:00", "message": "init"},
    ]
    assert parse_log("") == []


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ("fatal: Authentication failed for 'http://h/r.git/'", 403),
        ("fatal: could not read Username for 'http://h': terminal prompts disabled", 403),
        ("fatal: could not create leading directories of '/root/x': Permission denied", 403),
        ("fatal: Remote branch nope not found in upstream origin", 404),
        ("fatal: invalid reference: nope", 404),
        ("error: branch 'nope' not found.", 404),
        ("error: src refspec nope does not match any", 404),
        ("fatal: pathspec 'zzz' did not match any files", 404),
        ("fatal: repository 'http://h/x.git/' not found", 404),
        ("fatal: destination path '/w' already exists and is not an empty directory.", 409),
        ("CONFLICT (content): Merge conflict in b.txt\nAutomatic merge failed", 409),
        ("error: The branch 'f' is not fully merged.", 409),
        ("nothing to commit, working tree clean", 409),
        (" ! [rejected]        main -> main (fetch first)\nerror: failed to push some refs", 409),
        ("fatal: not a git repository (or any of the parent directories): .git", 400),
        ("fatal: unable to access 'http://h/': Failed to connect", 400),
    ],
)
def test_git_messages_map_to_4xx(message: str, status: int) -> None:
    assert classify(message) == status


def test_scrub_removes_secrets_and_url_credentials() -> None:
    text = "fatal: unable to access 'https://bob:p%40ss@host/r.git/': p@ss rejected; see http://tok@h/x"
    cleaned = scrub(text, ["p@ss"])
    assert "p@ss" not in cleaned and "p%40ss" not in cleaned and "tok@" not in cleaned and "bob" not in cleaned
    assert cleaned == "fatal: unable to access 'https://***@host/r.git/': *** rejected; see http://***@h/x"
