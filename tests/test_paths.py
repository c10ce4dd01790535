"""The one writer every stage uses: a path holds its old content or its new one, never a mix,
and no temporary file is left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from protoforge import paths
from protoforge.paths import (
    TEMPORARY_SUFFIX,
    Rollback,
    atomic_write,
    display_path,
    make_dirs,
    temporary_path,
)


def _debris(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(TEMPORARY_SUFFIX))


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    atomic_write(target, b"one")
    assert target.read_bytes() == b"one"
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert _debris(tmp_path) == []


def test_failed_write_keeps_the_old_content_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")

    def disk_full(descriptor: int, content: bytes) -> None:
        os.write(descriptor, content[:2])  # part of the data lands, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(paths, "_write_fully", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"new content")
    assert target.read_bytes() == b"old"
    assert _debris(tmp_path) == []


def test_failed_rename_leaves_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")

    def refuse(source: object, destination: object) -> None:
        raise PermissionError(errno.EACCES, "refused")

    monkeypatch.setattr(paths.os, "replace", refuse)
    with pytest.raises(PermissionError):
        atomic_write(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert _debris(tmp_path) == []


def test_a_killed_runs_leftover_is_replaced_not_followed(tmp_path: Path) -> None:
    """A temporary file (or a symlink planted at its name) from a killed run does not stop the
    next write, and the write never goes through the link."""
    target = tmp_path / "out.py"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"untouched")
    os.symlink(elsewhere, temporary_path(target))
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert elsewhere.read_bytes() == b"untouched"
    assert _debris(tmp_path) == []


def test_temporary_path_is_hidden_next_to_the_file(tmp_path: Path) -> None:
    assert temporary_path(tmp_path / "a" / "m.py") == str(
        tmp_path / "a" / f".m.py{TEMPORARY_SUFFIX}"
    )


def test_display_path_is_relative_below_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "proto" / "a.proto") == os.path.join("proto", "a.proto")
    outside = tmp_path.parent / "other.proto"
    assert display_path(outside) == str(outside)


def test_rollback_undoes_creates_appends_and_replacements_newest_first(tmp_path: Path) -> None:
    appended = tmp_path / "pyproject.toml"
    appended.write_bytes(b"[project]\n")
    replaced = tmp_path / "old.py"
    replaced.write_bytes(b"old")
    rollback = Rollback()
    new_dirs = make_dirs(tmp_path / "a" / "b")
    assert new_dirs == [tmp_path / "a", tmp_path / "a" / "b"]
    rollback.made_dirs(new_dirs)
    created = tmp_path / "a" / "b" / "new.py"
    rollback.created(created)
    created.write_bytes(b"new")
    rollback.appended(appended, len(appended.read_bytes()))
    with appended.open("ab") as handle:
        handle.write(b"\n[tool.protoforge]\n")
    rollback.replaced(replaced, b"old")
    replaced.write_bytes(b"rewritten")
    rollback.undo()
    assert not (tmp_path / "a").exists()
    assert appended.read_bytes() == b"[project]\n"
    assert replaced.read_bytes() == b"old"
    assert _debris(tmp_path) == []


def test_rollback_keeps_directories_that_are_not_empty(tmp_path: Path) -> None:
    rollback = Rollback()
    rollback.made_dirs(make_dirs(tmp_path / "gen"))
    (tmp_path / "gen" / "someone_elses.txt").write_text("x")
    rollback.undo()
    assert (tmp_path / "gen" / "someone_elses.txt").is_file()
