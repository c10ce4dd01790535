"""The two sides of a comparison: `--against BASELINE` and today's contracts, compiled.

A baseline is one of
- a snapshot file written by `protoforge snapshot -o FILE` (a FileDescriptorSet, used as is);
- a directory, read with its own layout (see `layout`): a checkout of the project, a tree with
  its own protoforge config or buf.yaml, or a plain tree of contracts;
- a git ref of the project's repository (branch, tag, commit, `HEAD~1`, `origin/main`), read at
  that commit with the configuration as it was there (see `git`).

An explicit `git:`, `dir:` or `snapshot:` prefix forces the kind. Both sides are compiled with the
same protoc and `exclude` globs as `gen`. A git baseline carries its commit id as `cache_key`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from protoforge.breaking.errors import BaselineError
from protoforge.breaking.findings import DIRECTIVE
from protoforge.breaking.layout import baseline_layout
from protoforge.config import Config
from protoforge.errors import CompileError, ConfigError, Diagnostic
from protoforge.paths import display_path
from protoforge.records import Record
from protoforge.source.discover import ContractFile, discover

KINDS = ("git", "dir", "snapshot")


class Side(Record):  # not a dataclass: see RawFinding in buf.py
    """One compiled side of the comparison."""

    label: str  # e.g. "git ref origin/main (1a2b3c4d5e6f)", "snapshot api.binpb"
    descriptor_set: bytes
    names: frozenset[str]  # import paths of this side's own contracts (imports excluded)
    cache_key: str | None = None  # the commit id for a git baseline
    # import path -> index of its proto root (None for a snapshot, which has no roots): with
    # several v2 modules, a file belongs to the module of its root on its own side
    root_of: dict[str, int] | None = None
    # whether any contract's text has a suppression comment (only then are comments parsed)
    has_directives: bool = True


def check_utf8(shown: str, data: bytes, side: str) -> None:
    """buf reads contracts as UTF-8 and rejects other bytes (even in a comment): so does
    check-breaking, as an input error at the byte's line and column."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise CompileError(
            f"{side} do not compile: a contract is not valid UTF-8",
            diagnostics=(
                Diagnostic(
                    shown,
                    line,
                    column,
                    "error",
                    f"invalid UTF-8 byte 0x{data[exc.start]:02x} (buf reads contracts as UTF-8)",
                ),
            ),
            hint="save the file as UTF-8",
        ) from None


def compile_current(
    config: Config, contracts: tuple[ContractFile, ...] | None = None
) -> tuple[Side, tuple[ContractFile, ...]]:
    """Today's side; `contracts`: `discover(config)` if the caller has it already."""
    if contracts is None:
        contracts = discover(config)
    directives = False
    for contract in contracts:
        text = contract.path.read_bytes()
        check_utf8(contract.display, text, "the current contracts")
        directives = directives or DIRECTIVE.encode() in text
    data = compile_current_subset(config, contracts)
    names = frozenset(c.name for c in contracts)
    side = Side("current contracts", data, names, has_directives=directives)
    return side, contracts


def compile_current_subset(config: Config, contracts: tuple[ContractFile, ...]) -> bytes:
    """Compile (some of) the current contracts; errors name the current side."""
    from protoforge.breaking.inprocess import compile_descriptor_set

    try:
        roots = (*config.proto_roots, *config.dependency_roots)
        data = compile_descriptor_set(contracts, roots, config.jobs, project_dir=config.project_dir)
    except CompileError as exc:
        raise CompileError(
            f"the current contracts do not compile: {exc.message}",
            diagnostics=exc.diagnostics,
            hint=exc.hint,
        ) from None
    return data


def resolve_baseline(spec: str, config: Config, *, source_info: bool = False) -> Side:
    """The compiled baseline `spec` names; `source_info`: with locations (see
    bufconfig.needs_baseline_locations; a snapshot has them anyway)."""
    kind, value = kind_of(spec, config)
    if kind == "snapshot":
        return _snapshot(Path(value))
    if kind == "dir":
        directory = Path(value).resolve()
        if not directory.is_dir():
            raise BaselineError(f"baseline directory not found: {value}")
        roots, exclude = baseline_layout(directory, config)
        label = f"directory {value}"
        return _compile_tree(
            replace(config, exclude=exclude),
            roots,
            label,
            None,
            directory=directory,
            source_info=source_info,
        )
    return _git(value, config, source_info)


def kind_of(spec: str, config: Config) -> tuple[str, str]:
    for kind in KINDS:
        if spec.startswith(f"{kind}:"):
            return kind, spec[len(kind) + 1 :]
    path = Path(spec)
    if path.is_file():
        return "snapshot", spec
    if path.is_dir():
        return "dir", spec
    return "git", spec


def _snapshot(path: Path) -> Side:
    from google.protobuf import descriptor_pb2
    from google.protobuf.message import DecodeError

    shown = display_path(path.resolve())
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BaselineError(f"cannot read snapshot {shown}: {exc.strerror}") from None
    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(data)
    except DecodeError:
        files = None
    if files is None or not files.file or any(not f.name for f in files.file):
        raise BaselineError(
            f"{shown} is not a snapshot (a binary FileDescriptorSet)",
            hint="write one with `protoforge snapshot -o FILE`",
        )
    names = frozenset(f.name for f in files.file if not f.name.startswith("google/protobuf/"))
    return Side(f"snapshot {shown}", data, names)


def _git(ref: str, config: Config, source_info: bool) -> Side:
    """The baseline at a commit, read with the configuration as it was at that commit: a pull
    request that moves the proto root (and updates proto_roots) is compared against the old
    root, not against an empty tree."""
    import tempfile  # imported here: only a git baseline needs these

    from protoforge.breaking.git import git_layout, materialise, ref_prefix, resolve_git

    repo, sha, label = resolve_git(ref, config)
    with tempfile.TemporaryDirectory(prefix="protoforge-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        roots, exclude = git_layout(repo, sha, config, tree)
        materialise(repo, sha, roots, tree)
        shown = {root: f"{ref}:" + ref_prefix(root.relative_to(tree).as_posix()) for root in roots}
        return _compile_tree(
            replace(config, exclude=exclude), roots, label, sha, shown, source_info=source_info
        )


def _compile_tree(
    config: Config,
    roots: tuple[Path, ...],
    label: str,
    cache_key: str | None,
    shown_roots: dict[Path, str] | None = None,
    *,
    directory: Path | None = None,
    source_info: bool = False,
) -> Side:
    """Compile the contracts below `roots` with the current config's exclude globs. Diagnostics
    of a materialised git tree are shown as `REF:path:line:col` instead of a temporary path."""
    existing = tuple(root for root in roots if root.is_dir())
    contracts = discover_baseline(config, existing, label) if existing else ()
    if not contracts:
        raise no_contracts(label, roots, shown_roots)
    shown = shown_roots or {}
    for contract in contracts:
        where = f"{shown[contract.root]}{contract.name}" if contract.root in shown else None
        check_utf8(where or contract.display, contract.path.read_bytes(), f"the baseline ({label})")
    data = _compile_directory(contracts, existing, label, config.jobs, directory, source_info)
    if data is None:
        data = compile_baseline(
            contracts, existing, label, config.jobs, shown_roots, directory, source_info
        )
    root_of = {c.name: roots.index(c.root) for c in contracts}
    return Side(label, data, frozenset(c.name for c in contracts), cache_key, root_of)


def _compile_directory(
    contracts: tuple[ContractFile, ...],
    roots: tuple[Path, ...],
    label: str,
    jobs: int,
    directory: Path | None,
    source_info: bool,
) -> bytes | None:
    """A directory baseline's set, from the cache if it holds this very content (see dircache),
    else compiled and kept; None for the other kinds of baseline (compiled by the caller)."""
    if directory is None:
        return None
    from protoforge.breaking import dircache

    data = dircache.lookup(roots, contracts, source_info)
    if data is None:
        data = compile_baseline(contracts, roots, label, jobs, None, directory, source_info)
        dircache.store(roots, contracts, data, source_info)
    return data


def no_contracts(
    label: str, roots: tuple[Path, ...], shown_roots: dict[Path, str] | None = None
) -> BaselineError:
    """An empty baseline is an error, never "no breaking changes": the gate would pass by
    accident (a wrong path, a ref before the contracts existed, a moved proto root)."""
    shown = shown_roots or {}
    where = ", ".join(shown.get(root, display_path(root)) or "." for root in roots)
    return BaselineError(
        f"the baseline ({label}) has no contracts (no .proto files below {where}), so there "
        "is nothing to compare against (this is not the same as 'no changes')",
        hint="check the --against value; a baseline from before the contracts existed cannot "
        "be checked",
    )


def discover_baseline(
    config: Config, roots: tuple[Path, ...], label: str
) -> tuple[ContractFile, ...]:
    try:
        return discover(replace(config, proto_roots=roots))
    except ConfigError as exc:
        raise ConfigError(
            f"baseline ({label}): {exc.message}", diagnostics=exc.diagnostics
        ) from None


def compile_baseline(
    contracts: tuple[ContractFile, ...],
    roots: tuple[Path, ...],
    label: str,
    jobs: int,
    shown_roots: dict[Path, str] | None = None,
    directory: Path | None = None,
    source_info: bool = False,
) -> bytes:
    """Compile (some of) the baseline's contracts; errors name the baseline, and an import
    outside its roots gets gen's hint (`directory`, a baseline directory's project, is searched
    for the imported file)."""
    from protoforge.breaking.inprocess import compile_descriptor_set

    try:
        return compile_descriptor_set(contracts, roots, jobs, source_info=source_info)
    except CompileError as exc:
        shown = shown_roots or {}
        rename = {c.display: f"{shown[c.root]}{c.name}" for c in contracts if c.root in shown}
        diagnostics = tuple(
            Diagnostic(rename.get(d.path, d.path), d.line, d.column, d.severity, d.message)
            for d in exc.diagnostics
        )
        from protoforge.source.diagnostics import hint_for

        imports = hint_for(
            exc.diagnostics, roots, directory, lambda path: shown.get(path, display_path(path))
        )
        advice = "fix the baseline or choose another one with --against"
        raise CompileError(
            f"the baseline ({label}) does not compile: {exc.message}",
            diagnostics=diagnostics,
            hint=f"{imports}; else {advice}" if imports else advice,
        ) from None
