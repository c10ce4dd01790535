"""Discovery: every `*.proto` below a proto root is a contract, minus `exclude` globs."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from protoforge.config import Config, display_path
from protoforge.errors import ConfigError, Diagnostic
from protoforge.naming import check_importable


@dataclass(frozen=True, order=True)
class ContractFile:
    """A contract as protoc sees it: `name` is its import path relative to `root` (posix)."""

    name: str
    root: Path

    @property
    def path(self) -> Path:
        return self.root / self.name

    @property
    def display(self) -> str:
        return display_path(self.path)


def discover(config: Config) -> tuple[ContractFile, ...]:
    """All contracts, sorted by import path so that output order never depends on the file
    system's listing order."""
    found: dict[str, ContractFile] = {}
    for root in config.proto_roots:
        for path in sorted(root.rglob("*.proto")):
            if not path.is_file():
                continue
            name = path.relative_to(root).as_posix()
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
            contract = ContractFile(name, root)
            check_importable(name, partial(display_path, contract.path))
            found[name] = contract
    return tuple(sorted(found.values()))


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
