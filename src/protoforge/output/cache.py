"""The generation cache: what the last successful `gen` produced, and from what.

It lets a run with nothing changed finish without running protoc, and a run with one contract
edited regenerate only that contract and its direct importers. It can never make output wrong:

- a *global key* covers everything that affects every file: the protoforge, protoc (grpcio-tools),
  protobuf and mypy-protobuf versions, the resolved config, and the content of every template
  (built-in and the user's). Any difference invalidates the whole cache.
- each contract is keyed by the hash of its own bytes. A generated file depends on its contract
  and on the names of the types it imports, so a changed contract invalidates itself and the
  contracts that import it (through `import public` chains too).
- every generated file's recorded size, mtime and inode must still match the disk; a hand-edited
  or deleted output makes its contract regenerate.

The cache lives in `<project>/.protoforge-cache/` (add it to .gitignore); deleting it is always
safe. `gen --no-cache` ignores it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from protoforge import __version__
from protoforge.paths import atomic_write

CACHE_DIR = ".protoforge-cache"
STATE_FILE = "gen-state.json"
FORMAT = 4


class FileRecord(NamedTuple):
    """A file as gen left it. Size, mtime (ns) and inode change when anything rewrites the file
    (an editor saving in place or replacing it), which is all a no-op run needs to know.
    A NamedTuple: a big tree's state holds tens of thousands, loaded on every run."""

    size: int
    mtime_ns: int
    inode: int
    user_owned: bool = False

    @classmethod
    def of(cls, path: Path, *, user_owned: bool = False) -> FileRecord:
        stat = path.stat()
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino, user_owned)

    def matches_disk(self, path: str) -> bool:
        try:
            stat = os.stat(path)
        except OSError:
            return False
        if self.user_owned:
            return True  # the user's to edit: only its existence matters to gen
        return (stat.st_size, stat.st_mtime_ns, stat.st_ino) == (
            self.size,
            self.mtime_ns,
            self.inode,
        )


@dataclass(frozen=True)
class ContractRecord:
    digest: str  # hash of the contract's bytes
    imports: tuple[str, ...]  # direct imports (import paths)
    public_imports: tuple[str, ...]
    outputs: tuple[str, ...]  # absolute paths of the files generated from it
    services: bool = False  # declares a service (needs the shared runtime module)
    stamp: tuple[int, ...] = ()  # size, mtime, ctime (ns) and inode when `digest` was taken


@dataclass
class GenState:
    global_key: str
    contracts: dict[str, ContractRecord] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)  # every generated file
    target_outputs: tuple[str, ...] = ()  # the files of other-language targets
    saved_at_ns: int = 0  # wall clock when the state was written (see contract_digest)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "global_key": self.global_key,
                "contracts": {
                    name: {
                        "digest": r.digest,
                        "imports": list(r.imports),
                        "public_imports": list(r.public_imports),
                        "outputs": list(r.outputs),
                        "services": r.services,
                        "stamp": list(r.stamp),
                    }
                    for name, r in sorted(self.contracts.items())
                },
                "target_outputs": list(self.target_outputs),
                "saved_at_ns": self.saved_at_ns,
                # FileRecords are tuples, which json writes as lists: no copy of 25,000 of them
                "files": dict(sorted(self.files.items())),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> GenState | None:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                return None
            return cls(
                global_key=data["global_key"],
                contracts={
                    name: ContractRecord(
                        r["digest"],
                        tuple(r["imports"]),
                        tuple(r["public_imports"]),
                        tuple(r["outputs"]),
                        bool(r["services"]),
                        tuple(int(value) for value in r["stamp"]),
                    )
                    for name, r in data["contracts"].items()
                },
                files={name: FileRecord(*record) for name, record in data["files"].items()},
                target_outputs=tuple(data["target_outputs"]),
                saved_at_ns=int(data["saved_at_ns"]),
            )
        except (ValueError, KeyError, TypeError):
            return None  # a damaged cache is a cold cache, never an error


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# A file modified within this long before the state was saved may have been changed again in the
# same timestamp tick without its stamp changing ("racily clean", as git calls it): hash it.
RACY_NS = 2_000_000_000


def stamp(path: Path) -> tuple[int, ...]:
    """Size, mtime, ctime and inode: any write changes the ctime, which no tool can set back."""
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


def contract_digest(
    path: Path, current: tuple[int, ...], previous: GenState | None, name: str
) -> str:
    """The hash of a contract's bytes, taken from the previous state when the file's stamp is
    unchanged and it was not changed just before that state was saved (the way git trusts its
    index); read and hashed otherwise."""
    if previous is not None:
        record = previous.contracts.get(name)
        if (
            record is not None
            and record.stamp == current
            and current[2] < previous.saved_at_ns - RACY_NS
        ):
            return record.digest
    return digest(path.read_bytes())


def tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"protoforge": __version__}
    for distribution in ("grpcio-tools", "protobuf", "mypy-protobuf", "grpcio"):
        try:
            versions[distribution] = version(distribution)
        except PackageNotFoundError:
            versions[distribution] = "absent"
    return versions


def tree_digest(directories: Iterable[Path | None]) -> str:
    """One hash over every file's path and content below `directories` (templates)."""
    hasher = hashlib.sha256()
    for directory in directories:
        if directory is None or not directory.is_dir():
            hasher.update(b"-")
            continue
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                hasher.update(path.relative_to(directory).as_posix().encode() + b"\0")
                hasher.update(path.read_bytes() + b"\0")
    return hasher.hexdigest()


def global_key(config_fingerprint: str, template_dirs: Iterable[Path | None]) -> str:
    payload = json.dumps(
        {
            "versions": tool_versions(),
            "config": config_fingerprint,
            "templates": tree_digest(template_dirs),
        },
        sort_keys=True,
    )
    return digest(payload.encode())


def state_path(project_dir: Path) -> Path:
    return project_dir / CACHE_DIR / STATE_FILE


def load_state(project_dir: Path) -> GenState | None:
    path = state_path(project_dir)
    try:
        return GenState.from_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def save_state(project_dir: Path, state: GenState) -> None:
    """Written atomically, after the output tree: a crash in between leaves an older state, whose
    stat checks then fail and trigger regeneration, never a wrong no-op."""
    path = state_path(project_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ignore = path.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        atomic_write(path, state.to_json().encode("utf-8"))
    except OSError:
        pass  # a read-only checkout still generates; it just stays cold


def affected_contracts(
    changed: Iterable[str], records: Mapping[str, ContractRecord], current: Iterable[str]
) -> set[str]:
    """`changed` plus every contract whose output can depend on them: direct importers, and
    importers of files that re-export them with `import public`."""
    importers: dict[str, set[str]] = {}
    public_importers: dict[str, set[str]] = {}
    for name, record in records.items():
        for dependency in record.imports:
            importers.setdefault(dependency, set()).add(name)
        for dependency in record.public_imports:
            public_importers.setdefault(dependency, set()).add(name)
    affected = set(changed)
    # Files that (transitively) re-export a changed file publicly act as changed themselves.
    frontier = list(affected)
    exporters = set(affected)
    while frontier:
        name = frontier.pop()
        for exporter in public_importers.get(name, ()):
            if exporter not in exporters:
                exporters.add(exporter)
                frontier.append(exporter)
    for name in exporters:
        affected.add(name)
        affected.update(importers.get(name, ()))
    return affected & set(current)
