"""What gen may touch: regular files strictly inside `out`, a target's `out` or (for the
user-owned implementation scaffolds) the implementation directory - and nothing else.

Names reach the write step from places a user or an attacker can edit: a protoc plugin's
response, a committed `.protoforge-manifest`, the `.protoforge-cache` state. Each source checks
its names with `clean_relative` and says which entry is wrong; the plan then checks every path
it is about to write or remove with `Confinement`, after looking at the disk: no `..`, no
symlink between the root and the file (a symlinked directory inside `out` would let gen write
through it to anywhere), and the file itself, if present, a regular file.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from protoforge.paths import display_path


def clean_relative(name: str) -> bool:
    """`name` is a plain relative path: not absolute, no `.`, `..` or empty parts, no
    backslash (a separator on Windows) and no NUL."""
    if not name or name.startswith("/") or "\\" in name or "\0" in name:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def inside(path: str, roots: Iterable[Path]) -> bool:
    """`path` (absolute) is strictly inside one of `roots`, by its text alone."""
    for root in roots:
        prefix = str(root) + os.sep
        if path.startswith(prefix) and clean_relative(path[len(prefix) :].replace(os.sep, "/")):
            return True
    return False


class NotRegular(Exception):
    """A path gen would write or remove holds something other than a regular file."""


class Confinement:
    """Checks paths against the disk before gen writes or removes them. Directory verdicts are
    remembered: a tree of 25,000 files has a few hundred directories. Text, not Path objects:
    this runs once per planned file."""

    def __init__(self, roots: Iterable[Path]) -> None:
        # Deepest first, so that a target's `out` inside `out` is that target's root.
        self.roots = tuple(sorted(set(roots), key=lambda root: len(root.parts), reverse=True))
        self._directories: dict[str, str | None] = {str(root): None for root in self.roots}

    def problem(self, path: Path, roots: Iterable[Path] | None = None) -> str | None:
        """Why gen must not write or remove `path` (None: it may, as far as the directories
        go; the file itself is checked as it is read: `read_regular`). `roots` narrows the
        roots the path may be in."""
        text = str(path)
        allowed = self.roots if roots is None else tuple(roots)
        root = next((str(r) for r in allowed if inside(text, (r,))), None)
        if root is None:
            return "is outside the directories protoforge writes to"
        return self._directory_problem(os.path.dirname(text), root)

    def _directory_problem(self, directory: str, root: str) -> str | None:
        """A symlink (or a non-directory) at or above `directory`, below `root`."""
        if directory in self._directories:
            return self._directories[directory]
        if directory == root or len(directory) <= len(root):
            return None
        verdict = self._directory_problem(os.path.dirname(directory), root)
        if verdict is None:
            try:
                info = os.lstat(directory)
            except FileNotFoundError:
                info = None  # gen creates it as a real directory
            shown = display_path(Path(directory))
            if info is not None and stat.S_ISLNK(info.st_mode):
                verdict = f"is below {shown}, a symbolic link; protoforge does not follow links"
            elif info is not None and not stat.S_ISDIR(info.st_mode):
                verdict = f"is below {shown}, which is not a directory"
        self._directories[directory] = verdict
        return verdict


def read_regular(path: Path) -> bytes | None:
    """The content of `path`, None if absent; NotRegular if it is a symlink (never followed:
    O_NOFOLLOW), a directory or anything else but a regular file. One open per file: this
    is also how the plan reads the old content it compares with."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotRegular(
                "is a symbolic link; protoforge writes and removes only regular files"
            ) from None
        raise
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotRegular("is not a regular file")
        return handle.read()
