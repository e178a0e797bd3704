from pathlib import Path

import pytest

from modelyard.deploy.files import secret_ref, write_folder
from modelyard.errors import AlreadyExists, InvalidInput


def test_a_folder_appears_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = write_folder(out, {"a.txt": "one", "sub/b.bin": b"\x00two"})
    assert written == ["a.txt", "sub/b.bin"]
    assert (out / "a.txt").read_text() == "one"
    assert (out / "sub" / "b.bin").read_bytes() == b"\x00two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left


def test_an_existing_folder_is_kept_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_folder(out, {"old.txt": "old"})
    with pytest.raises(AlreadyExists, match="pass --force"):
        write_folder(out, {"new.txt": "new"})
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    write_folder(out, {"new.txt": "new"}, force=True)
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failure_half_way_leaves_nothing(tmp_path: Path) -> None:
    def fail(staging: Path) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_folder(tmp_path / "out", {"a.txt": "one"}, fill=fail)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_when_forced_keeps_the_old_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_folder(out, {"old.txt": "old"})

    def fail(staging: Path) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_folder(out, {"new.txt": "new"}, force=True, fill=fail)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_paths_stay_inside_the_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a relative path"):
        write_folder(tmp_path / "out", {"../escape.txt": "x"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "value",
    ["postgresql+psycopg://app:s3cret@db:5432/yard", "app:s3cret@db", "sqlite:///yard.db"],
)
def test_secrets_are_named_never_given(value: str) -> None:
    with pytest.raises(InvalidInput, match="reference to a Secret"):
        secret_ref(value, "--db-secret")


def test_a_reference_is_name_and_key() -> None:
    assert secret_ref("modelyard-db:url", "--db-secret") == ("modelyard-db", "url")
    with pytest.raises(InvalidInput, match="expected NAME:KEY"):
        secret_ref("modelyard-db", "--db-secret")
