"""How protoforge shows paths and writes files: one home for both, used by every stage.

Every file protoforge replaces is written the same way: the new content goes to a hidden
temporary file next to the path (`temporary_path`), created exclusively, then renamed over the
path in one step. A reader, or a run killed at any moment, sees the old content or the new one,
never a mix, and never a 0-byte file. The temporary name is fixed per path, so a leftover of a
killed run is found and replaced by the next write of that path; writers of one path must be
serialised (gen holds its project lock; the breaking cache checks each entry's digest).

A write of several files (gen's plan, init's new project) that fails part-way is taken back
with a `Rollback`: each step records how to undo it, and `undo()` undoes them newest first.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from protoforge.errors import ProtoforgeError

TEMPORARY_SUFFIX = ".protoforge-tmp"


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it is below it, else as it is."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def temporary_path(path: Path | str) -> str:
    """The hidden file a new content is staged in, next to `path` (text: the write step calls
    this twice per written file, and Path objects cost more than the system calls)."""
    directory, name = os.path.split(str(path))
    return f"{directory}{os.sep}.{name}{TEMPORARY_SUFFIX}"


def write_new_file(path: str, content: bytes) -> None:
    """Create `path` afresh and write `content`; nothing is left behind on failure. O_EXCL:
    the write can never follow a symlink planted there; a leftover of a killed run (or such
    a link) is unlinked, and the create tried once more."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags, 0o666)
    except FileExistsError:
        os.unlink(path)
        descriptor = os.open(path, flags, 0o666)
    try:
        try:
            _write_fully(descriptor, content)
        finally:
            os.close(descriptor)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise


def atomic_write(path: Path, content: bytes) -> None:
    """Replace (or create) `path` with `content` in one rename. On failure `path` holds what
    it held before and no temporary file is left."""
    temporary = temporary_path(path)
    write_new_file(temporary, content)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _write_fully(descriptor: int, content: bytes) -> None:
    """os.write until all is written (a write may be short; a full disk fails part-way)."""
    view = memoryview(content)
    while view:
        view = view[os.write(descriptor, view) :]


def make_dirs(directory: Path) -> list[Path]:
    """Create `directory` and its missing parents; returns the ones created, outermost first."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def remove_if_empty(directories: Iterable[Path]) -> None:
    """Undo the directories a failed write created (deepest first), if they are empty."""
    for directory in sorted(set(directories), key=lambda p: len(p.parts), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


class Rollback:
    """The undo log of a write of several files. Record each step just before taking it (an
    undo of a step that did not happen is harmless); `undo()` takes them back newest first,
    then removes the directories the write created, if they are empty."""

    def __init__(self) -> None:
        # path -> None: it was created; int: appended to, from that size; bytes: its old content
        self._steps: list[tuple[Path, int | bytes | None]] = []
        self._directories: list[Path] = []

    def made_dirs(self, directories: Iterable[Path]) -> None:
        self._directories.extend(directories)

    def created(self, path: Path) -> None:
        self._steps.append((path, None))

    def appended(self, path: Path, original_size: int) -> None:
        self._steps.append((path, original_size))

    def replaced(self, path: Path, old: bytes) -> None:
        """`path` held `old` (and is overwritten or removed)."""
        self._steps.append((path, old))

    def undo(self) -> None:
        for path, before in reversed(self._steps):
            if before is None:
                path.unlink(missing_ok=True)
            elif isinstance(before, int):
                with path.open("r+b") as handle:
                    handle.truncate(before)
            else:
                atomic_write(path, before)
        self._steps.clear()
        remove_if_empty(self._directories)


def write_failed(exc: OSError) -> ProtoforgeError:
    """The user-facing error for a write that failed and was taken back."""
    return ProtoforgeError(
        f"could not write {display_path(Path(exc.filename or ''))}: {exc.strerror}",
        hint="nothing was changed; fix the problem and run again",
    )
