"""Both sides' `.proto` files by git blob id, what changed between them, and which packages the
change touches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from protoforge.breaking.git import git_layout, git_listing, read_blobs
from protoforge.breaking.incremental.scan import Scan, blob_id
from protoforge.config import Config
from protoforge.source.discover import ContractFile, is_excluded


@dataclass
class Tree:
    """The `.proto` files below one side's proto roots: contracts (after `exclude`) and the other
    `.proto` files, each by git blob id, with a way to read a contract's bytes."""

    label: str
    roots: tuple[Path, ...]
    contracts: dict[str, tuple[int, str]]  # import path -> (root index, blob id)
    others: dict[str, str]  # excluded .proto files: import path -> blob id
    reader: Callable[[list[str]], list[bytes]]
    texts: dict[str, bytes] = field(default_factory=dict)

    def read(self, names: Iterable[str]) -> dict[str, bytes]:
        names = list(names)
        missing = sorted(n for n in names if n not in self.texts)
        if missing:
            self.texts.update(zip(missing, self.reader(missing), strict=True))
        return {n: self.texts[n] for n in names}


def disk_tree(
    label: str, roots: tuple[Path, ...], contracts: tuple[ContractFile, ...], excluding: bool
) -> Tree:
    index = {root: i for i, root in enumerate(roots)}
    texts = {c.name: c.path.read_bytes() for c in contracts}
    entries = {c.name: (index[c.root], blob_id(texts[c.name])) for c in contracts}
    others: dict[str, str] = {}
    for root in roots if excluding else ():  # without `exclude`, every .proto is a contract
        for path in sorted(root.rglob("*.proto")):
            name = path.relative_to(root).as_posix()
            if name not in entries and name not in others and path.is_file():
                others[name] = blob_id(path.read_bytes())
    by_name = {c.name: c.path for c in contracts}
    return Tree(
        label, roots, entries, others, lambda names: [by_name[n].read_bytes() for n in names], texts
    )


def same_layout_at(repo: Path, sha: str, config: Config) -> bool:
    """Whether the project at `sha` has today's proto roots and excludes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="protoforge-layout-") as tmp:
        tree = Path(tmp)
        roots, exclude = git_layout(repo, sha, config, tree)
        then = [root.relative_to(tree) for root in roots]
    now = [
        root.relative_to(repo) if root.is_relative_to(repo) else root for root in config.proto_roots
    ]
    return then == now and exclude == config.exclude


def git_tree(config: Config, repo: Path, sha: str, label: str) -> Tree | None:
    listing = git_listing(repo, sha, config.proto_roots)
    contracts: dict[str, tuple[int, str]] = {}
    others: dict[str, str] = {}
    for index, path, blob in listing:
        rel = config.proto_roots[index].relative_to(repo).as_posix()
        name = path if rel == "." else path.removeprefix(rel + "/")
        if is_excluded(name, index, config.exclude):
            others.setdefault(name, blob)
            continue
        if name in contracts:
            return None  # discovery rejects the baseline: let the full check say so
        contracts[name] = (index, blob)

    def reader(names: list[str]) -> list[bytes]:
        return read_blobs(repo, [contracts[n][1] for n in names])

    return Tree(label, config.proto_roots, contracts, others, reader)


def blob_of(tree: Tree, name: str) -> str | None:
    entry = tree.contracts.get(name)
    return entry[1] if entry else None


def touched(
    changed: set[str], current: Mapping[str, Scan], baseline: Mapping[str, Scan]
) -> set[str]:
    """The packages of the changed files and of the unchanged files that see a changed file."""
    exposing = set(changed)
    grew = True
    while grew:  # an unchanged file that publicly imports an exposed file exposes it too
        grew = False
        for name, scanned in current.items():
            if name not in exposing and any(p in exposing for p in scanned.public):
                exposing.add(name)
                grew = True
    affected = {
        name
        for name, scanned in current.items()
        if name not in changed and any(i in exposing for i in scanned.imports)
    }
    touched: set[str] = set()
    for name in changed | affected:
        for scans in (current, baseline):
            if name in scans:
                touched.add(scans[name].package)
    return touched
