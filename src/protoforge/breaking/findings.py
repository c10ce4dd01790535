"""The findings model: buf's findings, placed in the project's own files, and the report."""

from __future__ import annotations

import re
from pathlib import Path

from protoforge.breaking.buf import RawFinding
from protoforge.config import Config
from protoforge.errors import ExitCode
from protoforge.paths import display_path
from protoforge.records import Record
from protoforge.source.discover import ContractFile, locate

# the marker of an inline suppression (see suppress): a contract without it has nothing to
# validate, so its comments are not read
DIRECTIVE = "protoforge:allow-breaking"
_QUOTED = re.compile(r'"([^"]+)"')
_PACKAGE = re.compile(r'package "([^"]+)"')


# NamedTuples: see RawFinding in buf.py. Ordered and compared field by field, as a dataclass
# with order=True would be.


class Finding(Record):
    path: str  # display path in the current project ("" when nothing in it can be named)
    line: int  # 1-based; 0 = the whole file
    column: int
    rule: str
    message: str
    import_path: str = ""
    suppressed: bool = False
    reason: str = ""
    # buf pointed at no file (a deleted file, a deletion from a package): protoforge chose the
    # location shown (the former path, or the package statement of a file of that package)
    inferred_location: bool = False

    @property
    def location(self) -> str:
        where = self.path or "<no file>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where


class Report(Record):
    baseline: str
    findings: tuple[Finding, ...]
    rule_groups: tuple[str, ...] = ()  # the buf configs used
    command: str = "check-breaking"  # or "lint": the same model renders both (formats)

    @property
    def breaking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.suppressed)

    @property
    def suppressed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppressed)

    @property
    def exit_code(self) -> int:
        return ExitCode.FINDINGS if self.breaking else ExitCode.OK


class Locator:
    """Turns buf's import-path locations into display paths of the current contracts. Findings
    about deleted things that buf cannot place (a deleted file, a deleted package member) point
    at the deleted file's former path, or at the package statement of a current file of the same
    package."""

    def __init__(
        self, config: Config, contracts: tuple[ContractFile, ...], current_set: bytes
    ) -> None:
        self.config = config
        self.contracts = contracts
        self.current_set = current_set
        self._packages: dict[str, list[tuple[str, int]]] | None = None

    @property
    def packages(self) -> dict[str, list[tuple[str, int]]]:
        """Package -> (file, line of its package statement), read from the current image only
        when a finding needs it (parsing an image costs more than a small check)."""
        if self._packages is None:
            from protoforge.breaking.descriptors import declarations, load_set

            self._packages = {}
            names = {c.name for c in self.contracts}
            for proto_file in load_set(self.current_set).file if self.current_set else ():
                if proto_file.name not in names:
                    continue
                line = next(
                    (d.span.start_line for d in declarations(proto_file) if d.kind == "file"), 1
                )
                self._packages.setdefault(proto_file.package, []).append((proto_file.name, line))
        return self._packages

    def place(self, raw: RawFinding) -> Finding:
        if raw.path:
            shown = locate(self.contracts, self.config.proto_roots, raw.path)
            return Finding(shown, raw.line, raw.column, raw.rule, raw.message, raw.path)
        if raw.rule == "FILE_NO_DELETE":
            match = _QUOTED.search(raw.message)
            if match:
                name = match.group(1)
                return Finding(
                    self._former(name), 0, 0, raw.rule, raw.message, name, inferred_location=True
                )
        match = _PACKAGE.search(raw.message)
        if match and match.group(1) in self.packages:
            name, line = sorted(self.packages[match.group(1)])[0]
            shown = locate(self.contracts, self.config.proto_roots, name)
            return Finding(shown, line, 1, raw.rule, raw.message, name, inferred_location=True)
        return Finding("", 0, 0, raw.rule, raw.message, "", inferred_location=True)

    def place_import_path(self, name: str) -> str:
        """The display path of a current contract, or where a deleted one used to be."""
        if any(c.name == name for c in self.contracts):
            return locate(self.contracts, self.config.proto_roots, name)
        return self._former(name)

    def _former(self, name: str) -> str:
        """Where a deleted file used to be: below the root whose tree still has its directory,
        else below the first root."""
        parent = Path(name).parent
        for root in self.config.proto_roots:
            if (root / parent).is_dir():
                return display_path(root / name)
        return display_path(self.config.proto_roots[0] / name)
