"""The runtime that gen copies into every output tree (`_protoforge_runtime.py`, real Python,
type-checked and linted with protoforge): one place to find it and read facts from it without
importing it (importing would load grpc, which `protoforge gen` does not need)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

RUNTIME_SOURCE = Path(__file__).with_name("_protoforge_runtime.py")
# The web gateway (gRPC-Web and Connect), copied next to the runtime, which imports it only
# when a server is started with a web address.
WEB_SOURCE = Path(__file__).with_name("_protoforge_web.py")
# protovalidate for servers and clients, copied next to the runtime only into trees whose
# contracts import buf/validate/validate.proto; it imports the runtime by this name, which gen
# rewrites to the tree's runtime module.
VALIDATE_SOURCE = Path(__file__).with_name("_protoforge_validate.py")
# Its import block ends with these two lines; gen writes them sorted as isort sorts them once
# the runtime's name is the tree's (a third-party module, as the message module is).
VALIDATE_IMPORTS = (
    "from google.protobuf.message import Message\n\n",
    "from protoforge.runtime._protoforge_runtime import ",
)

# The classes generated code subclasses: the names they define are taken for RPC methods.
BASE_CLASSES = ("Client", "AsyncClient", "Servicer", "AsyncServicer")


@functools.cache
def source() -> str:
    return RUNTIME_SOURCE.read_text(encoding="utf-8")


@functools.cache
def web_source() -> str:
    return WEB_SOURCE.read_text(encoding="utf-8")


@functools.cache
def validate_source() -> str:
    return VALIDATE_SOURCE.read_text(encoding="utf-8")


@functools.cache
def tree() -> ast.Module:
    return ast.parse(source(), filename=str(RUNTIME_SOURCE))


def constant(name: str) -> str:
    """A module-level string constant of the runtime, e.g. DEFAULT_ADDRESS."""
    for statement in tree().body:
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        ):
            return statement.value.value
    raise LookupError(f"the runtime defines no string constant {name}")


def classes() -> dict[str, ast.ClassDef]:
    return {s.name: s for s in tree().body if isinstance(s, ast.ClassDef)}


DEFAULT_ADDRESS = constant("DEFAULT_ADDRESS")  # where generated servers listen by default
