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

from protoforge.config import Config
from protoforge.errors import CompileError, ConfigError, Diagnostic, ProtoforgeError
from protoforge.paths import display_path
from protoforge.source.discover import ContractFile, discover

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


def compile_current(config: Config) -> tuple[Side, tuple[ContractFile, ...]]:
    from protoforge.breaking.suppress import DIRECTIVE

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
        data = compile_descriptor_set(contracts, roots, config.jobs)
    except CompileError as exc:
        raise CompileError(
            f"the current contracts do not compile: {exc.message}",
            diagnostics=exc.diagnostics,
            hint=exc.hint,
        ) from None
    return data


def resolve_baseline(spec: str, config: Config) -> Side:
    kind, value = _kind(spec, config)
    if kind == "snapshot":
        return _snapshot(Path(value))
    if kind == "dir":
        directory = Path(value).resolve()
        if not directory.is_dir():
            raise BaselineError(f"baseline directory not found: {value}")
        roots, exclude = baseline_layout(directory, config)
        return _compile_tree(replace(config, exclude=exclude), roots, f"directory {value}", None)
    return _git(value, config)


# --- the baseline's own layout ----------------------------------------------------------------


def baseline_layout(directory: Path, config: Config) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """(proto roots, exclude globs) of a baseline tree whose project directory is `directory`.

    A baseline is read the way it lays itself out, as buf reads an `--against` directory with
    its own buf.yaml: its protoforge config's `proto_roots` and `exclude`, else its buf.yaml's
    roots or modules; buf.yaml's excluded directories are added in both cases. A tree that
    declares nothing is a checkout of the project (today's roots, if present there) or a plain
    tree of contracts (the directory is the one root)."""
    declared = declared_layout(directory, config)
    return declared if declared is not None else (_dir_roots(directory, config), config.exclude)


def declared_layout(
    directory: Path, config: Config
) -> tuple[tuple[Path, ...], tuple[str, ...]] | None:
    """The layout the tree at `directory` declares itself, None when it declares none."""
    declared = _declared_roots(directory, config)
    buf_yaml = _buf_yaml_in(directory, declared or ())
    if declared is None and buf_yaml is not None:
        from protoforge.breaking.bufconfig import module_dirs, read_buf_yaml

        declared = tuple(d for d, _ in module_dirs(read_buf_yaml(buf_yaml), buf_yaml.parent))
    if declared is None:
        return None
    exclude = _declared_exclude(directory, config)
    if buf_yaml is not None:
        from protoforge.breaking.bufconfig import exclude_globs, read_buf_yaml

        globs = exclude_globs(read_buf_yaml(buf_yaml), buf_yaml.parent, declared)
        exclude = (*exclude, *(g for g in globs if g not in exclude))
    return declared, exclude


def _config_table(directory: Path, config: Config) -> dict[str, object] | None:
    """The protoforge table of the tree's own protoforge.toml / pyproject.toml, if any."""
    import tomllib

    from protoforge.breaking.bufyaml import YamlError, decode

    names = ["protoforge.toml", "pyproject.toml"]
    if config.config_path is not None and config.config_path.name not in names:
        names.insert(0, config.config_path.name)
    for name in names:
        path = directory / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(decode(path.read_bytes()))
        except (YamlError, tomllib.TOMLDecodeError) as exc:
            raise BaselineError(
                f"the baseline's {display_path(path)} cannot be read: {exc}"
            ) from None
        table = data.get("tool", {}).get("protoforge") if name == "pyproject.toml" else data
        if isinstance(table, dict) and "proto_roots" in table:
            return table
    return None


def _declared_roots(directory: Path, config: Config) -> tuple[Path, ...] | None:
    table = _config_table(directory, config)
    if table is None:
        return None
    roots = table.get("proto_roots")
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        return None
    return tuple((directory / root).resolve() for root in roots)


def _declared_exclude(directory: Path, config: Config) -> tuple[str, ...]:
    table = _config_table(directory, config)
    exclude = table.get("exclude") if table is not None else None
    if isinstance(exclude, list) and all(isinstance(e, str) for e in exclude):
        return tuple(exclude)
    return ()


def _buf_yaml_in(directory: Path, roots: tuple[Path, ...]) -> Path | None:
    from protoforge.breaking.bufconfig import BUF_YAML_NAMES

    for candidate in (directory, *roots):
        for name in BUF_YAML_NAMES:
            if (candidate / name).is_file():
                return candidate / name
    return None


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
    if files is None or not files.file or any(not f.name for f in files.file):
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
    contracts = discover_baseline(config, existing, label) if existing else ()
    if not contracts:
        raise no_contracts(label, roots, shown_roots)
    shown = shown_roots or {}
    for contract in contracts:
        where = f"{shown[contract.root]}{contract.name}" if contract.root in shown else None
        check_utf8(where or contract.display, contract.path.read_bytes(), f"the baseline ({label})")
    data = compile_baseline(contracts, existing, label, config.jobs, shown_roots)
    root_of = {c.name: roots.index(c.root) for c in contracts}
    return Side(label, data, frozenset(c.name for c in contracts), cache_key, root_of)


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
) -> bytes:
    """Compile (some of) the baseline's contracts; errors name the baseline."""
    from protoforge.breaking.inprocess import compile_descriptor_set

    try:
        return compile_descriptor_set(contracts, roots, jobs, source_info=False)
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


CONFIG_FILES = ("protoforge.toml", "pyproject.toml", "buf.yaml", "buf.yml")


def _git(ref: str, config: Config) -> Side:
    """The baseline at a commit, read with the configuration as it was at that commit: a pull
    request that moves the proto root (and updates proto_roots) is compared against the old
    root, not against an empty tree."""
    repo, sha, label = resolve_git(ref, config)
    with tempfile.TemporaryDirectory(prefix="protoforge-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        roots, exclude = git_layout(repo, sha, config, tree)
        _materialise(repo, sha, roots, tree)
        shown = {root: f"{ref}:" + _prefix(root.relative_to(tree).as_posix()) for root in roots}
        return _compile_tree(replace(config, exclude=exclude), roots, label, sha, shown)


def git_layout(
    repo: Path, sha: str, config: Config, tree: Path
) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """(roots below `tree`, exclude globs) of the project at `sha`: its config files at that
    commit are written below `tree` (at their paths relative to the repository) and read as a
    directory baseline's are; without any, today's roots and excludes."""
    project_rel = _relative_root(config.project_dir, repo)
    if project_rel is None:
        raise BaselineError(
            f"the project {display_path(config.project_dir)} is outside the git repository "
            f"{display_path(repo)}"
        )
    wanted = [(project_rel / name).as_posix() for name in CONFIG_FILES]
    for root in config.proto_roots:  # a v1 module keeps its buf.yaml in the proto root
        if root.is_relative_to(repo):
            wanted += [(root.relative_to(repo) / name).as_posix() for name in CONFIG_FILES[2:]]
    _materialise_files(repo, sha, wanted, tree)
    project = tree / project_rel
    project.mkdir(parents=True, exist_ok=True)
    declared = declared_layout(project, config)
    if declared is None:
        roots = tuple(tree / root.relative_to(repo) for root in config.proto_roots)
        return roots, config.exclude
    roots, exclude = declared
    for root in roots:
        if not root.is_relative_to(tree):
            raise BaselineError(f"a proto root at {sha[:12]} is outside the git repository")
    return roots, exclude


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


def _materialise(repo: Path, sha: str, roots: tuple[Path, ...], tree: Path) -> None:
    """Write the .proto files below each root (a path below `tree`, which stands for the
    repository) at `sha`."""
    in_repo = tuple(repo / root.relative_to(tree) for root in roots)
    wanted = git_listing(repo, sha, in_repo)
    contents = read_blobs(repo, [blob for _, _, blob in wanted])
    for (_, path, _), content in zip(wanted, contents, strict=True):
        destination = tree / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(content)


def _materialise_files(repo: Path, sha: str, paths: list[str], tree: Path) -> None:
    """Write those of `paths` (relative to the repository) that exist at `sha` below `tree`."""
    listing = _git_run(["ls-tree", "-z", sha, "--", *paths], repo)
    entries = []
    for entry in listing.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            mode, kind, blob = meta.split()
            if kind == "blob" and mode != "120000":
                entries.append((path, blob))
    contents = read_blobs(repo, [blob for _, blob in entries])
    for (path, _), content in zip(entries, contents, strict=True):
        destination = tree / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(content)
