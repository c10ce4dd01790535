"""Where check-breaking keeps its caches: the user's cache directory, never the project.

check-breaking runs in CI and in review checkouts, where an unasked-for directory in the tree
gets committed or breaks `git status`-clean checks. The directory is `$PROTOFORGE_CACHE_DIR` if
set, else `$XDG_CACHE_HOME/protoforge`, else the platform's usual place (`~/.cache/protoforge`,
`~/Library/Caches/protoforge`, `%LOCALAPPDATA%\\protoforge\\Cache`). A module of its own so that
the caches that every run consults (`dircache`) import nothing else for it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_root() -> Path:
    """Where protoforge keeps caches that are not part of a project (see the module doc)."""
    explicit = os.environ.get("PROTOFORGE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "protoforge"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "protoforge" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "protoforge"
    return Path.home() / ".cache" / "protoforge"
