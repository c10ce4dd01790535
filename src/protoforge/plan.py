"""plan + write: everything is rendered into memory first, compared with the disk, then written.

The plan is the single hand-off between generation and the file system. That gives `--check`,
`--diff` and `--dry-run` for free, and keeps a failed run from leaving half-written output.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from protoforge.config import display_path
from protoforge.errors import Diagnostic, ProtoforgeError
from protoforge.layout import is_generated_text, looks_machine_generated


class Owner(Enum):
    GENERATED = "generated"  # always rewritten; removed when its contract goes away
    USER = "user"  # written once if absent, then belongs to the user forever


class Status(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REMOVED = "removed"
    SKIPPED = "skipped"  # a user-owned file that exists already


@dataclass(frozen=True)
class GeneratedFile:
    content: bytes
    owner: Owner = Owner.GENERATED


@dataclass(frozen=True)
class Plan:
    """Files to produce, keyed by absolute path, and the directories protoforge manages (where
    stale generated files may be removed)."""

    files: Mapping[Path, GeneratedFile]
    managed_dirs: tuple[Path, ...]
    warnings: tuple[Diagnostic, ...] = ()
    # Files the generation cache verified as already on disk with the right content (by their
    # recorded size and mtime); their content is not loaded. See cache.py.
    kept: Mapping[Path, Owner] = field(default_factory=dict)
    # Where stale generated files can be: the files the previous run generated. None means
    # unknown (no cache): then every file below managed_dirs is inspected for the header.
    stale_candidates: tuple[str, ...] | None = None


@dataclass(frozen=True)
class FileChange:
    path: Path
    status: Status
    owner: Owner
    old: bytes | None = None
    new: bytes | None = None

    @property
    def is_change(self) -> bool:
        return self.status in (Status.CREATED, Status.UPDATED, Status.REMOVED)


@dataclass
class Outcome:
    changes: list[FileChange] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for change in self.changes if change.status is status)

    @property
    def stale(self) -> list[FileChange]:
        """Generated files that differ from the plan (what `--check` fails on)."""
        return [c for c in self.changes if c.is_change and c.owner is Owner.GENERATED]


_HEAD = 512  # bytes read to recognise a generated file


def compare(plan: Plan) -> Outcome:
    """What writing `plan` would do, file by file, without touching anything."""
    outcome = Outcome()
    foreign: list[Diagnostic] = []
    for path in sorted(plan.files):
        planned = plan.files[path]
        old = path.read_bytes() if path.is_file() else None
        if old is None:
            status = Status.CREATED
        elif planned.owner is Owner.USER:
            status = Status.SKIPPED
        elif old == planned.content:
            status = Status.UNCHANGED
        elif path.name == "__init__.py" and not is_generated_text(old[:_HEAD]):
            status = Status.SKIPPED  # the user's own package __init__: leave it be
        elif not looks_machine_generated(old[:_HEAD]):
            foreign.append(
                Diagnostic(display_path(path), 0, 0, "error", "exists and was not generated")
            )
            continue
        else:
            status = Status.UPDATED
        outcome.changes.append(FileChange(path, status, planned.owner, old, planned.content))
    for path, owner in plan.kept.items():
        status = Status.SKIPPED if owner is Owner.USER else Status.UNCHANGED
        outcome.changes.append(FileChange(path, status, owner))
    if foreign:
        raise ProtoforgeError(
            "refusing to overwrite files that protoforge did not generate",
            diagnostics=tuple(foreign),
            hint="move them out of the way, or point `out` at a directory protoforge owns",
        )
    for path in _stale_generated_files(plan):
        outcome.changes.append(
            FileChange(path, Status.REMOVED, Owner.GENERATED, path.read_bytes(), None)
        )
    outcome.changes.sort(key=lambda change: str(change.path))
    return outcome


def _stale_generated_files(plan: Plan) -> list[Path]:
    """Files under the managed dirs that carry protoforge's header but are not in the plan:
    left over from a deleted or renamed contract. Files without the header are never touched."""
    if plan.stale_candidates is not None:
        planned = {str(path) for path in plan.files} | {str(path) for path in plan.kept}
        return [
            Path(name)
            for name in sorted(set(plan.stale_candidates) - planned)
            if os.path.isfile(name) and _has_header(Path(name))
        ]
    stale: list[Path] = []
    for directory in plan.managed_dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            if path in plan.files or path in plan.kept or not _may_be_generated(path):
                continue
            if path.is_file() and _has_header(path):
                stale.append(path)
    return stale


def _has_header(path: Path) -> bool:
    with path.open("rb") as handle:
        return is_generated_text(handle.read(_HEAD))


def _may_be_generated(path: Path) -> bool:
    return path.suffix in (".py", ".pyi") or path.name == "py.typed"


def apply(outcome: Outcome, managed_dirs: tuple[Path, ...]) -> None:
    """Write the changes. Each file is replaced atomically (temp file + rename); if any write
    fails, the files already written are restored so the tree is exactly as it was."""
    done: list[FileChange] = []
    try:
        for change in outcome.changes:
            if change.status in (Status.CREATED, Status.UPDATED):
                assert change.new is not None
                _atomic_write(change.path, change.new)
                done.append(change)
            elif change.status is Status.REMOVED:
                change.path.unlink()
                done.append(change)
    except OSError as exc:
        _rollback(done)
        raise ProtoforgeError(
            f"could not write {display_path(Path(exc.filename or ''))}: {exc.strerror}",
            hint="nothing was changed; fix the problem and run again",
        ) from exc
    emptied = (c.path.parent for c in outcome.changes if c.status is Status.REMOVED)
    _remove_empty_dirs(emptied, managed_dirs)


def _atomic_write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _rollback(done: list[FileChange]) -> None:
    for change in reversed(done):
        if change.old is None:
            change.path.unlink(missing_ok=True)
        else:
            _atomic_write(change.path, change.old)


def _remove_empty_dirs(directories: Iterable[Path], managed_dirs: tuple[Path, ...]) -> None:
    """Directories emptied by removing stale files go too (deepest first), up to but never
    including a managed root."""
    for directory in sorted(set(directories), key=lambda p: len(p.parts), reverse=True):
        current = directory
        while (
            current not in managed_dirs
            and any(current.is_relative_to(root) for root in managed_dirs)
            and current.is_dir()
            and not any(current.iterdir())
        ):
            current.rmdir()
            current = current.parent


def unified_diff(change: FileChange, base: Path) -> str:
    old = (change.old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    new = (change.new or b"").decode("utf-8", "replace").splitlines(keepends=True)
    name = (
        change.path.relative_to(base).as_posix()
        if change.path.is_relative_to(base)
        else str(change.path)
    )
    return "".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}"))
