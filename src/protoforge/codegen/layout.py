"""Where generated Python lives and what it is called: the optional `package` prefix.

Without `package`, `out` is a sys.path root and `acme/orders/v1/orders.proto` becomes module
`acme.orders.v1.orders_pb2`. With `package = "acme_api"` it becomes
`acme_api.acme.orders.v1.orders_pb2` under `out/acme_api/`, and every import that protoc and
mypy-protobuf wrote as absolute (`from acme.orders.v1 import orders_pb2`) is rewritten to resolve
inside that package. The well-known types stay imports of the `protobuf` runtime.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Namespace packages shared with installed distributions get no __init__.py (it would hide them).
from protoforge.naming import NAMESPACE_ROOTS


@dataclass(frozen=True)
class Layout:
    package: str | None

    def module(self, module: str) -> str:
        """The importable name of a generated module (`acme.x_pb2` -> `acme_api.acme.x_pb2`)."""
        return f"{self.package}.{module}" if self.package else module

    def path(self, relative: str) -> str:
        """Where a file that protoc placed at `relative` goes, relative to `out`."""
        if not self.package:
            return relative
        return self.package.replace(".", "/") + "/" + relative

    def package_dirs(self, files: Iterable[str]) -> list[str]:
        """Every directory (relative to `out`) that needs an __init__.py so that all `files`
        are importable, sorted; namespace roots such as `google/` are left alone."""
        parents = {file.rpartition("/")[0] for file in files} - {""}
        dirs: set[str] = set()
        for directory in parents:  # far fewer directories than files: walk up from each once
            while directory and directory not in dirs:
                dirs.add(directory)
                directory = directory.rpartition("/")[0]
        return sorted(d for d in dirs if self.package or d.split("/")[0] not in NAMESPACE_ROOTS)

    def typed_marker_dirs(self, files: Iterable[str]) -> list[str]:
        """Where py.typed goes: the package root, or each top-level package without a prefix."""
        if self.package:
            return [self.package.replace(".", "/")]
        tops = {f.split("/")[0] for f in files if "/" in f}
        return sorted(t for t in tops if t not in NAMESPACE_ROOTS)


_FROM_IMPORT = re.compile(
    r"^(?P<indent>\s*)from (?P<base>[\w.]+) import (?P<name>\w+)(?P<rest>.*)$"
)
_PLAIN_IMPORT = re.compile(r"^(?P<indent>\s*)import (?P<module>[\w.]+)(?P<rest>( as \w+)?\s*)$")
_BUILDER_CALL = re.compile(r"(_builder\.Build\w+\(DESCRIPTOR, ')(?P<module>[\w.]+)(')")


def rewrite_imports(text: str, layout: Layout, local_modules: frozenset[str]) -> str:
    """Prefix every import of a module generated from this tree. Only import statements (and
    the module name protobuf's builder records for pickling) are touched: a precise, line-level
    rewrite rather than a search-and-replace that could hit comments or strings."""
    if not layout.package:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if "import" in line:
            lines[index] = _rewrite_import_line(line, layout, local_modules)
        elif "_builder.Build" in line:
            lines[index] = _BUILDER_CALL.sub(
                lambda m: (
                    m.group(1) + layout.module(m["module"]) + m.group(3)
                    if m["module"] in local_modules
                    else m.group(0)
                ),
                line,
            )
    return "\n".join(lines)


def _rewrite_import_line(line: str, layout: Layout, local_modules: frozenset[str]) -> str:
    match = _FROM_IMPORT.match(line)
    if match:
        base, name = match["base"], match["name"]
        if f"{base}.{name}" in local_modules or base in local_modules:
            return f"{match['indent']}from {layout.module(base)} import {name}{match['rest']}"
        return line
    match = _PLAIN_IMPORT.match(line)
    if match and match["module"] in local_modules:
        return f"{match['indent']}import {layout.module(match['module'])}{match['rest']}"
    return line
