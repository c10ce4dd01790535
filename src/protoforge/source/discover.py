"""Discovery: every `*.proto` below a proto root is a contract, minus `exclude` globs."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from protoforge.config import Config
from protoforge.errors import ConfigError, Diagnostic
from protoforge.paths import display_path

# An exclude pattern that applies to the contracts of one proto root only: "\0<index>\0<glob>",
# the index into `Config.proto_roots`. buf.yaml's excluded directories become these
# (bufconfig.exclude_globs): a directory glob such as `legacy/*` would otherwise also leave out
# another root's `legacy/` files, which buf checks. A user's pattern never holds a NUL (no file
# name does).
_SCOPE = "\0"


def root_pattern(index: int, glob: str) -> str:
    """An exclude pattern for the contracts below `Config.proto_roots[index]` only."""
    return f"{_SCOPE}{index}{_SCOPE}{glob}"


def is_excluded(name: str, root_index: int, patterns: tuple[str, ...]) -> bool:
    """Whether the contract `name` (an import path) of proto root `root_index` is excluded."""
    for pattern in patterns:
        if pattern.startswith(_SCOPE):
            _, index, pattern = pattern.split(_SCOPE, 2)
            if int(index) != root_index:
                continue
        if fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def shown_pattern(pattern: str) -> str:
    """An exclude pattern as a message shows it."""
    if pattern.startswith(_SCOPE):
        _, index, glob = pattern.split(_SCOPE, 2)
        return f"{glob!r} (buf.yaml, proto root {int(index) + 1})"
    return repr(pattern)


@dataclass(frozen=True, order=True)
class ContractFile:
    """A contract as protoc sees it: `name` is its import path relative to `root` (posix)."""

    name: str
    root: Path
    path: Path = field(compare=False, default=Path())  # root / name (set by __post_init__)

    def __post_init__(self) -> None:
        if self.path == Path():
            object.__setattr__(self, "path", self.root / self.name)

    @property
    def display(self) -> str:
        return display_path(self.path)


def discover(config: Config) -> tuple[ContractFile, ...]:
    """All contracts, sorted by import path so that output order never depends on the file
    system's listing order. Every name protoc accepts is a contract here: whether it can become
    a Python module is a question for gen alone (naming.check_importable), never for the
    breaking checks, snapshots or diffs."""
    found: dict[str, ContractFile] = {}
    for index, root in enumerate(config.proto_roots):
        for name, path in _proto_files(root):
            if is_excluded(name, index, config.exclude):
                continue
            if name in found:
                other = found[name]
                raise ConfigError(
                    f"two contracts share the import path {name!r}",
                    diagnostics=(
                        Diagnostic(
                            display_path(path), 0, 0, "error", f"duplicate of {other.display}"
                        ),
                    ),
                    hint="an import path must be unique across proto_roots",
                )
            found[name] = ContractFile(name, root, path)
    return tuple(sorted(found.values()))


def excluded(config: Config) -> tuple[Path, ...]:
    """The `.proto` files below the proto roots that `exclude` removes: what lint and format
    pass on to buf as `--exclude-path`, so that a skipped contract is skipped by every command."""
    if not config.exclude:
        return ()
    return tuple(
        path
        for index, root in enumerate(config.proto_roots)
        for name, path in _proto_files(root)
        if is_excluded(name, index, config.exclude)
    )


def nothing_found(config: Config) -> ConfigError:
    """The error for a config under whose roots gen finds no contract: which roots were
    searched and, when `exclude` removed every contract found, that too. An empty tree is
    refused rather than generated: it is nearly always a mistyped root or exclude, and
    generating nothing would remove every file the last gen wrote."""
    roots = ", ".join(display_path(root) for root in config.proto_roots) or "(none)"
    total = sum(len(_proto_files(root)) for root in config.proto_roots)
    where = display_path(config.config_path) if config.config_path else "protoforge"
    if total:
        patterns = ", ".join(shown_pattern(pattern) for pattern in config.exclude)
        message = f"exclude ({patterns}) removes all {total} contract(s) found under {roots}"
        hint = "narrow the `exclude` patterns (they match import paths, e.g. 'internal/*')"
    else:
        message = f"no contracts (*.proto files) found under proto_roots: {roots}"
        hint = "point `proto_roots` at the directories that hold your .proto files"
    return ConfigError(
        "nothing to generate",
        diagnostics=(Diagnostic(where, 0, 0, "error", message),),
        hint=hint,
    )


def _proto_files(root: Path) -> list[tuple[str, Path]]:
    """(import path, file) of every *.proto below `root`. os.walk on strings: on trees of
    thousands of contracts pathlib's per-entry objects were most of a no-op gen's time."""
    base = str(root)
    found: list[tuple[str, Path]] = []
    for directory, subdirectories, filenames in os.walk(base, followlinks=True):
        subdirectories.sort()
        for filename in filenames:
            if filename.endswith(".proto"):
                full = os.path.join(directory, filename)
                if os.path.isfile(full):
                    name = full[len(base) + 1 :].replace(os.sep, "/")
                    found.append((name, Path(full)))
    return sorted(found)


def locate(contracts: tuple[ContractFile, ...], roots: tuple[Path, ...], name: str) -> str:
    """The display path of an import path (for diagnostics): a contract, a file under a root, or
    the import path itself (a well-known type, or a file that does not exist)."""
    for contract in contracts:
        if contract.name == name:
            return contract.display
    for root in roots:
        candidate = root / name
        if candidate.is_file():
            return display_path(candidate)
    return name
