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

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from protoforge.config import display_path


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


class Confinement:
    """Checks paths against the disk before gen writes or removes them. Directories found safe
    are remembered: a tree of 25,000 files has a few hundred directories."""

    def __init__(self, roots: Iterable[Path]) -> None:
        # Deepest first, so that a target's `out` inside `out` is that target's root.
        self.roots = tuple(sorted(set(roots), key=lambda root: len(root.parts), reverse=True))
        self._safe_dirs: set[str] = {str(root) for root in self.roots}

    def problem(self, path: Path, roots: Iterable[Path] | None = None) -> str | None:
        """Why gen must not write or remove `path` (None: it may). `roots` narrows the roots
        the path may be in."""
        allowed = self.roots if roots is None else tuple(roots)
        text = str(path)
        root = next((r for r in allowed if inside(text, (r,))), None)
        if root is None:
            return "is outside the directories protoforge writes to"
        missing = self._unsafe_directory(path.parent, root)
        if missing is not None:
            return missing
        try:
            info = os.lstat(text)
        except FileNotFoundError:
            return None
        except OSError as error:
            return f"cannot be inspected: {error.strerror}"
        if stat.S_ISLNK(info.st_mode):
            return "is a symbolic link; protoforge writes and removes only regular files"
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file"
        return None

    def _unsafe_directory(self, directory: Path, root: Path) -> str | None:
        """A symlink (or a non-directory) between `root` and `directory`, if any."""
        chain: list[str] = []
        current = directory
        while str(current) not in self._safe_dirs and current != root:
            chain.append(str(current))
            current = current.parent
        for name in reversed(chain):  # from the root down
            try:
                info = os.lstat(name)
            except FileNotFoundError:
                return None  # gen creates the rest as real directories
            if stat.S_ISLNK(info.st_mode):
                shown = display_path(Path(name))
                return f"is below {shown}, a symbolic link; protoforge does not write through links"
            if not stat.S_ISDIR(info.st_mode):
                return f"is below {display_path(Path(name))}, which is not a directory"
            self._safe_dirs.add(name)
        return None
