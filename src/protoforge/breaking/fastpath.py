"""The fast path of check-breaking: compile and compare only the packages a change touches.

On a tree of thousands of contracts, one edited file should not cost a compile of every file on
both sides. The fast path gives the same findings as the full check (`check-breaking --full`)
because of two facts:

1. A file's FileDescriptorProto depends only on its own text and on the files it can *see*: its
   imports and, transitively, their `import public`s. A file whose text is unchanged and that sees
   no changed file is byte-identical on both sides, so buf finds nothing in it.
2. buf's FILE rules compare files by name, its PACKAGE rules compare packages as a whole. So the
   findings of the full check all lie in the packages of the changed files and of the unchanged
   files that see a changed file ("affected": their resolved types and, for rules that look at a
   referenced enum or message, the referenced declaration may differ).

The steps:

- **changes**: every `.proto` below the proto roots on both sides, by git blob id (for a git
  baseline straight from `git ls-tree`; for the work tree and a directory baseline the same SHA-1
  over the bytes). Nothing changed: exit 0 without compiling (only buf.yaml and suppression
  comments are still validated, as the full check would).
- **touched packages**: the packages (on either side) of the changed files and of the affected
  files, read with a small scanner (comments stripped, `package` and `import` statements). The
  scanner is checked against the real descriptors of every file compiled; a disagreement falls
  back to the full check.
- **targets**: every file of a touched package, on each side. protoc compiles the targets (and the
  files that carry `protoforge:allow-breaking` comments, so that those are validated as in the
  full check) with their imports; a git baseline's compiled files come from the cache
  (`basecache`) when it holds them.
- **images**: a file compiled on one side only as an import (not a target, so unchanged) is copied
  to the other side when the full image of that side would contain it too, so that both images
  hold the same untouched files and buf reports nothing about them. buf then runs over the two
  small images with the project's rules, exactly as in the full check.

Falls back to the full check (returns None): snapshot baselines (they carry no source to compare
without compiling today's side in full), a changed, added or removed `.proto` file that `exclude`
hides, a baseline without contracts or that discovery would reject, a compile error on either side
(so that the full check lists every file the error reaches, as protoc does), and a scanner
disagreement.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from protoforge.breaking.baseline import (
    BaselineError,
    _kind,
    _materialise,
    baseline_layout,
    compile_baseline,
    compile_current_subset,
    git_listing,
    git_shown_roots,
    read_blobs,
    resolve_git,
)
from protoforge.breaking.bufconfig import BufSettings
from protoforge.breaking.findings import Report
from protoforge.breaking.suppress import DIRECTIVE
from protoforge.config import Config
from protoforge.errors import CompileError, ProtoforgeError
from protoforge.source.discover import ContractFile, discover

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto

# comments and string literals, in one pass, so that a `//` inside a string is not a comment
_TOKENS = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'", re.S)
_PACKAGE = re.compile(r"(?:^|[;}\s])package\s+([A-Za-z_][\w.]*)\s*;")
_IMPORT = re.compile(r"(?:^|[;}\s])import\s+(?:(public|weak)\s+)?(\"[^\"\n]*\"|'[^'\n]*')\s*;")
_STRING_MARK = "\0S"


@dataclass(frozen=True)
class Scan:
    """What the scanner reads from a contract's text."""

    package: str
    imports: tuple[str, ...]
    public: tuple[str, ...]


def scan(data: bytes) -> Scan:
    text = data.decode("utf-8", "replace")
    strings: list[str] = []

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token[0] in "\"'":
            strings.append(token[1:-1])
            return f'"{_STRING_MARK}{len(strings) - 1}"'
        return " "

    code = _TOKENS.sub(replace, text)
    package = _PACKAGE.search(code)
    imports: list[str] = []
    public: list[str] = []
    for match in _IMPORT.finditer(code):
        literal = match.group(2)[1:-1]
        name = strings[int(literal[2:])] if literal.startswith(_STRING_MARK) else literal
        imports.append(name)
        if match.group(1) == "public":
            public.append(name)
    return Scan(package.group(1) if package else "", tuple(imports), tuple(public))


def blob_id(data: bytes) -> str:
    """git's object id of a blob with these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


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


def _disk_tree(
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


def _same_layout_at(repo: Path, sha: str, config: Config) -> bool:
    """Whether the project at `sha` has today's proto roots and excludes."""
    import tempfile

    from protoforge.breaking.baseline import git_layout

    with tempfile.TemporaryDirectory(prefix="protoforge-layout-") as tmp:
        tree = Path(tmp)
        roots, exclude = git_layout(repo, sha, config, tree)
        then = [root.relative_to(tree) for root in roots]
    now = [
        root.relative_to(repo) if root.is_relative_to(repo) else root for root in config.proto_roots
    ]
    return then == now and exclude == config.exclude


def _git_tree(config: Config, repo: Path, sha: str, label: str) -> Tree | None:
    import fnmatch

    listing = git_listing(repo, sha, config.proto_roots)
    contracts: dict[str, tuple[int, str]] = {}
    others: dict[str, str] = {}
    for index, path, blob in listing:
        rel = config.proto_roots[index].relative_to(repo).as_posix()
        name = path if rel == "." else path.removeprefix(rel + "/")
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in config.exclude):
            others.setdefault(name, blob)
            continue
        if name in contracts:
            return None  # discovery rejects the baseline: let the full check say so
        contracts[name] = (index, blob)

    def reader(names: list[str]) -> list[bytes]:
        return read_blobs(repo, [contracts[n][1] for n in names])

    return Tree(label, config.proto_roots, contracts, others, reader)


def check(config: Config, against: str, settings: BufSettings) -> Report | None:
    """The report of the fast path, or None when only the full check can answer."""
    kind, value = _kind(against, config)
    if kind == "snapshot":
        return None
    current_contracts = discover(config)
    current = _disk_tree(
        "current contracts", config.proto_roots, current_contracts, bool(config.exclude)
    )
    repo: Path | None = None
    sha = ""
    if kind == "dir":
        directory = Path(value).resolve()
        if not directory.is_dir():
            raise BaselineError(f"baseline directory not found: {value}")
        declared_roots, exclude = baseline_layout(directory, config)
        roots = tuple(root for root in declared_roots if root.is_dir())
        if not roots or exclude != config.exclude:
            return None
        label = f"directory {value}"
        from protoforge.breaking.baseline import discover_baseline

        try:
            baseline_contracts = discover_baseline(config, roots, label)
        except ProtoforgeError:
            return None
        baseline: Tree | None = _disk_tree(label, roots, baseline_contracts, bool(config.exclude))
    else:
        repo, sha, label = resolve_git(value, config)
        if not _same_layout_at(repo, sha, config):
            return None  # the full check reads the baseline with its own layout
        baseline = _git_tree(config, repo, sha, label)
    if baseline is None or not baseline.contracts or current.others != baseline.others:
        return None

    names = set(current.contracts) | set(baseline.contracts)
    changed = {n for n in names if _blob(current, n) != _blob(baseline, n)}
    if not all(_is_utf8(t) for t in current.texts.values()) or not all(
        _is_utf8(t) for t in baseline.read(n for n in changed if n in baseline.contracts).values()
    ):
        return None  # the full check says where
    directives = {n for n, text in current.texts.items() if DIRECTIVE.encode() in text}
    if not changed:
        return _unchanged(config, settings, label, current_contracts, directives)

    scans_current = {n: scan(t) for n, t in current.texts.items()}
    scans_baseline = {n: scans_current[n] for n in baseline.contracts if n not in changed}
    scans_baseline.update(
        (n, scan(t))
        for n, t in baseline.read(n for n in changed if n in baseline.contracts).items()
    )
    touched = _touched(changed, scans_current, scans_baseline)
    targets_current = {n for n, s in scans_current.items() if s.package in touched}
    targets_baseline = {n for n, s in scans_baseline.items() if s.package in touched}

    # the current side: targets, and every file with a suppression comment (validated as in full)
    from protoforge.breaking.descriptors import load_set

    compile_names = targets_current | directives
    try:
        current_image = compile_current_subset(
            config, tuple(c for c in current_contracts if c.name in compile_names)
        )
    except CompileError:
        return None  # the full check reports every file the errors reach, as protoc does
    current_files = {f.name: f for f in load_set(current_image).file} if current_image else {}

    from protoforge.breaking import suppress
    from protoforge.breaking.findings import Locator
    from protoforge.breaking.runner import rule_catalog

    locator = Locator(config, current_contracts, b"")  # display paths only

    def categories() -> dict[str, tuple[str, ...]]:
        return {rule.id: rule.categories for rule in rule_catalog().values()}

    # findings can only be in targets; the other files with a comment are validated
    suppressions = suppress.collect(
        current_image, frozenset(compile_names), locator.place_import_path, categories
    )

    try:
        baseline_files = _compile_baseline(config, baseline, targets_baseline, repo, sha, value)
    except CompileError:
        return None
    if not _scanner_agrees(current_files, scans_current) or not _scanner_agrees(
        baseline_files, scans_baseline
    ):
        return None

    targets = targets_current | targets_baseline
    wkt = _wkt_dir()
    others_dir = config.proto_roots

    def imports_of(name: str, scans: Mapping[str, Scan]) -> tuple[str, ...]:
        if name in scans:
            return scans[name].imports
        for files in (current_files, baseline_files):
            if name in files:
                return tuple(files[name].dependency)
        for directory in (*others_dir, wkt):
            candidate = directory / name
            if candidate.is_file():
                return scan(candidate.read_bytes()).imports
        return ()

    current_full = _complete(
        current_files,
        baseline_files,
        targets,
        set(current.contracts),
        set(baseline.contracts),
        lambda n: imports_of(n, scans_current),
    )
    baseline_full = _complete(
        baseline_files,
        current_files,
        targets,
        set(baseline.contracts),
        set(current.contracts),
        lambda n: imports_of(n, scans_baseline),
    )
    kept, stubbed = _shape(targets, current_full, baseline_full)
    current_bytes = _serialize(current_full, targets, kept, stubbed)
    baseline_bytes = _serialize(baseline_full, targets, kept, stubbed)

    from protoforge.breaking import finish, names_outside
    from protoforge.breaking.runner import run_breaking, without_files

    locator = Locator(config, current_contracts, current_bytes)
    raw = []
    for group in settings.groups:
        current_image, baseline_image = current_bytes, baseline_bytes
        if len(settings.groups) > 1:  # each group: its own files and their imports, as buf
            root_of = {name: entry[0] for name, entry in baseline.contracts.items()}
            others = frozenset(
                names_outside(
                    group.roots,
                    current_contracts,
                    frozenset(baseline.contracts),
                    root_of,
                    config,
                    lambda name: (
                        *imports_of(name, scans_current),
                        *imports_of(name, scans_baseline),
                    ),
                )
            )
            current_image = without_files(current_image, others)
            baseline_image = without_files(baseline_image, others)
        raw += run_breaking(current_image, baseline_image, group.config)
    return finish(label, settings, locator, raw, suppressions, categories)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _blob(tree: Tree, name: str) -> str | None:
    entry = tree.contracts.get(name)
    return entry[1] if entry else None


def _touched(
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


def _compile_baseline(
    config: Config,
    baseline: Tree,
    targets: set[str],
    repo: Path | None,
    sha: str,
    ref: str,
) -> dict[str, FileDescriptorProto]:
    from protoforge.breaking.descriptors import load_set

    def contracts(roots: tuple[Path, ...]) -> tuple[ContractFile, ...]:
        return tuple(
            ContractFile(name, roots[baseline.contracts[name][0]]) for name in sorted(targets)
        )

    if repo is None:  # a directory
        image = compile_baseline(
            contracts(baseline.roots), baseline.roots, baseline.label, config.jobs
        )
        return {f.name: f for f in load_set(image).file} if image else {}

    import tempfile

    from protoforge.breaking import basecache

    cache_key = basecache.key(config, repo, sha)
    cached = basecache.load(config, cache_key)
    hit = _closure(targets, cached)
    if hit is not None:
        return hit
    with tempfile.TemporaryDirectory(prefix="protoforge-baseline-") as tmp:
        tree = Path(tmp)
        roots = tuple(tree / root.relative_to(repo) for root in config.proto_roots)
        _materialise(repo, sha, roots, tree)
        shown = git_shown_roots(ref, repo, roots, config)
        image = compile_baseline(contracts(roots), roots, baseline.label, config.jobs, shown)
    files = {f.name: f for f in load_set(image).file} if image else {}
    basecache.store(config, cache_key, cached, files.values())
    return files


def _closure(
    names: Iterable[str], files: Mapping[str, FileDescriptorProto]
) -> dict[str, FileDescriptorProto] | None:
    """`names` and everything they import, from `files`; None when any of them is missing."""
    found: dict[str, FileDescriptorProto] = {}
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in found:
            continue
        proto_file = files.get(name)
        if proto_file is None:
            return None
        found[name] = proto_file
        stack.extend(proto_file.dependency)
    return found


def _scanner_agrees(files: Mapping[str, FileDescriptorProto], scans: Mapping[str, Scan]) -> bool:
    for name, proto_file in files.items():
        scanned = scans.get(name)
        if scanned is None:
            continue  # not a contract of this side
        if proto_file.package != scanned.package:
            return False
        if list(proto_file.dependency) != list(scanned.imports):
            return False
    return True


def _complete(
    side: Mapping[str, FileDescriptorProto],
    other: Mapping[str, FileDescriptorProto],
    targets: set[str],
    side_contracts: set[str],
    other_contracts: set[str],
    imports_of: Callable[[str], tuple[str, ...]],
) -> dict[str, FileDescriptorProto]:
    """`side`'s compiled files plus the untouched files that only the other side compiled (as
    imports) and that the full image of this side holds as well: an unchanged contract always,
    another file (a well-known type, an excluded file) when some contract of this side reaches it
    through imports."""
    result = dict(side)
    reachable: set[str] | None = None
    for name, proto_file in other.items():
        if name in result or name in targets:
            continue
        if name in side_contracts:
            result[name] = proto_file
            continue
        if name in other_contracts:
            continue  # only the other side has it: a change, and so a target
        if reachable is None:
            reachable = _reachable(side_contracts, imports_of)
        if name in reachable:
            result[name] = proto_file
    return result


def _reachable(roots: set[str], imports_of: Callable[[str], tuple[str, ...]]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(imports_of(name))
    return seen


def _shape(
    targets: set[str], *sides: Mapping[str, FileDescriptorProto]
) -> tuple[set[str], set[str]]:
    """Which files buf gets whole and which as stubs, the same on both sides.

    Whole: the targets and the files they can see (direct imports and `import public` chains),
    because buf's rules look at what a target's field refers to (an enum's values for a default,
    whether a message is a map entry). Stubs: the imports of those, which only have to make the
    image link: buf needs every import in the image, but nothing looks two references away from
    a target. A stub keeps a file's name, package, options, messages (names, nesting, extension
    ranges) and enums; it drops fields, services, extensions and its own imports, so the chain of
    imports (on a large tree most of it) ends there."""
    kept = set(targets)
    frontier = [name for name in targets]
    for name in frontier:  # direct imports of the targets
        for files in sides:
            if name in files:
                kept.update(files[name].dependency)
    grew = True
    while grew:  # and what those re-export
        grew = False
        for files in sides:
            for name in list(kept):
                proto_file = files.get(name)
                if proto_file is None:
                    continue
                for index in proto_file.public_dependency:
                    public = proto_file.dependency[index]
                    if public not in kept:
                        kept.add(public)
                        grew = True
    stubbed: set[str] = set()
    for files in sides:
        for name in kept:
            if name in files:
                stubbed.update(d for d in files[name].dependency if d not in kept)
    return kept, stubbed


def _stub(proto_file: FileDescriptorProto) -> FileDescriptorProto:
    from google.protobuf import descriptor_pb2

    stub = descriptor_pb2.FileDescriptorProto()
    stub.CopyFrom(proto_file)
    for name in (
        "dependency",
        "public_dependency",
        "weak_dependency",
        "service",
        "extension",
        "source_code_info",
    ):
        stub.ClearField(name)

    def strip(message: descriptor_pb2.DescriptorProto) -> None:
        for name in ("field", "extension", "oneof_decl", "options"):
            message.ClearField(name)
        nested = [n for n in message.nested_type if not n.options.map_entry]
        del message.nested_type[:]
        message.nested_type.extend(nested)
        for child in message.nested_type:
            strip(child)

    for message in stub.message_type:
        strip(message)
    return stub


def _serialize(
    files: Mapping[str, FileDescriptorProto],
    targets: set[str],
    kept: set[str],
    stubbed: set[str],
) -> bytes:
    """A FileDescriptorSet of the kept files and the stubs, dependencies first. Files other than
    the targets are the same on both sides, so buf finds nothing in them and their source info is
    dropped."""
    if not files:
        return b""
    from google.protobuf import descriptor_pb2

    ordered: list[FileDescriptorProto] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        stack: list[tuple[str, bool]] = [(name, False)]
        while stack:
            current, expanded = stack.pop()
            if current in done or current not in files:
                continue
            if expanded:
                done.add(current)
                if current in kept:
                    ordered.append(files[current])
                elif current in stubbed:
                    ordered.append(_stub(files[current]))
                continue
            stack.append((current, True))
            if current in kept:
                stack.extend((dep, False) for dep in reversed(files[current].dependency))

    for name in sorted(files):
        if name in kept or name in stubbed:
            visit(name)
    result = descriptor_pb2.FileDescriptorSet()
    result.file.extend(ordered)
    for proto_file in result.file:
        if proto_file.name not in targets:
            proto_file.ClearField("source_code_info")
    return result.SerializeToString()


def _wkt_dir() -> Path:
    from protoforge.source.protoc import well_known_types_include

    return well_known_types_include()


def _unchanged(
    config: Config,
    settings: BufSettings,
    label: str,
    contracts: tuple[ContractFile, ...],
    directives: set[str],
) -> Report:
    """No contract changed: nothing can break. What the full check would still reject is
    checked: suppression comments (compiling only the files that have one) and buf.yaml's rule
    IDs (one buf run over two empty images)."""
    from protoforge.breaking import suppress
    from protoforge.breaking.findings import Locator
    from protoforge.breaking.runner import _empty_image, rule_catalog, run_breaking

    if directives:
        image = compile_current_subset(config, tuple(c for c in contracts if c.name in directives))
        locator = Locator(config, contracts, image)

        def categories() -> dict[str, tuple[str, ...]]:
            return {rule.id: rule.categories for rule in rule_catalog().values()}

        suppress.collect(
            image, frozenset(c.name for c in contracts), locator.place_import_path, categories
        )
    for group in settings.groups:
        run_breaking(_empty_image(), _empty_image(), group.config)
    return Report(
        baseline=label,
        findings=(),
        rule_groups=tuple(group.config.to_buf_json() for group in settings.groups),
    )
