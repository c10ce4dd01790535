"""Discovery: every `*.proto` below a proto root is a contract, minus `exclude` globs."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from protoforge.config import Config
from protoforge.errors import ConfigError, Diagnostic
from protoforge.paths import display_path


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
    for root in config.proto_roots:
        for name, path in _proto_files(root):
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in config.exclude):
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
        for root in config.proto_roots
        for name, path in _proto_files(root)
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in config.exclude)
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
        patterns = ", ".join(repr(pattern) for pattern in config.exclude)
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
