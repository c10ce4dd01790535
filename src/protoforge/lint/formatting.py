"""`buf format` on the contracts. buf formats each proto root into a temporary tree (one buf
run per root, however many files), and the contracts are compared with their formatted copies;
writing them back is the CLI's choice (`--check`, `--diff` or in place, atomically).
Contracts that protoforge's `exclude` skips are neither formatted nor checked.

buf's formatter tolerates some syntax errors and "repairs" them (`string id = ;` comes back as
`string id;`), which would silently rewrite a broken contract. So the files it would change are
compiled first, and one that does not compile is a user error (exit 2) with its path:line."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

from protoforge.breaking.buf import buf_environment, find_buf
from protoforge.breaking.errors import BufError
from protoforge.config import Config
from protoforge.errors import CompileError, Diagnostic
from protoforge.lint.run import exclude_paths
from protoforge.paths import display_path

_LOCATED = re.compile(
    r"^(?:Failure: )?(?P<path>[^:\n]+\.proto):(?P<line>\d+):(?P<col>\d+):(?P<msg>.*)$"
)


class Reformatted(NamedTuple):
    path: Path
    display: str
    before: bytes
    after: bytes

    def unified_diff(self) -> str:
        import difflib

        lines = difflib.unified_diff(
            self.before.decode("utf-8", "replace").splitlines(keepends=True),
            self.after.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"a/{self.display}",
            tofile=f"b/{self.display}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def formatted_contracts(config: Config) -> list[Reformatted]:
    from protoforge.source.discover import discover, excluded

    contracts = discover(config)
    skipped = excluded(config)
    changed: list[Reformatted] = []
    with tempfile.TemporaryDirectory(prefix="protoforge-format-") as tmp:
        for index, root in enumerate(config.proto_roots):
            mine = [c for c in contracts if c.root == root]
            if not mine:
                continue
            out = Path(tmp) / str(index)
            _buf_format(root, out, exclude_paths(skipped, root))
            for contract in mine:
                before = contract.path.read_bytes()
                formatted = out / contract.name
                after = formatted.read_bytes() if formatted.is_file() else before
                if after != before:
                    changed.append(Reformatted(contract.path, contract.display, before, after))
    if changed:
        from protoforge.breaking.sides import compile_current_subset

        paths = {change.path for change in changed}
        compile_current_subset(config, tuple(c for c in contracts if c.path in paths))
    return changed


def _buf_format(root: Path, out: Path, excludes: list[str]) -> None:
    done = subprocess.run(
        [str(find_buf()), "format", ".", "--output", str(out), *excludes],
        capture_output=True,
        check=False,
        cwd=root,
        env=buf_environment(True),
    )
    if done.returncode == 0:
        return
    err = done.stderr.decode("utf-8", "replace")
    diagnostics = tuple(
        Diagnostic(display_path(root / m["path"]), int(m["line"]), int(m["col"]), "error", m["msg"])
        for m in (_LOCATED.match(line.strip()) for line in err.splitlines())
        if m
    )
    if diagnostics:
        raise CompileError(
            "the contracts cannot be formatted: they do not parse",
            diagnostics=tuple(sorted(diagnostics)),
        )
    raise BufError(f"buf format failed: {err.strip().removeprefix('Failure: ')}")
