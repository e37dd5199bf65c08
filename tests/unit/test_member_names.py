"""The runner's map of claimed pool members to their sandboxes (runner.member_names)."""

from __future__ import annotations

from pathlib import Path

from daytona_server.runner.member_names import MemberNames


def test_an_unmapped_id_is_its_own_in_both_directions(tmp_path: Path) -> None:
    names = MemberNames(tmp_path / "names")
    assert names.member_of("sandbox-1") == "sandbox-1"
    assert names.sandbox_of("sandbox-1") == "sandbox-1"


def test_a_binding_maps_both_ways_and_outlives_the_process(tmp_path: Path) -> None:
    names = MemberNames(tmp_path / "names")
    names.bind("my/odd id", "sandbox-member")  # any characters: the file name is a hash
    assert (names.member_of("my/odd id"), names.sandbox_of("sandbox-member")) == ("sandbox-member", "my/odd id")
    again = MemberNames(tmp_path / "names")
    assert (again.member_of("my/odd id"), again.sandbox_of("sandbox-member")) == ("sandbox-member", "my/odd id")
    assert not list((tmp_path / "names").glob("*.tmp"))


def test_unbind_forgets_it_on_disk_too_and_twice_is_harmless(tmp_path: Path) -> None:
    names = MemberNames(tmp_path / "names")
    names.bind("mine", "sandbox-member")
    names.bind("other", "sandbox-second")
    names.unbind("mine")
    names.unbind("mine")
    names.unbind("never-bound")
    assert (names.member_of("mine"), names.sandbox_of("sandbox-member")) == ("mine", "sandbox-member")
    again = MemberNames(tmp_path / "names")
    assert (again.member_of("mine"), again.member_of("other")) == ("mine", "sandbox-second")


def test_a_torn_or_foreign_file_is_ignored(tmp_path: Path) -> None:
    directory = tmp_path / "names"
    directory.mkdir()
    (directory / "broken.name").write_text("only-one-line")
    (directory / "leftover.tmp").write_text("mine\nsandbox-member\n")  # a bind cut short before its rename
    names = MemberNames(directory)
    assert names.member_of("mine") == "mine"
    assert names.sandbox_of("only-one-line") == "only-one-line"
