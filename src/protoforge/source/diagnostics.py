"""protoc's diagnostics: its stderr parsed into `Diagnostic`s, placed in the files users open,
and a hint for the commonest mistake (an import outside every proto root). Shared by `gen`
(source/protoc.py) and `check-breaking` (breaking/inprocess.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from protoforge.errors import Diagnostic
from protoforge.paths import display_path
from protoforge.source.discover import ContractFile, locate

# `path:line:col: message` or `path: message` (protoc's two diagnostic shapes).
_LOCATED = re.compile(r"^(?P<path>[^:\n]+\.proto):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$")
_FILE_LEVEL = re.compile(r"^(?P<path>[^:\n]+\.proto): (?P<msg>.*)$")


def parse_stderr(stderr: str) -> list[Diagnostic]:
    """protoc's stderr as diagnostics: located ones, file-level ones, and any other line as a
    diagnostic of `protoc` itself (nothing it says is dropped)."""
    diagnostics: list[Diagnostic] = []
    for raw in stderr.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        match = _LOCATED.match(line)
        if match:
            message = match["msg"]
            severity = "error"
            if message.startswith("warning: "):
                severity, message = "warning", message[len("warning: ") :]
            diagnostics.append(
                Diagnostic(match["path"], int(match["line"]), int(match["col"]), severity, message)
            )
            continue
        match = _FILE_LEVEL.match(line)
        if match:
            message = match["msg"]
            severity = "warning" if message.startswith("warning: ") else "error"
            diagnostics.append(
                Diagnostic(match["path"], 0, 0, severity, message.removeprefix("warning: "))
            )
            continue
        severity = "warning" if "warning" in line.lower()[:20] else "error"
        diagnostics.append(Diagnostic("protoc", 0, 0, severity, line))
    return diagnostics


def relocate(
    diagnostics: list[Diagnostic], contracts: tuple[ContractFile, ...], roots: tuple[Path, ...]
) -> tuple[Diagnostic, ...]:
    """protoc reports import paths (`acme/x.proto`); users open files (`proto/acme/x.proto`).
    Shards may report the same broken import twice: keep one of each."""
    seen: dict[Diagnostic, None] = {}
    for diagnostic in diagnostics:
        if diagnostic.path.endswith(".proto"):
            path = locate(contracts, roots, diagnostic.path)
            diagnostic = Diagnostic(
                path, diagnostic.line, diagnostic.column, diagnostic.severity, diagnostic.message
            )
        seen.setdefault(diagnostic, None)
    return tuple(seen)


def hint_for(
    diagnostics: tuple[Diagnostic, ...],
    roots: Sequence[Path],
    project_dir: Path | None,
    shown: Callable[[Path], str] = display_path,
) -> str | None:
    """What to do about an import protoc could not find (None for any other error).
    `project_dir` is searched for the file when it exists outside every root; `shown` names
    paths (check-breaking's git baselines name a temporary checkout `REF:path`)."""
    missing = [d.path for d in diagnostics if d.message == "File not found."]
    if not missing and not any("was not found" in d.message for d in diagnostics):
        return None
    from protoforge.source.provided import known_home  # only now: most errors need no hint

    for name in missing:
        home = known_home(name)
        if home is not None:
            return (
                f"{name} is a file that {home} provides: pip install {home} (in the environment "
                "that runs protoforge); gen compiles against the installed package, with nothing "
                "vendored"
            )
    roots_shown = ", ".join(shown(root) for root in roots)
    hint = (
        f"imports are resolved against proto_roots ({roots_shown}) and the well-known types; "
        "is the imported file under one of them?"
    )
    # Say where the file is when it exists outside every root: the usual cause.
    for name in missing:
        for candidate in sorted(project_dir.rglob(name)) if project_dir else ():
            root = Path(str(candidate)[: -len(name)])
            return (
                f"{name} exists at {shown(candidate)}, outside every proto root; "
                f"add {shown(root)!r} to proto_roots"
            )
    return hint
