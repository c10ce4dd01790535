"""Where protoforge keeps the caches that belong to no project: the user's cache directory.

check-breaking's compiled baselines (breaking/basecache.py, breaking/dircache.py) and gen's
compiled templates and installed-module stubs (codegen/template_cache.py) live here, never in
the project: check-breaking runs in CI and in review checkouts, where an unasked-for directory
in the tree gets committed or breaks `git status`-clean checks, and the other entries are the
same for every project (gen's own incremental state is per project: `.protoforge-cache/`).

The directory is `$PROTOFORGE_CACHE_DIR` if set, else `$XDG_CACHE_HOME/protoforge`, else the
platform's usual place (`~/.cache/protoforge`, `~/Library/Caches/protoforge`,
`%LOCALAPPDATA%\\protoforge\\Cache`). Anything in it may be deleted at any time. A module of its
own so that the caches that every run consults (`dircache`) import nothing else for it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


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


# Cache writes held back by `hold_writes`, in order (None: written at once).
_held: list[Callable[[], None]] | None = None


def hold_writes() -> None:
    """Hold back this process's cache writes until `write_held`. check-breaking's console route
    does them while buf compares (early.EarlyBuf.meanwhile) instead of before buf has its
    inputs: nothing in a run reads back what it wrote."""
    global _held
    if _held is None:
        _held = []


def write_held() -> None:
    """Do the writes held back so far (and write at once from now on)."""
    global _held
    held, _held = _held or [], None
    for write in held:
        write()


def later(write: Callable[[], None]) -> None:
    """Run the cache write `write` now, or when held writes are written (see hold_writes)."""
    if _held is None:
        write()
    else:
        _held.append(write)


def read_entry(kind: str, name: str) -> bytes | None:
    """The bytes of the cache entry `name` in `kind`'s directory, None if there is none (or it
    cannot be read: a cache only ever saves work)."""
    try:
        return (cache_root() / kind / name).read_bytes()
    except OSError:
        return None


def write_entry(kind: str, name: str, data: bytes) -> None:
    """Store the cache entry `name` in `kind`'s directory: written under a name of this process
    and renamed, so that a reader (another gen at the same moment) sees all of it or nothing.
    A cache that cannot be written (read-only, full) is skipped: the next run redoes the work.
    Held back while writes are held (see hold_writes)."""
    later(lambda: _write_entry(kind, name, data))


def _write_entry(kind: str, name: str, data: bytes) -> None:
    directory = cache_root() / kind
    staging = directory / f".{name}.{os.getpid()}.part"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging.write_bytes(data)
        os.replace(staging, directory / name)
    except OSError:
        with contextlib.suppress(OSError):
            staging.unlink()


def load_value(kind: str, name: str) -> Any:
    """The value stored by `store_value` under `name`, None if there is none or it cannot be
    decoded (cut short, not ours)."""
    import marshal

    data = read_entry(kind, name)
    if data is None:
        return None
    try:
        return marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None


def store_value(kind: str, name: str, value: Any) -> None:
    """Store `value` (built of what marshal can write: str, bytes, numbers, lists, dicts,
    tuples) under `name`; a value marshal cannot write (a datetime) is not stored."""
    import marshal

    try:
        data = marshal.dumps(value)
    except ValueError:
        return
    write_entry(kind, name, data)
