"""A git baseline's plumbing: resolve a ref, list and read the `.proto` blobs at a commit, and
write them (and the project's config files at that commit) into a temporary tree.

Files are read with `git ls-tree` + `git cat-file --batch`, not `git archive`, which honours
`export-ignore`. Symlinks are skipped.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from protoforge.breaking.errors import BaselineError
from protoforge.breaking.layout import declared_layout, relative_root
from protoforge.config import Config
from protoforge.paths import display_path

CONFIG_FILES = ("protoforge.toml", "pyproject.toml", "buf.yaml", "buf.yml")


def _run(
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


def resolve_git(ref: str, config: Config) -> tuple[Path, str, str]:
    """(repository top level, commit id, label) of a git ref of the project's repository."""
    project = config.project_dir
    top = _run(["rev-parse", "--show-toplevel"], project)
    if top.returncode != 0:
        raise BaselineError(
            f"{ref!r} is not a file or directory, and {display_path(project)} is not in a git "
            "repository, so it cannot be a git ref",
            hint="pass a git ref inside a repository, a directory, or a snapshot file",
        )
    repo = Path(top.stdout.decode().strip()).resolve()
    commit = _run(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], repo
    )
    if commit.returncode != 0 or not commit.stdout.strip():
        raise _missing_ref(ref, repo)
    sha = commit.stdout.decode().strip()
    return repo, sha, f"git ref {ref} ({sha[:12]})"


def git_layout(
    repo: Path, sha: str, config: Config, tree: Path
) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """(roots below `tree`, exclude globs) of the project at `sha`: its config files at that
    commit are written below `tree` (at their paths relative to the repository) and read as a
    directory baseline's are; without any, today's roots and excludes."""
    project_rel = relative_root(config.project_dir, repo)
    if project_rel is None:
        raise BaselineError(
            f"the project {display_path(config.project_dir)} is outside the git repository "
            f"{display_path(repo)}"
        )
    wanted = [(project_rel / name).as_posix() for name in CONFIG_FILES]
    for root in config.proto_roots:  # a v1 module keeps its buf.yaml in the proto root
        if root.is_relative_to(repo):
            wanted += [(root.relative_to(repo) / name).as_posix() for name in CONFIG_FILES[2:]]
    materialise_files(repo, sha, wanted, tree)
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


def git_shown_roots(
    ref: str, repo: Path, roots: tuple[Path, ...], config: Config
) -> dict[Path, str]:
    """How diagnostics name a materialised root: `REF:path/below/repo/`."""
    return {
        root: f"{ref}:" + ref_prefix(original.relative_to(repo).as_posix())
        for root, original in zip(roots, config.proto_roots, strict=True)
    }


def ref_prefix(rel: str) -> str:
    return "" if rel == "." else f"{rel}/"


def _missing_ref(ref: str, repo: Path) -> BaselineError:
    shallow = _run(["rev-parse", "--is-shallow-repository"], repo).stdout.decode().strip()
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
        listing = _run(["ls-tree", "-r", "-z", sha, "--", rel if rel != "." else "."], repo)
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
    batch = _run(["cat-file", "--batch"], repo, "\n".join(blobs).encode())
    data = batch.stdout
    contents: list[bytes] = []
    position = 0
    for _ in blobs:
        header_end = data.index(b"\n", position)
        size = int(data[position:header_end].split()[2])
        contents.append(data[header_end + 1 : header_end + 1 + size])
        position = header_end + 1 + size + 1
    return contents


def materialise(repo: Path, sha: str, roots: tuple[Path, ...], tree: Path) -> None:
    """Write the .proto files below each root (a path below `tree`, which stands for the
    repository) at `sha`."""
    in_repo = tuple(repo / root.relative_to(tree) for root in roots)
    wanted = git_listing(repo, sha, in_repo)
    contents = read_blobs(repo, [blob for _, _, blob in wanted])
    for (_, path, _), content in zip(wanted, contents, strict=True):
        destination = tree / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(content)


def materialise_files(repo: Path, sha: str, paths: list[str], tree: Path) -> None:
    """Write those of `paths` (relative to the repository) that exist at `sha` below `tree`."""
    listing = _run(["ls-tree", "-z", sha, "--", *paths], repo)
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
