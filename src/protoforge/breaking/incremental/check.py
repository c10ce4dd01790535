"""The fast path's steps (see the package doc): changes, touched packages, targets, images, and
then the same tail as the full check (`report`). Returns None wherever only the full check can
answer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from protoforge.breaking.buf import empty_image, run_breaking
from protoforge.breaking.bufconfig import needs_baseline_locations
from protoforge.breaking.errors import BaselineError
from protoforge.breaking.findings import DIRECTIVE, Locator, Report
from protoforge.breaking.git import git_shown_roots, materialise, resolve_git
from protoforge.breaking.incremental.images import closure, complete, serialize, shape
from protoforge.breaking.incremental.scan import Scan, is_utf8, scan, scanner_agrees
from protoforge.breaking.incremental.trees import (
    Tree,
    blob_of,
    disk_tree,
    git_tree,
    same_layout_at,
    touched,
)
from protoforge.breaking.layout import baseline_layout
from protoforge.breaking.report import categories, finish, names_outside, run_groups
from protoforge.breaking.sides import (
    compile_baseline,
    compile_current_subset,
    discover_baseline,
    kind_of,
)
from protoforge.errors import CompileError, ProtoforgeError
from protoforge.source.discover import ContractFile, discover

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto

    from protoforge.breaking.bufconfig import BufSettings, RuleGroup
    from protoforge.config import Config


def check(config: Config, against: str, settings: BufSettings) -> Report | None:
    """The report of the fast path, or None when only the full check can answer."""
    kind, value = kind_of(against, config)
    if kind == "snapshot":
        return None
    current_contracts = discover(config)
    current = disk_tree(
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
        try:
            baseline_contracts = discover_baseline(config, roots, label)
        except ProtoforgeError:
            return None
        baseline: Tree | None = disk_tree(label, roots, baseline_contracts, bool(config.exclude))
    else:
        repo, sha, label = resolve_git(value, config)
        if not same_layout_at(repo, sha, config):
            return None  # the full check reads the baseline with its own layout
        baseline = git_tree(config, repo, sha, label)
    if baseline is None or not baseline.contracts or current.others != baseline.others:
        return None

    names = set(current.contracts) | set(baseline.contracts)
    changed = {n for n in names if blob_of(current, n) != blob_of(baseline, n)}
    if not all(is_utf8(t) for t in current.texts.values()) or not all(
        is_utf8(t) for t in baseline.read(n for n in changed if n in baseline.contracts).values()
    ):
        return None  # the full check says where
    directives = {n for n, text in current.texts.items() if DIRECTIVE.encode() in text}
    if not changed:
        return unchanged(config, settings, label, current_contracts, directives)

    scans_current = {n: scan(t) for n, t in current.texts.items()}
    scans_baseline = {n: scans_current[n] for n in baseline.contracts if n not in changed}
    scans_baseline.update(
        (n, scan(t))
        for n, t in baseline.read(n for n in changed if n in baseline.contracts).items()
    )
    packages = touched(changed, scans_current, scans_baseline)
    targets_current = {n for n, s in scans_current.items() if s.package in packages}
    targets_baseline = {n for n, s in scans_baseline.items() if s.package in packages}

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

    locator = Locator(config, current_contracts, b"")  # display paths only
    # findings can only be in targets; the other files with a comment are validated
    suppressions = suppress.collect(
        current_image, frozenset(compile_names), locator.place_import_path, categories
    )

    try:
        baseline_files = compile_baseline_targets(
            config, baseline, targets_baseline, repo, sha, value, needs_baseline_locations(settings)
        )
    except CompileError:
        return None
    if not scanner_agrees(current_files, scans_current) or not scanner_agrees(
        baseline_files, scans_baseline
    ):
        return None

    targets = targets_current | targets_baseline
    wkt = well_known_types_dir()
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

    current_full = complete(
        current_files,
        baseline_files,
        targets,
        set(current.contracts),
        set(baseline.contracts),
        lambda n: imports_of(n, scans_current),
    )
    baseline_full = complete(
        baseline_files,
        current_files,
        targets,
        set(baseline.contracts),
        set(current.contracts),
        lambda n: imports_of(n, scans_baseline),
    )
    kept, stubbed = shape(targets, current_full, baseline_full)
    current_bytes = serialize(current_full, targets, kept, stubbed)
    baseline_bytes = serialize(baseline_full, targets, kept, stubbed)

    def outside(group: RuleGroup) -> tuple[frozenset[str], frozenset[str]]:
        root_of = {name: entry[0] for name, entry in baseline.contracts.items()}
        return names_outside(
            group.roots, current_contracts, frozenset(baseline.contracts), root_of, config
        )

    locator = Locator(config, current_contracts, current_bytes)
    raw = run_groups(settings, current_bytes, baseline_bytes, outside)
    return finish(label, settings, locator, raw, suppressions)


def compile_baseline_targets(
    config: Config,
    baseline: Tree,
    targets: set[str],
    repo: Path | None,
    sha: str,
    ref: str,
    source_info: bool = False,
) -> dict[str, FileDescriptorProto]:
    from protoforge.breaking.descriptors import load_set

    def contracts(roots: tuple[Path, ...]) -> tuple[ContractFile, ...]:
        return tuple(
            ContractFile(name, roots[baseline.contracts[name][0]]) for name in sorted(targets)
        )

    if repo is None:  # a directory
        image = compile_baseline(
            contracts(baseline.roots),
            baseline.roots,
            baseline.label,
            config.jobs,
            source_info=source_info,
        )
        return {f.name: f for f in load_set(image).file} if image else {}

    import tempfile

    from protoforge.breaking import basecache

    cache_key = basecache.key(config, repo, sha, source_info)
    cached = basecache.load(config, cache_key)
    hit = closure(targets, cached)
    if hit is not None:
        return hit
    with tempfile.TemporaryDirectory(prefix="protoforge-baseline-") as tmp:
        tree = Path(tmp)
        roots = tuple(tree / root.relative_to(repo) for root in config.proto_roots)
        materialise(repo, sha, roots, tree)
        shown = git_shown_roots(ref, repo, roots, config)
        image = compile_baseline(
            contracts(roots), roots, baseline.label, config.jobs, shown, source_info=source_info
        )
    files = {f.name: f for f in load_set(image).file} if image else {}
    basecache.store(config, cache_key, cached, files.values())
    return files


def well_known_types_dir() -> Path:
    from protoforge.source.protoc import well_known_types_include

    return well_known_types_include()


def unchanged(
    config: Config,
    settings: BufSettings,
    label: str,
    contracts: tuple[ContractFile, ...],
    directives: set[str],
) -> Report:
    """No contract changed: nothing can break. What the full check would still reject is
    checked: suppression comments (compiling only the files that have one) and buf.yaml's rule
    IDs (one buf run over two empty images)."""
    if directives:
        from protoforge.breaking import suppress

        image = compile_current_subset(config, tuple(c for c in contracts if c.name in directives))
        locator = Locator(config, contracts, image)
        suppress.collect(
            image, frozenset(c.name for c in contracts), locator.place_import_path, categories
        )
    for group in settings.groups:
        run_breaking(empty_image(), empty_image(), group.config)
    return Report(
        baseline=label,
        findings=(),
        rule_groups=tuple(group.config.to_buf_json() for group in settings.groups),
    )
