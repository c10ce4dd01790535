"""The runtime module of an output tree: `protoforge/runtime/_protoforge_runtime.py`, copied
with the generated header, and next to it the web gateway `_protoforge_web.py`. One per tree (at
the package prefix, else at the top of `out`), so that every generated client raises the same
`NotFound` class.

Without a prefix, protoforge used to write one copy into each top-level proto package
(`acme/_protoforge_runtime.py`); user code written then imports it from there. Such a package
gets a module of that name that re-exports the tree's runtime (the same classes, not a copy).
"""

from __future__ import annotations

from collections.abc import Iterable

from protoforge import naming, runtime
from protoforge.codegen.pysource import docstring
from protoforge.output.ownership import header

# The contracts whose messages the runtime hands to users (`GrpcError.details`: BadRequest,
# ErrorInfo, ... inside a google.rpc.Status). googleapis-common-protos installs their modules
# without types for mypy, so a tree with a runtime gets their stubs as if a contract imported
# them, and `error.detail(BadRequest).field_violations` type-checks.
RUNTIME_PROTO_IMPORTS = ("google/rpc/error_details.proto", "google/rpc/status.proto")


def runtime_text() -> str:
    return header(None) + runtime.source()


def validate_text(package: str | None) -> str:
    """The protovalidate support module, importing the tree's runtime."""
    source = runtime.validate_source()
    message_import, runtime_import = runtime.VALIDATE_IMPORTS
    block = message_import + runtime_import
    if source.count(block) != 1:
        raise AssertionError(f"the validate module must import the runtime once as {block!r}")
    start = source.index(block)
    end = source.index("\n", start + len(block)) + 1
    names = source[start + len(block) : end]
    lines = [
        message_import.rstrip("\n") + "\n",
        f"from {naming.runtime_module(package)} import {names}",
    ]
    lines.sort(key=lambda line: line.split()[1].lower())
    return header(None) + source[:start] + "".join(lines) + source[end:]


def runtime_files(
    package: str | None, service_pb2_modules: Iterable[str], validated: bool = False
) -> dict[str, str]:
    """Module name -> text of the runtime and of its re-exporting modules, given the pb2
    modules (unprefixed) of the contracts that declare services; {} when there are none. With
    `validated` (some contract imports protovalidate), also the validate module."""
    modules = sorted(set(service_pb2_modules))
    if not modules:
        return {}
    module = naming.runtime_module(package)
    files = {
        module: runtime_text(),
        naming.web_module(package): header(None) + runtime.web_source(),
    }
    if validated:
        files[naming.validate_module(package)] = validate_text(package)
    if package is None:
        formers = {naming.former_runtime_module(m) for m in modules}
        for former in sorted(f for f in formers if f is not None):
            files[former] = _reexport(module)
    return files


def _reexport(module: str) -> str:
    text = docstring(
        f"The tree's runtime `{module}`, under the name older protoforge versions gave it.\n\n"
        f"protoforge now writes one runtime per output tree (so that an `except` for its errors\n"
        f"catches them from every package): import `{module}` itself in new code.",
        0,
    )
    return f"{header(None)}{text}\nfrom {module} import *  # noqa: F403\n"
