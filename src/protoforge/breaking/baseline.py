"""Baseline resolution: turn `--against BASELINE` into a compiled FileDescriptorSet.

A baseline is one of
- a snapshot file written by `protoforge snapshot -o FILE` (a FileDescriptorSet, used as is);
- a directory: if it contains the project's proto_roots at the same relative paths (a checkout of
  the project), each root is taken from there; otherwise the directory itself is the one root;
- a git ref of the project's repository (branch, tag, commit, `HEAD~1`, `origin/main`): the proto
  roots are read at that commit with `git ls-tree` + `git cat-file` (not `git archive`, which
  honours `export-ignore`) into a temporary directory, at the same paths relative to the repo.

An explicit `git:`, `dir:` or `snapshot:` prefix forces the kind. Both sides are compiled with the
same protoc, roots layout and `exclude` globs as `gen`. A git baseline carries its commit id as
`cache_key`, so that a later cache can key the compiled baseline on it.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from protoforge.config import Config, display_path
from protoforge.contracts import ContractFile, discover
from protoforge.errors import CompileError, ConfigError, Diagnostic, ProtoforgeError

KINDS = ("git", "dir", "snapshot")


class BaselineError(ProtoforgeError):
    """The baseline cannot be resolved (missing ref, unreadable snapshot, not a repository)."""


@dataclass(frozen=True)
class Side:
    """One compiled side of the comparison."""

    label: str  # e.g. "git ref origin/main (1a2b3c4d5e6f)", "snapshot api.binpb"
    descriptor_set: bytes
    names: frozenset[str]  # import paths of this side's own contracts (imports excluded)
    cache_key: str | None = None  # the commit id for a git baseline


def compile_current(config: Config) -> tuple[Side, tuple[ContractFile, ...]]:
    contracts = discover(config)
    data = compile_current_subset(config, contracts)
    names = frozenset(c.name for c in contracts)
    return Side("current contracts", data, names), contracts


def compile_current_subset(config: Config, contracts: tuple[ContractFile, ...]) -> bytes:
    """Compile (some of) the current contracts; errors name the current side."""
    from protoforge.compile import compile_contracts

    try:
        result = compile_contracts(contracts, config.proto_roots, python=False, jobs=config.jobs)
    except CompileError as exc:
        raise CompileError(
            f"the current contracts do not compile: {exc.message}",
            diagnostics=exc.diagnostics,
            hint=exc.hint,
        ) from None
    return result.descriptor_set


def resolve_baseline(spec: str, config: Config) -> Side:
    kind, value = _kind(spec, config)
    if kind == "snapshot":
        return _snapshot(Path(value))
    if kind == "dir":
        directory = Path(value).resolve()
        if not directory.is_dir():
            raise BaselineError(f"baseline directory not found: {value}")
        return _compile_tree(config, _dir_roots(directory, config), f"directory {value}", None)
    return _git(value, config)


def _kind(spec: str, config: Config) -> tuple[str, str]:
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
    if files is None or (data and not files.file) or any(not f.name for f in files.file):
        raise BaselineError(
            f"{shown} is not a snapshot (a binary FileDescriptorSet)",
            hint="write one with `protoforge snapshot -o FILE`",
        )
    names = frozenset(f.name for f in files.file if not f.name.startswith("google/protobuf/"))
    return Side(f"snapshot {shown}", data, names)


def _dir_roots(directory: Path, config: Config) -> tuple[Path, ...]:
    relative = [_relative_root(root, config.project_dir) for root in config.proto_roots]
    if all(rel is not None for rel in relative) and any(
        rel != Path(".") and (directory / rel).is_dir() for rel in relative if rel is not None
    ):
        return tuple(directory / rel for rel in relative if rel is not None)
    return (directory,)


def _relative_root(root: Path, base: Path) -> Path | None:
    return root.relative_to(base) if root.is_relative_to(base) else None


def _compile_tree(
    config: Config,
    roots: tuple[Path, ...],
    label: str,
    cache_key: str | None,
    shown_roots: dict[Path, str] | None = None,
) -> Side:
    """Compile the contracts below `roots` with the current config's exclude globs. Diagnostics
    of a materialised git tree are shown as `REF:path:line:col` instead of a temporary path."""
    existing = tuple(root for root in roots if root.is_dir())
    if not existing:
        return Side(label, b"", frozenset(), cache_key)
    contracts = discover_baseline(config, existing, label)
    data = compile_baseline(contracts, existing, label, config.jobs, shown_roots)
    return Side(label, data, frozenset(c.name for c in contracts), cache_key)


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
) -> bytes:
    """Compile (some of) the baseline's contracts; errors name the baseline."""
    from protoforge.compile import compile_contracts

    try:
        return compile_contracts(contracts, roots, python=False, jobs=jobs).descriptor_set
    except CompileError as exc:
        shown = shown_roots or {}
        rename = {c.display: f"{shown[c.root]}{c.name}" for c in contracts if c.root in shown}
        diagnostics = tuple(
            Diagnostic(rename.get(d.path, d.path), d.line, d.column, d.severity, d.message)
            for d in exc.diagnostics
        )
        raise CompileError(
            f"the baseline ({label}) does not compile: {exc.message}",
            diagnostics=diagnostics,
            hint="fix the baseline or choose another one with --against",
        ) from None


# --- git --------------------------------------------------------------------------------------


def _git_run(
    args: list[str], cwd: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise BaselineError(
            "git is not installed, so a git ref cannot be used as baseline",
            hint="install git, or pass a directory or a snapshot file to --against",
        ) from None


def _git(ref: str, config: Config) -> Side:
    repo, sha, label = resolve_git(ref, config)
    with tempfile.TemporaryDirectory(prefix="protoforge-baseline-") as tmp:
        roots = _materialise(repo, sha, config.proto_roots, Path(tmp))
        return _compile_tree(config, roots, label, sha, git_shown_roots(ref, repo, roots, config))


def resolve_git(ref: str, config: Config) -> tuple[Path, str, str]:
    """(repository top level, commit id, label) of a git ref of the project's repository."""
    project = config.project_dir
    top = _git_run(["rev-parse", "--show-toplevel"], project)
    if top.returncode != 0:
        raise BaselineError(
            f"{ref!r} is not a file or directory, and {display_path(project)} is not in a git "
            "repository, so it cannot be a git ref",
            hint="pass a git ref inside a repository, a directory, or a snapshot file",
        )
    repo = Path(top.stdout.decode().strip()).resolve()
    commit = _git_run(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], repo
    )
    if commit.returncode != 0 or not commit.stdout.strip():
        raise _missing_ref(ref, repo)
    sha = commit.stdout.decode().strip()
    return repo, sha, f"git ref {ref} ({sha[:12]})"


def git_shown_roots(
    ref: str, repo: Path, roots: tuple[Path, ...], config: Config
) -> dict[Path, str]:
    """How diagnostics name a materialised root: `REF:path/below/repo/`."""
    return {
        root: f"{ref}:" + _prefix(original.relative_to(repo).as_posix())
        for root, original in zip(roots, config.proto_roots, strict=True)
    }


def _prefix(rel: str) -> str:
    return "" if rel == "." else f"{rel}/"


def _missing_ref(ref: str, repo: Path) -> BaselineError:
    shallow = _git_run(["rev-parse", "--is-shallow-repository"], repo).stdout.decode().strip()
    if ref.startswith("origin/"):
        branch = ref.removeprefix("origin/")
        fetch = f"git fetch --depth=1 origin {branch}:refs/remotes/origin/{branch}"
    elif "~" in ref or "^" in ref:
        fetch = "git fetch --deepen=50"
    else:
        fetch = f"git fetch --depth=1 origin {ref}"
    if shallow == "true":
        return BaselineError(
            f"git ref {ref!r} is not in this shallow clone, so there is no baseline to compare "
            "against (this is not the same as 'no changes')",
            hint=f"fetch it first (`{fetch}`), or check out with full history "
            "(GitHub Actions: `fetch-depth: 0` on actions/checkout)",
        )
    return BaselineError(
        f"git ref {ref!r} not found in this repository",
        hint=f"check the spelling, or fetch it (`{fetch}`); a path that does not exist is "
        "taken as a git ref",
    )


def git_listing(repo: Path, sha: str, roots: tuple[Path, ...]) -> list[tuple[int, str, str]]:
    """(root index, repo-relative path, blob id) of every .proto file below each root at `sha`
    (symlinks skipped)."""
    found: list[tuple[int, str, str]] = []
    for index, root in enumerate(roots):
        if not root.is_relative_to(repo):
            raise BaselineError(
                f"proto root {display_path(root)} is outside the git repository "
                f"{display_path(repo)}, so it cannot be read at a git ref"
            )
        rel = root.relative_to(repo).as_posix()
        listing = _git_run(["ls-tree", "-r", "-z", sha, "--", rel if rel != "." else "."], repo)
        if listing.returncode != 0:
            raise BaselineError(
                f"git ls-tree failed: {listing.stderr.decode(errors='replace').strip()}"
            )
        for entry in listing.stdout.decode("utf-8", "surrogateescape").split("\0"):
            if not entry:
                continue
            meta, path = entry.split("\t", 1)
            mode, kind, blob = meta.split()
            if kind == "blob" and mode != "120000" and path.endswith(".proto"):
                found.append((index, path, blob))
    return found


def read_blobs(repo: Path, blobs: list[str]) -> list[bytes]:
    """The contents of `blobs`, in order (one `git cat-file --batch`)."""
    if not blobs:
        return []
    batch = _git_run(["cat-file", "--batch"], repo, "\n".join(blobs).encode())
    data = batch.stdout
    contents: list[bytes] = []
    position = 0
    for _ in blobs:
        header_end = data.index(b"\n", position)
        size = int(data[position:header_end].split()[2])
        contents.append(data[header_end + 1 : header_end + 1 + size])
        position = header_end + 1 + size + 1
    return contents


def _materialise(repo: Path, sha: str, roots: tuple[Path, ...], into: Path) -> tuple[Path, ...]:
    """Write the .proto files below each root at `sha` to `into/<root relative to repo>`."""
    result: list[Path] = []
    for root in roots:
        rel = root.relative_to(repo).as_posix() if root.is_relative_to(repo) else "."
        target = into / "tree" / rel if rel != "." else into / "tree"
        target.mkdir(parents=True, exist_ok=True)
        result.append(target)
    wanted = git_listing(repo, sha, roots)
    contents = read_blobs(repo, [blob for _, _, blob in wanted])
    for (_, path, _), content in zip(wanted, contents, strict=True):
        destination = into / "tree" / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(content)
    return tuple(result)
