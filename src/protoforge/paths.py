"""How protoforge shows paths and writes files: one home for both, used by every stage.

Every file protoforge replaces is written the same way: the new content goes to a hidden
temporary file next to the path (`temporary_path`), created exclusively, then renamed over the
path in one step. A reader, or a run killed at any moment, sees the old content or the new one,
never a mix, and never a 0-byte file. The temporary name is fixed per path, so a leftover of a
killed run is found and replaced by the next write of that path; writers of one path must be
serialised (gen holds its project lock; the breaking cache checks each entry's digest).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

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
